"""Helpers for the browsing-page tests: an app over the seeded store, and HTML fetches."""

from __future__ import annotations

from flask.testing import FlaskClient

BASE = "https://claimgraph.org/"
HTML = {"Accept": "text/html"}


def html(client: FlaskClient, path: str) -> str:
    reply = client.get(path, headers=HTML)
    assert reply.status_code == 200, (path, reply.status_code, reply.get_data(as_text=True)[:500])
    assert reply.content_type.startswith("text/html")
    return reply.get_data(as_text=True)
