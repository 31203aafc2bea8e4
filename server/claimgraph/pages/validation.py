"""The validation page: the current SHACL report of the whole graph, grouped by shape and
severity. Whole-graph validation is expensive, so the report is computed once per write
generation (``linkeddata.cached``); ``/validation.json`` is the same report as data."""

from __future__ import annotations

from flask import Response, render_template, url_for

from claimgraph.describe import Term
from claimgraph.linkeddata import cached
from claimgraph.pages.common import bp, claimgraph
from claimgraph.validation import Report, Result

SEVERITIES = ("Violation", "Warning", "Info")
PER_GROUP = 200  # results shown per shape and severity; the JSON twin has them all


def report() -> Report:
    cg = claimgraph()
    return cached("validation:report", lambda: cg.validator.validate_store(cg.store))


def _focus(result: Result) -> Term:
    href = claimgraph().iris.href(result.focus_node)
    return Term(result.focus_node, href=href, iri=result.focus_node)


@bp.get("/validation")
def validation() -> Response:
    rep = report()
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in rep.results:
        groups.setdefault((r.severity, r.shape), []).append(r)
    order = sorted(
        groups.items(),
        key=lambda kv: (SEVERITIES.index(kv[0][0]) if kv[0][0] in SEVERITIES else 9, kv[0][1]),
    )
    counts = {s: sum(1 for r in rep.results if r.severity == s) for s in SEVERITIES}
    twin = url_for("pages.validation_json")
    body = render_template(
        "pages/validation.html",
        conforms=rep.conforms,
        counts=counts,
        groups=[
            (severity, shape, len(items), [(r, _focus(r)) for r in items[:PER_GROUP]])
            for (severity, shape), items in order
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
    return Response(report().to_json(), content_type="application/json")
