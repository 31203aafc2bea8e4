"""The home page: what the graph holds, the most contested claims, recent statements, and
the ways in (search, query page, dumps, dataset description). The aggregates are computed
once per write generation (``linkeddata.cached``), never per request."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from claimgraph.iris import VOID_PATH
from claimgraph.linkeddata import cached
from claimgraph.pages.common import Labels, bp, claimgraph, select, values
from claimgraph.pages.indexes import KINDS as INDEXES
from claimgraph.stats import Stats, collect

CONTESTED_LIMIT = 10
RECENT_LIMIT = 10


def contested() -> list[dict[str, Any]]:
    """Claims asserted by some speakers and denied by others, most disputed first (one pass
    over the asserting and denying statements; joining the two sets per claim is far slower)."""
    return select(
        claimgraph(),
        f"""SELECT ?claim (COUNT(DISTINCT ?asserter) AS ?asserting)
                          (COUNT(DISTINCT ?denier) AS ?denying) WHERE {{
          {{ ?s cg:stance stance:asserts ; cg:claim ?claim ; cg:speaker ?asserter }}
          UNION {{ ?s cg:stance stance:denies ; cg:claim ?claim ; cg:speaker ?denier }}
        }} GROUP BY ?claim
        HAVING (COUNT(DISTINCT ?asserter) > 0 && COUNT(DISTINCT ?denier) > 0)
        ORDER BY DESC(COUNT(DISTINCT ?asserter) + COUNT(DISTINCT ?denier)) ?claim
        LIMIT {CONTESTED_LIMIT}""",
    )


def recent() -> list[dict[str, Any]]:
    """The latest statements: the dates alone first (a sort of one pattern), then their
    details (sorting the four-pattern join is many times slower)."""
    cg = claimgraph()
    latest = select(
        cg,
        f"SELECT ?s WHERE {{ ?s cg:date ?date }} ORDER BY DESC(STR(?date)) ?s LIMIT {RECENT_LIMIT}",
    )
    if not latest:
        return []
    return select(
        cg,
        f"""SELECT ?s ?speaker ?stance ?claim ?date WHERE {{
          VALUES ?s {{ {values(r["s"].value for r in latest)} }}
          ?s cg:claim ?claim ; cg:speaker ?speaker ; cg:stance ?stance ; cg:date ?date .
        }} ORDER BY DESC(STR(?date)) ?s LIMIT {RECENT_LIMIT}""",
    )


@bp.get("/")
def home() -> str:
    cg = claimgraph()
    stats: Stats = cached("home:stats", lambda: collect(cg.store), may_lag=True)
    top = cached("home:contested", contested, may_lag=True)
    latest = cached("home:recent", recent, may_lag=True)
    iris = {r["claim"].value for r in top}
    for r in latest:
        iris.update(r[k].value for k in ("s", "speaker", "stance", "claim"))
    labels = Labels(cg, iris)
    return render_template(
        "pages/home.html",
        stats=stats,
        contested=[
            (labels.term(r["claim"]), int(r["asserting"].value), int(r["denying"].value))
            for r in top
        ],
        recent=[
            {
                "date": r["date"].value,
                "speaker": labels.term(r["speaker"]),
                "stance": labels.term(r["stance"]),
                "claim": labels.term(r["claim"]),
                "statement": labels.term(r["s"]),
            }
            for r in latest
        ],
        dumps=[
            (cg.iris.dump_path(s), s.lstrip(".")) for s in (".trig", ".nq", ".trig.gz", ".nq.gz")
        ],
        void=VOID_PATH,
        sparql=url_for("sparql.sparql"),
        claims=url_for("pages.claims"),
        lists={
            "claims": url_for("pages.claims"),
            **{name: url_for(f"pages.index_{name}") for name in INDEXES},
        },
        search=url_for("pages.search_page"),
    )
