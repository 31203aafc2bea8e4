"""The remote store: a SPARQL 1.1 Query/Update server over HTTP (Virtuoso, Fuseki, GraphDB,
Neptune, QLever…) behind the same ``Store`` interface as the embedded Oxigraph store.

Which graphs are ours: servers keep graphs of their own (Virtuoso's system graphs are in its
"all graphs" default), so the store keeps a *registry*: one named graph listing each
ClaimGraph graph as an ``sd:NamedGraph``, maintained by the same update request that writes
the data. Every query gets the registered graphs as its dataset (``default-graph-uri`` and
``named-graph-uri``: the union default graph), and every read of the store's own joins the
registry on the server, in the one query it sends.

Writes: each ``apply`` is one update request, and where the delta allows, one *operation*
(``INSERT DATA``, ``DELETE DATA``, or a small ``DELETE {…} INSERT {…} WHERE {}``), because one
operation is atomic on every server, whereas several operations in one request are atomic
only on servers that run a request as one transaction (Fuseki, GraphDB, Neptune, Oxigraph
do). Virtuoso commits operation by operation, so it gets one request per operation, and a
failure says which were applied. Its other quirks are worked around where they are met
(see the README's "Remote store" section for the list).

Reads of many rows come a page at a time, cut from an ordered sequence (``_pages``).

Every HTTP request has a deadline (``timeout``): connecting, sending and reading the answer.
A server that cannot be reached or answers garbage raises ``StoreError`` (HTTP 503); one that
does not answer in time, ``StoreTimeout`` (504); SPARQL the server rejects as malformed,
``QuerySyntaxError`` (400).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING
from urllib.parse import urlencode, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

import pyoxigraph as ox

from server.errors import InputError, QuerySyntaxError, StoreError, StoreTimeout
from server.formats import RdfFormat
from server.store import Delta, GraphName, QueryResult

if TYPE_CHECKING:
    from server.config import Settings

log = logging.getLogger(__name__)

SCHEMES = ("sparql+http://", "sparql+https://")
# The registry graph: `<g> a sd:NamedGraph` for each graph of ClaimGraph's on the server.
REGISTRY = ox.NamedNode("urn:claimgraph:graphs")
SD_NAMED_GRAPH = ox.NamedNode("http://www.w3.org/ns/sparql-service-description#NamedGraph")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
# Named as the dataset when there is no graph at all (an empty list means "server default").
_NO_GRAPH = "urn:claimgraph:graphs#none"

PAGE_SIZE = 10_000  # rows per page of a long read: Virtuoso's default result cap
BULK_BATCH = 10_000  # quads per bulk_load request
# Triples per GRAPH block of a DATA operation: Virtuoso's SPARQL parser runs out of stack
# near 5,000 triples in one block (whole operations of 50,000 triples in blocks are fine).
BLOCK = 1_000
# Virtuoso only: pass DATA blocks to the engine as data, not compiled to SQL. Without it, a
# server with MaxQueryCostEstimationTime set (Debian's default ini) refuses INSERT DATA of more
# than ~1,000 triples ("generated SQL text has exceeded 10000 lines").
VIRTUOSO_PRAGMA = "DEFINE sql:big-data-const 1\n"
# Largest remove-and-add delta sent as one DELETE/INSERT operation: Virtuoso compiles the
# templates to SQL and refuses more than 10,000 lines (about 1,000 + 1,000 triples).
SINGLE_OPERATION_LIMIT = 256
GRAPH_CACHE_SECONDS = 1.0  # how long query() reuses the registry it read
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
    """POSTs forms to SPARQL endpoints: one connection per request, each with a deadline."""

    def __init__(self, timeout: float, credentials: _Credentials | None) -> None:
        self.timeout = timeout
        self.credentials = credentials
        self.server: str | None = None  # the Server header last seen (None: no answer yet)

    def post(
        self, url: str, form: list[tuple[str, str]], accept: str, timeout: float | None = None
    ) -> Answer:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        body = urlencode(form).encode()
        answer = self._send(url, body, accept, deadline, timeout)
        if answer.status == 401 and self.credentials is not None:
            challenges = [v for k, v in answer.raw_headers if k.lower() == "www-authenticate"]
            if self.credentials.learn(challenges):
                answer = self._send(url, body, accept, deadline, timeout)
        return answer

    def _send(
        self, url: str, body: bytes, accept: str, deadline: float, timeout: float
    ) -> _RawAnswer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "Accept": accept,
            "Connection": "close",
            "User-Agent": "ClaimGraph",
        }
        if self.credentials is not None:
            auth = self.credentials.header("POST", path)
            if auth:
                headers["Authorization"] = auth
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname or "localhost", parts.port, timeout=_left(deadline, timeout))
        try:
            try:
                conn.connect()
            except TimeoutError:
                raise
            except OSError as err:  # refused, unreachable, unknown host: nothing was sent
                raise StoreError(f"the SPARQL store at {url} is not reachable: {err}") from err
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
        except TimeoutError as err:
            raise StoreTimeout(
                f"the SPARQL store at {url} did not answer within {timeout:g} s"
            ) from err
        except http.client.HTTPException as err:
            raise StoreError(
                f"the SPARQL store at {url} broke off or did not speak HTTP: "
                f"{type(err).__name__} {err}".rstrip()
            ) from err
        except StoreError:
            raise
        except OSError as err:  # reset or broken pipe once connected: the server broke off
            raise StoreError(
                f"the SPARQL store at {url} broke off or did not speak HTTP: {err}"
            ) from err
        finally:
            conn.close()
        self.server = resp.getheader("Server") or self.server or ""
        return _RawAnswer(
            resp.status,
            {k.lower(): v for k, v in resp.getheaders()},
            b"".join(chunks),
            resp.getheaders(),
        )


@dataclass
class _RawAnswer(Answer):
    raw_headers: list[tuple[str, str]] = field(default_factory=list)


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
    return str(t)


def _check(quads: Iterable[ox.Quad]) -> None:
    for q in quads:
        if isinstance(q.graph_name, ox.DefaultGraph):
            raise InputError(
                "the remote store keeps every triple in a named graph; "
                f"got {q} in the default graph"
            )
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
        by_graph.setdefault(str(q.graph_name), []).append(f"{q.subject} {q.predicate} {q.object} .")
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


def update_operations(delta: Delta, *, virtuoso: bool = False) -> list[str]:
    """The SPARQL Update operations of one write, as few as the delta allows (see module doc).

    The registry follows the data: graphs written to are registered, dropped ones are not.
    Removals of up to SINGLE_OPERATION_LIMIT quads are a ``DELETE {…} WHERE {}`` template:
    Virtuoso's ``DELETE DATA`` of more than one ``GRAPH`` block skips language-tagged literals
    (7.2.5), so there (``virtuoso``) each block of a larger removal is an operation of its own.
    """
    added_graphs = list(dict.fromkeys(q.graph_name for q in delta.add))
    add = delta.add + _registered(added_graphs)  # type: ignore[arg-type]
    unregister = _registered(g for g in delta.drop_graphs if g not in added_graphs)
    remove = delta.remove + unregister
    small = len(remove) + (len(add) if delta.add else 0) <= SINGLE_OPERATION_LIMIT
    if not delta.drop_graphs:
        if not delta.remove:
            return [_data("INSERT DATA", _blocks(add))]
        if small and not delta.add:
            return [_data("DELETE", _blocks(remove)) + "\nWHERE {}"]
        if small:
            return [
                _data("DELETE", _blocks(remove)) + _data("\nINSERT", _blocks(add)) + "\nWHERE {}"
            ]
    ops = [f"DROP SILENT GRAPH {g}" for g in delta.drop_graphs]
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
    def _fail(self, url: str, answer: Answer, what: str) -> StoreError:
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
        log.error("%s", err)
        return err

    def _read(
        self,
        sparql: str,
        accept: str,
        dataset: list[tuple[str, str]] | None = None,
        timeout: float | None = None,
        user_query: bool = False,
    ) -> Answer:
        form = [("query", sparql), *(dataset or [])]
        try:
            answer = self.http.post(self.query_url, form, accept, timeout)
        except StoreError as err:
            log.error("%s", err)
            raise
        # The server's word that the SPARQL is malformed (Virtuoso: SQL state 37000).
        malformed = answer.status == 400 or answer.excerpt().startswith("Virtuoso 37000")
        if user_query and malformed:
            raise QuerySyntaxError(f"the SPARQL store refused the query: {answer.excerpt()}")
        if not 200 <= answer.status < 300:
            raise self._fail(self.query_url, answer, "query")
        return answer

    def _results(self, answer: Answer) -> ox.QuerySolutions | ox.QueryBoolean:
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
            raise self._garbage(answer, err) from err

    def _garbage(self, answer: Answer, err: Exception) -> StoreError:
        e = StoreError(
            f"the SPARQL store at {self.query_url} answered something unreadable "
            f"(HTTP {answer.status}, {answer.media_type or 'no media type'}: {err}): "
            f"{answer.excerpt() or '(empty)'}"
        )
        log.error("%s", e)
        return e

    def _select(self, sparql: str) -> list[ox.QuerySolution]:
        result = self._results(self._read(sparql, JSON_RESULTS))
        if not isinstance(result, ox.QuerySolutions):
            raise self._garbage(Answer(200, {}, b""), ValueError("a boolean for a SELECT"))
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
        """Send operations as one request (Virtuoso: with its pragma, see VIRTUOSO_PRAGMA)."""
        request = " ;\n".join(operations)
        if self.is_virtuoso():
            request = VIRTUOSO_PRAGMA + request
        try:
            answer = self.http.post(self.update_url, [("update", request)], JSON_RESULTS)
        except StoreTimeout as err:
            e = StoreTimeout(f"{err}; the {what} may or may not have been applied")
            log.error("%s", e)
            raise e from err
        except StoreError as err:
            log.error("%s (%s not applied)", err, what)
            raise
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
        """One update request, one operation where it fits (see ``update_operations``)."""
        if not delta:
            return
        _check(delta.add)
        _check(delta.remove)
        graphs = {q.graph_name for q in delta.add + delta.remove} | set(delta.drop_graphs)
        what = f"write to {', '.join(sorted(str(g) for g in graphs))}"
        operations = update_operations(delta, virtuoso=self.is_virtuoso())
        # Virtuoso applies the operations of one request one by one, not as a transaction, and
        # mixes up the data of several DATA operations under its pragma: it gets one request
        # per operation instead, in order, so that a failure can say what was applied.
        requests = (
            [[op] for op in operations]
            if len(operations) > 1 and self.is_virtuoso()
            else [operations]
        )
        try:
            for done, request in enumerate(requests):
                try:
                    self._update(request, what)
                except StoreError as err:
                    if len(operations) > 1:
                        raise self._partial(err, operations, done, len(requests)) from err
                    raise
        finally:
            self._graph_cache = None

    def _partial(self, err: StoreError, operations: list[str], done: int, steps: int) -> StoreError:
        """The error of a write of several operations that failed, saying what is applied."""
        if steps > 1 and done == 0:
            return err  # the first request failed: nothing of the write was applied
        if steps > 1:
            kinds = ", ".join(op.split("{", 1)[0].strip() for op in operations[:done])
            note = (
                f"it was sent as {steps} requests, one per operation (Virtuoso does not apply "
                f"several operations as one transaction), {done} of {steps} applied ({kinds}): "
                "the write is incomplete; repeat it, or repair the graphs it names"
            )
        else:
            note = (
                f"it was {len(operations)} operations in one request, which a server that does "
                "not run a request as one transaction may have applied in part"
            )
        failure = type(err)(f"{err}. {note}")
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
        return self._ask(f"GRAPH {REGISTRY} {{ {graph} a {SD_NAMED_GRAPH} }}")

    def count(self, graph: GraphName | None = None) -> int:
        if isinstance(graph, ox.DefaultGraph):
            return 0
        if graph is None:
            where = f"GRAPH {REGISTRY} {{ ?g a {SD_NAMED_GRAPH} }} GRAPH ?g {{ ?s ?p ?o }}"
        else:
            where = f"GRAPH {graph} {{ ?s ?p ?o }}"
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

    def close(self) -> None:
        """Nothing to release: each request has its own connection."""
        self._graph_cache = None
