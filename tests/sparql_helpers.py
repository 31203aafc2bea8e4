"""A real ClaimGraph HTTP server on loopback (waitress in a thread), for the SPARQL tests,
and a socket listener that records whether anything connected to it."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any

from flask import Flask

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.sparql.views import SparqlService
from claimgraph.validation import Validator
from tests.live_server import serve

TOKEN = "test-write-token"
PREFIXES = """PREFIX cg: <https://claimgraph.org/ontology#>
PREFIX schema: <http://schema.org/>
PREFIX stance: <https://claimgraph.org/vocab/stance#>
PREFIX claim: <https://claimgraph.org/id/claim/>
PREFIX actor: <https://claimgraph.org/id/actor/>
"""


@dataclass
class Live:
    url: str  # http://127.0.0.1:PORT/
    app: Flask
    graph: ClaimGraph

    @property
    def sparql(self) -> str:
        return self.url + "sparql"

    @property
    def service(self) -> SparqlService:
        svc = self.app.extensions["claimgraph.sparql"]
        assert isinstance(svc, SparqlService)
        return svc


@contextmanager
def live_server(validator: Validator, **overrides: Any) -> Iterator[Live]:
    """The shipped data on a fresh in-memory store, served on a free loopback port (without
    the propagation analysis, whose own writes would move the write generation, unless
    ``propagation=True``)."""
    settings = Settings(**{"write_token": TOKEN, "propagation": False, **overrides})
    graph = ClaimGraph(settings, validator=validator)
    graph.seed()
    app = create_app(settings, graph=graph)
    try:
        with serve(app, threads=8) as url:
            yield Live(url + "/", app, graph)
    finally:
        app.extensions["claimgraph.sparql"].close()
        graph.close()


@dataclass
class Reply:
    status: int
    headers: Message  # case-insensitive, as HTTP header names are
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def http(
    method: str,
    url: str,
    *,
    params: Mapping[str, str | list[str]] | None = None,
    data: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    """One plain HTTP request (urllib); never raises on an HTTP error status."""
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    body = data.encode() if isinstance(data, str) else data
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers, err.read())


def form(fields: Mapping[str, str | list[str]]) -> bytes:
    return urllib.parse.urlencode(fields, doseq=True).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}
UPDATE = {"Content-Type": "application/sparql-update"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Listener:
    """A TCP listener on loopback that counts connections (to prove nothing was fetched)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
