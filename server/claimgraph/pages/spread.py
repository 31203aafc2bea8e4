"""The claim page's "How it spread" section: who first said it (origins), who repeated whom
and when (echoes, on a dated axis), how independent its support is (one sentence per stance),
and whether its rebuttals reached those who reported it — all read from the derived
propagation graph (``claimgraph.propagation``), in one query keyed by the claim."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from claimgraph.describe import Term
from claimgraph.iris import STANCE
from claimgraph.pages.common import local_name
from claimgraph.pages.timeaxis import AxisRow, axis_svg, reporting_order

ROW_LIMIT = 5_000  # triples of one claim's propagation a page reads
AXIS_ROWS = 200  # statements drawn on the claim's axis
DENIES = str(STANCE) + "denies"
STANCE_HEADINGS = {"asserts": "Asserted", "denies": "Denied", "questions": "Questioned"}


@dataclass
class Said:
    """What the page knows of one statement (from the curated graphs)."""

    iri: str
    speaker: str
    stance: str
    date: str
    source: str
    approximate: bool = False
    date_note: Term | None = None
    note: Term | None = None  # the curator's


@dataclass
class Entry:
    """One statement as the section shows it."""

    link: Term
    speaker: Term
    stance: Term
    stance_key: str
    date: str
    approximate: bool
    date_note: Term | None
    note: Term | None
    source: Term


@dataclass
class Hop:
    report: Entry
    reported: Entry
    lag: str  # "3 days later", "0–6 days later", "" when a date is missing
    translation: Term | None


@dataclass
class Rebuttal:
    entry: Entry
    carried: bool | None  # None: nobody reported the claim, so there is no one to carry it
    carried_by: list[Term] = field(default_factory=list)  # reporters of the claim who did
    relayed_by: list[Term] = field(default_factory=list)  # anyone else who relayed it


@dataclass
class Spread:
    summary: list[str]
    origins: list[Entry]
    hops: list[Hop]
    rebuttals: list[Rebuttal]
    reporters: list[Term]
    svg: Markup | None
    truncated: bool


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 origin``, ``2 origins``, ``0 origins``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def lag_text(low: int | None, high: int | None, after: str = " later") -> str:
    if low is None or high is None:
        return ""
    if high == 0:
        return "the same day"
    if low == high:
        return plural(high, "day") + after
    return f"{low}–{high} days{after}"


def statements_of(doc: dict[str, Any]) -> set[str]:
    """The statements the section shows."""
    found = {o["statement"] for o in doc.get("origins", [])}
    found.update(o["statement"] for o in doc.get("uncarriedRebuttals", []))
    found.update(doc.get("statements", {}))
    for e in doc.get("echoes", []):
        found.update((e["hopFrom"], e["hopTo"]))
    return found


def iris_of(doc: dict[str, Any]) -> set[str]:
    """Every IRI the section names (statements, actors, translations), for the labels."""
    found = statements_of(doc) | set(doc.get("reporters", []))
    found.update(e["readInTranslation"] for e in doc.get("echoes", []) if "readInTranslation" in e)
    for s in doc.get("stances", []):
        found.update(s.get("repeatedBy", []))
    return found


def _spans(
    doc: dict[str, Any], order: list[str]
) -> Callable[[Iterable[str]], tuple[int, int] | None]:
    """For a set of origins: the longest (at least, at most) time in days from them to the
    last report in their echo trees, adding up the lags hop by hop in reporting order."""
    hops: dict[str, list[dict[str, Any]]] = {}
    for e in doc.get("echoes", []):
        hops.setdefault(e["hopFrom"], []).append(e)

    def span(origins: Iterable[str]) -> tuple[int, int] | None:
        best: dict[str, tuple[int, int]] = {o: (0, 0) for o in origins}
        longest: tuple[int, int] | None = None
        for s in order:  # what is reported comes first: its total is final when reached
            if s not in best:
                continue
            low, high = best[s]
            for e in hops.get(s, ()):
                if "minLagDays" not in e:
                    continue
                total = (low + e["minLagDays"], high + e["maxLagDays"])
                best[e["hopTo"]] = _wider(best.get(e["hopTo"]), total)
                longest = _wider(longest, total)
        return longest

    return span


def _wider(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    return b if a is None else (max(a[0], b[0]), max(a[1], b[1]))


def summary(doc: dict[str, Any], order: list[str], label: Callable[[str], str]) -> list[str]:
    """One sentence per stance that has origins: "Asserted: 1 origin, repeated by 4 reporters
    in 0–30 days." (its counts are the analysis's; the time from the lags of its hops)."""
    span = _spans(doc, order)
    out = []
    stances = sorted(
        (s for s in doc.get("stances", []) if s.get("originCount", 0) > 0),
        key=lambda s: (local_name(s["forStance"]) != "asserts", local_name(s["forStance"])),
    )
    for s in stances:
        key = local_name(s["forStance"])
        heading = STANCE_HEADINGS.get(key) or f"Stance “{label(s['forStance'])}”"
        n, speakers, sources = (
            s["originCount"],
            s.get("independentSpeakers", 0),
            s.get("independentSources", 0),
        )
        text = f"{heading}: {plural(n, 'origin')}"
        if n > 1:
            text += f" ({plural(speakers, 'speaker')}, {plural(sources, 'source')})"
        repeats, by = s.get("repeatCount", 0), len(s.get("repeatedBy", []))
        if repeats == 0:
            text += ", repeated by no one"
        else:
            times = "once" if repeats == 1 else f"{repeats} times"
            text += f", repeated {times}" if repeats != by or by == 0 else ", repeated"
            if by:
                text += f" by {plural(by, 'reporter')}"
            took = span(s.get("origins", []))
            if took is not None:
                text += " " + ("on the same day" if took[1] == 0 else "in " + lag_text(*took, ""))
        out.append(text + ".")
    return out


def build(
    doc: dict[str, Any],
    said: dict[str, Said],
    term: Callable[[str], Term],
    label: Callable[[str], str],
    href: Callable[[str], str | None],
) -> Spread:
    """The section from the claim's propagation ``doc`` (``claim_propagation``) and what the
    page read of its statements (``said``; those it lacks are shown by IRI only)."""
    known = {s: said[s] for s in statements_of(doc) if s in said}
    reported: dict[str, list[str]] = {}
    for e in doc.get("echoes", []):
        reported.setdefault(e["hopTo"], []).append(e["hopFrom"])
    order = reporting_order({s: k.date for s, k in known.items()}, reported)

    def entry(s: str) -> Entry:
        k = known.get(s)
        if k is None:
            t = term(s)
            return Entry(t, t, Term(""), "", "", False, None, None, Term(""))
        return Entry(
            link=term(s),
            speaker=term(k.speaker),
            stance=term(k.stance),
            stance_key=local_name(k.stance),
            date=k.date,
            approximate=k.approximate,
            date_note=k.date_note,
            note=k.note,
            source=term(k.source),
        )

    rank = {s: i for i, s in enumerate(order)}
    last = len(rank)
    origins = sorted(
        (o["statement"] for o in doc.get("origins", [])), key=lambda s: (rank.get(s, last), s)
    )
    hops = []
    echoes = sorted(
        doc.get("echoes", []),
        key=lambda e: (rank.get(e["hopTo"], last), e["hopTo"], e["hopFrom"]),
    )
    for e in echoes:
        translation = e.get("readInTranslation")
        hops.append(
            Hop(
                report=entry(e["hopTo"]),
                reported=entry(e["hopFrom"]),
                lag=lag_text(e.get("minLagDays"), e.get("maxLagDays")),
                translation=term(translation) if translation else None,
            )
        )
    reporters = set(doc.get("reporters", []))
    uncarried = {r["statement"] for r in doc.get("uncarriedRebuttals", [])}
    denials = {s for s, k in known.items() if k.stance == DENIES} | uncarried
    rebuttals = []
    for s in sorted(denials, key=lambda s: (rank.get(s, last), s)):
        relays = sorted(
            {
                known[e["hopTo"]].speaker
                for e in doc.get("echoes", [])
                if e["hopFrom"] == s and e["hopTo"] in known
            }
        )
        carried = None if not reporters else s not in uncarried
        rebuttals.append(
            Rebuttal(
                entry=entry(s),
                carried=carried,
                carried_by=[term(a) for a in relays if a in reporters],
                relayed_by=[term(a) for a in relays if a not in reporters],
            )
        )
    rows = []
    for s in order[:AXIS_ROWS]:
        k = known[s]
        speaker, stance = label(k.speaker), label(k.stance)
        rows.append(
            AxisRow(
                key=s,
                date=k.date,
                label=f"{speaker} · {stance}",
                title=f"{speaker} {stance} ({label(k.source)})",
                stance=local_name(k.stance),
                href=href(s),
                approximate=k.approximate,
            )
        )
    links = [(e["hopFrom"], e["hopTo"]) for e in doc.get("echoes", [])]
    svg = (
        axis_svg(
            rows,
            links,
            title=f"{plural(len(rows), 'statement')} of the claim by date, arrows from what "
            "is reported to its report",
            ident="spread",
        )
        if rows
        else None
    )
    return Spread(
        summary=summary(doc, order, label),
        origins=[entry(s) for s in origins],
        hops=hops,
        rebuttals=rebuttals,
        reporters=[term(a) for a in sorted(reporters, key=label)],
        svg=svg,
        truncated=len(order) > AXIS_ROWS,
    )
