"""The browsing UI: one module per page type. ``init_app`` registers the routes of the home
and list pages, and the renderers that make ``/id/<kind>/<slug>`` HTML a rich page."""

from __future__ import annotations

from flask import Flask

from claimgraph import deadline
from claimgraph.core import ClaimGraph
from claimgraph.pages import (
    actor,
    claim,
    claims,
    home,
    indexes,
    query,
    resources,
    timeline,
    validation,
)
from claimgraph.pages.common import bp

# kind of data resource → renderer of its HTML representation (linkeddata looks it up)
RENDERERS = {
    "claim": claim.render,
    "actor": actor.render,
    **{
        kind: resources.renderer(kind)
        for kind in (
            "statement",
            "source",
            "evidence",
            "assessment",
            "review",
            "rating",
            "affiliation",
        )
    },
}


def init_app(app: Flask, graph: ClaimGraph) -> None:
    _ = (home, indexes, timeline, validation)  # their routes are on bp
    settings = app.extensions.get("claimgraph.settings", graph.settings)
    deadline.init_app(app, settings.page_timeout)
    app.register_blueprint(bp)
    app.extensions["claimgraph.pages"] = RENDERERS
    claims.init_app(app, graph)
    query.init_app(app, graph)
