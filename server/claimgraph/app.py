"""The Flask application factory. Pages and protocol endpoints register here as blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify

from claimgraph import (
    claimreview,
    dumps,
    graphstore,
    httperrors,
    linkeddata,
    pageprocs,
    pages,
    security,
    void,
    web,
)
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.propagation import views as propagation
from claimgraph.sparql import views as sparql
from claimgraph.stats import collect
from claimgraph.summaries import Summaries


def create_app(
    config: Settings | Mapping[str, Any] | None = None, *, graph: ClaimGraph | None = None
) -> Flask:
    """Build the app. ``config``: Settings, or a dict of overrides on the environment's."""
    settings = config if isinstance(config, Settings) else Settings.from_env(**dict(config or {}))
    if graph is None:
        graph = ClaimGraph(settings)
        if settings.seed:
            graph.seed()
    app = httperrors.ClaimGraphFlask(__name__)
    app.extensions["claimgraph"] = graph
    app.extensions["claimgraph.settings"] = settings  # the app's, which may differ from graph's
    summaries = app.extensions["claimgraph.cache"] = Summaries()
    graph.close_listeners.append(summaries.close)  # no recomputation outlives the store
    web.init_app(app, settings)  # CORS, trusted proxies
    app.register_blueprint(linkeddata.bp)
    app.register_blueprint(dumps.bp)
    app.register_blueprint(void.bp)
    app.register_blueprint(claimreview.bp)
    sparql.init_app(app, settings)  # /sparql, /update
    app.register_blueprint(graphstore.bp)
    pages.init_app(app, graph)  # /, /claims, and the rich HTML of /id/claim/…, /id/actor/…
    propagation.init_app(app, graph)  # the derived graph, kept in step; /propagation/…
    pageprocs.init_app(app, graph, settings)  # /id/… rendered in page processes, on every CPU

    @app.get("/status.json")
    def status_json() -> Response:
        s = collect(graph.store)
        return jsonify(triples=s.triples, graphs=s.graphs, classes=s.classes)

    httperrors.init_app(app)  # errors as JSON, text or HTML; request ids; the 5xx log
    security.init_app(app)

    return app
