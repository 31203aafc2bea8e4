"""The embedded store: Oxigraph (RocksDB on disk, or in memory for tests)."""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from claimgraph.errors import QuerySyntaxError, StoreError, StoreLocked
from claimgraph.formats import RdfFormat
from claimgraph.sparqlterms import term
from claimgraph.store import Delta, GraphName, QueryResult

# A write adding at least this many quads to an on-disk store that no other thread reads
# (``exclusive``: `claimgraph load`) is committed by swapping in a copy of the store. One
# Oxigraph transaction of 1.03M quads took 60 s and 1.8 GB on top of the data (its write
# batch and log); a checkpoint (hard links) plus the bulk loader took about 6 s, in MBs.
SWAP_MIN_QUADS = 50_000
BULK_SLICE = 200_000
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # renameat2(2): both paths exist before and after, swapped atomically


def _triple_block(quads: Iterable[ox.Quad]) -> str:
    """Quads as SPARQL ``DATA`` blocks, grouped by graph (N-Triples term syntax is SPARQL's)."""
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        g = "" if isinstance(q.graph_name, ox.DefaultGraph) else _node(q.graph_name)
        by_graph.setdefault(g, []).append(
            f"{_node(q.subject)} {term(q.predicate)} {_node(q.object)} ."
        )
    parts = []
    for g, lines in by_graph.items():
        body = "\n".join(lines)
        parts.append(f"GRAPH {g} {{\n{body}\n}}" if g else body)
    return "\n".join(parts)


def _node(t: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """A subject or object in DATA syntax: an IRI or a literal by ``term``, a blank node as
    ``_:id`` (Oxigraph's own, which it checked), a triple term as ``<<( s p o )>>``."""
    if isinstance(t, ox.BlankNode):
        return str(t)
    if isinstance(t, ox.Triple):
        return f"<<( {_node(t.subject)} {term(t.predicate)} {_node(t.object)} )>>"
    return term(t)


class EmbeddedStore:
    """Oxigraph behind the ``Store`` interface; ``path=None`` keeps everything in memory."""

    def __init__(self, path: str | Path | None = None, *, exclusive: bool = False) -> None:
        """``exclusive``: no other thread of this process reads the store while it is written,
        so a large write may close it and swap in a new copy (``SWAP_MIN_QUADS``)."""
        self.path = Path(path) if path is not None else None
        self.exclusive = exclusive
        try:
            if self.path is None:
                self._store = ox.Store()
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
                self._remove_stale_copies()
        except OSError as err:
            if "lock" in str(err).lower():
                raise StoreLocked(
                    f"the store at {self.path} is in use by another process "
                    "(is `claimgraph serve` running on it?); stop it or use another --data-dir"
                ) from err
            raise StoreError(f"cannot open the store at {self.path}: {err}") from err

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
    ) -> QueryResult:
        try:
            return self._store.query(
                sparql,
                use_default_graph_as_union=default_graph is None,
                default_graph=default_graph,  # type: ignore[arg-type]
                named_graphs=named_graphs,  # type: ignore[arg-type]
            )
        except SyntaxError as err:
            raise QuerySyntaxError(f"SPARQL syntax error: {err}") from err

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[ox.Quad]:
        return self._store.quads_for_pattern(subject, predicate, object, graph)

    def apply(self, delta: Delta) -> None:
        if self._swappable(delta):
            self._apply_by_swap(delta)
            return
        if not (delta.remove or delta.drop_graphs):
            # Pure additions: one transactional extend, no SPARQL text to build.
            self._store.extend(delta.add)
            return
        # Removals and additions together: one SPARQL update is one Oxigraph transaction.
        ops = [f"DROP SILENT GRAPH {term(g)}" for g in delta.drop_graphs]
        if delta.remove:
            ops.append(f"DELETE DATA {{\n{_triple_block(delta.remove)}\n}}")
        if delta.add:
            ops.append(f"INSERT DATA {{\n{_triple_block(delta.add)}\n}}")
        self._store.update(" ;\n".join(ops))

    def bulk_load(self, quads: Iterable[ox.Quad]) -> None:
        self._store.bulk_extend(quads)

    def apply_in_parts(self, delta: Delta) -> None:
        """``delta`` in steps, not as one transaction: its removals in transactions of
        ``BULK_SLICE`` quads, then its additions by the bulk loader in slices of as many.

        Not atomic, and readers may see it half done: only for what is rebuilt whole when
        found incomplete (the derived graph: the next analysis after a crash reads it whole
        and writes what is missing). One transaction holds its whole write batch in memory:
        the first derived graph at 100,000 statements, 1.66M quads, took 70 s and 2.5 GB so.
        """
        for g in delta.drop_graphs:
            self._store.remove_graph(g)
        for start in range(0, len(delta.remove), BULK_SLICE):
            self.apply(Delta(remove=delta.remove[start : start + BULK_SLICE]))
        for start in range(0, len(delta.add), BULK_SLICE):
            self._store.bulk_extend(delta.add[start : start + BULK_SLICE])

    # -- large writes: a new copy of the store, swapped in ---------------------------------
    def _copy_stem(self) -> str:
        assert self.path is not None
        return f".{self.path.name}.write-"

    def _remove_stale_copies(self) -> None:
        """Delete the copies left by a process killed during a large write (before the swap:
        the write it was making; after it: the old state)."""
        assert self.path is not None
        for old in self.path.resolve().parent.glob(self._copy_stem() + "*"):
            pid = old.name.removeprefix(self._copy_stem()).split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)

    def _swappable(self, delta: Delta) -> bool:
        return (
            self.exclusive
            and self.path is not None
            and len(delta.add) >= SWAP_MIN_QUADS
            and _renameat2 is not None
        )

    def _apply_by_swap(self, delta: Delta) -> None:
        """Apply ``delta`` atomically to a copy of the store, then swap the copy in.

        The copy is a checkpoint of the store (hard links) beside it, written by Oxigraph's
        bulk loader (not transactional, but nobody reads the copy), synced, and exchanged
        with the store's directory by one ``renameat2(RENAME_EXCHANGE)``: a kill before it
        leaves the store as it was, a kill after it leaves the write complete; the copy left
        behind is deleted at the next open. The store is closed across the exchange (RocksDB
        must not write into a directory that moved), hence ``exclusive``.
        """
        assert self.path is not None and _renameat2 is not None
        live = self.path.resolve()
        copy = live.parent / f"{self._copy_stem()}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self._store.backup(str(copy))
            staged = ox.Store(str(copy))
            for g in delta.drop_graphs:
                staged.remove_graph(g)
            for q in delta.remove:
                staged.remove(q)
            # In slices: the loader's buffers grow with what one call is given (1.03M quads in
            # one call: 720 MB over the parsed quads at the peak; in 200k slices: nothing).
            for start in range(0, len(delta.add), BULK_SLICE):
                staged.bulk_extend(delta.add[start : start + BULK_SLICE])
            staged.flush()
            del staged
            gc.collect()  # closes the copy
            _sync_tree(copy)
            self.flush()
            del self._store
            gc.collect()  # closes the store: no other reference (exclusive)
            try:
                _renameat2(copy, live)
                _sync_dir(live.parent)
            finally:
                self._store = ox.Store(str(live))
        finally:
            shutil.rmtree(copy, ignore_errors=True)  # the write's copy, or the old state

    def graphs(self) -> list[ox.NamedNode]:
        return sorted(
            (g for g in self._store.named_graphs() if isinstance(g, ox.NamedNode)),
            key=lambda g: g.value,
        )

    def has_graph(self, graph: ox.NamedNode) -> bool:
        return self._store.contains_named_graph(graph)

    def count(self, graph: GraphName | None = None) -> int:
        if graph is None:
            result = self._store.query("SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
        else:
            result = self._store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", default_graph=graph)
        assert isinstance(result, ox.QuerySolutions)
        n = next(iter(result))["n"]
        return int(n.value) if isinstance(n, ox.Literal) else 0

    def dump(self, out: IO[bytes], fmt: RdfFormat, graph: GraphName | None = None) -> None:
        if graph is None and not fmt.datasets:
            # A triple format cannot hold several graphs: write their union.
            triples = self._store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
            ox.serialize(triples, out, fmt.ox)  # type: ignore[arg-type]
        elif graph is None:
            self._store.dump(out, fmt.ox)
        else:
            self._store.dump(out, fmt.ox, from_graph=graph)

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()

    def snapshot(self, target: Path) -> None:
        """A consistent, independent copy of the store at ``target`` (which must not exist),
        for readers in other processes (``Store.read_only``): opening the live directory
        read-only while this process writes it is undefined behaviour in Oxigraph.

        On disk it is a RocksDB checkpoint (hard links: cheap, same file system). An in-memory
        store cannot be checkpointed: it is copied into a new on-disk store, a full copy.
        """
        if self.path is not None:
            self._store.backup(str(target))
            return
        copy = ox.Store(str(target))
        copy.bulk_extend(self._store.quads_for_pattern(None, None, None, None))
        copy.flush()
        del copy  # closes it: only then may other processes open it
        gc.collect()

    def close(self) -> None:
        """Release the store (and its directory lock) now.

        Result iterators hold the Rust store too, and an exception traceback can keep one
        in a reference cycle; collect those so that the directory can be reopened at once.
        """
        if isinstance(self._store, _Closed):
            return
        self.flush()
        self._store = _Closed()  # type: ignore[assignment]
        gc.collect()


class _Closed:
    """A closed store's stand-in: any use after ``close()`` (e.g. by a background thread
    that outlived it) is a StoreError saying so, not an AttributeError from deep inside."""

    def __getattr__(self, name: str) -> object:
        raise StoreError("the store is closed")


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (leftovers of dead processes are removed)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sync_tree(root: Path) -> None:
    """fsync every file of ``root`` and the directory itself: the copy is durable before it
    is swapped in."""
    for f in root.iterdir():
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _sync_dir(root)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _libc_renameat2() -> ctypes._NamedFuncPointer | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not Linux, or a libc without it: no swap
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _libc_renameat2()


def _exchange(a: Path, b: Path) -> None:
    """Swap the directories ``a`` and ``b`` atomically."""
    assert _RENAMEAT2 is not None
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"cannot swap {a} and {b}: {os.strerror(errno)}")


_renameat2 = _exchange if _RENAMEAT2 is not None else None
