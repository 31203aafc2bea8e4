"""The remote store when its server is down, hung, slow or talking nonsense: a clear
StoreError (503) or StoreTimeout (504) within the time limit, an error in the log, no
partial write, and recovery when the server is back.

Two kinds of server: small fakes on loopback sockets (each misbehaving one way), and a
Virtuoso of this module's own (tests/virtuoso.py) that the tests kill, freeze and restart.
"""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from bench.virtuoso import free_port
from server.app import create_app
from server.config import Settings
from server.core import ClaimGraph
from server.errors import QuerySyntaxError, StoreError, StoreTimeout
from server.store import Delta
from server.store.remote import RemoteStore
from server.validation import Validator
from tests.virtuoso import Virtuoso, started

EX = "http://example.org/"
G = ox.NamedNode(EX + "g")
QUAD = ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal("x"), G)
TIMEOUT = 0.5  # the store's time limit in these tests
SLACK = 2.0  # what an answer may take beyond it (a loaded CI machine)


def quads(n: int, tag: str = "v") -> list[ox.Quad]:
    p = ox.NamedNode(EX + "p")
    return [ox.Quad(ox.NamedNode(f"{EX}s{i}"), p, ox.Literal(f"{tag} {i}"), G) for i in range(n)]


# Every store call, each of which sends at least one request.
CALLS: dict[str, Callable[[RemoteStore], object]] = {
    "query": lambda s: s.query("SELECT * WHERE { ?s ?p ?o }"),
    "quads": lambda s: list(s.quads(subject=QUAD.subject)),
    "apply": lambda s: s.apply(Delta(add=[QUAD])),
    "bulk_load": lambda s: s.bulk_load([QUAD]),
    "count": lambda s: s.count(),
    "graphs": lambda s: s.graphs(),
    "has_graph": lambda s: s.has_graph(G),
}


# -- fake servers ----------------------------------------------------------------------------


class FakeServer:
    """Accepts connections on a loopback port and answers each with ``behave(conn)``."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.behave = behave
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                conn.recv(65536)  # the request (enough of it)
                self.behave(conn)
            except OSError:
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()
        self.thread.join(timeout=5)


def answer(status: str, media_type: str, body: bytes) -> Callable[[socket.socket], None]:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {media_type}\r\nContent-Length: {len(body)}\r\n"
    return lambda conn: conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)


def hang(conn: socket.socket) -> None:
    """Read the request, then say nothing (until the test ends)."""
    time.sleep(TIMEOUT + SLACK + 1)


def dribble(conn: socket.socket) -> None:
    """Answer at once, then send the body one byte at a time, forever (a slow server)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n\r\n")
    for _ in range(200):
        conn.sendall(b" ")
        time.sleep(0.05)


def garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x00\x01 this is not HTTP\r\n\r\n")


def hang_up(conn: socket.socket) -> None:
    conn.close()


HTML_500 = answer(
    "500 Internal Server Error",
    "text/html",
    b"<html><head><title>Oops</title></head><body><h1>Internal error</h1>"
    b"<p>the database is on fire</p></body></html>",
)
HTML_200 = answer("200 OK", "text/html", b"<html><body>Welcome to our portal</body></html>")
SYNTAX = answer(
    "400 Bad Request",
    "text/plain",
    b"Virtuoso 37000 Error SP030: SPARQL compiler, line 1: syntax error at '}'\n\n"
    b"SPARQL query:\nSELECT ?s WHERE { ?s ?p }",
)
UNAUTHORIZED = answer("401 Unauthorized", "text/plain", b"")


@pytest.fixture
def fake() -> Iterator[Callable[[Callable[[socket.socket], None]], RemoteStore]]:
    servers: list[FakeServer] = []

    def make(behave: Callable[[socket.socket], None]) -> RemoteStore:
        server = FakeServer(behave)
        servers.append(server)
        store = RemoteStore(server.url, timeout=TIMEOUT)
        store.http.server = "FakeServer"  # known: no probe for the server's kind
        return store

    yield make
    for server in servers:
        server.stop()


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        call()
    except BaseException as err:  # the test inspects it
        return err, time.monotonic() - start
    return None, time.monotonic() - start


def test_nobody_listening_is_a_store_error(caplog: pytest.LogCaptureFixture) -> None:
    store = RemoteStore(f"http://127.0.0.1:{free_port()}/sparql", timeout=TIMEOUT)
    for name, call in CALLS.items():
        err, took = timed(lambda call=call: call(store))  # type: ignore[misc]
        assert isinstance(err, StoreError) and not isinstance(err, StoreTimeout), name
        assert "is not reachable" in str(err) and took < TIMEOUT + SLACK, name
        assert err.http_status == 503
    assert any(r.levelno == logging.ERROR for r in caplog.records)


@pytest.mark.parametrize("behave", [hang, dribble], ids=["hung", "slow"])
def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    fake: Callable[[Callable[[socket.socket], None]], RemoteStore],
    behave: Callable[[socket.socket], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The limit bounds the whole request, not each read: a server that sends a byte now and
    then is cut off at the deadline too."""
    store = fake(behave)
    for name in ("query", "apply", "count"):
        err, took = timed(lambda name=name: CALLS[name](store))  # type: ignore[misc]
        assert isinstance(err, StoreTimeout), (name, err)
        assert err.http_status == 504
        assert TIMEOUT - 0.1 <= took < TIMEOUT + SLACK, (name, took)
    assert "may or may not have been applied" in str(timed(lambda: CALLS["apply"](store))[0])
    assert any("did not answer within" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("behave", "expected"),
    [
        (HTML_500, "HTTP 500: Oops Internal error the database is on fire"),
        (HTML_200, "answered something unreadable (HTTP 200, text/html"),
        (garbage, "did not speak HTTP"),
        (hang_up, "broke off or did not speak HTTP"),
        (UNAUTHORIZED, "CLAIMGRAPH_STORE_USER"),
    ],
    ids=["html-500", "html-200", "not-http", "hang-up", "unauthorized"],
)
def test_garbage_is_a_store_error_with_an_excerpt(
    fake: Callable[[Callable[[socket.socket], None]], RemoteStore],
    behave: Callable[[socket.socket], None],
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = fake(behave)
    # (a 2xx answer to an update is success whatever its body: the protocol says no more)
    calls = ("query", "quads", "count") if behave is HTML_200 else ("query", "quads", "apply")
    for name in calls:
        err, _ = timed(lambda name=name: CALLS[name](store))  # type: ignore[misc]
        assert type(err) is StoreError, (name, err)
        assert expected in str(err), (name, str(err))
        assert "<h1>" not in str(err) and "<html>" not in str(err)  # tags are stripped
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_the_servers_syntax_error_on_a_user_query_is_a_400(
    fake: Callable[[Callable[[socket.socket], None]], RemoteStore],
) -> None:
    store = fake(SYNTAX)
    with pytest.raises(QuerySyntaxError, match="SP030: SPARQL compiler, line 1") as info:
        store.query("SELECT ?s WHERE { ?s ?p }", default_graph=[G], named_graphs=[G])
    assert "SPARQL query:" not in str(info.value)  # the echo of the query is cut
    # the store's own queries are not the user's to fix: a store error
    with pytest.raises(StoreError, match="HTTP 400"):
        store.count()


# -- a real Virtuoso, killed and frozen -------------------------------------------------------


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """A Virtuoso of this module's own: the session's one is never harmed."""
    root = tmp_path_factory.mktemp("victim")
    server = started(root, max_query_seconds=1)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def running(victim: Virtuoso) -> Virtuoso:
    if victim.process is None or victim.process.poll() is not None:
        victim.start()
    victim.thaw()
    victim.reset()
    return victim


def test_killed_server_gives_store_errors_then_recovers(running: Virtuoso) -> None:
    store = running.store(timeout=TIMEOUT)
    store.apply(Delta(add=quads(10)))
    running.kill()
    for name, call in CALLS.items():
        err, took = timed(lambda call=call: call(store))  # type: ignore[misc]
        assert isinstance(err, StoreError) and err.http_status == 503, (name, err)
        assert took < TIMEOUT + SLACK, (name, took)
    running.start()
    assert store.count() == 10  # nothing lost, nothing added by the failed calls
    store.apply(Delta(add=[QUAD]))
    assert store.count() == 11 and store.graphs() == [G]


def test_frozen_server_gives_timeouts_then_recovers(running: Virtuoso) -> None:
    store = running.store(timeout=TIMEOUT)
    store.apply(Delta(add=quads(10)))
    running.freeze()
    try:
        for name in ("query", "quads", "count", "apply"):
            err, took = timed(lambda name=name: CALLS[name](store))  # type: ignore[misc]
            assert isinstance(err, StoreTimeout) and err.http_status == 504, (name, err)
            assert took < TIMEOUT + SLACK, (name, took)
    finally:
        running.thaw()
    # The timed-out write was sent: the server may still apply it (as the error said).
    assert store.count() in (10, 11)
    assert len(list(store.quads(graph=G))) == store.count()


def test_a_query_the_server_stops_at_its_own_limit_is_a_timeout(running: Virtuoso) -> None:
    """Virtuoso's MaxQueryExecutionTime (1 s here) ends a query with an error: a 504."""
    store = running.store(timeout=30)
    store.apply(Delta(add=quads(6000)))
    slow = (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f "
        "FILTER(CONCAT(STR(?c), 'x') < CONCAT(STR(?f), 'y')) }"
    )
    err, took = timed(lambda: store.query(slow))
    assert isinstance(err, StoreTimeout) and "stopped the query" in str(err), err
    assert took < 15


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks


def test_write_interrupted_by_a_crash_is_all_or_nothing(running: Virtuoso) -> None:
    """One large write (one INSERT DATA operation), the server killed while it works on it:
    after the restart the write is there whole or not at all."""
    store = running.store(timeout=60)
    store.apply(Delta(add=quads(5, "before")))
    big = [
        ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(EX + "big")) for q in quads(60_000)
    ]
    outcome: list[BaseException | None] = []
    writer = threading.Thread(
        target=lambda: outcome.append(timed(lambda: store.apply(Delta(add=big)))[0])
    )
    assert running.process is not None
    pid = running.process.pid
    busy_from = _cpu_seconds(pid)
    writer.start()
    deadline = time.monotonic() + 30
    while _cpu_seconds(pid) < busy_from + 0.3 and writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    running.kill()
    writer.join(timeout=30)
    assert outcome and (outcome[0] is None or isinstance(outcome[0], StoreError))
    running.start()
    n = store.count(ox.NamedNode(EX + "big"))
    assert n in (0, len(big)), f"half a write survived: {n} of {len(big)} quads"
    assert store.has_graph(ox.NamedNode(EX + "big")) == (n > 0)  # registry and data agree
    assert store.count(G) == 5
    # The kill came while the server worked on the write (else this test tested nothing);
    # whether its commit made it is the server's business: all of it or none.
    assert isinstance(outcome[0], StoreError), "the write finished before the kill"
    assert "broke off" in str(outcome[0]) or "not reachable" in str(outcome[0]), outcome[0]
    print(f"write of {len(big)} quads interrupted: {n} there after the restart")


def test_a_write_virtuoso_refuses_leaves_nothing(running: Virtuoso) -> None:
    """Virtuoso cannot store xsd:duration: one operation is refused whole."""
    store = running.store()
    duration = ox.Literal("P1D", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#duration"))
    bad = [*quads(50), ox.Quad(QUAD.subject, QUAD.predicate, duration, G)]
    with pytest.raises(StoreError, match="HTTP 400: Virtuoso"):
        store.apply(Delta(add=bad))
    assert store.count() == 0 and store.graphs() == []


def test_a_multi_step_write_that_fails_says_what_was_applied(running: Virtuoso) -> None:
    """Virtuoso does not apply several operations as one: a replace (drop, then insert) is
    sent one operation per request, and a failure names the steps already applied."""
    store = running.store()
    store.apply(Delta(add=quads(20)))
    duration = ox.Literal("P1D", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#duration"))
    replace = Delta(add=[ox.Quad(QUAD.subject, QUAD.predicate, duration, G)], drop_graphs=[G])
    with pytest.raises(StoreError, match=r"1 of 2 applied \(DROP SILENT GRAPH .*incomplete"):
        store.apply(replace)


def test_the_service_answers_503_and_504_and_recovers(
    running: Virtuoso, validator: Validator
) -> None:
    settings = Settings(seed=False, store_timeout=TIMEOUT, **running.settings())
    graph = ClaimGraph(settings, validator=validator)
    graph.store.apply(Delta(add=quads(3)))
    client: FlaskClient = create_app(settings, graph=graph).test_client()
    assert client.get("/status.json").json["triples"] == 3  # type: ignore[index]
    running.freeze()
    try:
        r = client.get("/status.json", headers={"Accept": "application/json"})
        assert r.status_code == 504 and r.json["error"] == "StoreTimeout"  # type: ignore[index]
    finally:
        running.thaw()
    running.kill()
    r = client.get("/status.json", headers={"Accept": "application/json"})
    assert r.status_code == 503 and "not reachable" in r.json["message"]  # type: ignore[index]
    running.start()
    assert client.get("/status.json").status_code == 200
