"""The case timeline: every statement of the graph (or of one topic) on one dated axis,
coloured by stance, with reporting lines from what is reported to its report — the page that
answers "who said it first, and how did it reach the news". ``/timeline.json`` and
``/timeline.csv`` are the same page as data.

The order of all statements (by date, what is reported before its report) and the statements
of each topic are a whole-graph summary, computed once per write generation
(``claimgraph.summaries``); a request slices one page of it and reads only that page's
statements, by IRI.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import Response, render_template, request, url_for

from claimgraph import sparqlterms
from claimgraph.core import ClaimGraph
from claimgraph.describe import Term
from claimgraph.errors import InputError, NotFound
from claimgraph.linkeddata import cached
from claimgraph.pages.common import (
    PROLOGUE,
    Labels,
    bp,
    claimgraph,
    csv_twin,
    json_twin,
    literal,
    local_name,
    paging,
    select,
)
from claimgraph.pages.common import values as iri_values
from claimgraph.pages.timeaxis import AxisRow, axis_svg, reporting_order

log = logging.getLogger(__name__)

PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_ROWS = 5_000_000  # of each whole-graph read of the summary
MAX_TOPICS = 200  # in the form's choice
FORMATS = {"json": "application/json", "csv": "text/csv"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class TimelineIndex:
    """All dated statements in timeline order, for one write generation."""

    order: list[str]  # statement IRIs
    reach: list[str]  # the latest date up to each position (non-decreasing: for ``from``)
    topics: dict[str, list[int]]  # topic IRI → positions of its statements
    reported: dict[int, tuple[int, ...]]  # position of a report → positions of what it reports
    reports: dict[int, tuple[int, ...]]  # the other way: position → positions of its reports

    @classmethod
    def build(cls, cg: ClaimGraph) -> TimelineIndex:
        dates: dict[str, str] = {}
        for s, d in _rows(cg, "SELECT ?s ?d WHERE { ?s cg:date ?d . ?s cg:claim ?c }"):
            if isinstance(s, ox.NamedNode):
                dates.setdefault(s.value, d.value)
        reports: dict[str, list[str]] = {}
        for s, r in _rows(cg, "SELECT ?s ?r WHERE { ?s cg:reportedBy ?r }"):
            if s.value in dates and r.value in dates:
                reports.setdefault(r.value, []).append(s.value)
        order = reporting_order(dates, reports)
        at = {s: i for i, s in enumerate(order)}
        reach, latest = [], ""
        for s in order:
            latest = max(latest, dates[s])
            reach.append(latest)
        of_claim: dict[str, list[int]] = {}
        for s, c in _rows(cg, "SELECT ?s ?c WHERE { ?s cg:claim ?c }"):
            if s.value in at:
                of_claim.setdefault(c.value, []).append(at[s.value])
        topics: dict[str, set[int]] = {}
        for c, t in _rows(cg, "SELECT ?c ?t WHERE { ?c cg:topic ?t }"):
            if c.value in of_claim:
                topics.setdefault(t.value, set()).update(of_claim[c.value])
        reported = {at[r]: tuple(sorted(at[x] for x in set(what))) for r, what in reports.items()}
        back: dict[int, list[int]] = {}
        for r, what_at in reported.items():
            for x in what_at:
                back.setdefault(x, []).append(r)
        return cls(
            order=order,
            reach=reach,
            topics={t: sorted(found) for t, found in topics.items()},
            reported=reported,
            reports={x: tuple(sorted(rs)) for x, rs in back.items()},
        )


def _rows(cg: ClaimGraph, sparql: str) -> Iterator[tuple[Any, ...]]:
    result = cg.store.query(f"{PROLOGUE}{sparql} LIMIT {MAX_ROWS}")
    assert isinstance(result, ox.QuerySolutions)
    count = 0
    for solution in result:
        count += 1
        yield tuple(solution)
    if count >= MAX_ROWS:
        log.warning("a read of the timeline stopped at its bound of %d rows", MAX_ROWS)


def index() -> TimelineIndex:
    cg = claimgraph()
    return cached("timeline:index", lambda: TimelineIndex.build(cg), may_lag=True)


@dataclass
class Query:
    topic: str = ""
    date_from: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Any) -> Query:
        def arg(name: str) -> str:
            return str(args.get(name, "")).strip()

        page, per_page = paging(args, PER_PAGE, MAX_PER_PAGE)
        query = cls(topic=arg("topic"), date_from=arg("from"), page=page, per_page=per_page)
        if query.date_from and not _DATE.match(query.date_from):
            raise InputError("from must be a date: YYYY, YYYY-MM or YYYY-MM-DD")
        if query.topic:
            try:
                sparqlterms.iri(query.topic)
            except ValueError as err:
                raise InputError("topic must be an IRI (a topic concept's)") from err
        return query

    def params(self, **change: Any) -> dict[str, Any]:
        out = {
            "topic": self.topic,
            "from": self.date_from,
            "page": self.page if self.page != 1 else "",
            "per_page": self.per_page if self.per_page != PER_PAGE else "",
        }
        out.update(change)
        return {k: v for k, v in out.items() if v not in ("", None)}


@dataclass
class Item:
    iri: str
    link: Term
    date: str
    approximate: bool
    date_note: Term | None
    speaker: Term
    stance: Term
    stance_key: str
    claim: Term
    source: Term
    reports: list[Term]  # the statements it reports
    reported_by: list[Term]  # its reports


def find(query: Query) -> dict[str, Any]:
    """One page of the timeline: its statements with what the page and its twins show."""
    cg = claimgraph()
    idx = index()
    seq: list[int] | range = (
        idx.topics.get(query.topic, []) if query.topic else range(len(idx.order))
    )
    start = 0
    if query.date_from:
        # Strings in date order: the shapes allow only xsd:date, gYearMonth and gYear with a
        # four-digit year and no time zone, and a coarser date sorts before its finer ones.
        start = bisect.bisect_left(seq, query.date_from, key=lambda p: idx.reach[p])
    offset = start + (query.page - 1) * query.per_page
    window = list(seq[offset : offset + query.per_page + 1])
    more = len(window) > query.per_page
    window = window[: query.per_page]
    mine = [idx.order[p] for p in window]
    shown = set(window)
    linked = {idx.order[x] for p in window for x in idx.reported.get(p, ())}
    linked |= {idx.order[r] for x in window for r in idx.reports.get(x, ())}
    wanted_rows = sorted(set(mine) | linked)[: query.per_page * 6]  # a bound on the links shown
    rows = (
        select(
            cg,
            f"""SELECT ?s ?speaker ?stance ?date ?source ?claim ?approx ?dnote WHERE {{
              VALUES ?s {{ {iri_values(wanted_rows)} }}
              ?s cg:speaker ?speaker ; cg:stance ?stance ; cg:date ?date ; cg:source ?source ;
                 cg:claim ?claim .
              OPTIONAL {{ ?s cg:dateApproximate ?approx }} OPTIONAL {{ ?s cg:dateNote ?dnote }}
            }} LIMIT {len(wanted_rows) * 8}""",
        )
        if mine
        else []
    )
    info: dict[str, dict[str, Any]] = {}
    for r in rows:
        info.setdefault(r["s"].value, r)
    wanted: set[str] = set(mine) | linked
    for r in info.values():
        wanted.update(r[k].value for k in ("speaker", "stance", "source", "claim"))
    labels = Labels(cg, wanted)

    def said(p: int) -> Term:
        """A linked statement as its speaker and date."""
        s = idx.order[p]
        t = labels.term(ox.NamedNode(s))
        if s in info:
            t.text = f"{labels.text(info[s]['speaker'].value)}, {info[s]['date'].value}"
        return t

    items = []
    for p in window:
        row = info.get(idx.order[p])
        if row is None:  # changed since the index was made: left out until it catches up
            continue
        items.append(
            Item(
                iri=idx.order[p],
                link=labels.term(row["s"]),
                date=row["date"].value,
                approximate="approx" in row and row["approx"].value == "true",
                date_note=literal(row["dnote"]) if "dnote" in row else None,
                speaker=labels.term(row["speaker"]),
                stance=labels.term(row["stance"]),
                stance_key=local_name(row["stance"].value),
                claim=labels.term(row["claim"]),
                source=labels.term(row["source"]),
                reports=[said(x) for x in idx.reported.get(p, ())],
                reported_by=[said(x) for x in idx.reports.get(p, ())],
            )
        )
    axis = [
        AxisRow(
            key=i.iri,
            date=i.date,
            label=f"{i.speaker.text} · {i.stance.text}",
            title=f"{i.speaker.text} {i.stance.text}: {i.claim.text}",
            stance=i.stance_key,
            href=i.link.href,
            approximate=i.approximate,
        )
        for i in items
    ]
    links = [
        (idx.order[x], idx.order[p]) for p in window for x in idx.reported.get(p, ()) if x in shown
    ]
    return {
        "items": items,
        "total": len(seq),
        "first": offset + 1,
        "more": more,
        "start": start,
        "svg": axis_svg(
            axis,
            links,
            title=f"{len(axis)} statements by date, stance-coloured, arrows from what is "
            "reported to its report",
            ident="timeline",
        )
        if axis
        else None,
        "topics": sorted(idx.topics)[:MAX_TOPICS],
    }


def _links(query: Query, more: bool, start: int, ext: str | None = None) -> dict[str, str | None]:
    """Earlier and later pages; from the first page after a ``from`` date, the page (without
    it) that holds the statement before."""
    endpoint = "pages.timeline_data" if ext else "pages.timeline"
    extra: dict[str, Any] = {"fmt": ext} if ext else {}
    prev = None
    if query.page > 1:
        prev = query.params(page=query.page - 1 if query.page > 2 else "") | extra
    elif start > 0:
        before = (start - 1) // query.per_page + 1
        prev = query.params(**{"from": "", "page": before if before > 1 else ""}) | extra
    nxt = query.params(page=query.page + 1) | extra
    return {
        "prev": url_for(endpoint, **prev) if prev is not None else None,
        "next": url_for(endpoint, **nxt) if more else None,
    }


def _alternates(query: Query) -> list[tuple[str, str, str]]:
    return [
        (url_for("pages.timeline_data", fmt=ext, **query.params()), media, ext)
        for ext, media in FORMATS.items()
    ]


@bp.get("/timeline")
def timeline() -> Response:
    query = Query.from_args(request.args)
    found = find(query)
    cg = claimgraph()
    topic_labels = Labels(cg, found["topics"] + ([query.topic] if query.topic else []))
    topics = sorted(((t, topic_labels.text(t)) for t in found["topics"]), key=lambda x: x[1])
    alts = _alternates(query)
    body = render_template(
        "pages/timeline.html",
        query=query,
        found=found,
        topics=topics,
        topic=topic_labels.term(ox.NamedNode(query.topic)) if query.topic else None,
        pages=_links(query, found["more"], found["start"]),
        alternates=alts,
    )
    link = ", ".join(f'<{href}>; rel="alternate"; type="{media}"' for href, media, _ in alts)
    return Response(body, content_type="text/html; charset=utf-8", headers={"Link": link})


COLUMNS = (
    "statement",
    "date",
    "approximate",
    "speaker",
    "stance",
    "claim",
    "source",
    "reports",
    "reportedBy",
)


@bp.get("/timeline.<fmt>")
def timeline_data(fmt: str) -> Response:
    if fmt not in FORMATS:
        raise NotFound(f"no timeline format .{fmt}: use .json or .csv")
    query = Query.from_args(request.args)
    found = find(query)
    items = [
        {
            "statement": i.iri,
            "date": i.date,
            "approximate": i.approximate,
            **({"dateNote": i.date_note.text} if i.date_note else {}),
            "speaker": i.speaker.iri,
            "speakerName": i.speaker.text,
            "stance": i.stance.iri,
            "claim": i.claim.iri,
            "source": i.source.iri,
            "reports": [t.iri for t in i.reports],
            "reportedBy": [t.iri for t in i.reported_by],
        }
        for i in found["items"]
    ]
    headers = {
        "Link": f'<{url_for("pages.timeline", **query.params())}>; rel="alternate"; '
        'type="text/html"'
    }
    if fmt == "json":
        links = _links(query, found["more"], found["start"], "json")
        doc = {
            "topic": query.topic or None,
            "from": query.date_from or None,
            "page": query.page,
            "per_page": query.per_page,
            "total": found["total"],
            "first": found["first"],
            "next": links["next"],
            "prev": links["prev"],
            "statements": items,
        }
        return json_twin(doc, headers)
    return csv_twin(COLUMNS, ([_cell(item.get(c)) for c in COLUMNS] for item in items), headers)


def _cell(v: Any) -> Any:
    """A CSV cell: lists space-separated, booleans as true/false."""
    if isinstance(v, list):
        return " ".join(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return v or ""
