"""A query worker process: opens a store snapshot read-only, runs one job at a time and sends
back the result already serialized (Oxigraph's serializers), cut at the row and byte caps.

When the executor gives it a memory slot, it also copies the snapshot into an in-memory store,
in a background thread (Oxigraph releases the GIL while it dumps and loads), and answers from
that copy once it is complete: whole-graph queries run 3-4x faster there than through RocksDB.
Jobs never wait for a copy: until it is loaded they read the snapshot on disk, and a copy only
answers jobs for the very snapshot it was loaded from (so it is never older than the disk).

It imports only pyoxigraph and the format table, and first moves itself into an empty network
namespace when the OS allows it, so that even a query the static checks missed cannot reach
another host. ``execute`` is also called in-process by tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import io
import json
import sys
import threading
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from claimgraph.formats import by_name

RESULTS_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_CLONE_NEWNET, _CLONE_NEWUSER = 0x40000000, 0x10000000
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True)
class Job:
    """One query for a worker (picklable). ``check_update``: only parse an update."""

    sparql: str
    union: bool = True  # default graph = union of all graphs (ignored with default_graph)
    default_graph: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    results_format: str | None = "json"  # for SELECT/ASK; None: not acceptable
    graph_format: str | None = "turtle"  # for CONSTRUCT/DESCRIBE; None: not acceptable
    max_rows: int | None = None
    max_bytes: int | None = None
    prefixes: tuple[tuple[str, str], ...] = ()  # for Turtle/TriG output
    check_update: bool = False
    # The update's operations one by one, the others blanked out (see ``update.masked``):
    # checked when the whole text fails, because Oxigraph refuses a PREFIX after ";".
    operations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    kind: str  # solutions | boolean | triples | update
    body: bytes
    format: str | None  # the results or RDF format name the body is in
    truncated: bool = False
    rows: int = 0
    memory: bool = False  # answered from the worker's in-memory copy of the snapshot
    cached: bool = False  # answered from the endpoint's result cache


class NotAcceptableResult(Exception):
    """The result is of a kind (solutions or triples) for which the client accepts no format."""


def _term_json(term: Any) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (_XSD_STRING, _RDF_LANGSTRING):
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _term_json(term.subject),
                "predicate": _term_json(term.predicate),
                "object": _term_json(term.object),
            },
        }
    raise TypeError(f"unexpected term {term!r}")


def _solutions(result: ox.QuerySolutions, job: Job) -> Outcome:
    # Rows are read in Python to stop at the caps; the capped rows become a SPARQL JSON document
    # that Oxigraph re-serializes, so every format is Oxigraph's own writer.
    if job.results_format is None:
        raise NotAcceptableResult("solutions")
    names = [v.value for v in result.variables]
    bindings: list[dict[str, Any]] = []
    size, truncated = 0, False
    limit = job.max_rows if job.max_rows is not None else sys.maxsize
    for solution in result:
        if len(bindings) >= limit:
            truncated = True
            break
        row: dict[str, Any] = {}
        for name, term in zip(names, solution, strict=True):
            if term is not None:
                row[name] = _term_json(term)
                size += len(name) + len(getattr(term, "value", "") or str(term)) + 24
        if job.max_bytes is not None and size > job.max_bytes:
            truncated = True
            break
        bindings.append(row)
    doc = {"head": {"vars": names}, "results": {"bindings": bindings}}
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    if job.results_format != "json":
        out = io.BytesIO()
        parsed = ox.parse_query_results(data, ox.QueryResultsFormat.JSON)
        parsed.serialize(out, RESULTS_FORMATS[job.results_format])
        data = out.getvalue()
    return Outcome("solutions", data, job.results_format, truncated, len(bindings))


def _triples(result: ox.QueryTriples, job: Job) -> Outcome:
    if job.graph_format is None:
        raise NotAcceptableResult("triples")
    limit = job.max_rows if job.max_rows is not None else sys.maxsize
    triples: list[ox.Triple] = []
    size, truncated = 0, False
    for triple in islice(result, limit + 1) if limit < sys.maxsize else result:
        if len(triples) >= limit:
            truncated = True
            break
        size += len(str(triple))
        if job.max_bytes is not None and size > job.max_bytes:
            truncated = True
            break
        triples.append(triple)
    fmt = by_name(job.graph_format)
    out = io.BytesIO()
    prefixes = dict(job.prefixes) if fmt.name in ("turtle", "trig") else None
    ox.serialize(triples, out, fmt.ox, prefixes=prefixes)
    return Outcome("triples", out.getvalue(), fmt.name, truncated, len(triples))


def _check_update(job: Job) -> None:
    """Parse an update by running it on a throwaway empty store (no data is touched).

    Only syntax errors count: an empty store makes some operations fail (MOVE of a graph that
    is not there) that are fine on the real data.
    """
    try:
        _dry_run(job.sparql)
    except SyntaxError:
        if not job.operations:
            raise
        for text in job.operations:
            _dry_run(text)


def _dry_run(text: str) -> None:
    with contextlib.suppress(OSError, RuntimeError, ValueError):  # not syntax errors
        ox.Store().update(text)


def execute(store: ox.Store | None, job: Job) -> Outcome:
    """Run ``job`` on ``store``; raises SyntaxError, OSError… as pyoxigraph does."""
    if job.check_update:
        _check_update(job)
        return Outcome("update", b"", None)
    assert store is not None
    kwargs: dict[str, Any] = {}
    if job.default_graph is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graph]
    if job.named_graphs is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    union = job.union and job.default_graph is None
    result = store.query(job.sparql, use_default_graph_as_union=union, **kwargs)
    return serialize(result, job)


def serialize(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, job: Job) -> Outcome:
    """A query result in the job's format for its kind, cut at the job's caps."""
    if isinstance(result, ox.QueryBoolean):
        if job.results_format is None:
            raise NotAcceptableResult("boolean")
        out = io.BytesIO()
        result.serialize(out, RESULTS_FORMATS[job.results_format])
        return Outcome("boolean", out.getvalue(), job.results_format, False, 1)
    if isinstance(result, ox.QueryTriples):
        return _triples(result, job)
    return _solutions(result, job)


def isolate_network() -> bool:
    """Move this process into a new network namespace with no interfaces up (Linux only).

    Needs privileges (CAP_SYS_ADMIN) or unprivileged user namespaces, and a process that has
    not started threads yet; returns whether it worked.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    return any(
        libc.unshare(flags) == 0 for flags in (_CLONE_NEWNET, _CLONE_NEWUSER | _CLONE_NEWNET)
    )


class MemoryCopy:
    """An in-memory copy of one snapshot, loaded in a background thread.

    ``want(path)`` asks for a copy of ``path`` (dropping a copy of another one first: a worker
    holds at most one); ``get(path)`` is the copy once it is complete. One load runs at a time,
    and a request made meanwhile is ignored: the load is finished and kept, and the writes
    since bring it forward (``advance``). Throwing it away for a newer snapshot meant that
    under writes faster than a load no copy was ever complete, and the CPUs went to loads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: ox.Store | None = None
        self._path: str | None = None  # the snapshot the complete copy holds
        self.loading: str | None = None  # being read now (the executor must not delete it)
        self._discard = False  # dropped while loading: the load is not kept
        self.loads = 0  # completed, for tests
        self.patched = 0  # copies brought forward by ``advance``

    def get(self, path: str) -> ox.Store | None:
        with self._lock:
            return self._store if self._path == path else None

    def want(self, path: str) -> None:
        with self._lock:
            if path == self._path or self.loading is not None:
                return
            self._store, self._path = None, None  # its memory goes before the next copy's
            self.loading, self._discard = path, False
        threading.Thread(target=self._run, args=(path,), name="snapshot-copy", daemon=True).start()

    def drop(self) -> None:
        with self._lock:
            self._store, self._path = None, None
            self._discard = self.loading is not None

    def advance(self, old: str, new: str, patches: list[Patch]) -> bool:
        """Bring the complete copy of snapshot ``old`` to snapshot ``new`` by applying the
        writes between them (``patches``, oldest first), as the store applied them: graphs
        dropped, then quads removed, then quads added. Milliseconds for a small write, where
        loading the copy again takes seconds per million quads. False (and nothing changed)
        when this copy is not of ``old`` or a load is under way; a patch that fails drops the
        copy (the job reads the disk, the next one loads a copy)."""
        with self._lock:
            store = self._store
            if store is None or self._path != old or self.loading is not None:
                return False
            try:
                for added, removed, dropped in patches:
                    for graph in dropped:
                        if store.contains_named_graph(ox.NamedNode(graph)):
                            store.remove_graph(ox.NamedNode(graph))
                    for quad in ox.parse(removed, format=ox.RdfFormat.N_QUADS):
                        store.remove(quad)
                    if added:
                        store.load(added, format=ox.RdfFormat.N_QUADS)
            except Exception:
                self._store, self._path = None, None
                return False
            self._path = new
            self.patched += 1
            return True

    def state(self) -> tuple[str | None, str | None]:
        """(the snapshot being loaded, the snapshot held), for the executor."""
        with self._lock:
            return self.loading, self._path

    def _run(self, path: str) -> None:
        try:
            copy: ox.Store | None = load_copy(path)
        except Exception:  # a snapshot deleted under the load: a later job asks again
            copy = None
        with self._lock:
            self.loading = None
            if copy is not None and not self._discard:
                self._store, self._path = copy, path
                self.loads += 1
        del copy
        gc.collect()


def load_copy(snapshot: str) -> ox.Store:
    """An in-memory store holding what the snapshot holds: its graphs dumped and loaded in
    Oxigraph's native code, one graph at a time (the N-Triples text of one graph is the only
    extra memory of the load)."""
    source = ox.Store.read_only(snapshot)
    copy = ox.Store()
    graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [ox.DefaultGraph()]
    graphs.extend(source.named_graphs())
    for graph in graphs:
        data = source.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
        if data:
            copy.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        if isinstance(graph, ox.NamedNode | ox.BlankNode):
            copy.add_graph(graph)  # an empty named graph is still a graph
    return copy


# One write, as the copies apply it: N-Quads added, N-Quads removed, IRIs of graphs dropped.
Patch = tuple[bytes, bytes, tuple[str, ...]]


def main(conn: Connection, isolate: bool) -> None:
    """The worker loop: receive (snapshot path, job, keep open, memory slot, patch), send
    (status, payload, (snapshot being copied, snapshot copied)). A patch is (the snapshot the
    copy should hold, the writes from it to this job's snapshot), or None."""
    isolated = isolate_network() if isolate else False  # before any thread starts
    if not _send(conn, ("ready", isolated)):
        return
    store: ox.Store | None = None
    opened: str | None = None
    memory = MemoryCopy()
    while True:
        try:
            snapshot, job, keep, use_memory, patch = conn.recv()
        except (EOFError, OSError):
            return
        reply: tuple[str, Any]
        if patch is not None and use_memory and keep:
            memory.advance(patch[0], snapshot, patch[1])
        copy = memory.get(snapshot) if use_memory and keep else None
        try:
            if job.check_update:
                reply = ("ok", execute(None, job))
            elif copy is not None:
                store, opened = None, None  # the copy replaces it (and its RocksDB caches)
                reply = ("ok", dataclasses.replace(execute(copy, job), memory=True))
            else:
                if snapshot != opened or store is None:
                    # Forget the old one first: if this open fails, a later job for the old
                    # path must not find it "open" with no store.
                    store, opened = None, None
                    gc.collect()
                    store = ox.Store.read_only(snapshot)
                    opened = snapshot
                reply = ("ok", execute(store, job))
        except SyntaxError as err:
            reply = ("syntax", str(err))
        except NotAcceptableResult as err:
            reply = ("not-acceptable", str(err))
        except Exception as err:  # the worker must answer every job and stay up
            reply = ("error", f"{type(err).__name__}: {err}")
        del copy
        if not keep and not job.check_update:
            store, opened = None, None
            gc.collect()
        if not job.check_update and keep:
            if use_memory:
                memory.want(snapshot)  # after this job, in the background
            else:
                memory.drop()
        if not _send(conn, (*reply, memory.state())):
            return


def _send(conn: Connection, message: object) -> bool:
    """False when the server is gone (then the worker just ends)."""
    try:
        conn.send(message)
    except (BrokenPipeError, EOFError, OSError):
        return False
    return True
