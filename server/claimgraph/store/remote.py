"""The remote store: a SPARQL 1.1 Query/Update server over HTTP (Virtuoso, Fuseki, GraphDB,
Neptune, QLever…) behind the same ``Store`` interface as the embedded Oxigraph store.

Which graphs are ours: servers keep graphs of their own (Virtuoso's system graphs are in its
"all graphs" default), so the store keeps a *registry*: one named graph listing each
ClaimGraph graph as an ``sd:NamedGraph``, maintained by the same update request that writes
the data. Every query gets the registered graphs as its dataset (``default-graph-uri`` and
``named-graph-uri``: the union default graph), and every read of the store's own joins the
registry on the server, in the one query it sends. Graphs that reached the server by other means
(its bulk loader) are found by ``unregistered_graphs`` and registered by ``register_at``.

Writes: where the delta allows, a write is one *operation* (``INSERT DATA``, ``DELETE DATA``,
or a small ``DELETE {…} INSERT {…} WHERE {}``), because one operation is atomic on every
server, whereas several operations in one request are atomic only on servers that run a
request as one transaction (Fuseki, GraphDB, Neptune, Oxigraph do): those get the write and its
bump of the write generation in one request. Virtuoso commits operation by operation, so it
gets one request per operation, and then the bump in a request of its own; a failure says
which were applied. Its other quirks are worked around where they are met (see the README's
"Remote store" section for the list).

Several ClaimGraph instances may share the server: the registry also holds the store's write
generation, which every write bumps. A validated write (``apply_at``) is one conditional update
that applies only while the generation is the one the validation saw, and bumps it; the writer
reads its token back to learn whether it applied (see the README's "Scaling out"). A write too
large for that holds the store instead: a conditional update claims it for a short time,
renewed after each of the write's requests, and a last one lets go.

Reads of many rows come a page at a time, cut from an ordered sequence (``_pages``). A read
the server ends as the victim of a deadlock is sent again (``READ_RETRIES``); an update never.

Requests go over kept-alive connections (``Http``). Every HTTP request has a deadline
(``timeout``): connecting, sending and reading the answer.
A server that cannot be reached raises ``StoreUnreachable`` (nothing was sent), one that breaks
off or answers garbage ``StoreError`` (both HTTP 503); one that does not answer in time,
``StoreTimeout`` (504); SPARQL the server rejects as malformed, ``QuerySyntaxError`` (400). An
update that was sent and got no answer may or may not have been applied: its error says so
(``in_doubt``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import itertools
import logging
import math
import os
import re
import selectors
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING
from urllib.parse import urlencode, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

import pyoxigraph as ox

from claimgraph import sparqlterms
from claimgraph.errors import (
    InputError,
    QuerySyntaxError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from claimgraph.formats import RdfFormat
from claimgraph.store import REGISTRY, Delta, GraphName, QueryResult, check_writable

if TYPE_CHECKING:
    from claimgraph.config import Settings

log = logging.getLogger(__name__)

SCHEMES = ("sparql+http://", "sparql+https://")
# The registry graph (REGISTRY, reserved: no write may touch it): `<g> a sd:NamedGraph` for
# each graph of ClaimGraph's on the server, and the write generation.
SD_NAMED_GRAPH = ox.NamedNode("http://www.w3.org/ns/sparql-service-description#NamedGraph")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
# Named as the dataset when there is no graph at all (an empty list means "server default").
_NO_GRAPH = "urn:claimgraph:graphs#none"
SD_SERVICE = ox.NamedNode("http://www.w3.org/ns/sparql-service-description#Service")
# Virtuoso's own graphs, which it keeps beside the data ("system" graphs, not to be deleted, say
# its maintainers): a fresh 7.2.5 holds the first two and the description of its endpoint;
# later versions add the others. The endpoint's description is named after the endpoint at the
# host of its ini (`http://localhost:8890/sparql` unless set otherwise, and its WebDAV graph
# `…/DAV/` likewise): ``system_graphs`` finds it by its content, which names itself.
VIRTUOSO_SYSTEM_GRAPHS = (
    "http://www.openlinksw.com/schemas/virtrdf#",
    "http://www.w3.org/ns/ldp#",
    "http://www.w3.org/2002/07/owl#",
    "urn:activitystreams-owl:map",
    "urn:core:services:sparql",
    "http://localhost:8890/sparql",
    "http://localhost:8890/DAV/",
)
LISTED_GRAPHS = 1_000  # unregistered graphs listed at most, by default

PAGE_SIZE = 10_000  # rows per page of a long read: Virtuoso's default result cap
BULK_BATCH = 10_000  # quads per bulk_load request
# Triples per GRAPH block of a DATA operation: Virtuoso's SPARQL parser runs out of stack
# near 5,000 triples in one block (whole operations of 50,000 triples in blocks are fine).
BLOCK = 1_000
# Virtuoso only: pass DATA blocks to the engine as data, not compiled to SQL. Without it, a
# server with MaxQueryCostEstimationTime set (Debian's default ini) refuses INSERT DATA of more
# than ~1,000 triples ("generated SQL text has exceeded 10000 lines").
VIRTUOSO_PRAGMA = "DEFINE sql:big-data-const 1\n"
# Largest delta sent as one DELETE/INSERT operation (a validated write's, conditional): Virtuoso
# compiles the templates to SQL and refuses more than 10,000 lines (about 1,000 + 1,000 triples).
SINGLE_OPERATION_LIMIT = 256
# Graphs registered or unregistered at once at most: one conditional operation does it.
REGISTERED_AT_ONCE = SINGLE_OPERATION_LIMIT - 16
GRAPH_CACHE_SECONDS = 1.0  # how long query() reuses the registry it read
# The write generation, in the registry: `<generation> <value> N`, bumped by every write;
# `<urn:claimgraph:write/N> <token> "…"`: the write that made N (its writer reads it back to
# learn whether its conditional update applied); `<…write/N> <pending> seconds`: write N goes
# on in further requests and holds the store for that long after the claim last changed;
# `<…write/N> <renewed> k`: its writer renewed the claim k times (once after each request).
GENERATION = "<urn:claimgraph:generation>"
VALUE = "<urn:claimgraph:value>"
TOKEN = "<urn:claimgraph:token>"
PENDING = "<urn:claimgraph:pending>"
RENEWED = "<urn:claimgraph:renewed>"
# A hold on the store lasts this many request times (CLAIMGRAPH_STORE_TIMEOUT) after its last
# renewal: a renewal lands at most three requests after the one before (the rest of that one,
# a data request, the renewal's own), and the claim at most three before the first renewal
# (the read of its token, a data request, the renewal).
HOLD_REQUESTS = 3
# A read Virtuoso ended as the victim of a deadlock (SQL state 40001, which repeatable read,
# DefaultIsolation = 4, makes possible for reads too) is sent again, this many times at most.
READ_RETRIES = 3
KEPT_RECORDS = 1_000  # records of the last writes kept (a writer reads its own at once)
EXCERPT = 300  # characters of a server's error answer quoted in our errors

# JSON, not XML: pyoxigraph's XML results reader trims the whitespace at both ends of literals.
JSON_RESULTS = "application/sparql-results+json"
# Virtuoso's JSON writes xsd:boolean as "1"/"0" (its XML and N-Triples say true/false).
_VIRTUOSO_BOOLEAN = re.compile(
    rb'("datatype": "http://www\.w3\.org/2001/XMLSchema#boolean", "value": ")([01])"'
)
N_TRIPLES = "application/n-triples"

# The prologue's tokens, then the form's keyword. Possessive: the text is the user's, and a
# backtracking loop could take exponential time on a crafted comment.
_FORM = re.compile(
    r"(?:\s+|#[^\n]*+|(?:PREFIX|BASE)\b|[A-Za-z_][\w.-]*+:|:|<[^<>\s]*+>)*+"
    r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b",
    re.IGNORECASE,
)


def query_form(sparql: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first keyword after the prologue."""
    m = _FORM.match(sparql)
    return m.group(1).upper() if m else None


# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def excerpt(self) -> str:
        text = self.body.decode("utf-8", "replace")
        text = text.split("\nSPARQL query:", 1)[0]  # Virtuoso echoes the whole request
        text = re.sub(r"<[^>]*>", " ", text) if "html" in self.media_type else text
        text = " ".join(text.split())
        return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


@dataclass
class _Credentials:
    """HTTP Basic or Digest (RFC 7616, as Virtuoso's /sparql-auth asks), answered to the
    server's challenge and then sent up front, reusing the nonce with a counter."""

    user: str
    password: str
    challenge: dict[str, str] | None = None
    scheme: str | None = None
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def learn(self, headers: list[str]) -> bool:
        """Take a 401's challenge; False if it offers nothing we can answer."""
        for header in headers:
            scheme, _, rest = header.strip().partition(" ")
            if scheme.lower() == "digest":
                with self.lock:
                    self.scheme, self.count = "digest", 0
                    self.challenge = parse_keqv_list(parse_http_list(rest))
                return True
        for header in headers:
            if header.strip().lower().startswith("basic"):
                self.scheme = "basic"
                return True
        return False

    def header(self, method: str, uri: str) -> str | None:
        if self.scheme == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return f"Basic {token}"
        if self.scheme != "digest" or self.challenge is None:
            return None
        with self.lock:
            self.count += 1
            nc = f"{self.count:08x}"
            c = self.challenge
        algorithm = c.get("algorithm", "MD5")
        sha256 = algorithm.upper().removesuffix("-SESS") == "SHA-256"
        digest = hashlib.sha256 if sha256 else hashlib.md5

        def h(text: str) -> str:
            return digest(text.encode()).hexdigest()

        realm, nonce = c.get("realm", ""), c.get("nonce", "")
        cnonce = os.urandom(8).hex()
        ha1 = h(f"{self.user}:{realm}:{self.password}")
        if algorithm.upper().endswith("-SESS"):
            ha1 = h(f"{ha1}:{nonce}:{cnonce}")
        ha2 = h(f"{method}:{uri}")
        qops = [q.strip() for q in c.get("qop", "").split(",") if q.strip()]
        parts = [
            f'username="{self.user}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{uri}"',
            f"algorithm={algorithm}",
        ]
        if "auth" in qops:
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            response = h(f"{ha1}:{nonce}:{ha2}")
        parts.append(f'response="{response}"')
        if "opaque" in c:
            parts.append(f'opaque="{c["opaque"]}"')
        return "Digest " + ", ".join(parts)


class Http:
    """POSTs forms to SPARQL endpoints, each request with a deadline, over kept-alive
    connections: one per thread and server, reused while the server keeps it open."""

    def __init__(self, timeout: float, credentials: _Credentials | None) -> None:
        self.timeout = timeout
        self.credentials = credentials
        self.server: str | None = None  # the Server header last seen (None: no answer yet)
        self._local = threading.local()
        self._pools: weakref.WeakSet[_Pool] = weakref.WeakSet()  # to close them all
        self._pools_lock = threading.Lock()

    def post(
        self,
        url: str,
        form: list[tuple[str, str]],
        accept: str,
        timeout: float | None = None,
        *,
        idempotent: bool = True,
    ) -> Answer:
        """``idempotent``: a read, which is sent again once on a new connection when a kept-alive
        one turns out to have been closed by the server (an update never is: it may have run)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        body = urlencode(form).encode()
        answer = self._send(url, body, accept, deadline, timeout, idempotent)
        if answer.status == 401 and self.credentials is not None:
            challenges = [v for k, v in answer.raw_headers if k.lower() == "www-authenticate"]
            if self.credentials.learn(challenges):
                answer = self._send(url, body, accept, deadline, timeout, idempotent)
        return answer

    def close(self) -> None:
        """Close every thread's kept connections (one in use stays with its request)."""
        with self._pools_lock:
            pools = list(self._pools)
        for pool in pools:
            pool.close()

    def _pool(self) -> _Pool:
        pool: _Pool | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = _Pool()
            with self._pools_lock:
                self._pools.add(pool)
        return pool

    def _send(
        self, url: str, body: bytes, accept: str, deadline: float, timeout: float, idempotent: bool
    ) -> _RawAnswer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "Accept": accept,
            "User-Agent": "ClaimGraph",
        }
        if self.credentials is not None:
            auth = self.credentials.header("POST", path)
            if auth:
                headers["Authorization"] = auth
        key = (parts.scheme, parts.hostname or "localhost", parts.port)
        pool = self._pool()
        kept = pool.take(key)
        try:
            try:
                return self._exchange(pool, key, kept, url, path, body, headers, deadline, timeout)
            except (ConnectionResetError, BrokenPipeError):  # RemoteDisconnected too
                if kept is None or not idempotent:
                    raise
                # The server closed the kept connection as the request went out (it restarted,
                # or its keep-alive ran out): a read is sent again, on a new connection.
                return self._exchange(pool, key, None, url, path, body, headers, deadline, timeout)
        except TimeoutError as err:
            raise StoreTimeout(
                f"the SPARQL store at {url} did not answer within {timeout:g} s"
            ) from err
        except http.client.HTTPException as err:
            raise StoreError(
                f"the SPARQL store at {url} broke off or did not speak HTTP: "
                f"{type(err).__name__} {err}".rstrip()
            ) from err
        except OSError as err:  # reset or broken pipe once connected: the server broke off
            raise StoreError(
                f"the SPARQL store at {url} broke off or did not speak HTTP: {err}"
            ) from err

    def _exchange(
        self,
        pool: _Pool,
        key: tuple[str, str, int | None],
        conn: http.client.HTTPConnection | None,
        url: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        deadline: float,
        timeout: float,
    ) -> _RawAnswer:
        """One request and its whole answer, on ``conn`` or a new connection; the connection
        goes back to the pool if the server keeps it open, and is closed on any failure."""
        if conn is None:
            scheme, host, port = key
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            conn = cls(host, port, timeout=_left(deadline, timeout))
            try:
                conn.connect()
            except TimeoutError:
                raise
            except OSError as err:  # refused, unreachable, unknown host: nothing was sent
                raise StoreUnreachable(
                    f"the SPARQL store at {url} is not reachable: {err}"
                ) from err
        try:
            sock = conn.sock
            sock.settimeout(_left(deadline, timeout))
            conn.request("POST", path, body=body, headers=headers)
            sock.settimeout(_left(deadline, timeout))
            resp = conn.getresponse()
            chunks = []
            while True:
                sock.settimeout(_left(deadline, timeout))
                chunk = resp.read1(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            resp.close()  # read to the end: the connection is free for the next request
        except BaseException:
            conn.close()
            raise
        if resp.will_close or conn.sock is None:
            conn.close()
        else:
            pool.put(key, conn)
        self.server = resp.getheader("Server") or self.server or ""
        return _RawAnswer(
            resp.status,
            {k.lower(): v for k, v in resp.getheaders()},
            b"".join(chunks),
            resp.getheaders(),
        )


class _Pool:
    """One thread's kept-alive connections, by (scheme, host, port). Its thread takes and puts
    them; ``Http.close`` may close them from another thread, hence the lock."""

    def __init__(self) -> None:
        self._conns: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str, int | None]) -> http.client.HTTPConnection | None:
        """The kept connection to ``key``, unless the server has closed it since (a closed or
        spoken-to idle connection reads as ready: nothing may be sent on it)."""
        with self._lock:
            conn = self._conns.pop(key, None)
        if conn is None or conn.sock is None:
            return None
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(conn.sock, selectors.EVENT_READ)
                dropped = bool(selector.select(0))
            except (OSError, ValueError):
                dropped = True
        if dropped:
            conn.close()
            return None
        return conn

    def put(self, key: tuple[str, str, int | None], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            old = self._conns.pop(key, None)
            self._conns[key] = conn
        if old is not None:
            old.close()

    def close(self) -> None:
        with self._lock:
            conns = list(self._conns.values())
            self._conns.clear()
        for conn in conns:
            conn.close()

    def __del__(self) -> None:  # the thread ended: its connections go with it
        self.close()


@dataclass
class _RawAnswer(Answer):
    raw_headers: list[tuple[str, str]] = field(default_factory=list)


def _deadlocked(answer: Answer) -> bool:
    """Whether the server ended the request as the victim of a deadlock (Virtuoso: SQL state
    40001, "Transaction deadlocked"): it was rolled back."""
    return not 200 <= answer.status < 300 and answer.excerpt().startswith("Virtuoso 40001")


def _left(deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no answer within {timeout:g} s")
    return left


# -- SPARQL text --------------------------------------------------------------------------------


def _term(t: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | GraphName) -> str:
    """A term in SPARQL syntax (N-Triples syntax is SPARQL's, escapes included)."""
    if isinstance(t, ox.BlankNode | ox.Triple | ox.DefaultGraph):
        raise InputError(f"a remote store cannot name {t} in SPARQL")
    return sparqlterms.term(t)


def _check(quads: Iterable[ox.Quad]) -> None:
    for q in quads:
        if isinstance(q.graph_name, ox.DefaultGraph):
            raise InputError(
                "the remote store keeps every triple in a named graph; "
                f"got {q} in the default graph"
            )
        check_writable(q.graph_name)
        for t in (q.subject, q.object):
            if isinstance(t, ox.BlankNode):
                raise InputError(
                    f"the remote store takes no blank nodes (ClaimGraph skolemizes them); got {q}"
                )
            if isinstance(t, ox.Triple):
                raise InputError(f"the remote store takes no RDF-star triple terms; got {q}")


def _blocks(quads: Iterable[ox.Quad]) -> list[str]:
    """Quads as the ``GRAPH <g> {…}`` blocks of a DATA operation or template, each ≤ BLOCK."""
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        line = f"{_term(q.subject)} {_term(q.predicate)} {_term(q.object)} ."
        by_graph.setdefault(_term(q.graph_name), []).append(line)
    parts = []
    for g, lines in by_graph.items():
        for i in range(0, len(lines), BLOCK):
            body = "\n".join(lines[i : i + BLOCK])
            parts.append(f"GRAPH {g} {{\n{body}\n}}")
    return parts


def _data(keyword: str, blocks: list[str]) -> str:
    body = "\n".join(blocks)
    return f"{keyword} {{\n{body}\n}}"


def _registered(graphs: Iterable[ox.NamedNode]) -> list[ox.Quad]:
    return [ox.Quad(g, RDF_TYPE, SD_NAMED_GRAPH, REGISTRY) for g in graphs]


def _reserved(graph: ox.NamedNode) -> str:
    return f"{graph} is ClaimGraph's registry itself: it cannot be registered or unregistered"


def _check_delta(delta: Delta) -> None:
    """What no write may hold (``InputError``), checked before anything is sent."""
    _check(delta.add)
    _check(delta.remove)
    for g in delta.drop_graphs:
        check_writable(g)


def _changes(delta: Delta) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """The quads a write removes and adds, the registry's included: graphs written to are
    registered, dropped ones are not."""
    added_graphs = list(dict.fromkeys(q.graph_name for q in delta.add))
    add = delta.add + _registered(added_graphs)  # type: ignore[arg-type]
    unregister = _registered(g for g in delta.drop_graphs if g not in added_graphs)
    return delta.remove + unregister, add


def _record(generation: int) -> str:
    """The registry's record of the write that made ``generation``."""
    return f"<urn:claimgraph:write/{generation}>"


def conditional_operation(
    expect: int,
    token: str,
    remove: list[ox.Quad] | None = None,
    add: list[ox.Quad] | None = None,
    *,
    claim: int | None = None,
) -> str:
    """One DELETE/INSERT that does something only while the stored generation is ``expect``:
    it removes and adds the quads, sets the generation to ``expect + 1``, records ``token`` as
    the write that made it (``claim``: seconds for which that write, applied in further
    requests, holds the store), clears a claim left on ``expect`` (and its renewals) and
    forgets the record of write ``expect + 1 - KEPT_RECORDS``.
    """
    new = expect + 1
    mine, old, prior = _record(new), _record(new - KEPT_RECORDS), _record(expect)
    claimed = f" . {mine} {PENDING} {claim}" if claim is not None else ""
    registry_out = (
        f"GRAPH {REGISTRY} {{ {GENERATION} {VALUE} ?n . {old} {TOKEN} ?old . "
        f"{prior} {PENDING} ?claim . {prior} {RENEWED} ?renewed }}"
    )
    registry_in = (
        f"GRAPH {REGISTRY} {{ {GENERATION} {VALUE} {new} . "
        f"{mine} {TOKEN} {ox.Literal(token)}{claimed} }}"
    )
    # (a stray lower generation can be left by two instances' first writes: see write_base)
    where = (
        f"GRAPH {REGISTRY} {{ {GENERATION} {VALUE} ?n FILTER(?n = {expect}) "
        f"FILTER NOT EXISTS {{ {GENERATION} {VALUE} ?later FILTER(?later > {expect}) }} "
        f"OPTIONAL {{ {old} {TOKEN} ?old }} OPTIONAL {{ {prior} {PENDING} ?claim }} "
        f"OPTIONAL {{ {prior} {RENEWED} ?renewed }} }}"
    )
    return (
        _data("DELETE", [registry_out, *_blocks(remove or [])])
        + _data("\nINSERT", [registry_in, *_blocks(add or [])])
        + f"\nWHERE {{ {where} }}"
    )


def renewal_operation(generation: int, count: int) -> str:
    """The ``count``-th renewal of the claim of write ``generation`` (which holds the store):
    instances waiting for it start their wait again. Does nothing once the claim is gone (let
    go of, or taken over by another instance's write). The renewal it replaces is named, not
    matched: Virtuoso (7.2.5) skipped the whole update when its WHERE matched that one with an
    OPTIONAL (checked)."""
    mine = _record(generation)
    return (
        f"DELETE {{ GRAPH {REGISTRY} {{ {mine} {RENEWED} {count - 1} }} }}\n"
        f"INSERT {{ GRAPH {REGISTRY} {{ {mine} {RENEWED} {count} }} }}\n"
        f"WHERE {{ GRAPH {REGISTRY} {{ {mine} {PENDING} ?claim }} }}"
    )


# An unconditional bump of the generation, after a write made without one (``apply``).
BUMP = (
    f"DELETE {{ GRAPH {REGISTRY} {{ {GENERATION} {VALUE} ?n }} }}\n"
    f"INSERT {{ GRAPH {REGISTRY} {{ {GENERATION} {VALUE} ?next }} }}\n"
    f"WHERE {{ GRAPH {REGISTRY} {{ {GENERATION} {VALUE} ?n "
    f"FILTER NOT EXISTS {{ {GENERATION} {VALUE} ?later FILTER(?later > ?n) }} }} "
    "BIND(?n + 1 AS ?next) }"
)


def update_operations(delta: Delta, *, virtuoso: bool = False) -> list[str]:
    """The SPARQL Update operations of one write, as few as the delta allows (see module doc).

    The registry follows the data: graphs written to are registered, dropped ones are not.
    Removals of up to SINGLE_OPERATION_LIMIT quads are a ``DELETE {…} WHERE {}`` template:
    Virtuoso's ``DELETE DATA`` of more than one ``GRAPH`` block skips language-tagged literals
    (7.2.5), so there (``virtuoso``) each block of a larger removal is an operation of its own.
    """
    remove, add = _changes(delta)
    small = len(remove) + len(add) <= SINGLE_OPERATION_LIMIT
    if not delta.drop_graphs:
        if not delta.remove:
            return [_data("INSERT DATA", _blocks(add))]
        if small and not delta.add:
            return [_data("DELETE", _blocks(remove)) + "\nWHERE {}"]
        if small:
            return [
                _data("DELETE", _blocks(remove)) + _data("\nINSERT", _blocks(add)) + "\nWHERE {}"
            ]
    ops = [f"DROP SILENT GRAPH {_term(g)}" for g in delta.drop_graphs]
    if remove:
        blocks = _blocks(remove)
        if virtuoso:
            ops += [_data("DELETE DATA", [b]) for b in blocks]
        else:
            ops.append(_data("DELETE DATA", blocks))
    if delta.add:
        ops.append(_data("INSERT DATA", _blocks(add)))
    return ops


# -- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """What the registry says of the store's writes."""

    generation: int
    recorded: bool  # whether the store records a generation at all
    held: int | None  # seconds for which the write that made it holds the store (None: done)
    renewed: int  # how many times that write renewed its hold


@dataclass(frozen=True)
class _Step:
    """An update that follows the data of a write (the generation's bump, a release)."""

    operation: str
    name: str
    consequence: str  # of its failure, said in the error


_BUMP = _Step(
    BUMP, "bump of the write generation", "other instances see the change at the next write"
)


def _whole(text: str) -> int:
    """A non-negative whole number (``ValueError`` otherwise): ``7``, or ``7.0`` as a server
    that stores numbers as values may give it back."""
    try:
        value = int(text)
    except ValueError:
        number = float(text)  # ValueError for anything else
        if not number.is_integer():
            raise ValueError(text) from None
        value = int(number)
    if value < 0:
        raise ValueError(text)
    return value


class RemoteStore:
    """A SPARQL 1.1 server behind the ``Store`` interface (see the module docstring)."""

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.timeout = timeout
        self.page_size = page_size
        credentials = _Credentials(user, password or "") if user else None
        self.http = Http(timeout, credentials)
        self._graph_cache: tuple[float, list[ox.NamedNode]] | None = None
        # (generation, renewals) of another instance's hold on the store, and when first seen
        self._claim_seen: tuple[tuple[int, int], float] | None = None
        # (generation, token) of this instance's hold whose release failed: let go at the next
        # write_base
        self._unreleased: tuple[int, str] | None = None
        self._generation_seen = -1
        self._isolation_checked = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteStore:
        url = settings.store or ""
        if not url.startswith(SCHEMES):
            raise InputError(f"not a remote store URL: {url!r} (sparql+http://… expected)")
        query_url = url.removeprefix("sparql+")
        if urlsplit(query_url).username is not None:
            raise InputError(
                "put the remote store's credentials in CLAIMGRAPH_STORE_USER and "
                "CLAIMGRAPH_STORE_PASSWORD, not in the store URL"
            )
        return cls(
            query_url,
            update_url=settings.store_update_url,
            user=settings.store_user,
            password=settings.store_password,
            timeout=settings.store_timeout,
            page_size=settings.store_page_size,
        )

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r}, update_url={self.update_url!r})"

    # -- requests ---------------------------------------------------------------------------
    def _fail(self, url: str, answer: Answer, what: str, level: int = logging.ERROR) -> StoreError:
        if answer.status in (401, 403):
            err = StoreError(
                f"the SPARQL store at {url} refused the {what} (HTTP {answer.status}): check "
                "CLAIMGRAPH_STORE_USER / CLAIMGRAPH_STORE_PASSWORD and that the user may "
                f"update (Virtuoso: SPARQL_UPDATE){': ' + answer.excerpt() if answer.body else ''}"
            )
        elif "S1T00" in answer.excerpt():  # Virtuoso's own time limit (MaxQueryExecutionTime)
            err = StoreTimeout(f"the SPARQL store at {url} stopped the {what}: {answer.excerpt()}")
        else:
            err = StoreError(
                f"the SPARQL store at {url} answered the {what} with HTTP {answer.status}: "
                f"{answer.excerpt() or '(no message)'}"
            )
        log.log(level, "%s", err)
        return err

    def _read(
        self,
        sparql: str,
        accept: str,
        dataset: list[tuple[str, str]] | None = None,
        timeout: float | None = None,
        user_query: bool = False,
        level: int = logging.ERROR,
    ) -> Answer:
        """Send a query; ``level``: how failures are logged. A read the server ended as the
        victim of a deadlock is sent again (``READ_RETRIES``): reads change nothing."""
        form = [("query", sparql), *(dataset or [])]
        for attempt in itertools.count():
            try:
                answer = self.http.post(self.query_url, form, accept, timeout)
            except StoreError as err:
                log.log(level, "%s", err)
                raise
            if attempt >= READ_RETRIES or not _deadlocked(answer):
                break
            log.info(
                "the SPARQL store at %s ended a read as a deadlock victim (%s): sent again",
                self.query_url,
                answer.excerpt(),
            )
            time.sleep(0.05 * 2**attempt)
        # The server's word that the SPARQL is malformed (Virtuoso: SQL state 37000).
        malformed = answer.status == 400 or answer.excerpt().startswith("Virtuoso 37000")
        if user_query and malformed:
            raise QuerySyntaxError(f"the SPARQL store refused the query: {answer.excerpt()}")
        if not 200 <= answer.status < 300:
            raise self._fail(self.query_url, answer, "query", level)
        return answer

    def _results(
        self, answer: Answer, level: int = logging.ERROR
    ) -> ox.QuerySolutions | ox.QueryBoolean:
        try:
            fmt = ox.QueryResultsFormat.from_media_type(answer.media_type)
            if fmt is None:
                raise ValueError(f"not SPARQL results but {answer.media_type or 'no media type'}")
            body = answer.body
            if self.http.server and self.http.server.lower().startswith("virtuoso"):
                body = _VIRTUOSO_BOOLEAN.sub(
                    lambda m: m.group(1) + (b'true"' if m.group(2) == b"1" else b'false"'), body
                )
            return ox.parse_query_results(body, fmt)
        except (ValueError, SyntaxError) as err:
            raise self._garbage(answer, err, level) from err

    def _garbage(self, answer: Answer, err: Exception, level: int = logging.ERROR) -> StoreError:
        e = StoreError(
            f"the SPARQL store at {self.query_url} answered something unreadable "
            f"(HTTP {answer.status}, {answer.media_type or 'no media type'}: {err}): "
            f"{answer.excerpt() or '(empty)'}"
        )
        log.log(level, "%s", e)
        return e

    def _select(self, sparql: str, level: int = logging.ERROR) -> list[ox.QuerySolution]:
        answer = self._read(sparql, JSON_RESULTS, level=level)
        result = self._results(answer, level)
        if not isinstance(result, ox.QuerySolutions):
            raise self._garbage(answer, ValueError("a boolean for a SELECT"), level)
        return list(result)

    def _pages(
        self, variables: str, where: str, distinct: bool = False
    ) -> Iterator[ox.QuerySolution]:
        """All solutions of ``SELECT variables WHERE {where}``, fetched as they are read.

        The first page is asked for as it comes (no sorting on the server): most reads (one
        node's triples) end there, in one request. A longer read goes on with pages cut from
        an ordered sequence, skipping what the first page gave, because without ORDER BY,
        Virtuoso's pages overlap once the data has been rewritten. Virtuoso refuses ORDER BY
        with an OFFSET past MaxSortedTopRows (10,000) unless the ordering is in a subquery
        (its documented way to scroll). Servers cap results (Virtuoso at ResultSetMaxRows,
        saying so in ``X-SPARQL-MaxRows``): a capped page is just a short one.
        """
        inner = f"SELECT {'DISTINCT ' if distinct else ''}{variables} WHERE {{ {where} }}"
        names = [v.lstrip("?") for v in variables.split()]
        rows, complete = self._page(f"{inner}\nLIMIT {self.page_size}")
        yield from rows
        if complete:
            return
        seen = {tuple(r[n] for n in names) for r in rows}
        ordered = f"{inner} ORDER BY {variables}"
        if self.is_virtuoso():
            ordered = f"SELECT {variables} WHERE {{ {{ {ordered} }} }}"
        offset = 0
        while True:
            rows, complete = self._page(f"{ordered}\nLIMIT {self.page_size} OFFSET {offset}")
            for r in rows:
                if not seen or tuple(r[n] for n in names) not in seen:
                    yield r
            offset += len(rows)
            if complete or not rows:
                return

    def _page(self, select: str) -> tuple[list[ox.QuerySolution], bool]:
        """One page of solutions, and whether it ended the result (short, and not capped)."""
        answer = self._read(select, JSON_RESULTS)
        result = self._results(answer)
        if not isinstance(result, ox.QuerySolutions):
            raise self._garbage(answer, ValueError("a boolean for a SELECT"))
        rows = list(result)
        capped = "x-sparql-maxrows" in answer.headers
        return rows, len(rows) < self.page_size and not capped

    def is_virtuoso(self) -> bool:
        """Whether the server says it is Virtuoso (asked once, with an empty ASK)."""
        if self.http.server is None:
            self._read("ASK {}", JSON_RESULTS)
        return (self.http.server or "").lower().startswith("virtuoso")

    def _update(self, operations: list[str], what: str) -> None:
        """Send operations as one request (Virtuoso: with its pragma, see VIRTUOSO_PRAGMA).

        A failure says whether the update went out: not at all (``StoreUnreachable``: not
        applied), or without an answer (a timeout, a broken connection: ``in_doubt``, it may or
        may not have been applied). An update is never sent again here."""
        request = " ;\n".join(operations)
        if self.is_virtuoso():
            request = VIRTUOSO_PRAGMA + request
        try:
            answer = self.http.post(
                self.update_url, [("update", request)], JSON_RESULTS, idempotent=False
            )
        except StoreUnreachable as err:
            unsent = StoreUnreachable(f"{err}; the {what} was not sent")
            log.error("%s", unsent)
            raise unsent from err
        except StoreError as err:
            doubt = type(err)(f"{err}; the {what} was sent and may or may not have been applied")
            doubt.in_doubt = True
            log.error("%s", doubt)
            raise doubt from err
        if not 200 <= answer.status < 300:
            raise self._fail(self.update_url, answer, what)

    # -- the Store interface ------------------------------------------------------------------
    def _our_graphs(self) -> list[ox.NamedNode]:
        cached = self._graph_cache
        if cached is not None and time.monotonic() - cached[0] < GRAPH_CACHE_SECONDS:
            return cached[1]
        graphs = self.graphs()
        self._graph_cache = (time.monotonic(), graphs)
        return graphs

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Run a query on the server; its dataset is the registered graphs unless given."""
        form = query_form(sparql)
        ours = self._our_graphs() if default_graph is None or named_graphs is None else []
        dataset = [
            ("default-graph-uri", g.value)
            for g in (default_graph if default_graph is not None else ours)
        ] or [("default-graph-uri", _NO_GRAPH)]
        named = [
            ("named-graph-uri", g.value)
            for g in (named_graphs if named_graphs is not None else ours)
        ] or [("named-graph-uri", _NO_GRAPH)]
        triples = form in ("CONSTRUCT", "DESCRIBE")
        accept = N_TRIPLES if triples else JSON_RESULTS
        answer = self._read(sparql, accept, dataset + named, timeout, user_query=True)
        if not triples:
            return self._results(answer)
        try:
            fmt = ox.RdfFormat.from_media_type(answer.media_type)
            if fmt is None:
                raise ValueError(f"not RDF but {answer.media_type or 'no media type'}")
            # A real QueryTriples (what the embedded store returns), via a throwaway store.
            scratch = ox.Store()
            scratch.load(answer.body, fmt)
        except (ValueError, SyntaxError) as err:
            raise self._garbage(answer, err) from err
        return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[ox.Quad]:
        """Matching quads of the registered graphs (or of ``graph``): one SELECT per page.

        A blank node cannot be named in SPARQL, so a pattern holding one matches nothing (the
        remote store holds none of ClaimGraph's: written data is skolemized).
        """
        if isinstance(subject, ox.BlankNode) or isinstance(object, ox.BlankNode):
            return iter(())
        if isinstance(graph, ox.DefaultGraph):
            return iter(())
        s, p, o = (
            _term(t) if t is not None else f"?{v}"
            for t, v in ((subject, "s"), (predicate, "p"), (object, "o"))
        )
        g = _term(graph) if graph is not None else "?g"
        registry = "" if graph is not None else f"GRAPH {REGISTRY} {{ ?g a {SD_NAMED_GRAPH} }} "
        where = f"{registry}GRAPH {g} {{ {s} {p} {o} }}"
        fixed = (subject, predicate, object, graph)
        variables = " ".join(x for x in (g, s, p, o) if x.startswith("?"))
        if (
            subject is not None
            and predicate is not None
            and object is not None
            and graph is not None
        ):  # all four given: is it there?
            return iter([ox.Quad(subject, predicate, object, graph)] if self._ask(where) else [])
        return self._quads(variables, where, fixed)

    def _quads(
        self, variables: str, where: str, fixed: tuple[object, object, object, object]
    ) -> Iterator[ox.Quad]:
        names = ("s", "p", "o", "g")
        for row in self._pages(variables, where):
            terms = [
                fixed[i] if fixed[i] is not None else row[name] for i, name in enumerate(names)
            ]
            yield ox.Quad(*terms)  # type: ignore[arg-type]

    def _ask(self, where: str) -> bool:
        answer = self._read(f"ASK {{ {where} }}", JSON_RESULTS)
        result = self._results(answer)
        if not isinstance(result, ox.QueryBoolean):
            raise self._garbage(answer, ValueError("solutions for an ASK"))
        return bool(result)

    def apply(self, delta: Delta) -> None:
        """Apply a write as it is, then bump the write generation (so that other instances see
        that the store changed): one operation where it fits (see ``update_operations``), with
        the bump in the same request, except on Virtuoso, which gets each operation and then
        the bump as requests of their own (see ``_send``). Validated writes go through
        ``apply_at`` instead."""
        if not delta:
            return
        _check_delta(delta)
        try:
            operations = update_operations(delta, virtuoso=self.is_virtuoso())
            self._send(operations, self._what(delta), then=_BUMP)
        finally:
            self._graph_cache = None

    def _send(
        self,
        operations: list[str],
        what: str,
        then: _Step | None = None,
        between: Callable[[], None] | None = None,
    ) -> None:
        """The operations of one write, and ``then`` after them, in as few requests as allowed;
        ``between``: called between two requests of the write.

        Virtuoso applies the operations of one request one by one, not as a transaction, and
        mixes up the data of several DATA operations under its pragma: it gets one request per
        operation instead, in order, so that a failure can say what was applied, and ``then``
        in a request of its own, whose failure says that the write itself was applied.
        """
        virtuoso = self.is_virtuoso()
        if len(operations) > 1 and virtuoso:
            requests = [[op] for op in operations]
        else:
            requests = [operations + ([then.operation] if then and not virtuoso else [])]
        for done, request in enumerate(requests):
            if done and between is not None:
                between()
            try:
                self._update(request, what)
            except StoreError as err:
                if len(operations) > 1:
                    raise self._partial(err, operations, done, len(requests)) from err
                raise
        if then and virtuoso:
            try:
                self._update([then.operation], then.name)
            except StoreError as err:
                raise self._after_applied(err, what, then) from err

    @staticmethod
    def _after_applied(err: StoreError, what: str, step: _Step) -> StoreError:
        """The error of a step that failed after the data of a write was applied."""
        note = f" ({step.consequence})" if step.consequence else ""
        failure = type(err)(f"the {what} was applied; the {step.name} after it failed{note}: {err}")
        log.error("%s", failure)
        return failure

    @staticmethod
    def _what(delta: Delta) -> str:
        graphs = {q.graph_name for q in delta.add + delta.remove} | set(delta.drop_graphs)
        return f"write to {', '.join(sorted(str(g) for g in graphs))}"

    # -- the write generation, shared by every instance over this server ----------------------
    def generation(self) -> int:
        """The store's write generation (0 before the first counted write): one small read."""
        return self._state().generation

    def _state(self) -> _State:
        """The write generation, and the claim of the write that made it, if it holds the store."""
        rows = self._select(
            f"SELECT ?n ?w ?claim ?k WHERE {{ GRAPH {REGISTRY} {{ "
            f"{{ {GENERATION} {VALUE} ?n }} UNION "
            f"{{ ?w {PENDING} ?claim OPTIONAL {{ ?w {RENEWED} ?k }} }} }} }}"
        )
        numbers = [self._number(r["n"], "write generation") for r in rows if r["n"] is not None]
        n = max(numbers, default=0)
        if n != self._generation_seen:  # another instance may have registered graphs
            self._generation_seen, self._graph_cache = n, None
        held, renewed = None, 0
        for r in rows:
            w = r["w"]
            if isinstance(w, ox.NamedNode) and f"<{w.value}>" == _record(n):
                held = self._number(r["claim"], f"hold of write {n}")
                k = r["k"]
                renewed = self._number(k, f"renewal count of write {n}") if k is not None else 0
        return _State(n, bool(numbers), held, renewed)

    def _number(self, term: object, what: str) -> int:
        """A whole number of the registry's; anything else there was not written by ClaimGraph,
        and leaves the state of the store's writes unknown (``StoreError``)."""
        if isinstance(term, ox.Literal):
            try:
                return _whole(term.value)
            except ValueError:
                pass
        err = StoreError(
            f"the registry graph {REGISTRY} of the SPARQL store at {self.query_url} holds "
            f"{term} as the {what}, where ClaimGraph writes a whole number: the state of the "
            "store's writes cannot be told; remove that triple from the registry graph (no "
            "write through ClaimGraph can touch it)"
        )
        log.error("%s", err)
        raise err

    def write_base(self) -> int:
        """The generation a validated write starts from (then ``apply_at``): the store's, once
        no write in several requests holds it.

        Another instance's such write is waited for, up to ``timeout`` (then ``StoreError``,
        503), and taken over by a write that finds its claim unchanged for longer than the
        claim says, counted from when this instance first saw it so (its instance stopped
        half-way; that write is incomplete, as it was told). A hold of this instance's own,
        left by a release that failed, is let go of at once.
        """
        self._check_isolation()
        deadline = time.monotonic() + self.timeout
        pause = 0.02
        started = released = False
        while True:
            state = self._state()
            n = state.generation
            if not state.recorded:
                if started:
                    raise self._not_visible()
                # The first counted write starts from 0. Two instances' first writes can leave
                # a stray 0 beside a 1: the highest generation is the one read and required.
                start = f"GRAPH {REGISTRY} {{ {GENERATION} {VALUE} 0 }}"
                self._update([_data("INSERT DATA", [start])], "start of the write generation")
                started = True
                continue
            own = self._unreleased
            if own is not None and (own[0] != n or state.held is None):
                self._unreleased = own = None  # let go of since, or taken over
            if state.held is None:
                return n
            if own is not None and not released:
                released = True
                log.warning(
                    "letting go of the store (generation %d), held by a write of this "
                    "instance's whose release failed",
                    n,
                )
                self._release(n, own[1])
                continue
            now = time.monotonic()
            claim = (n, state.renewed)
            if self._claim_seen is None or self._claim_seen[0] != claim:
                self._claim_seen = (claim, now)
            if now - self._claim_seen[1] > state.held:
                log.error(
                    "the write of generation %d (another instance's, in several requests) has "
                    "held the store for over %d s without a sign of progress: taken over; that "
                    "write is incomplete",
                    n,
                    state.held,
                )
                return n
            if now >= deadline:
                raise StoreError(
                    f"the SPARQL store at {self.update_url} is busy with another instance's "
                    f"write (generation {n}, sent in several requests); try again in a moment"
                )
            time.sleep(min(pause, deadline - now))
            pause = min(2 * pause, 0.5)

    def _not_visible(self) -> StoreError:
        err = StoreError(
            f"the SPARQL store at {self.update_url} accepted the update that starts the write "
            f"generation, but a query to {self.query_url} does not find it: the update "
            "endpoint's writes are not visible to the query endpoint. Point "
            "CLAIMGRAPH_STORE and CLAIMGRAPH_STORE_UPDATE_URL at the same dataset (not a read "
            "replica, nor another dataset behind a proxy)"
        )
        log.error("%s", err)
        return err

    def apply_at(self, delta: Delta, generation: int) -> int | None:
        """Apply ``delta`` only if the store is still at ``generation`` (from ``write_base``):
        the new generation, or ``None`` when another write came first (nothing was applied).

        One conditional DELETE/INSERT where the delta fits in one operation: atomic, and
        isolated from another instance's where the server isolates an update request from a
        concurrent one (Virtuoso: ``DefaultIsolation = 4``). A larger write holds the store
        (``_held_write``). A conditional update whose answer is lost is settled on the spot
        (``_conditional``).
        """
        _check_delta(delta)
        what = self._what(delta)
        remove, add = _changes(delta)
        token = uuid.uuid4().hex
        try:
            if not delta.drop_graphs and len(remove) + len(add) <= SINGLE_OPERATION_LIMIT:
                operation = conditional_operation(generation, token, remove, add)
                applied = self._conditional(operation, generation, token, what)
                return generation + 1 if applied else None
            return self._held_write(delta, generation, token, what)
        finally:
            self._graph_cache = None

    def _conditional(self, operation: str, generation: int, token: str, what: str) -> bool:
        """Send a conditional update that is to make ``generation + 1`` as write ``token``, and
        tell whether it did (its token read back).

        When its answer is lost (a timeout, a broken connection), it may still be on its way:
        a conditional update that changes nothing follows, at the same generation, with a
        token of its own. Whichever of the two lands first makes ``generation + 1`` (unless
        another instance's write did), after which the other can no longer apply: the record of
        ``generation + 1`` then tells for good whether this write was applied.
        """
        try:
            self._update([operation], what)
        except StoreError as err:
            if not err.in_doubt:
                raise
            return self._settle(generation, token, what, err)
        return self._landed(generation + 1, token, what)

    def _settle(self, generation: int, token: str, what: str, doubt: StoreError) -> bool:
        """Whether the update of ``token``, whose answer was lost (``doubt``), was applied."""
        probe = uuid.uuid4().hex
        try:
            self._update([conditional_operation(generation, probe)], f"check of the {what}")
            maker = self._maker(generation + 1)
        except StoreError as err:
            log.error("could not settle whether the %s was applied: %s", what, err)
            raise doubt from err
        if maker is None:  # no write made generation + 1: the server did not apply the check
            raise doubt
        log.warning(
            "the answer to the %s was lost; the store's record says it was %s",
            what,
            "applied" if maker == token else "not applied",
        )
        return maker == token

    def _maker(self, generation: int) -> str | None:
        """The token of the write that made ``generation``, if the registry records it."""
        rows = self._select(
            f"SELECT ?t WHERE {{ GRAPH {REGISTRY} {{ {_record(generation)} {TOKEN} ?t }} }}"
        )
        tokens = [r["t"].value for r in rows if isinstance(r["t"], ox.Literal)]
        return tokens[0] if tokens else None

    def _held_write(self, delta: Delta, generation: int, token: str, what: str) -> int | None:
        """A write too large for one conditional operation: a conditional update holds the
        store (marks ``generation + 1`` as pending, for ``HOLD_REQUESTS`` request times), then
        the write goes as ``apply`` sends it, the hold renewed after each request, and a last
        update lets go (``generation + 2``). ``None`` when another write came first.

        A failure after the data was applied says so. A release that fails is sent again at
        this instance's next ``write_base``; one that finds the store taken over (the write
        outlasted its hold) is an error: another instance's write did not wait for this one.
        """
        virtuoso = self.is_virtuoso()
        operations = update_operations(delta, virtuoso=virtuoso)
        hold = math.ceil(HOLD_REQUESTS * self.timeout) + 1
        claim = conditional_operation(generation, token, claim=hold)
        if not self._conditional(claim, generation, token, f"hold on the store for the {what}"):
            return None
        held = generation + 1
        self._unreleased = (held, token)
        release = _Step(
            conditional_operation(held, token),
            f"release of the store (generation {held})",
            f"this instance lets go at its next write; others wait up to {hold} s",
        )
        renewals = itertools.count(1)

        def renew() -> None:
            # (a failure is logged) the hold then lasts its time; the write goes on
            with contextlib.suppress(StoreError):
                self._update(
                    [renewal_operation(held, next(renewals))],
                    f"renewal of the hold on the store (generation {held})",
                )

        try:
            self._send(operations, what, then=None if virtuoso else release, between=renew)
        except StoreError:
            try:  # let go of the store: the write is incomplete, as the error says
                self._release(held, token)
            except StoreError:
                log.error(
                    "could not let go of the store (generation %d) after the failed %s: %s",
                    held,
                    what,
                    release.consequence,
                )
            raise
        if virtuoso:
            try:
                self._update([release.operation], release.name)
            except StoreError as err:
                raise self._after_applied(err, what, release) from err
        self._unreleased = None  # let go of, or taken over before
        mine = f"GRAPH {REGISTRY} {{ {_record(held + 1)} {TOKEN} {ox.Literal(token)} }}"
        try:
            landed = self._ask(mine)
        except StoreError as err:
            check = _Step("", f"read-back of the {release.name}", "")
            raise self._after_applied(err, what, check) from err
        if not landed:
            failure = StoreError(
                f"the {what} was applied, but it outlasted its hold on the store ({hold} s "
                f"without a renewal): another instance took the store over meanwhile "
                f"(generation {held}), and its write was validated without this one's "
                "changes; check that the store still conforms (/validation)"
            )
            log.error("%s", failure)
            raise failure
        return held + 1

    def _release(self, generation: int, token: str) -> None:
        """Let go of the store held at ``generation`` by this instance's write ``token``."""
        self._update(
            [conditional_operation(generation, token)],
            f"release of the store (generation {generation})",
        )
        self._unreleased = None  # let go of now, or taken over before (nothing left to let go)

    def _landed(self, generation: int, token: str, what: str) -> bool:
        """Whether the conditional update that was to make ``generation`` did."""
        try:
            return self._ask(
                f"GRAPH {REGISTRY} {{ {_record(generation)} {TOKEN} {ox.Literal(token)} }}"
            )
        except StoreError as err:
            e = type(err)(f"{err}; the {what} was sent and may or may not have been applied")
            e.in_doubt = True
            log.error("%s", e)
            raise e from err

    def _check_isolation(self) -> None:
        """Warn, once, when Virtuoso does not isolate concurrent update requests (its default,
        read committed, lets two instances' conditional writes both apply)."""
        if self._isolation_checked or not self.is_virtuoso():
            return
        self._isolation_checked = True
        try:
            rows = self._select(
                "SELECT (bif:virtuoso_ini_item_value('Parameters', 'DefaultIsolation') AS ?i) {}",
                level=logging.WARNING,
            )
        except StoreError:  # (logged) the check is advice, not a condition of writing
            return
        value = rows[0]["i"] if rows else None
        level = value.value if isinstance(value, ox.Literal) else "2"
        if not level.isdigit() or int(level) < 4:
            log.warning(
                "the Virtuoso at %s runs updates at isolation level %s: two ClaimGraph "
                "instances writing at the same moment could both apply; set DefaultIsolation = "
                "4 in the [Parameters] of its virtuoso.ini",
                self.update_url,
                level,
            )

    def _partial(self, err: StoreError, operations: list[str], done: int, steps: int) -> StoreError:
        """The error of a write of several operations that failed, saying what is applied."""
        if steps > 1 and done == 0:
            return err  # the first request failed: nothing else of the write was sent
        if steps > 1:
            kinds = ", ".join(op.split("{", 1)[0].strip() for op in operations[:done])
            failed = operations[done].split("{", 1)[0].strip()
            doubt = f"; the next ({failed}) may or may not have been" if err.in_doubt else ""
            note = (
                f"it was sent as {steps} requests, one per operation (Virtuoso does not apply "
                f"several operations as one transaction), {done} of {steps} applied ({kinds})"
                f"{doubt}: the write is incomplete; repeat it, or repair the graphs it names"
            )
        else:
            note = (
                f"it was {len(operations)} operations in one request, which a server that does "
                "not run a request as one transaction may have applied in part"
            )
        failure = type(err)(f"{err}. {note}")
        failure.in_doubt = err.in_doubt
        log.error("%s", failure)
        return failure

    def bulk_load(self, quads: Iterable[ox.Quad]) -> None:
        """Batches of ``BULK_BATCH`` quads, one INSERT DATA request each (not one transaction)."""
        batch: list[ox.Quad] = []
        loaded = 0
        try:
            for q in quads:
                batch.append(q)
                if len(batch) >= BULK_BATCH:
                    self._bulk(batch, loaded)
                    loaded += len(batch)
                    batch = []
            if batch:
                self._bulk(batch, loaded)
                loaded += len(batch)
            try:
                self._update([BUMP], _BUMP.name)
            except StoreError as err:
                raise self._after_applied(err, f"bulk load of {loaded} quads", _BUMP) from err
        finally:
            self._graph_cache = None

    def _bulk(self, batch: list[ox.Quad], loaded: int) -> None:
        _check(batch)
        what = f"bulk load (after {loaded} quads loaded)"
        self._update(update_operations(Delta(add=batch), virtuoso=self.is_virtuoso()), what)

    def graphs(self) -> list[ox.NamedNode]:
        rows = self._pages("?g", f"GRAPH {REGISTRY} {{ ?g a {SD_NAMED_GRAPH} }}")
        found = {r["g"] for r in rows if isinstance(r["g"], ox.NamedNode)}
        return sorted(found, key=lambda g: g.value)

    def has_graph(self, graph: ox.NamedNode) -> bool:
        return self._ask(f"GRAPH {REGISTRY} {{ {_term(graph)} a {SD_NAMED_GRAPH} }}")

    def count(self, graph: GraphName | None = None) -> int:
        if isinstance(graph, ox.DefaultGraph):
            return 0
        if graph is None:
            where = f"GRAPH {REGISTRY} {{ ?g a {SD_NAMED_GRAPH} }} GRAPH ?g {{ ?s ?p ?o }}"
        else:
            where = f"GRAPH {_term(graph)} {{ ?s ?p ?o }}"
        rows = self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
        n = rows[0]["n"] if rows else None
        return int(n.value) if isinstance(n, ox.Literal) else 0

    def dump(self, out: IO[bytes], fmt: RdfFormat, graph: GraphName | None = None) -> None:
        """Stream the store (or one graph) page by page through Oxigraph's serializers."""
        if isinstance(graph, ox.DefaultGraph):
            ox.serialize([], out, fmt.ox)
            return
        data: Iterator[ox.Quad] | Iterator[ox.Triple]
        if graph is None and fmt.datasets:
            data = self.quads()
        elif graph is None:
            # A triple format cannot hold several graphs: their union, each triple once.
            where = f"GRAPH {REGISTRY} {{ ?g a {SD_NAMED_GRAPH} }} GRAPH ?g {{ ?s ?p ?o }}"
            rows = self._pages("?s ?p ?o", where, distinct=True)
            data = (ox.Triple(r["s"], r["p"], r["o"]) for r in rows)
        else:
            data = (ox.Triple(q.subject, q.predicate, q.object) for q in self.quads(graph=graph))
        ox.serialize(data, out, fmt.ox)

    # -- the registry: graphs that reached the server by other means -------------------------
    def system_graphs(self) -> set[ox.NamedNode]:
        """The server's own graphs, which are never ClaimGraph's (Virtuoso's; none elsewhere)."""
        if not self.is_virtuoso():
            return set()
        found = {ox.NamedNode(g) for g in VIRTUOSO_SYSTEM_GRAPHS}
        rows = self._select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?g a {SD_SERVICE} }} }} LIMIT 100"
        )
        for row in rows:
            g = row["g"]
            if isinstance(g, ox.NamedNode):
                found.add(g)
                if g.value.endswith("/sparql"):
                    found.add(ox.NamedNode(g.value.removesuffix("sparql") + "DAV/"))
        return found

    def unregistered_graphs(self, limit: int = LISTED_GRAPHS) -> tuple[list[ox.NamedNode], bool]:
        """The server's named graphs that hold data but are not registered (loaded into it by
        other means: its bulk loader, another client), its system graphs left out: at most
        ``limit`` of them, sorted, and whether that is all."""
        excluded = ", ".join(sorted(_term(g) for g in self.system_graphs() | {REGISTRY}))
        where = (
            "{ SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } } "
            f"FILTER NOT EXISTS {{ GRAPH {REGISTRY} {{ ?g a {SD_NAMED_GRAPH} }} }} "
            f"FILTER(?g NOT IN ({excluded}))"
        )
        rows = itertools.islice(self._pages("?g", where), limit + 1)
        found = sorted(
            {r["g"] for r in rows if isinstance(r["g"], ox.NamedNode)}, key=lambda g: g.value
        )
        return found[:limit], len(found) <= limit

    def check_registrable(self, graphs: list[ox.NamedNode]) -> dict[ox.NamedNode, int]:
        """The triples of each graph on the server, or ``InputError`` (naming every graph at
        fault) when one is not for ClaimGraph to register: the registry, a system graph of
        the server's, a graph with no data, or one holding blank nodes (which the remote store
        cannot name in SPARQL: its reads, its writes and Virtuoso's answers could not carry
        them)."""
        faults = [_reserved(g) for g in graphs if g == REGISTRY]
        system = self.system_graphs()
        faults += [f"{g} is one of the server's own (system) graphs" for g in graphs if g in system]
        triples: dict[ox.NamedNode, int] = {}
        for g in graphs:
            if g == REGISTRY or g in system:
                continue
            triples[g] = self.count(g)
            if not triples[g]:
                faults.append(f"{g} holds no data on the server")
            elif self._ask(f"GRAPH {_term(g)} {{ ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }}"):
                faults.append(
                    f"{g} holds blank nodes, which the remote store cannot name in SPARQL "
                    "(load the data with `claimgraph load`, which replaces them with IRIs, or "
                    "give them IRIs on the server)"
                )
        if faults:
            raise InputError(f"nothing was registered: {'; '.join(faults)}")
        return triples

    def register_at(self, graphs: list[ox.NamedNode], generation: int) -> int | None:
        """Register ``graphs`` (ClaimGraph's queries and reads then see them) only if the store
        is still at ``generation`` (from ``write_base``): one conditional update, which bumps
        the generation as a write does. The new generation, or ``None`` when another write came
        first (nothing changed). Their data is not touched: the caller checks them
        (``check_registrable``) and validates them first."""
        return self._registry_at(graphs, generation, register=True)

    def unregister_at(self, graphs: list[ox.NamedNode], generation: int) -> int | None:
        """Unregister ``graphs`` (ClaimGraph no longer sees them; their data stays on the
        server), as ``register_at`` registers them."""
        return self._registry_at(graphs, generation, register=False)

    def _registry_at(
        self, graphs: list[ox.NamedNode], generation: int, *, register: bool
    ) -> int | None:
        for g in graphs:
            if g == REGISTRY:
                raise InputError(_reserved(g))
        if len(graphs) > REGISTERED_AT_ONCE:
            raise InputError(
                f"{len(graphs)} graphs at once: register or unregister at most "
                f"{REGISTERED_AT_ONCE} at a time"
            )
        entries = _registered(graphs)
        token = uuid.uuid4().hex
        if register:
            operation = conditional_operation(generation, token, add=entries)
        else:
            operation = conditional_operation(generation, token, remove=entries)
        names = ", ".join(str(g) for g in graphs)
        what = f"{'registration' if register else 'unregistration'} of {names}"
        try:
            applied = self._conditional(operation, generation, token, what)
        finally:
            self._graph_cache = None
        return generation + 1 if applied else None

    def close(self) -> None:
        """Close the kept-alive connections (a later request opens a new one)."""
        self._graph_cache = None
        self.http.close()
