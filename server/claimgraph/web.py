"""HTTP concerns shared by every route: CORS, trusted reverse proxies, and the public address
the server names its own URLs with.

CORS (flask-cors): every resource can be read from any origin (``*``; ``/sparql`` also by POST,
which is how long queries are sent). Writes carry ``Authorization: Bearer``, a header only the
origins in ``CLAIMGRAPH_CORS_WRITE_ORIGINS`` may send: a preflight from any other origin is
not allowed ``Authorization``, nor ``PUT``/``DELETE``, so a browser never sends its write.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from claimgraph.config import Settings
from claimgraph.errors import InputError
from claimgraph.iris import GRAPH_STORE_PATH, SPARQL_PATH, Site

READ_HEADERS = ["Accept", "Content-Type", "If-None-Match", "If-Modified-Since", "If-Range", "Range"]
EXPOSED_HEADERS = [
    "Accept-Ranges",
    "Content-Encoding",
    "Content-Location",
    "Content-Range",
    "ETag",
    "Link",
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-ClaimGraph-Cache",
    "X-ClaimGraph-Row-Limit",
    "X-ClaimGraph-Truncated",
]
MAX_AGE = 86400
# The routes that take writes (all need the token).
WRITE_ROUTES = (SPARQL_PATH, "/update", GRAPH_STORE_PATH, "/import/claimreview")


def init_app(app: Flask, settings: Settings) -> None:
    """Install the proxy fix (when proxies are trusted) and the CORS policies."""
    if settings.public_url:
        try:
            Site(settings.public_url)
        except ValueError as err:
            raise InputError(f"CLAIMGRAPH_PUBLIC_URL: {err}") from None
    hops = settings.trusted_proxies
    if hops < 0:
        raise InputError(f"CLAIMGRAPH_TRUSTED_PROXIES={hops}: expected 0 or more")
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    common = {
        "expose_headers": EXPOSED_HEADERS,
        "max_age": MAX_AGE,
        "intercept_exceptions": False,  # error responses pass through after_request anyway
    }
    CORS(
        app,
        resources={
            rf"^{SPARQL_PATH}$": {"methods": ["GET", "HEAD", "POST", "OPTIONS"]},
            r"/*": {"methods": ["GET", "HEAD", "OPTIONS"]},
        },
        origins="*",
        send_wildcard=True,  # "*", the same for every origin: one cached answer fits all
        allow_headers=READ_HEADERS,
        **common,  # type: ignore[arg-type]
    )
    writers = settings.cors_write_origins.split()
    if not writers:
        return
    # Registered last, so it runs first: a configured origin gets its own origin back and the
    # write methods; any other origin falls through to the read policy above.
    CORS(
        app,
        resources={rf"^{path}$": {} for path in WRITE_ROUTES},  # anchored: not a prefix
        origins=writers,
        methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=[*READ_HEADERS, "Authorization"],
        always_send=False,  # no Origin, no CORS headers (never a list of every origin)
        **common,  # type: ignore[arg-type]
    )

    @app.after_request
    def vary_on_origin(response: Response) -> Response:
        # These routes answer one origin differently from another: caches must keep them apart.
        if request.path in WRITE_ROUTES:
            response.vary.add("Origin")
        return response


def waitress_options(settings: Settings) -> dict[str, Any]:
    """Options for waitress: it drops X-Forwarded-* headers itself unless told not to; with
    trusted proxies, ``ProxyFix`` (which counts the hops) decides instead."""
    return {"clear_untrusted_proxy_headers": settings.trusted_proxies == 0}


def site() -> Site:
    """The public address of this server: the configured one, else the request's own (as
    the trusted proxies, if any, report it)."""
    settings: Settings = current_app.extensions["claimgraph.settings"]
    return Site(settings.public_url or request.url_root)
