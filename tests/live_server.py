"""A real HTTP server on loopback for the linked-data tests: waitress (as `claimgraph serve`
runs it) in a background thread, serving an app built with create_app."""

from __future__ import annotations

import http.client
import http.server
import itertools
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

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


# Headers that concern one connection, not the request: a proxy does not pass them on.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@contextmanager
def reverse_proxy(upstreams: list[str], public_host: str) -> Iterator[str]:
    """A loopback reverse proxy that sends each request to the next of ``upstreams`` in turn
    (``http://127.0.0.1:N``), as nginx's ``proxy_pass`` to an upstream block does: it adds
    ``X-Forwarded-For/-Proto/-Host`` (``https``, ``public_host``) and names the upstream that
    answered in ``X-Upstream``. Yields its URL."""
    turn = itertools.count()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            upstream = upstreams[next(turn) % len(upstreams)]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers |= {
                "X-Forwarded-For": self.client_address[0],
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": public_host,
            }
            conn = http.client.HTTPConnection(urlsplit(upstream).netloc, timeout=30)
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Upstream", upstream)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
