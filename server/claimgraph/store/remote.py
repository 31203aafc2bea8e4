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
generation, which every write bumps. The updates that read and move it are written here
(``conditional_operation``, ``renewal_operation``, ``BUMP``); the writes that use them, validated
writes conditional on the generation and the holds of larger ones, are ``RemoteStore``'s, in
``claimgraph.store.shared``.

Reads of many rows come a page at a time, cut from an ordered sequence (``_pages``); whole
graphs come as the server exports them, never sorted (``export``). A read
the server ends as the victim of a deadlock is sent again (``READ_RETRIES``); an update never.

Requests go over kept-alive connections, each with one deadline (``timeout``), through
``claimgraph.store.http``. A server that cannot be reached raises ``StoreUnreachable``
(nothing was sent), one that breaks off or answers garbage ``StoreError`` (both HTTP 503); one
that does not answer in time, ``StoreTimeout`` (504); SPARQL the server rejects as malformed,
``QuerySyntaxError`` (400). An update that was sent and got no answer may or may not have been
applied: its error says so (``in_doubt``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Self, TypeAlias, TypeVar
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox

from claimgraph import sparqlterms
from claimgraph.errors import (
    InputError,
    PayloadTooLarge,
    QuerySyntaxError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from claimgraph.formats import RdfFormat
from claimgraph.store import REGISTRY, Delta, GraphName, QueryResult, check_writable
from claimgraph.store.http import Answer, Http, ServerAuth

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
# Triples per request of a graph's export (``export``): bounds the memory of one answer; a
# larger graph is read in parts, this many requests at a time.
EXPORT_CHUNK = 250_000
EXPORT_PARALLEL = 3
PREDICATES_AT_ONCE = 200  # predicates named in one part (VALUES)
# A predicate larger than one answer is cut, on Virtuoso, by ranges of its subjects' internal
# numbers (Virtuoso's IRI ids, which its quad index is ordered by), sized by grouped counts of
# ID_BUCKETS buckets: a test of a number on each triple. Elsewhere (or for a subject with more
# triples of the predicate than an answer) by the leading hex digits of a hash of each triple:
# ranges of hash prefixes, sized by one grouped count. Neither sorts anything. At 10.3M quads a
# part of 250k triples took Virtuoso 2.6 s by ids (writing them out) and 7.4 s by hashes
# (every range hashes the three terms of each triple of the predicate).
_ID = "<SHORT_OR_LONG::bif:iri_id_num>(?s)"  # Virtuoso: the number of ?s, not its text
ID_BUCKETS = 512
_HASH = 'SUBSTR(MD5(CONCAT(STR(?s), " ", STR(?p), " ", STR(?o))), 1, {digits})'
HASH_DIGITS = 3  # at most 4,096 ranges: enough for 10^8 triples under a cap of 10^5
BULK_BATCH = 10_000  # quads per bulk_load request
# Triples per GRAPH block of a DATA operation: Virtuoso's SPARQL parser runs out of stack
# near 5,000 triples in one block (whole operations of 50,000 triples in blocks are fine).
BLOCK = 1_000
# Virtuoso only: pass DATA blocks to the engine as data, not compiled to SQL. Without it, a
# server with MaxQueryCostEstimationTime set (Debian's default ini) refuses INSERT DATA of more
# than ~1,000 triples ("generated SQL text has exceeded 10000 lines").
VIRTUOSO_PRAGMA = "DEFINE sql:big-data-const 1\n"
# Virtuoso refuses an update whose text is over 10 MB ("The requested string session is longer
# than 10Mb"; measured on 7.2: 9,976,059 bytes of UTF-8 taken, 10,024,000 refused, whatever the
# form encoding's size): a write with an operation larger is refused before anything is sent
# (``_fitting``), unless it may go in parts (``RemoteStore.apply_at(in_parts=True)``: derived
# data), whose INSERT DATA then goes in operations of at most PART_BYTES each.
VIRTUOSO_REQUEST_BYTES = 10_000_000
PART_BYTES = 4_000_000
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
# `<…write/N> <touched> "iri iri …"`: the resources write N changed (the subjects and IRI
# objects of its quads), recorded by the writes made in one conditional operation, so that
# other instances update their caches from the change; kept for the last FOLLOWED_RECORDS
# writes. A write without it (larger, a registration, pruned) makes them start over.
# `<…write/N> <terms> true|false`, beside it: whether write N changed a class's, property's or
# concept's quads, or made or unmade one (``ClaimGraph.term_quads`` is kept across it or not).
# Always written as a boolean: a record without one (a writer of an earlier version, or one
# without the term quads at hand to judge) then means "not known", and the caches start over.
TOUCHED = "<urn:claimgraph:touched>"
TERMS = "<urn:claimgraph:terms>"
FOLLOWED_RECORDS = 64
# A read Virtuoso ended as the victim of a deadlock (SQL state 40001, which repeatable read,
# DefaultIsolation = 4, makes possible for reads too) is sent again, this many times at most.
READ_RETRIES = 3
KEPT_RECORDS = 1_000  # records of the last writes kept (a writer reads its own at once)

# JSON, not XML: pyoxigraph's XML results reader trims the whitespace at both ends of literals.
JSON_RESULTS = "application/sparql-results+json"
# Virtuoso's JSON writes xsd:boolean as "1"/"0" (its XML and N-Triples say true/false).
_VIRTUOSO_BOOLEAN = re.compile(
    rb'("datatype": "http://www\.w3\.org/2001/XMLSchema#boolean", "value": ")([01])"'
)
N_TRIPLES = "application/n-triples"
# The predicate of a quad's triple in ``quads_whole``: this, then the quad's graph and
# predicate, each percent-encoded (ENCODE_FOR_URI), with a colon between them.
_QUAD = "urn:claimgraph:quad:"

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


def _deadlocked(answer: Answer) -> bool:
    """Whether the server ended the request as the victim of a deadlock (Virtuoso: SQL state
    40001, "Transaction deadlocked"): it was rolled back."""
    return not 200 <= answer.status < 300 and answer.excerpt().startswith("Virtuoso 40001")


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
        # Derived graphs are ClaimGraph's own to write: ``ClaimGraph.write`` refuses users'
        # writes to them; the store only guards its registry.
        check_writable(q.graph_name, derived=True)
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
        check_writable(g, derived=True)


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
    touched: frozenset[str] | None = None,
    terms: bool | None = None,
) -> str:
    """One DELETE/INSERT that does something only while the stored generation is ``expect``:
    it removes and adds the quads, sets the generation to ``expect + 1``, records ``token`` as
    the write that made it (``claim``: seconds for which that write, applied in further
    requests, holds the store), clears a claim left on ``expect`` (and its renewals) and
    forgets the record of write ``expect + 1 - KEPT_RECORDS``. ``touched``: the resources the
    write changes, recorded for other instances (forgotten after ``FOLLOWED_RECORDS`` writes);
    ``terms``, beside it: whether the write changes the classes, properties and concepts.
    """
    new = expect + 1
    mine, old, prior = _record(new), _record(new - KEPT_RECORDS), _record(expect)
    faded = _record(new - FOLLOWED_RECORDS)
    claimed = f" . {mine} {PENDING} {claim}" if claim is not None else ""
    if touched is not None:  # IRIs hold no spaces: one literal, one triple per write
        claimed += f" . {mine} {TOUCHED} {ox.Literal(' '.join(sorted(touched)))}"
        if terms is not None:
            claimed += f" . {mine} {TERMS} {ox.Literal(terms)}"
    registry_out = (
        f"GRAPH {REGISTRY} {{ {GENERATION} {VALUE} ?n . {old} {TOKEN} ?old . "
        f"{faded} {TOUCHED} ?faded . {faded} {TERMS} ?fadedTerms . "
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
        f"OPTIONAL {{ {old} {TOKEN} ?old }} OPTIONAL {{ {faded} {TOUCHED} ?faded }} "
        f"OPTIONAL {{ {faded} {TERMS} ?fadedTerms }} "
        f"OPTIONAL {{ {prior} {PENDING} ?claim }} "
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


def _request_bytes(operation: str) -> int:
    """The size of ``operation``'s text as Virtuoso counts it (its pragma included)."""
    return len(VIRTUOSO_PRAGMA) + len(operation.encode())


def _fitting(operations: list[str], what: str) -> list[str]:
    """``operations``, or ``PayloadTooLarge`` (nothing sent) when one is over Virtuoso's
    request limit."""
    for op in operations:
        size = _request_bytes(op)
        if size > VIRTUOSO_REQUEST_BYTES:
            raise PayloadTooLarge(
                f"the {what} needs an update request of {size / 1e6:.1f} MB, and Virtuoso "
                f"takes at most {VIRTUOSO_REQUEST_BYTES / 1e6:.0f} MB in one: nothing was "
                "written; write the data in smaller parts, or load it with Virtuoso's bulk "
                "loader and register its graphs (`claimgraph graphs register`)"
            )
    return operations


def _inserts(blocks: list[str], in_parts: bool) -> list[str]:
    """``INSERT DATA`` of ``blocks``: one operation, or (``in_parts``) as many as keep each
    under PART_BYTES."""
    if not in_parts:
        return [_data("INSERT DATA", blocks)]
    ops: list[str] = []
    part: list[str] = []
    size = 0
    for block in blocks:
        n = len(block.encode())
        if part and size + n > PART_BYTES:
            ops.append(_data("INSERT DATA", part))
            part, size = [], 0
        part.append(block)
        size += n
    return [*ops, _data("INSERT DATA", part)]


def update_operations(delta: Delta, *, virtuoso: bool = False, in_parts: bool = False) -> list[str]:
    """The SPARQL Update operations of one write, as few as the delta allows (see module doc).

    The registry follows the data: graphs written to are registered, dropped ones are not.
    Removals of up to SINGLE_OPERATION_LIMIT quads are a ``DELETE {…} WHERE {}`` template:
    Virtuoso's ``DELETE DATA`` of more than one ``GRAPH`` block skips language-tagged literals
    (7.2.5), so there (``virtuoso``) each block of a larger removal is an operation of its own.
    On Virtuoso, a write ``in_parts`` (derived data, which the next analysis completes after a
    failure) gets its additions in operations of a bounded size; any other operation over its
    request limit is ``PayloadTooLarge``, before anything is sent.
    """
    ops = _update_operations(delta, virtuoso, in_parts and virtuoso)
    return _fitting(ops, SparqlStore._what(delta)) if virtuoso else ops


def _update_operations(delta: Delta, virtuoso: bool, in_parts: bool) -> list[str]:
    remove, add = _changes(delta)
    small = len(remove) + len(add) <= SINGLE_OPERATION_LIMIT
    if not delta.drop_graphs:
        if not delta.remove:
            return _inserts(_blocks(add), in_parts)
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
        ops += _inserts(_blocks(add), in_parts)
    return ops


# -- the store ----------------------------------------------------------------------------------


# What a graph's export makes of each N-Triples answer (``SparqlStore._export``): given the
# graph and the answer's body, the result and the number of triples it held.
_T = TypeVar("_T")
Decoder: TypeAlias = Callable[[ox.NamedNode, bytes], tuple[_T, int]]


def _quads_of(graph: ox.NamedNode, body: bytes) -> tuple[list[ox.Quad], int]:
    """The triples of an N-Triples answer as quads of ``graph``."""
    triples = ox.parse(body, ox.RdfFormat.N_TRIPLES)
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    return quads, len(quads)


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


def _id_cut(scope: str, first: int | None, last: int | None) -> str:
    """The triples within ``scope`` whose subjects' Virtuoso ids are ``first`` to ``last``
    (None: no bound), for ``SparqlStore._ranges``."""
    bounds = [f"{_ID} >= {first}"] * (first is not None) + [f"{_ID} <= {last}"] * (last is not None)
    return f"{scope} FILTER({' && '.join(bounds)})" if bounds else scope


def _nquads_of(graph: ox.NamedNode, body: bytes) -> tuple[bytes, int]:
    """An N-Triples answer as N-Quads text in ``graph``, without making a Python object of
    every term twice: the graph goes before each line's closing " ." (Virtuoso's, Fuseki's
    layout), and what comes out is parsed as N-Quads, each quad in ``graph``, before it is
    used. Any other layout (comments, no space before the dot) goes through Oxigraph's parser
    and serializer."""
    text = body.replace(b" .\n", f" {graph} .\n".encode())
    try:
        received = 0
        for q in ox.parse(text, ox.RdfFormat.N_QUADS):
            if q.graph_name != graph:
                raise ValueError(f"a line of the answer does not end in ' .': {q}")
            received += 1
        return text, received
    except (ValueError, SyntaxError):
        quads, received = _quads_of(graph, body)
        return ox.serialize(quads, None, ox.RdfFormat.N_QUADS) or b"", received


@dataclass(frozen=True)
class _Step:
    """An update that follows the data of a write (the generation's bump, a release)."""

    operation: str
    name: str
    consequence: str  # of its failure, said in the error


_BUMP = _Step(
    BUMP, "bump of the write generation", "other instances see the change at the next write"
)


class SparqlStore:
    """A SPARQL 1.1 server behind the ``Store`` interface (see the module docstring); its
    writes shared with other instances are ``RemoteStore``'s (``claimgraph.store.shared``)."""

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
        self.http = Http(timeout, ServerAuth(user, password or "") if user else None)
        self._graph_cache: tuple[float, list[ox.NamedNode]] | None = None
        self._cap: int | None = None  # the server's cap on the rows of an answer

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
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
        return f"{type(self).__name__}({self.query_url!r}, update_url={self.update_url!r})"

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
        if 200 <= answer.status < 300:
            return answer  # (the excerpt of a long answer would decode it whole)
        # The server's word that the SPARQL is malformed (Virtuoso: SQL state 37000).
        malformed = answer.status == 400 or answer.excerpt().startswith("Virtuoso 37000")
        if user_query and malformed:
            raise QuerySyntaxError(f"the SPARQL store refused the query: {answer.excerpt()}")
        raise self._fail(self.query_url, answer, "query", level)

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

    def quads_whole(self, where: str, limit: int) -> tuple[list[ox.Quad], bool]:
        """The distinct quads ``?s ?p ?o ?g`` that the pattern ``where`` binds (at most
        ``limit``), over the registered graphs as ``query`` reads them, and whether they are
        whole: not cut at the server's cap on rows (Virtuoso's ResultSetMaxRows, which it says
        in X-SPARQL-MaxRows of a SELECT's answer but not of a CONSTRUCT's: an answer as long as
        the cap is taken as cut). For reads that must know they got everything
        (``claimgraph.prefetch``).

        Asked as a CONSTRUCT in N-Triples, one triple per quad, its graph and predicate in the
        triple's predicate (``_QUAD``): Virtuoso writes SPARQL JSON (or XML) results several
        times slower than N-Triples (a page's read of 104 quads: 88 ms in JSON, 28 ms so, the
        query itself 25 ms), and one triple a quad fits under its cap as many quads as rows.
        """
        ours = self._our_graphs()
        dataset = [("default-graph-uri", g.value) for g in ours] or [
            ("default-graph-uri", _NO_GRAPH)
        ]
        dataset += [("named-graph-uri", g.value) for g in ours] or [("named-graph-uri", _NO_GRAPH)]
        sparql = (
            f"CONSTRUCT {{ ?s ?q ?o }} WHERE {{ "
            f"{{ SELECT DISTINCT ?s ?p ?o ?g WHERE {{ {where} }} LIMIT {limit} }} "
            f'BIND(IRI(CONCAT("{_QUAD}", ENCODE_FOR_URI(STR(?g)), ":", '
            f"ENCODE_FOR_URI(STR(?p)))) AS ?q) }}"
        )
        answer = self._read(sparql, N_TRIPLES, dataset)
        try:
            if answer.media_type not in (N_TRIPLES, "text/plain"):
                raise ValueError(f"not N-Triples but {answer.media_type or 'no media type'}")
            quads = []
            for t in ox.parse(answer.body, ox.RdfFormat.N_TRIPLES):
                graph, _, predicate = t.predicate.value.removeprefix(_QUAD).partition(":")
                quads.append(
                    ox.Quad(
                        t.subject,
                        ox.NamedNode(unquote(predicate, errors="strict")),
                        t.object,
                        ox.NamedNode(unquote(graph, errors="strict")),
                    )
                )
        except (ValueError, SyntaxError, UnicodeDecodeError) as err:
            raise self._garbage(answer, err) from err
        uncut = "x-sparql-maxrows" not in answer.headers and len(quads) < self._answer_cap()
        return quads, uncut

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
        if subject is None and predicate is None and object is None:
            # Whole graphs: each as the server exports it, not paged from a sorted result.
            graphs = [graph] if graph is not None else self.graphs()
            return itertools.chain.from_iterable(self.export(g) for g in graphs)
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

    def export(self, graph: ox.NamedNode) -> Iterator[ox.Quad]:
        """The quads of one graph, read as the server exports it (``_export``)."""
        for quads in self._export(graph, _quads_of):
            yield from quads

    def export_nquads(self, graph: ox.NamedNode) -> Iterator[bytes]:
        """The quads of one graph as N-Quads text, a part at a time (``_nquads_of``)."""
        return self._export(graph, _nquads_of)

    def _export(self, graph: ox.NamedNode, decode: Decoder[_T]) -> Iterator[_T]:
        """One graph, read as the server exports it, without sorting anything: ``CONSTRUCT``
        of the whole graph as N-Triples (what Virtuoso's Graph Store Protocol GET runs too),
        every term as the server writes it, each answer ``decode``d as it arrives.

        Servers cap an answer (Virtuoso at ResultSetMaxRows, and silently for a CONSTRUCT):
        the triples received are checked against the graph's grouped count (by predicate),
        which is the graph's size too. A graph larger than an answer (or than
        ``EXPORT_CHUNK``) is read in parts, each sized by that count and checked on arrival:
        sets of predicates (an index range each), a predicate larger than an answer in ranges
        of its subjects (``_ranges``); a few parts at a time (``EXPORT_PARALLEL``). A write
        between its first part and its last that kept every part's count is caught by the
        store's write generation (``_write_state``).
        """
        limit = min(EXPORT_CHUNK, self._answer_cap())
        sizes = self._predicate_sizes(graph)
        expected = sum(n for _, n in sizes)
        if len(sizes) < limit and expected <= limit:  # not capped: the graph's size
            if not expected:
                return
            data, received = self._construct(graph, "", decode)
            if received == expected:
                yield data
                return
            limit = min(limit, received)  # a cap not known (or a write came between)
        before = self._write_state(graph)  # several answers: no write may come between them
        parts = iter(self._parts(graph, limit, sizes))
        with ThreadPoolExecutor(EXPORT_PARALLEL) as pool:
            pending = deque(
                (part, pool.submit(self._construct, graph, part[0], decode))
                for part in itertools.islice(parts, EXPORT_PARALLEL)
            )
            while pending:
                (_, size), answer = pending.popleft()
                data, received = answer.result()
                following = next(parts, None)
                if following is not None:
                    pending.append(
                        (following, pool.submit(self._construct, graph, following[0], decode))
                    )
                if received != size:
                    raise self._changed(graph, size, received)
                yield data
        if before is not None and self._write_state(graph) != before:
            # a write that kept every part's count (a value replaced), seen by its generation
            raise self._changed(graph, None, None)

    def _changed(self, graph: ox.NamedNode, size: int | None, received: int | None) -> StoreError:
        held = f" (a part of it held {size} triples, then {received})" if size is not None else ""
        err = StoreError(
            f"the graph {graph} changed while it was being read from the SPARQL store at "
            f"{self.query_url}{held}: try again"
        )
        log.error("%s", err)
        return err

    def _write_state(self, graph: ox.NamedNode) -> object:
        """What changes with every write through ClaimGraph (``RemoteStore``: the write
        generation), read before and after a graph read in parts; None: not known here."""
        return None

    def _answer_cap(self) -> int:
        """The most rows the server puts in one answer, where it says (Virtuoso's
        ResultSetMaxRows); otherwise no cap is assumed (the count check still holds)."""
        if self._cap is None:
            self._cap = EXPORT_CHUNK
            if self.is_virtuoso():
                with contextlib.suppress(StoreError, ValueError):
                    rows = self._select(
                        "SELECT (bif:virtuoso_ini_item_value('SPARQL', 'ResultSetMaxRows') "
                        "AS ?m) {}",
                        level=logging.WARNING,
                    )
                    value = rows[0]["m"] if rows else None
                    if isinstance(value, ox.Literal) and int(value.value) > 0:
                        self._cap = int(value.value)
        return self._cap

    def _construct(self, graph: ox.NamedNode, cut: str, decode: Decoder[_T]) -> tuple[_T, int]:
        """The triples of ``graph`` (within ``cut``: VALUES, FILTER), in one N-Triples answer,
        ``decode``d: what it makes of them, and how many there were."""
        sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_term(graph)} {{ ?s ?p ?o }} {cut} }}"
        answer = self._read(sparql, N_TRIPLES)
        try:
            if answer.media_type not in (N_TRIPLES, "text/plain"):
                raise ValueError(f"not N-Triples but {answer.media_type or 'no media type'}")
            return decode(graph, answer.body)
        except (ValueError, SyntaxError) as err:
            raise self._garbage(answer, err) from err

    def _predicate_sizes(self, graph: ox.NamedNode) -> list[tuple[str, int]]:
        """The triples of ``graph`` by predicate, sorted (the answer may be capped)."""
        rows = self._select(
            f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH {_term(graph)} {{ ?s ?p ?o }} }} "
            "GROUP BY ?p"
        )
        return sorted(
            (r["p"].value, int(r["n"].value))
            for r in rows
            if isinstance(r["p"], ox.NamedNode) and isinstance(r["n"], ox.Literal)
        )

    def _parts(
        self, graph: ox.NamedNode, limit: int, sizes: list[tuple[str, int]]
    ) -> list[tuple[str, int]]:
        """Parts ``(cut, triples)`` that cover ``graph``, each of at most ``limit`` triples:
        sets of predicates (``VALUES``, read through the server's predicate index), and a
        predicate larger than ``limit`` in ranges (``_ranges``); ``sizes``:
        ``_predicate_sizes``."""
        if len(sizes) >= limit:  # the answer itself may be capped: ranges of all
            return self._ranges(graph, limit, "", None)
        parts: list[tuple[str, int]] = []
        batch: list[str] = []
        total = 0

        def flush() -> None:
            nonlocal batch, total
            if batch:
                parts.append((f"VALUES ?p {{ {' '.join(batch)} }}", total))
            batch, total = [], 0

        for p, n in sizes:
            scope = f"VALUES ?p {{ <{p}> }}"
            if n > limit:
                parts += self._ranges(graph, limit, scope, n)
                continue
            if total + n > limit or len(batch) >= PREDICATES_AT_ONCE:
                flush()
            batch.append(f"<{p}>")
            total += n
        flush()
        return parts

    def _ranges(
        self, graph: ox.NamedNode, limit: int, scope: str, triples: int | None
    ) -> list[tuple[str, int]]:
        """Parts ``(cut, triples)`` of ``graph`` within ``scope`` (of ``triples`` triples, as
        counted; None: not known), each of at most ``limit`` triples: by ranges of subject ids
        on Virtuoso, by ranges of hashes elsewhere, and within a bucket of ids too large for
        that (one subject's triples) by hashes too. The ranges of ids cover every id, the first
        and the last open-ended, so that a triple written meanwhile changes some part's
        count."""
        if not self.is_virtuoso():
            return self._hash_ranges(graph, limit, scope)
        g = _term(graph)
        try:
            rows = self._select(
                f"SELECT (MIN({_ID}) AS ?lo) (MAX({_ID}) AS ?hi) "
                f"WHERE {{ GRAPH {g} {{ ?s ?p ?o }} {scope} }}",
                level=logging.WARNING,
            )
        except (StoreTimeout, StoreUnreachable):
            raise
        except StoreError:
            return self._hash_ranges(graph, limit, scope)  # a server that does not take it
        span = [rows[0][v] if rows else None for v in ("lo", "hi")]
        if not all(isinstance(t, ox.Literal) for t in span):
            raise self._changed(graph, triples or 0, 0)  # the scope is empty now
        buckets = max(2, min(ID_BUCKETS, limit - 1))  # a grouped count fits in one answer
        parts: list[tuple[str, int]] = []
        # (ids first to last, counted in buckets; the parts made of them cover ids `below` to
        # `above`, None: no bound; the triples counted there)
        todo: list[tuple[int, int, int | None, int | None, int | None]] = [
            (self._counted(span[0], graph), self._counted(span[1], graph), None, None, triples)
        ]
        while todo:
            first, last, below, above, expected = todo.pop()
            width = -(-(last - first + 1) // buckets)
            rows = self._select(
                f"SELECT ?k (COUNT(*) AS ?n) WHERE {{ GRAPH {g} {{ ?s ?p ?o }} "
                f"{_id_cut(scope, first, last)} BIND(({_ID} - {first}) / {width} AS ?k) }} "
                "GROUP BY ?k"
            )
            counts = sorted(
                (self._counted(r["k"], graph), self._counted(r["n"], graph)) for r in rows
            )
            if expected is not None and sum(n for _, n in counts) != expected:
                raise self._changed(graph, expected, sum(n for _, n in counts))
            run: tuple[int | None, int | None, int] | None = None  # a part being made
            for i, (k, n) in enumerate(counts):
                own = first + k * width, min(last, first + (k + 1) * width - 1)
                # from the end of the bucket before (or `below`) to its own end (or `above`)
                low = below if i == 0 else first + counts[i - 1][0] * width + width
                high = above if i == len(counts) - 1 else own[1]
                if n <= limit and run is not None and run[2] + n <= limit:
                    run = (run[0], high, run[2] + n)
                    continue
                if run is not None:
                    parts.append((_id_cut(scope, run[0], run[1]), run[2]))
                run = (low, high, n) if n <= limit else None
                if n > limit and width > 1:
                    todo.append((*own, low, high, n))
                elif n > limit:  # one subject: its triples by hashes
                    parts += self._hash_ranges(graph, limit, _id_cut(scope, low, high))
            if run is not None:
                parts.append((_id_cut(scope, run[0], run[1]), run[2]))
        return parts

    def _counted(self, term: object, graph: ox.NamedNode) -> int:
        """A whole number of a count of ids (``_whole``), or a ``StoreError``."""
        if isinstance(term, ox.Literal):
            with contextlib.suppress(ValueError):
                return _whole(term.value)
        err = StoreError(
            f"the SPARQL store at {self.query_url} counted the triples of {graph} by subject "
            f"with {term} where a whole number was due"
        )
        log.error("%s", err)
        raise err

    def _hash_ranges(self, graph: ox.NamedNode, limit: int, scope: str) -> list[tuple[str, int]]:
        """Parts ``(cut, triples)`` of ``graph`` within ``scope``, by ranges of hash prefixes,
        each of at most ``limit`` triples: as few hex digits as make every prefix small enough
        (each part is a scan of the scope: the last resort)."""
        for digits in range(1, HASH_DIGITS + 1):
            key = _HASH.format(digits=digits)
            rows = self._select(
                f"SELECT ?h (COUNT(*) AS ?n) WHERE {{ GRAPH {_term(graph)} {{ ?s ?p ?o }} "
                f"{scope} BIND({key} AS ?h) }} GROUP BY ?h"
            )
            sizes = sorted(
                (r["h"].value, int(r["n"].value))
                for r in rows
                if isinstance(r["h"], ox.Literal) and isinstance(r["n"], ox.Literal)
            )
            if not sizes:
                return []  # nothing there now (a write since the count: see `_export`)
            if len(sizes) < 16**digits and len(sizes) >= limit:
                break  # the answer itself was capped
            if max(n for _, n in sizes) > limit and digits < HASH_DIGITS:
                continue
            ranges: list[tuple[str, str, int]] = []
            for prefix, n in sizes:
                if ranges and ranges[-1][2] + n <= limit:
                    ranges[-1] = (ranges[-1][0], prefix, ranges[-1][2] + n)
                else:
                    ranges.append((prefix, prefix, n))
            if all(n <= limit for _, _, n in ranges):
                return [
                    (f'{scope} FILTER({key} >= "{low}" && {key} <= "{high}")', n)
                    for low, high, n in ranges
                ]
            break
        err = StoreError(
            f"the graph {graph} cannot be read from the SPARQL store at {self.query_url} in "
            f"answers of at most {limit} triples (the server's cap on an answer): raise that "
            "cap (Virtuoso: ResultSetMaxRows in [SPARQL] of virtuoso.ini, see "
            "docs/deployment.md)"
        )
        log.error("%s", err)
        raise err

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
        # not atomic anyway: Virtuoso's operations sized under its limit, a request each
        for op in update_operations(Delta(add=batch), virtuoso=self.is_virtuoso(), in_parts=True):
            self._update([op], what)

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
        if graph is None and fmt.ox == ox.RdfFormat.N_QUADS:
            # N-Quads is what the server's N-Triples answers become with their graph added.
            for g in self.graphs():
                out.writelines(self.export_nquads(g))
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

    def close(self) -> None:
        """Close the kept-alive connections (a later request opens a new one)."""
        self._graph_cache = None
        self.http.close()
