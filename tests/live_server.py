"""A real HTTP server on loopback for the linked-data tests: waitress (as `claimgraph serve`
runs it) in a background thread, serving an app built with create_app."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from flask import Flask
from waitress.server import create_server

from claimgraph.claimreview import import_markup
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.validation import Validator
from claimgraph.web import waitress_options
from tests.conftest import FIXTURES


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    def text(self) -> str:
        return self.body.decode("utf-8")


@contextmanager
def serve(app: Flask, threads: int = 4) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields the base URL (``http://127.0.0.1:N``)."""
    server = create_server(
        app,
        host="127.0.0.1",
        port=0,
        threads=threads,
        ident="claimgraph-test",
        asyncore_loop_timeout=0.1,
        **waitress_options(app.extensions["claimgraph.settings"]),  # as `claimgraph serve`
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        # Stop in order: task threads, then the event loop (an empty socket map ends it within
        # one loop timeout), and only then the sockets, which a running select() would still use.
        server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        server._map.clear()  # type: ignore[union-attr]
        thread.join(timeout=5)
        server.close()


def fetch(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    data: bytes | None = None,
) -> Reply:
    """One request; error statuses are returned, not raised (no redirects are followed)."""
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def seeded_with_reviews(validator: Validator, data_dir: Path | None = None) -> ClaimGraph:
    """A fresh ClaimGraph (in memory, or in ``data_dir``) with everything `make serve` ships
    plus two imported ClaimReviews (the schema.org example eg-0324 and a hand-made one), so
    that every kind of resource, reviews and ratings too, exists."""
    cg = ClaimGraph(Settings(seed=False, data_dir=data_dir), validator=validator)
    cg.seed()
    files = [
        FIXTURES / "claimreview" / "eg-0324.jsonld",
        FIXTURES / "claimreview" / "claim-form.jsonld",
    ]
    import_markup(cg, [(str(f), f.read_bytes()) for f in files], language="en")
    return cg
