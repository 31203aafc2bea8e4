"""Headers that keep browsers safe with every response: what a page may load, no MIME
sniffing, no framing by other sites, no full URLs leaked to other sites."""

from __future__ import annotations

from flask import Flask, Response

# The pages load their scripts and styles from /static only: no inline script, no inline
# style, no eval. ``<script type="application/ld+json">`` (ClaimReview markup) is a data block
# that browsers never execute, so it needs nothing here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
