"""Helpers for the browsing-page tests: an app over the seeded store, and HTML fetches."""

from __future__ import annotations

import time
from typing import Any

from flask.testing import FlaskClient

BASE = "https://claimgraph.org/"
HTML = {"Accept": "text/html"}


def html(client: FlaskClient, path: str) -> str:
    reply = client.get(path, headers=HTML)
    assert reply.status_code == 200, (path, reply.status_code, reply.get_data(as_text=True)[:500])
    assert reply.content_type.startswith("text/html")
    return reply.get_data(as_text=True)


def validation_report(client: FlaskClient, seconds: float = 120) -> dict[str, Any]:
    """``/validation.json`` once it holds a current report (made in the background)."""
    end = time.monotonic() + seconds
    while True:
        doc: dict[str, Any] = client.get("/validation.json").get_json()
        if doc["report"] is not None and doc["report"]["current"]:
            return doc
        assert time.monotonic() < end, f"no current validation report within {seconds} s"
        time.sleep(0.1)
