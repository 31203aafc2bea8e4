"""How each claim travelled, computed from the reporting chains (``cg:reportedBy``), the
statements' dates, sources and speakers, and the translations between sources.

Pure computation over a ``Facts`` snapshot read from the store with a few predicate scans
(linear in the statements, the links and the translations); ``analyse`` is linear too, except
that a statement's set of origins is the union of its reporters' (small: a chain rarely leads
back to more than a few first-hand statements).

Words, as the README's "Propagation" section defines them:

- a **first-hand** statement reports nobody: no statement is ``cg:reportedBy`` it;
- its **echoes** are the statements that report it, and those that report them, and so on;
- a statement's **origins** are the first-hand statements it leads back to (itself when it is
  first-hand);
- per claim and stance, the **independent** origins are its first-hand statements with that
  stance, counted by distinct speakers and distinct primary sources (a translation counts as
  its original); the **repeats** are their echoes;
- a **rebuttal** is a statement with a rebuttal stance (``REBUTTAL_STANCES``); it is
  **uncarried** when none of its echoes is by a reporter of the claim, that is by a speaker of
  an echo of one of the claim's other first-hand statements (the outlets that spread it).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox

from claimgraph.iris import CG, STANCE
from claimgraph.store import Store

REBUTTAL_STANCES = frozenset({f"{STANCE}denies"})

_XSD = "http://www.w3.org/2001/XMLSchema#"


@dataclass
class StatementFacts:
    """What the analysis needs of one statement (the first value of each, if several)."""

    iri: str
    claim: str | None = None
    stance: str | None = None
    speaker: str | None = None
    date: ox.Literal | None = None
    source: str | None = None
    quote_source: str | None = None


@dataclass
class Facts:
    """The curated graph, as far as propagation goes."""

    statements: dict[str, StatementFacts] = field(default_factory=dict)
    reported_by: set[tuple[str, str]] = field(default_factory=set)  # (statement, its report)
    translation_of: dict[str, str] = field(default_factory=dict)  # translation → original


_FIELDS = {
    f"{CG}claim": "claim",
    f"{CG}stance": "stance",
    f"{CG}speaker": "speaker",
    f"{CG}date": "date",
    f"{CG}source": "source",
    f"{CG}quoteSource": "quote_source",
}


def read_facts(store: Store, *, skip: Iterable[ox.NamedNode] = ()) -> Facts:
    """One scan per predicate over the store's graphs, leaving out the graphs ``skip``."""
    skipped = set(skip)
    facts = Facts()

    def scan(predicate: str) -> Iterator[tuple[str, object]]:
        """(subject IRI, object) of the predicate's triples, outside the skipped graphs."""
        for q in store.quads(None, ox.NamedNode(predicate), None, None):
            if q.graph_name not in skipped and isinstance(q.subject, ox.NamedNode):
                yield q.subject.value, q.object

    for predicate, name in _FIELDS.items():
        for subject, obj in scan(predicate):
            st = facts.statements.setdefault(subject, StatementFacts(subject))
            value: str | ox.Literal | None
            if name == "date":
                value = obj if isinstance(obj, ox.Literal) else None
            else:
                value = obj.value if isinstance(obj, ox.NamedNode) else None
            current = getattr(st, name)
            if value is not None and (current is None or str(value) < str(current)):
                setattr(st, name, value)  # several values (invalid data): the least, stably
    for subject, obj in scan(f"{CG}reportedBy"):
        if isinstance(obj, ox.NamedNode):
            facts.reported_by.add((subject, obj.value))
    for subject, obj in scan(f"{CG}translationOf"):
        if isinstance(obj, ox.NamedNode):
            known = facts.translation_of.get(subject)
            if known is None or obj.value < known:
                facts.translation_of[subject] = obj.value
    return facts


# -- dates -------------------------------------------------------------------------------------


def date_span(date: ox.Literal | None) -> tuple[dt.date, dt.date] | None:
    """The days a date literal may stand for: one day, a month or a year (``None``: unknown)."""
    if date is None:
        return None
    text, kind = date.value, date.datatype.value.removeprefix(_XSD)
    try:
        if kind == "gYear":
            year = int(text[:4])
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if kind == "gYearMonth":
            year, month = int(text[:4]), int(text[5:7])
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last)
        day = dt.date.fromisoformat(text[:10])  # xsd:date, and the date of an xsd:dateTime
        return day, day
    except ValueError:
        return None


def lag_days(earlier: ox.Literal | None, later: ox.Literal | None) -> tuple[int, int] | None:
    """(least, most) days between a statement and its report, as precise as their dates allow;
    never below 0 (a report is not dated before what it reports: the shapes refuse that)."""
    a, b = date_span(earlier), date_span(later)
    if a is None or b is None:
        return None
    most = (b[1] - a[0]).days
    least = max(0, (b[0] - a[1]).days)
    return least, max(least, most)


def date_key(date: ox.Literal | None) -> str:
    """Order of dates of mixed precision: on their lexical form, which compares on the prefix
    both share ("2024-03" before "2024-03-07"); unknown dates last."""
    return date.value if date is not None else "\uffff"


# -- the analysis ------------------------------------------------------------------------------


@dataclass
class Hop:
    """One ``cg:reportedBy`` link: ``report`` relays ``reported``."""

    reported: str
    report: str
    lag: tuple[int, int] | None
    translation: str | None  # the translated source the report's words are read in, if any


@dataclass
class StatementResult:
    iri: str
    claim: str | None
    first_hand: bool
    origins: list[str]  # sorted; the statement itself when first-hand
    depth: int | None  # least hops from a first-hand statement (None: in a loop)
    echoes: list[str]  # every statement in its echo tree, sorted
    translation: str | None


@dataclass
class StanceResult:
    claim: str
    stance: str
    statements: int
    origins: list[str]
    speakers: list[str]  # distinct first-hand speakers
    sources: list[str]  # distinct primary sources of the first-hand statements
    repeats: list[str]  # echoes of the origins
    repeated_by: list[str]  # speakers of repeats who are not among the first-hand speakers
    first: str  # the statement said first
    latest: str  # the statement said last


@dataclass
class ClaimResult:
    claim: str
    origins: list[str]
    stances: dict[str, StanceResult]
    reporters: list[str]  # speakers of echoes of the claim's first-hand non-rebuttals
    uncarried: list[str]  # rebuttals none of whose echoes is by a reporter


@dataclass
class Analysis:
    statements: dict[str, StatementResult]
    hops: list[Hop]
    claims: dict[str, ClaimResult]
    dates: dict[str, ox.Literal]  # statement → its date


def primary_source(source: str | None, translation_of: dict[str, str]) -> str | None:
    """The original a (chain of) translation(s) is of; the source itself otherwise."""
    seen: set[str] = set()
    while source is not None and source in translation_of and source not in seen:
        seen.add(source)
        source = translation_of[source]
    return source


def _translation(st: StatementFacts, translation_of: dict[str, str]) -> str | None:
    """The source the statement's words are read in, when it is a translation."""
    for source in (st.quote_source, st.source):
        if source is not None and source in translation_of:
            return source
    return None


def analyse(facts: Facts) -> Analysis:
    statements = facts.statements
    links = sorted((a, b) for a, b in facts.reported_by if a in statements and b in statements)
    reports: dict[str, list[str]] = defaultdict(list)  # statement → statements reporting it
    reported: dict[str, list[str]] = defaultdict(list)  # report → statements it relays
    for a, b in links:
        reports[a].append(b)
        reported[b].append(a)
    first_hand = {s for s in statements if not reported.get(s)}

    # Depth and origins, breadth first from the first-hand statements: each link is followed
    # once per origin set change, so a loop (which the shapes refuse) cannot hang it.
    depth: dict[str, int] = {s: 0 for s in first_hand}
    origins: dict[str, set[str]] = {s: {s} for s in first_hand}
    frontier = sorted(first_hand)
    while frontier:
        following: list[str] = []
        for s in frontier:
            for r in reports.get(s, ()):
                known = origins.setdefault(r, set())
                before = len(known)
                known |= origins[s]
                if r not in depth:
                    depth[r] = depth[s] + 1
                if len(known) != before:
                    following.append(r)
        frontier = following

    echoes = _echo_sets(statements, reports)
    translation = {s: _translation(st, facts.translation_of) for s, st in statements.items()}
    results = {
        s: StatementResult(
            iri=s,
            claim=st.claim,
            first_hand=s in first_hand,
            origins=sorted(origins.get(s, ())),
            depth=depth.get(s),
            echoes=sorted(echoes[s]),
            translation=translation[s],
        )
        for s, st in statements.items()
    }
    hops = [
        Hop(a, b, lag_days(statements[a].date, statements[b].date), translation[b])
        for a, b in links
    ]
    dates = {s: st.date for s, st in statements.items() if st.date is not None}
    return Analysis(results, hops, _claims(facts, results, first_hand), dates)


def _echo_sets(
    statements: dict[str, StatementFacts], reports: dict[str, list[str]]
) -> dict[str, set[str]]:
    """Every statement's echo tree (reports of it, transitively), by depth-first search with
    memoisation in post-order; a statement on a loop gets what it reaches before the loop."""
    echoes: dict[str, set[str]] = {}
    on_path: set[str] = set()
    for root in sorted(statements):
        if root in echoes:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        on_path.add(root)
        while stack:
            node, i = stack[-1]
            children = reports.get(node, [])
            if i < len(children):
                stack[-1] = (node, i + 1)
                child = children[i]
                if child not in echoes and child not in on_path:
                    on_path.add(child)
                    stack.append((child, 0))
                continue
            stack.pop()
            on_path.discard(node)
            mine: set[str] = set()
            for child in children:
                mine.add(child)
                mine |= echoes.get(child, set())
            mine.discard(node)
            echoes[node] = mine
    return echoes


def _claims(
    facts: Facts, results: dict[str, StatementResult], first_hand: set[str]
) -> dict[str, ClaimResult]:
    by_claim: dict[str, list[StatementFacts]] = defaultdict(list)
    for st in facts.statements.values():
        if st.claim is not None:
            by_claim[st.claim].append(st)
    claims: dict[str, ClaimResult] = {}
    for claim, said in sorted(by_claim.items()):
        said.sort(key=lambda st: (date_key(st.date), st.iri))
        by_stance: dict[str, list[StatementFacts]] = defaultdict(list)
        for st in said:
            if st.stance is not None:
                by_stance[st.stance].append(st)
        stances = {}
        for stance, group in sorted(by_stance.items()):
            firsts = [st for st in group if st.iri in first_hand]
            speakers = sorted({st.speaker for st in firsts if st.speaker})
            sources = {primary_source(st.source, facts.translation_of) for st in firsts}
            repeats = sorted({e for st in firsts for e in results[st.iri].echoes})
            repeated_by = sorted(
                {s for e in repeats if (s := facts.statements[e].speaker)} - set(speakers)
            )
            stances[stance] = StanceResult(
                claim=claim,
                stance=stance,
                statements=len(group),
                origins=[st.iri for st in firsts],
                speakers=speakers,
                sources=sorted(s for s in sources if s is not None),
                repeats=repeats,
                repeated_by=repeated_by,
                first=group[0].iri,
                latest=max(group, key=lambda st: (date_key(st.date), st.iri)).iri,
            )
        spread = [st for st in said if st.iri in first_hand and st.stance not in REBUTTAL_STANCES]
        reporters = {
            s for st in spread for e in results[st.iri].echoes if (s := facts.statements[e].speaker)
        }
        uncarried = []
        if reporters:
            for st in said:
                if st.stance in REBUTTAL_STANCES:
                    carriers = {facts.statements[e].speaker for e in results[st.iri].echoes}
                    if not carriers & reporters:
                        uncarried.append(st.iri)
        claims[claim] = ClaimResult(
            claim=claim,
            origins=sorted(st.iri for st in said if st.iri in first_hand),
            stances=stances,
            reporters=sorted(reporters),
            uncarried=uncarried,
        )
    return claims
