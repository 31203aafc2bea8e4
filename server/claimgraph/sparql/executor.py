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
graphs with ``--data-dir``). Workers reopen when the snapshot changes; a snapshot no worker
has open any more is deleted.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from claimgraph.errors import (
    QueryEngineError,
    QuerySyntaxError,
    QueryTimeout,
    ServerBusy,
    StoreError,
)
from claimgraph.sparql import worker
from claimgraph.sparql.worker import Job, Outcome

log = logging.getLogger(__name__)


class NotAcceptableResult(Exception):
    """The query's result kind ("solutions", "boolean", "triples") has no acceptable format."""


class Snapshottable(Protocol):
    path: Path | None

    def snapshot(self, target: Path) -> None: ...


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    isolated: bool = False
    snapshot: Path | None = None  # what it has open, or is about to open


@dataclass
class ExecutorStats:
    workers: int
    killed: int = 0
    crashed: int = 0
    snapshots: int = 0
    network_isolated: bool | None = None  # None until a worker has started


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class QueryExecutor:
    """Runs ``Job``s in worker processes against snapshots of ``store``.

    ``generation`` tells when the store changed (ClaimGraph's write generation). Workers start
    on the first query; ``close()`` stops them and removes the snapshots.
    """

    def __init__(
        self,
        store: Snapshottable | None,
        generation: Callable[[], int],
        *,
        workers: int = 2,
        isolate_network: bool = True,
    ) -> None:
        """``store`` None: a store that cannot be snapshotted (a remote one); the workers then
        only check update syntax."""
        self._store = store
        self._generation = generation
        self._size = max(1, workers)
        self._isolate = isolate_network
        self._ctx = multiprocessing.get_context("spawn")  # never fork a process holding RocksDB
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._current: tuple[int, Path] | None = None
        self._snapshots: list[Path] = []
        self._root: Path | None = None
        self._closed = False
        self.stats = ExecutorStats(workers=self._size)

    # -- lifecycle ------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._root is not None:
                return
            if self._closed:
                raise StoreError("the query executor is closed")
            self._root = self._make_root()
            atexit.register(self.close)  # only once started: an idle app holds nothing
            for _ in range(self._size):
                w = self._spawn()
                self._workers.add(w)
                self._idle.put(w)

    def _make_root(self) -> Path:
        live = self._store.path if self._store is not None else None
        if live is not None:
            # Beside the store: the same file system, so checkpoints are hard links.
            parent, stem = live.resolve().parent, f".{live.name}.snapshots-"
            for old in parent.glob(stem + "*"):
                pid = old.name.rsplit("-", 1)[-1]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    shutil.rmtree(old, ignore_errors=True)  # left by a process that died
            try:
                root = parent / f"{stem}{os.getpid()}"
                root.mkdir(exist_ok=True)
                return root
            except OSError:
                log.warning("cannot write beside %s: snapshots go to a temporary directory", live)
        return Path(tempfile.mkdtemp(prefix="claimgraph-snapshots-"))

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=worker.main,
            args=(child, self._isolate),
            name="claimgraph-query-worker",
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers, self._workers = list(self._workers), set()
            root, self._root = self._root, None
        for w in workers:
            _kill(w)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        atexit.unregister(self.close)

    # -- snapshots ------------------------------------------------------------------------
    def current_snapshot(self) -> Path:
        """The snapshot for the store's current generation, taken now if there is none."""
        self._start()
        if self._store is None:
            raise StoreError("this store cannot be snapshotted for query workers")
        generation = self._generation()
        with self._snapshot_lock:
            current = self._current
            if current is not None and current[0] == generation:
                return current[1]
            assert self._root is not None
            path = self._root / f"g{generation}-{uuid.uuid4().hex[:8]}"
            self._store.snapshot(path)
            with self._lock:
                self._current = (generation, path)
                self._snapshots.append(path)
                self.stats.snapshots += 1
            self._sweep()
            return path

    def scratch_dir(self) -> Path:
        """A fresh directory name for a caller-made snapshot (e.g. an update's scratch state)."""
        self._start()
        assert self._root is not None
        return self._root / f"scratch-{uuid.uuid4().hex}"

    def _sweep(self) -> None:
        with self._lock:
            in_use = {w.snapshot for w in self._workers}
            current = self._current[1] if self._current else None
            stale = [p for p in self._snapshots if p != current and p not in in_use]
            self._snapshots = [p for p in self._snapshots if p not in stale]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)

    # -- running queries ------------------------------------------------------------------
    def run(self, job: Job, *, timeout: float, snapshot: Path | None = None) -> Outcome:
        """Run ``job`` within ``timeout`` seconds (waiting for a free worker included).

        ``snapshot``: a directory to query instead of the current snapshot (closed by the
        worker after the job; the caller deletes it).
        """
        deadline = time.monotonic() + timeout
        self._start()
        path: Path | None = None  # a syntax check needs no data
        if not job.check_update:
            path = snapshot if snapshot is not None else self.current_snapshot()
        try:
            w = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise ServerBusy(
                f"every query worker stayed busy for {timeout:g} s; try again shortly"
            ) from None
        keep = snapshot is None
        alive: _Worker | None = w
        try:
            if path is not None:
                with self._lock:
                    w.snapshot = path
            started = self._await_ready(w, deadline)
            if started:
                w.conn.send((str(path or ""), job, keep))
            if not started or not w.conn.poll(max(0.0, deadline - time.monotonic())):
                alive = None
                self._replace(w, killed=True)
                raise QueryTimeout(
                    f"the query ran longer than {timeout:g} s and was stopped "
                    "(CLAIMGRAPH_QUERY_TIMEOUT); narrow it, or add LIMIT"
                )
            status, payload = w.conn.recv()
        except (EOFError, OSError):
            alive = None
            code = self._replace(w, killed=False)
            raise QueryEngineError(
                f"the query engine stopped on this query (worker exit code {code}); "
                "it has been restarted"
            ) from None
        finally:
            if alive is not None:
                if not keep:
                    alive.snapshot = None
                self._idle.put(alive)
            self._sweep()
        return _outcome(status, payload)

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
            fresh = self._spawn()
            self._workers.add(fresh)
        self._idle.put(fresh)
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
