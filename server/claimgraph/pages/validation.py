"""The validation page: the last SHACL report of the whole graph, grouped by severity and
shape, with the write generation it is of and when it was made; ``/validation.json`` is the
same as data.

Validating the whole graph takes long (30 s and 560 MB at 100k triples), so no request ever
waits for it: a request is served the last report there is, and when the graph has changed
since, one validation starts in the background (``Summaries.latest``), a moment later so that
a burst of writes costs one, and at most one at a time. What is kept of a report is what the
page shows: the counts, and the first results of each shape and severity.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, render_template, url_for

from claimgraph.describe import Term
from claimgraph.pages.common import bp, claimgraph
from claimgraph.summaries import Summaries
from claimgraph.validation import Report, Result

SEVERITIES = ("Violation", "Warning", "Info")
PER_GROUP = 200  # results kept and shown per shape and severity
NAME = "validation:report"
# Seconds a validation waits after it is asked for, so that writes in a row cost one.
DELAY = 1.0


@dataclass(frozen=True)
class Group:
    severity: str
    shape: str
    count: int
    results: list[Result]  # the first PER_GROUP


@dataclass(frozen=True)
class Digest:
    """What is kept of one whole-graph report: bounded by the number of shapes."""

    generation: int
    computed: datetime
    conforms: bool
    counts: dict[str, int]  # results per severity
    groups: list[Group]

    @classmethod
    def of(cls, report: Report, generation: int) -> Digest:
        by_group: dict[tuple[str, str], list[Result]] = {}
        for r in report.results:
            by_group.setdefault((r.severity, r.shape), []).append(r)
        order = sorted(
            by_group.items(),
            key=lambda kv: (SEVERITIES.index(kv[0][0]) if kv[0][0] in SEVERITIES else 9, kv[0][1]),
        )
        counts = {s: sum(1 for r in report.results if r.severity == s) for s in SEVERITIES}
        return cls(
            generation=generation,
            computed=datetime.now(UTC),
            conforms=report.conforms,
            counts=counts,
            groups=[Group(sev, shape, len(rs), rs[:PER_GROUP]) for (sev, shape), rs in order],
        )


@dataclass(frozen=True)
class State:
    """The report to show (``None``: none yet) and how it stands against the graph."""

    digest: Digest | None
    generation: int  # the graph's write generation now
    computing: bool  # a validation is running or about to


def state() -> State:
    """The last report, never computed here; one starts in the background if it is stale."""
    cg = claimgraph()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    summaries: Summaries = app.extensions.setdefault("claimgraph.cache", Summaries())

    def compute() -> Digest:
        generation = cg.generation  # what it sees is at least this generation
        return Digest.of(cg.validator.validate_store(cg.store), generation)

    generation = cg.generation
    hit = summaries.latest(
        NAME,
        generation,
        compute,
        app=app,
        delay=DELAY,
        current=lambda: claimgraph().generation,
    )
    return State(hit[1] if hit else None, generation, summaries.running(NAME))


def _focus(result: Result) -> Term:
    href = claimgraph().iris.href(result.focus_node)
    return Term(result.focus_node, href=href, iri=result.focus_node)


@bp.get("/validation")
def validation() -> Response:
    now = state()
    rep = now.digest
    twin = url_for("pages.validation_json")
    body = render_template(
        "pages/validation.html",
        report=rep,
        generation=now.generation,
        computing=now.computing,
        groups=[
            (g.severity, g.shape, g.count, [(r, _focus(r)) for r in g.results])
            for g in (rep.groups if rep else [])
        ],
        alternates=[(twin, "application/json", "json")],
        per_group=PER_GROUP,
    )
    return Response(
        body,
        content_type="text/html; charset=utf-8",
        headers={"Link": f'<{twin}>; rel="alternate"; type="application/json"'},
    )


@bp.get("/validation.json")
def validation_json() -> Response:
    now = state()
    rep = now.digest
    doc: dict[str, Any] = {
        "generation": now.generation,
        "computing": now.computing,
        "report": None,
    }
    if rep is not None:
        doc["report"] = {
            "generation": rep.generation,
            "current": rep.generation >= now.generation,
            "computed": rep.computed.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conforms": rep.conforms,
            "violations": rep.counts["Violation"],
            "warnings": rep.counts["Warning"],
            "infos": rep.counts["Info"],
            "groups": [
                {
                    "severity": g.severity,
                    "shape": g.shape,
                    "count": g.count,
                    "results": [asdict(r) for r in g.results],
                }
                for g in rep.groups
            ],
        }
    return Response(json.dumps(doc, ensure_ascii=False, indent=2), content_type="application/json")
