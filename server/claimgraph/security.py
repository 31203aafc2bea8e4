"""Headers that keep browsers safe with every response: what a page may load, no MIME
sniffing, no framing by other sites, no full URLs leaked to other sites."""

from __future__ import annotations

from flask import Flask, Response, request

# The pages load their scripts and styles from /static only: no inline script, no inline
# style, no eval. ``<script type="application/ld+json">`` (ClaimReview markup) is a data block
# that browsers never execute, so it needs nothing here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The query page's editor (YASGUI, vendored under /static/yasgui/): its result table's column
# resizer inserts one fixed ``<style>`` element, allowed by its hash and nothing else; no
# inline script, no eval, no other inline style. The browser test of the editor fails on any
# CSP report, so an update of YASGUI that changes that style shows there. docs/security.md.
YASGUI_STYLE = "'sha256-zCK2EVMoPc04mRF/g5CotUvxbJPWS+8V0b+s9ptqQIk='"
QUERY_PAGE_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self';", f"style-src 'self' {YASGUI_STYLE};"
)
QUERY_PAGE = "sparql.sparql"
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        if request.endpoint == QUERY_PAGE and response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", QUERY_PAGE_POLICY)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
