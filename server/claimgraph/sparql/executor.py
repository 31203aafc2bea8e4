"""Query isolation: SPARQL queries run in a small pool of worker processes, each killed and
replaced when its query passes the time limit, so a runaway query is actually stopped.

Why processes: pyoxigraph has no timeout or cancellation, and a signal cannot interrupt its
Rust code; only killing the process that runs the query stops it (and a stack overflow in the
engine then costs a worker, not the server).

Why snapshots: a worker cannot open the live store (``Store.read_only`` on a directory
another process writes is undefined behaviour), so it opens a snapshot. After a write, the
next query takes a new one (lazily, when the write generation changed): a RocksDB checkpoint
for an on-disk store (hard links, milliseconds), or, for an in-memory store, a full copy into
a temporary on-disk store (honest but O(size): fine for tests and small graphs; serve large
graphs with ``--data-dir``). Workers reopen when the snapshot changes.

Snapshot lifetime: a query leases the current snapshot (a count under the lock) once it has a
worker and until its job ends, and a worker's open snapshot counts too; only a snapshot that is
neither current, leased nor open is deleted. (Choosing a snapshot before a worker was free let
another query's sweep delete it meanwhile.)

In-memory copies: Oxigraph reads 3-4x slower through RocksDB than from its in-memory store on
whole-graph queries. When the snapshot fits the memory budget (``memory`` bytes for all the
workers' copies together), workers also copy each new snapshot into memory, in the background,
and answer from the copy once it is complete (``worker.MemoryCopy``): as many workers as the
budget holds copies of (at least one copy must fit; the others read the disk), and a job goes
to a worker holding a copy of the current snapshot first. The copy's size is estimated from the
checkpoint's size on disk. Consistency is the snapshots': a copy only answers jobs for the
snapshot it was loaded from, so a write is seen by the next query as before (from disk until
the new copy is loaded), and no job ever waits for a copy.

Copies follow writes by their deltas: ClaimGraph tells the executor each write (``record``,
a write listener), and a job for a newer snapshot sent to a worker whose copy is of an older
one carries the writes between them, which the worker applies to its copy before the job
(``worker.MemoryCopy.advance``). Reloading every copy after every write kept the CPUs busy
with copies thrown away unfinished as soon as writes came faster than a copy loads. A copy
is loaded in full again only when a write between is unknown or too large (``PATCH_QUADS``),
e.g. a bulk load, or held blank nodes (their labels are not kept by a dump and a reload).

Fairness: a query waits at most ``wait`` seconds for a worker, then gets ``ServerBusy`` (503).
A client (the caller's key, the remote address) runs at most ``client_limit`` queries at once,
and a client that already runs one never takes the last free worker: runaway queries from a
few clients cannot hold every worker, so other clients' cheap queries keep being answered.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from claimgraph.errors import (
    ClientOverLimit,
    QueryEngineError,
    QuerySyntaxError,
    QueryTimeout,
    ServerBusy,
    StoreError,
)
from claimgraph.sparql import worker
from claimgraph.sparql.worker import Job, Outcome
from claimgraph.store import Delta
from claimgraph.store.embedded import pid_alive

log = logging.getLogger(__name__)

# Seconds a new worker process may take to start and say hello.
WORKER_START_TIMEOUT = 60.0
# Memory of an in-memory copy per byte of the RocksDB checkpoint it is loaded from, at the
# load's peak (measured on a 183 MB checkpoint of 1.03M quads: the copy holds 436 MB, and the
# load adds the N-Triples text of the largest graph, about 210 MB).
MEMORY_PER_DISK_BYTE = 3.5
# A copy follows writes of at most this many quads in all by applying them; larger ones
# (a load, a replaced graph) make it load again. Writes remembered: PATCHES at most.
PATCH_QUADS = 100_000
PATCHES = 512


class NotAcceptableResult(Exception):
    """The query's result kind ("solutions", "boolean", "triples") has no acceptable format."""


class WorkerCrashed(QueryEngineError):
    """The worker ended while it had the job (it has been replaced): the job may be sent again."""


class Work(Protocol):
    """What a worker is sent: a ``Job``, or another target's own kind of job."""

    @property
    def check_update(self) -> bool: ...


class Snapshottable(Protocol):
    path: Path | None

    def snapshot(self, target: Path) -> None: ...


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    slot: int  # 0..workers-1, kept by its replacement: the first ones hold in-memory copies
    ready: bool = False
    isolated: bool = False
    snapshot: Path | None = None  # what it has open, or is about to open
    loading: Path | None = None  # what it is copying into memory (as of its last reply)
    held: Path | None = None  # what its complete in-memory copy holds (as of its last reply)


@dataclass
class ExecutorStats:
    workers: int
    killed: int = 0
    crashed: int = 0
    snapshots: int = 0
    network_isolated: bool | None = None  # None until a worker has started
    memory_copies: int = 0  # workers that may copy the current snapshot into memory
    from_memory: int = 0  # jobs answered from an in-memory copy
    patched: int = 0  # copies brought forward by the writes since their snapshot


def default_workers() -> int:
    """One worker per CPU this process may use, at least 4: queries are CPU-bound, and a few
    more workers than CPUs keep cheap queries answered (the OS shares the CPUs) while runaway
    ones run to the timeout."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(4, cpus)


def default_query_memory() -> int:
    """A quarter of the physical memory, in bytes (shared by all the workers' copies)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):  # not on Linux: no copies
        return 0


def _disk_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class QueryExecutor:
    """Runs ``Job``s in worker processes against snapshots of ``store``.

    ``generation`` tells when the store changed (ClaimGraph's write generation). Workers start
    on the first query; ``close()`` stops them and removes the snapshots. ``wait``: seconds a
    job may wait for a worker; ``client_limit``: jobs one client may run at once.
    """

    def __init__(
        self,
        store: Snapshottable | None,
        generation: Callable[[], int],
        *,
        workers: int = 2,
        wait: float = 2.0,
        client_limit: int = 2,
        isolate_network: bool = True,
        memory: int = 0,
        target: Callable[..., None] = worker.main,
        target_args: tuple[Any, ...] = (),
        name: str = "claimgraph-query-worker",
    ) -> None:
        """``store`` None: a store that cannot be snapshotted (a remote one); the workers then
        only check update syntax. ``memory``: bytes the workers' in-memory copies of the
        snapshot may take together (0: none, queries read the snapshot on disk).
        ``target(conn, isolate, *target_args)``: the workers' loop, ``worker.main``'s protocol
        (the page processes run their own, ``claimgraph.pageprocs.main``)."""
        self._store = store
        self._generation = generation
        self._size = max(1, workers)
        self._wait = wait
        self._client_limit = max(1, client_limit)
        # A client already running a query never takes the last free worker (when there is
        # more than one): it stays for clients running nothing.
        self._reserve = 1 if self._size > 1 else 0
        self._isolate = isolate_network
        self._target, self._target_args, self._name = target, target_args, name
        self._ctx = multiprocessing.get_context("spawn")  # never fork a process holding RocksDB
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)  # a worker became idle, or a client's slot
        self._idle: list[_Worker] = []  # last in, first out: the warmest worker first
        self._workers: set[_Worker] = set()
        self._running: Counter[str] = Counter()  # jobs running per client
        self._snapshot_lock = threading.Lock()  # one snapshot taken at a time
        self._memory = max(0, memory)
        self._current: tuple[int, Path] | None = None
        self._copies = 0  # workers that may hold a copy of the current snapshot
        self._snapshots: list[Path] = []  # taken by _lease_snapshot, not yet deleted
        self._leases: Counter[Path] = Counter()  # jobs using each snapshot
        # The write generation each snapshot was taken at, and each write as the copies apply
        # it (None: a write they cannot apply), the latest few of each.
        self._generation_of: dict[Path, int] = {}
        self._patches: dict[int, tuple[worker.Patch, int] | None] = {}
        self._root: Path | None = None
        self._closed = False
        self.stats = ExecutorStats(workers=self._size)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers now rather than on the first job (each takes a moment)."""
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._root is not None:
                return
            if self._closed:
                raise StoreError("the query executor is closed")
            self._root = self._make_root()
            atexit.register(self.close)  # only once started: an idle app holds nothing
            for slot in range(self._size):
                w = self._spawn(slot)
                self._workers.add(w)
                self._idle.append(w)

    def _make_root(self) -> Path:
        live = self._store.path if self._store is not None else None
        if live is not None:
            # Beside the store: the same file system, so checkpoints are hard links.
            parent, stem = live.resolve().parent, f".{live.name}.snapshots-"
            for old in parent.glob(stem + "*"):
                pid = old.name.rsplit("-", 1)[-1]
                if pid.isdigit() and not pid_alive(int(pid)):
                    shutil.rmtree(old, ignore_errors=True)  # left by a process that died
            try:
                root = parent / f"{stem}{os.getpid()}"
                root.mkdir(exist_ok=True)
                return root
            except OSError:
                log.warning("cannot write beside %s: snapshots go to a temporary directory", live)
        return Path(tempfile.mkdtemp(prefix="claimgraph-snapshots-"))

    def _spawn(self, slot: int) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=self._target,
            args=(child, self._isolate, *self._target_args),
            name=self._name,
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent, slot)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = list(self._workers), set()
            self._idle = []
            root, self._root = self._root, None
            self._freed.notify_all()
        for w in workers:
            _kill(w)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        atexit.unregister(self.close)

    # -- snapshots ------------------------------------------------------------------------
    def _lease_snapshot(self) -> Path:
        """The snapshot of the store's current generation (taken now if there is none), leased:
        it is not deleted before ``_return_snapshot``."""
        if self._store is None:
            raise StoreError("this store cannot be snapshotted for query workers")
        generation = self._generation()
        leased = self._lease_current(generation)
        if leased is not None:
            return leased
        with self._snapshot_lock:
            leased = self._lease_current(generation)  # another job may have just taken it
            if leased is not None:
                return leased
            assert self._root is not None
            path = self._root / f"g{generation}-{uuid.uuid4().hex[:8]}"
            self._store.snapshot(path)
            copies = self._copies_of(path)
            with self._lock:
                self._current = (generation, path)
                self._generation_of[path] = generation
                while len(self._generation_of) > PATCHES:
                    del self._generation_of[next(iter(self._generation_of))]
                self._copies = self.stats.memory_copies = copies
                self._snapshots.append(path)
                self._leases[path] += 1
                self.stats.snapshots += 1
        self._sweep()
        return path

    def record(self, generation: int, delta: Delta) -> None:
        """A write listener (``ClaimGraph.write_listeners``): keep the write that made
        ``generation``, for the copies to follow."""
        if self._memory <= 0:
            return
        size = len(delta.add) + len(delta.remove)
        patch: tuple[worker.Patch, int] | None = None
        if size <= PATCH_QUADS and not any(
            isinstance(t, ox.BlankNode | ox.Triple)
            for q in (*delta.add, *delta.remove)
            for t in (q.subject, q.object, q.graph_name)
        ):
            nquads = ox.RdfFormat.N_QUADS
            patch = (
                (
                    ox.serialize(delta.add, format=nquads) or b"",
                    ox.serialize(delta.remove, format=nquads) or b"",
                    tuple(g.value for g in delta.drop_graphs),
                ),
                size,
            )
        with self._lock:
            self._patches[generation] = patch
            while len(self._patches) > PATCHES:
                del self._patches[next(iter(self._patches))]

    def _patch(self, held: Path | None, target: Path) -> tuple[str, list[worker.Patch]] | None:
        """The writes that bring a copy of ``held`` to ``target``, if all are known and small
        enough together (called under the lock)."""
        if held is None or held == target:
            return None
        start, end = self._generation_of.get(held), self._generation_of.get(target)
        if start is None or end is None or start >= end:
            return None
        patches, size = [], 0
        for g in range(start + 1, end + 1):
            known = self._patches.get(g)
            if known is None:
                return None
            patches.append(known[0])
            size += known[1]
            if size > PATCH_QUADS:
                return None
        return str(held), patches

    def _copies_of(self, snapshot: Path) -> int:
        """How many workers may hold an in-memory copy of ``snapshot`` within the budget."""
        if self._memory <= 0:
            return 0
        need = max(1, int(_disk_size(snapshot) * MEMORY_PER_DISK_BYTE))
        return min(self._size, self._memory // need)

    def _lease_current(self, generation: int) -> Path | None:
        with self._lock:
            if self._current is None or self._current[0] != generation:
                return None
            path = self._current[1]
            self._leases[path] += 1
            return path

    def _return_snapshot(self, path: Path) -> None:
        with self._lock:
            self._leases[path] -= 1
            if self._leases[path] <= 0:
                del self._leases[path]

    def scratch_dir(self) -> Path:
        """A fresh directory name for a caller-made snapshot (e.g. an update's scratch state);
        the caller deletes it (the sweep never touches it)."""
        self._start()
        assert self._root is not None
        return self._root / f"scratch-{uuid.uuid4().hex}"

    def _sweep(self) -> None:
        """Delete the snapshots that are not current, not leased and not open in a worker."""
        with self._lock:
            keep = {w.snapshot for w in self._workers} | set(self._leases)
            keep |= {w.loading for w in self._workers}
            if self._current is not None:
                keep.add(self._current[1])
            stale = [p for p in self._snapshots if p not in keep]
            self._snapshots = [p for p in self._snapshots if p in keep]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)

    # -- running queries ------------------------------------------------------------------
    def run(
        self,
        job: Job,
        *,
        timeout: float,
        snapshot: Path | None = None,
        client: str | None = None,
    ) -> Outcome:
        """Run ``job`` within ``timeout`` seconds once a worker is free for ``client`` (waiting
        at most the executor's ``wait`` for one).

        ``snapshot``: a directory to query instead of the current snapshot (closed by the
        worker after the job; the caller deletes it). ``client``: whose job it is, for the
        per-client limit (None: no limit).
        """
        return _outcome(*self.exchange(job, timeout=timeout, snapshot=snapshot, client=client))

    def exchange(
        self,
        job: Work,
        *,
        timeout: float,
        snapshot: Path | None = None,
        client: str | None = None,
    ) -> tuple[str, Any]:
        """``run``'s work: the worker's (status, payload), whatever its target's protocol."""
        self._start()
        w = self._admit(client)
        alive: _Worker | None = w
        path: Path | None = None  # a syntax check needs no data
        leased: Path | None = None
        keep = snapshot is None
        try:
            if not job.check_update:
                if snapshot is None:
                    path = leased = self._lease_snapshot()
                else:
                    path = snapshot
                with self._lock:
                    w.snapshot = path  # what the worker will have open
            # A worker's start-up (a new Python process) is not the query's time: on a busy
            # machine it can outlast a short timeout, and every query would then kill the
            # replacement of the last one before it could answer.
            if not self._await_ready(w, time.monotonic() + WORKER_START_TIMEOUT):
                alive = None
                self._replace(w, killed=True)
                raise ServerBusy(
                    f"a query worker did not start within {WORKER_START_TIMEOUT:g} s; "
                    "try again shortly"
                )
            deadline = time.monotonic() + timeout
            patch = None
            with self._lock:
                memory = leased is not None and w.slot < self._copies
                if memory and path is not None:
                    patch = self._patch(w.held, path)
            w.conn.send((str(path or ""), job, keep, memory, patch))
            if not w.conn.poll(max(0.0, deadline - time.monotonic())):
                alive = None
                self._replace(w, killed=True)
                raise QueryTimeout(
                    f"the query ran longer than {timeout:g} s and was stopped "
                    "(CLAIMGRAPH_QUERY_TIMEOUT); narrow it, or add LIMIT"
                )
            status, payload, (loading, held) = w.conn.recv()
            with self._lock:
                w.loading = Path(loading) if loading else None
                w.held = Path(held) if held else None
                if patch is not None and w.held == path:
                    self.stats.patched += 1
                if isinstance(payload, Outcome) and payload.memory:
                    self.stats.from_memory += 1
        except (EOFError, OSError):
            alive = None
            code = self._replace(w, killed=False)
            raise WorkerCrashed(
                f"the query engine stopped on this query (worker exit code {code}); "
                "it has been restarted"
            ) from None
        finally:
            if leased is not None:
                self._return_snapshot(leased)
            self._release(client, alive, keep)
            self._sweep()
        return status, payload

    def _admit(self, client: str | None) -> _Worker:
        """An idle worker for ``client``, once it is within its limit; ``ServerBusy`` after
        ``wait`` seconds."""
        deadline = time.monotonic() + self._wait
        with self._freed:
            while True:
                if self._closed:
                    raise StoreError("the query executor is closed")
                held = self._running[client] if client is not None else 0
                over = held >= self._client_limit
                if self._idle and not over and (held == 0 or len(self._idle) > self._reserve):
                    if client is not None:
                        self._running[client] += 1
                    return self._idle.pop(self._warmest())
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._freed.wait(left)
        if over:
            raise ClientOverLimit(
                f"this client already runs as many queries as one client may run at once "
                f"({self._client_limit}, CLAIMGRAPH_QUERY_CLIENT_LIMIT); send the next one when "
                "one has finished"
            )
        raise ServerBusy(
            f"no query worker became free within {self._wait:g} s (CLAIMGRAPH_QUERY_WAIT); "
            "try again shortly"
        )

    def _warmest(self) -> int:
        """The idle worker to use (called under the lock): one holding an in-memory copy of the
        current snapshot, else one holding a copy of an older one (the writes since bring it
        forward), else one with a memory slot (it starts copying), else the last idle."""
        current = self._current[1] if self._current is not None else None
        best, rank = len(self._idle) - 1, -1
        for i in range(len(self._idle) - 1, -1, -1):  # the last idle first among equals
            w = self._idle[i]
            slot = w.slot < self._copies
            if current is not None and w.held == current:
                r = 3
            elif slot and w.held is not None:
                r = 2
            else:
                r = int(slot)
            if r > rank:
                best, rank = i, r
        return best

    def _release(self, client: str | None, w: _Worker | None, keep: bool) -> None:
        """The job has ended: its client's slot frees, and its worker (None: replaced) idles."""
        with self._freed:
            if client is not None:
                self._running[client] -= 1
                if self._running[client] <= 0:
                    del self._running[client]
            if w is not None and w in self._workers:
                if not keep:
                    w.snapshot = None  # the worker closed the caller's snapshot
                self._idle.append(w)
            self._freed.notify_all()

    def _await_ready(self, w: _Worker, deadline: float) -> bool:
        """Wait for a new worker's hello (it reports whether its network is isolated)."""
        if w.ready:
            return True
        if not w.conn.poll(max(0.0, deadline - time.monotonic())):
            return False
        _, isolated = w.conn.recv()
        w.ready, w.isolated = True, bool(isolated)
        self.stats.network_isolated = w.isolated
        return True

    def _replace(self, w: _Worker, *, killed: bool) -> int | None:
        code = _kill(w)
        with self._lock:
            self._workers.discard(w)
            if killed:
                self.stats.killed += 1
            else:
                self.stats.crashed += 1
            if self._closed:
                return code
            fresh = self._spawn(w.slot)
            self._workers.add(fresh)
            self._idle.append(fresh)
            self._freed.notify_all()
        return code

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]


def _kill(w: _Worker) -> int | None:
    if w.process.is_alive():
        w.process.kill()
    w.process.join(timeout=5)
    w.conn.close()
    return w.process.exitcode


def _outcome(status: str, payload: Any) -> Outcome:
    if status == "ok":
        assert isinstance(payload, Outcome)
        return payload
    if status == "syntax":
        raise QuerySyntaxError(f"SPARQL syntax error: {payload}")
    if status == "not-acceptable":
        raise NotAcceptableResult(str(payload))
    raise QueryEngineError(f"the query failed: {payload}")
