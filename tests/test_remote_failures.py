"""The remote store when its server is down, hung, slow or talking nonsense: a clear
StoreError (503) or StoreTimeout (504) within the time limit, an error in the log, no
partial write, and recovery when the server is back.

Two kinds of server: small fakes on loopback sockets (each misbehaving one way), and a
Virtuoso of this module's own (tests/virtuoso.py) that the tests kill, freeze and restart.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple
from urllib.parse import parse_qs

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from bench.service import proc_cpu_s
from bench.virtuoso import free_port
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import QuerySyntaxError, StoreError, StoreTimeout, StoreUnreachable
from claimgraph.store import Delta
from claimgraph.store.remote import READ_RETRIES
from claimgraph.store.shared import RemoteStore
from claimgraph.validation import Validator
from tests.virtuoso import Virtuoso, started

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
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
        assert err.http_status == 503 and not err.in_doubt
    store.http.server = "FakeServer"  # (else the first request asks what server it is)
    err, _ = timed(lambda: CALLS["apply"](store))
    assert isinstance(err, StoreUnreachable), err
    assert "the write to <http://example.org/g> was not sent" in str(err)
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
    # The timed-out write was sent: the server may still apply it (as the error said), at any
    # moment after the thaw. Wait for it a while (so that it does not land in the next test),
    # then read until the count and the quads listed agree.
    deadline = time.monotonic() + 10
    while True:
        n = store.count()
        listed = len(list(store.quads(graph=G)))
        if n == listed and (n == 11 or time.monotonic() > deadline):
            break
        assert time.monotonic() < deadline + 10, f"count {n}, quads {listed}"
        time.sleep(0.05)
    assert n in (10, 11)


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
    busy_from = proc_cpu_s(pid)
    writer.start()
    deadline = time.monotonic() + 30
    while proc_cpu_s(pid) < busy_from + 0.3 and writer.is_alive() and time.monotonic() < deadline:
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


# -- kept-alive connections, and servers that answer SPARQL -------------------------------------


def literal(value: str, datatype: str = XSD + "integer") -> dict[str, str]:
    return {"type": "literal", "value": value, "datatype": datatype}


def solutions(*rows: dict[str, dict[str, str]]) -> bytes:
    """SPARQL JSON results holding ``rows`` (variable → term)."""
    names = sorted({name for row in rows for name in row})
    return json.dumps({"head": {"vars": names}, "results": {"bindings": list(rows)}}).encode()


COUNT = solutions({"n": literal("3")})
JSON = "application/sparql-results+json"


class Reply(NamedTuple):
    """An answer of a scripted server (``None`` instead: the connection is closed unanswered)."""

    status: str
    media_type: str
    body: bytes
    stall: float = 0.0  # seconds of silence halfway through the body


def ok(body: bytes = b"") -> Reply:
    return Reply("200 OK", JSON, body)


class Scripted(FakeServer):
    """A server that keeps connections open and answers each request with ``respond(number,
    kind, text)``: ``number`` counts the requests on that connection from 1, ``kind`` is
    "query" or "update", ``text`` the SPARQL. Requests are listed in ``requests``."""

    def __init__(self, respond: Callable[[int, str, str], Reply | None]) -> None:
        self.respond = respond
        self.connections = 0
        self.requests: list[tuple[str, str]] = []  # (kind, text), as received
        super().__init__(lambda conn: None)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.requests]

    def _handle(self, conn: socket.socket) -> None:
        self.connections += 1
        data = b""
        with conn:
            for number in itertools.count(1):
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head, data = data.split(b"\r\n\r\n", 1)
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                assert length is not None
                while len(data) < int(length.group(1)):
                    data += conn.recv(65536)
                body, data = data[: int(length.group(1))], data[int(length.group(1)) :]
                ((kind, (text,)),) = parse_qs(body.decode()).items()
                self.requests.append((kind, text))
                reply = self.respond(number, kind, text)
                if reply is None:
                    return
                answer = (
                    f"HTTP/1.1 {reply.status}\r\nContent-Type: {reply.media_type}\r\n"
                    f"Content-Length: {len(reply.body)}\r\n\r\n".encode()
                    + reply.body
                )
                half = len(answer) - len(reply.body) // 2
                try:
                    conn.sendall(answer[:half])
                    time.sleep(reply.stall)
                    conn.sendall(answer[half:])
                except OSError:  # the client gave up on it
                    return


class KeptAlive(Scripted):
    """A server that answers each request with a count, but closes a connection without
    answering at its ``drop_at``-th request (what a server that restarted, or ended an idle
    keep-alive, does to a request sent as it did)."""

    def __init__(self, drop_at: int) -> None:
        super().__init__(lambda number, kind, text: None if number == drop_at else ok(COUNT))


@pytest.fixture
def scripted() -> Iterator[Callable[..., tuple[Scripted, RemoteStore]]]:
    servers: list[Scripted] = []

    def make(
        respond: Callable[[int, str, str], Reply | None], server: str = "FakeServer"
    ) -> tuple[Scripted, RemoteStore]:
        fake = Scripted(respond)
        servers.append(fake)
        store = RemoteStore(fake.url, timeout=TIMEOUT)
        store.http.server = server  # known: no probe for the server's kind
        return fake, store

    yield make
    for fake in servers:
        fake.stop()


@pytest.fixture
def kept_alive() -> Iterator[Callable[[int], tuple[KeptAlive, RemoteStore]]]:
    servers: list[KeptAlive] = []

    def make(drop_at: int) -> tuple[KeptAlive, RemoteStore]:
        server = KeptAlive(drop_at)
        servers.append(server)
        store = RemoteStore(server.url, timeout=TIMEOUT)
        store.http.server = "FakeServer"
        return server, store

    yield make
    for server in servers:
        server.stop()


def test_requests_go_over_one_kept_alive_connection(
    kept_alive: Callable[[int], tuple[KeptAlive, RemoteStore]],
) -> None:
    server, store = kept_alive(0)
    assert [store.count() for _ in range(3)] == [3, 3, 3]
    store.apply(Delta(add=[QUAD]))
    assert server.connections == 1 and server.kinds() == ["query"] * 3 + ["update"]


def test_a_read_on_a_connection_the_server_closed_is_sent_again_once(
    kept_alive: Callable[[int], tuple[KeptAlive, RemoteStore]],
) -> None:
    server, store = kept_alive(2)
    assert store.count() == 3
    assert store.count() == 3  # dropped on the kept connection, answered on a new one
    assert server.connections == 2 and server.kinds() == ["query"] * 3


def test_a_write_on_a_connection_the_server_closed_is_not_sent_again(
    kept_alive: Callable[[int], tuple[KeptAlive, RemoteStore]],
) -> None:
    """The server may have applied it before closing: the caller is told, not left guessing
    after a second application."""
    server, store = kept_alive(2)
    assert store.count() == 3
    sent = r"broke off.*was sent and may or may not have been applied"
    with pytest.raises(StoreError, match=sent) as info:
        store.apply(Delta(add=[QUAD]))
    assert info.value.in_doubt
    assert server.connections == 1 and server.kinds() == ["query", "update"]


def test_a_read_whose_answer_breaks_http_is_sent_again_once_on_another_connection(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
) -> None:
    """An answer whose framing is broken (here: a Content-Length that is not a number) leaves
    nothing usable on its connection: a read goes again, once, on a new one; an update is not
    sent again (it may have run)."""
    answered = itertools.count(1)

    def respond(number: int, kind: str, text: str) -> Reply:
        if next(answered) == 1:
            return Reply("200 OK\r\nContent-Length: x", JSON, COUNT)
        return ok(COUNT) if kind == "query" else Reply("200 OK\r\nContent-Length: x", JSON, b"")

    server, store = scripted(respond)
    assert store.count() == 3
    assert server.connections == 2 and server.kinds() == ["query", "query"]
    with pytest.raises(StoreError, match="may or may not have been applied"):
        store.apply(Delta(add=[QUAD]))
    assert server.kinds() == ["query", "query", "update"]


def test_an_answer_after_the_timeout_is_not_taken_for_the_next_one(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
) -> None:
    """The connection of a request that timed out (whether nothing came, or half an answer)
    is never used again: the late answer cannot pass for the next request's."""
    late = TIMEOUT + 0.5

    def respond(number: int, kind: str, text: str) -> Reply:
        count = len(server.requests)
        if count == 1:  # answered after the client's deadline, all of it
            time.sleep(late)
        if count in (1, 2):
            return Reply(
                "200 OK", JSON, solutions({"n": literal(str(count))}), stall=late * (count - 1)
            )
        return ok(solutions({"n": literal("7")}))

    server, store = scripted(respond)
    for _ in range(2):  # nothing in time, then half an answer in time
        with pytest.raises(StoreTimeout):
            store.count()
    time.sleep(late)  # the late answers have come by now, to connections given up on
    assert [store.count(), store.count()] == [7, 7]
    assert server.connections == 3


def test_the_deadline_bounds_the_whole_request_not_each_phase(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
) -> None:
    """httpx's time limits are per phase (connecting, sending, each read): a server whose
    answer starts late and then stops halfway is cut off at the request's deadline, not a
    whole time limit after its answer started (1.8 times the limit here)."""
    limit = 2.0

    def respond(number: int, kind: str, text: str) -> Reply:
        time.sleep(0.8 * limit)
        return Reply("200 OK", JSON, COUNT, stall=10)

    server, _ = scripted(respond)
    store = RemoteStore(server.url, timeout=limit)
    store.http.server = "FakeServer"
    err, took = timed(store.count)
    assert isinstance(err, StoreTimeout), err
    assert limit - 0.1 <= took < 1.5 * limit, took


class BasicOnly(FakeServer):
    """Asks for HTTP Basic credentials, and answers a count to a request that carries them.
    The ``Authorization`` header of each request is listed in ``authorizations``."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        super().__init__(lambda conn: None)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                more = conn.recv(65536)
                if not more:
                    return
                head += more
            found = re.search(rb"(?im)^authorization: *([^\r\n]*)", head)
            self.authorizations.append(found.group(1).decode() if found else None)
            if found:
                answer("200 OK", JSON, COUNT)(conn)
            else:
                conn.sendall(
                    b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="sparql"\r\n'
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )


def test_basic_authentication_when_the_server_asks_for_it() -> None:
    """Credentials go as the server's challenge asks (Virtuoso's is Digest: test_remote_store),
    once challenged, with every request."""
    server = BasicOnly()
    try:
        store = RemoteStore(server.url, user="claimgraph", password="s3cret", timeout=TIMEOUT)
        store.http.server = "FakeServer"
        assert [store.count(), store.count()] == [3, 3]
        token = "Basic " + base64.b64encode(b"claimgraph:s3cret").decode()
        assert server.authorizations == [None, token, token]
    finally:
        server.stop()


DEADLOCK = Reply(
    "500 SPARQL Request Failed", "text/plain", b"Virtuoso 40001 Error SR172: Transaction deadlocked"
)


def test_a_read_ended_as_a_deadlock_victim_is_sent_again(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
) -> None:
    """At repeatable read (DefaultIsolation = 4) Virtuoso may end a read as the victim of a
    deadlock (SQL state 40001): a read is sent again, a few times; an update never is."""
    refusals = iter([DEADLOCK, DEADLOCK])
    server, store = scripted(
        lambda number, kind, text: next(refusals, ok(COUNT)) if kind == "query" else DEADLOCK
    )
    assert store.count() == 3 and server.kinds() == ["query"] * 3
    with pytest.raises(StoreError, match="HTTP 500: Virtuoso 40001"):
        store.apply(Delta(add=[QUAD]))
    assert server.kinds()[3:] == ["update"]
    always, store = scripted(lambda number, kind, text: DEADLOCK)
    with pytest.raises(StoreError, match="HTTP 500: Virtuoso 40001"):
        store.count()
    assert always.kinds() == ["query"] * (READ_RETRIES + 1)


def test_an_update_endpoint_whose_writes_do_not_show_is_an_error(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
) -> None:
    """Update and query URLs that reach different datasets (a read replica, a proxy): the
    update that starts the write generation is accepted but never shows. Tried once."""

    def respond(number: int, kind: str, text: str) -> Reply:
        if kind == "query":
            return ok(solutions())
        if server.kinds().count("update") > 3:  # (so that a loop ends, in an error)
            return Reply("500 Internal Server Error", "text/plain", b"too many updates")
        return ok()

    server, store = scripted(respond)
    with pytest.raises(StoreError, match="not visible to the query endpoint") as info:
        store.write_base()
    assert "CLAIMGRAPH_STORE_UPDATE_URL" in str(info.value)
    assert server.kinds() == ["query", "update", "query"]


@pytest.mark.parametrize(
    ("rows", "what"),
    [
        ([{"n": literal("many", XSD + "string")}], "write generation"),
        ([{"n": literal("2.5", XSD + "decimal")}], "write generation"),
        ([{"n": literal("-1")}], "write generation"),
        ([{"n": {"type": "uri", "value": EX + "n"}}], "write generation"),
        (
            [
                {"n": literal("3")},
                {
                    "w": {"type": "uri", "value": "urn:claimgraph:write/3"},
                    "claim": literal("soon", XSD + "string"),
                },
            ],
            "hold of write 3",
        ),
    ],
    ids=["string", "fraction", "negative", "iri", "hold"],
)
def test_a_garbled_write_generation_is_a_store_error(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
    rows: list[dict[str, dict[str, str]]],
    what: str,
) -> None:
    """Values in the registry that ClaimGraph never writes: a clear error, not a crash."""
    _, store = scripted(lambda number, kind, text: ok(solutions(*rows)))
    for call in (store.generation, store.write_base):
        with pytest.raises(
            StoreError, match=f"as the {what}, where ClaimGraph writes a whole"
        ) as info:
            call()
        assert type(info.value) is StoreError and info.value.http_status == 503


def test_a_bump_that_fails_after_the_data_was_applied_says_so(
    scripted: Callable[..., tuple[Scripted, RemoteStore]],
) -> None:
    """Virtuoso gets the data of a write, then the bump of the generation, in two requests."""
    failed = Reply("500 Internal Server Error", "text/plain", b"Virtuoso 08C01 Error: gone")
    server, store = scripted(
        lambda number, kind, text: failed if "urn:claimgraph:generation" in text else ok(),
        server="Virtuoso/07.20.3233 (Linux) x86_64-pc-linux-gnu",
    )
    applied = (
        "the write to <http://example.org/g> was applied; the bump of the write generation "
        "after it failed (other instances see the change at the next write)"
    )
    with pytest.raises(StoreError, match=re.escape(applied)):
        store.apply(Delta(add=[QUAD]))
    assert server.kinds() == ["update", "update"]


def test_a_refused_isolation_check_is_only_advice(
    scripted: Callable[..., tuple[Scripted, RemoteStore]], caplog: pytest.LogCaptureFixture
) -> None:
    refused = Reply(
        "500 SPARQL Request Failed",
        "text/plain",
        b"Virtuoso 42001 Error SR185: Undefined procedure DB.DBA.virtuoso_ini_item_value.",
    )
    _, store = scripted(
        lambda number, kind, text: (
            refused if "virtuoso_ini_item_value" in text else ok(solutions({"n": literal("4")}))
        ),
        server="Virtuoso/07.20.3233 (Linux) x86_64-pc-linux-gnu",
    )
    with caplog.at_level(logging.INFO):
        assert store.write_base() == 4
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(
        r.levelno == logging.WARNING and "Undefined procedure" in r.getMessage()
        for r in caplog.records
    )
