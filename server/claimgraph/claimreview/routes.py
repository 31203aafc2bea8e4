"""The HTTP routes: import over HTTP (token) and the markup of one review."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, jsonify, request

from claimgraph.auth import check_write_token
from claimgraph.claimreview.importing import import_markup
from claimgraph.claimreview.markup import review_markup
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import NotFound, PayloadTooLarge

bp = Blueprint("claimreview", __name__)


def _claimgraph() -> ClaimGraph:
    graph: ClaimGraph = current_app.extensions["claimgraph"]
    return graph


@bp.post("/import/claimreview")
def import_claimreview() -> tuple[Response, int]:
    """Import ClaimReview JSON-LD from the request body (``Authorization: Bearer <token>``)."""
    cg = _claimgraph()
    settings: Settings = current_app.extensions.get("claimgraph.settings", cg.settings)
    check_write_token(settings.write_token, request.headers.get("Authorization"))
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the markup is larger than the limit of {limit} bytes")
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise PayloadTooLarge(f"the markup is larger than the limit of {limit} bytes")
    result = import_markup(
        cg,
        [("request body", data)],
        graph=request.args.get("graph") or None,
        language=request.args.get("language") or None,
    )
    return jsonify(result.to_json()), 200


@bp.get("/claimreview/<name>")
def claimreview(name: str) -> Response:
    """The ClaimReview markup of review ``<base>id/review/<slug>`` (``.jsonld`` optional)."""
    cg = _claimgraph()
    slug = name.removesuffix(".jsonld").removesuffix(".json")
    iri = f"{cg.iris.base}id/review/{slug}"
    markup = review_markup(cg, iri)
    if markup is None:
        raise NotFound(f"no ClaimReview <{iri}>")
    body = json.dumps(markup, ensure_ascii=False, indent=2)
    return Response(body, content_type="application/ld+json")
