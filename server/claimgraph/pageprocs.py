"""Page processes: the resource pages and documents (``/id/…``) are rendered in a few worker
processes, so that pages use every CPU instead of the one the serving process's GIL allows.

Why: a claim page is 25-30 ms of Python (reading query rows, building the page's data, prose,
Jinja, the SVG), all under the GIL, so one process serves 30-40 pages/s whatever the cores.

How: each page process runs the same Flask app (``create_app``) over a read-only view of a
snapshot of the embedded store, and the serving process sends it the request's WSGI environ
and sends back its status, headers and body. The processes, snapshots and leases are the
SPARQL executor's (``QueryExecutor`` with this module's loop as the target): a request leases
the snapshot of the current write generation (taken after a write, on the next request), so
a page asked for after a write's answer shows the write; a process stuck past the page's
deadline (plus a grace) is killed and replaced; a process that dies is replaced and the
request sent once more; a request that finds no process free within the page timeout gets 503.

Only ``/id/…`` goes there: those pages read a bounded neighbourhood of one IRI. The lists,
indexes, timeline and home page show whole-graph summaries computed once per write generation
(``claimgraph.summaries``), which one process keeps; and the propagation's resources ask the
serving process's propagation runner to catch up. Those stay in the serving process.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import logging
import os
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox
from flask import Flask, Response, request

from claimgraph import httperrors
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import QueryTimeout, ServerBusy, StoreError
from claimgraph.sparql.executor import QueryExecutor, WorkerCrashed
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore

# Seconds past the page's own deadline (which ends it with 503 in the page process) before a
# process that has not answered is killed: Oxigraph's code cannot be interrupted otherwise.
GRACE = 20.0
# Tries of a page whose process died: a dead idle process is only found when it is sent one,
# and a page that kills every process it is sent to must not restart them all.
ATTEMPTS = 3
SENT_BACK = ("content-length",)  # recomputed by the serving process for the body it sends


@dataclass(frozen=True)
class PageJob:
    """One request for a page process (picklable): its environ (the strings), and the write
    generation and time the serving process was at, for ETags and Last-Modified."""

    environ: dict[str, str]
    generation: int
    last_modified: datetime
    check_update: bool = False  # the executor's protocol: never an update check


@dataclass(frozen=True)
class PageReply:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    pid: int  # the process that rendered it


@dataclass
class PageStats:
    rendered: Counter[int] = dataclasses.field(default_factory=Counter)  # pages per pid
    resent: int = 0  # requests sent again after their process died


def default_page_processes(settings: Settings, store: object) -> int:
    """``page_processes``, or for 0 one per CPU over an on-disk embedded store (an in-memory
    one is copied whole for each snapshot), else 1."""
    if settings.page_processes > 0:
        return settings.page_processes
    if not isinstance(store, EmbeddedStore) or store.path is None:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SnapshotView(EmbeddedStore):
    """The page process's store: a snapshot opened read-only, reopened when it changes."""

    def __init__(self) -> None:
        self.path = None
        self._store = ox.Store()  # empty until the first job
        self.opened: str | None = None

    def open(self, snapshot: str) -> None:
        if snapshot == self.opened:
            return
        self.opened = None
        self._store = ox.Store()
        gc.collect()  # the old snapshot's handle, held by result iterators in cycles too
        self._store = ox.Store.read_only(snapshot)
        self.opened = snapshot

    def apply(self, delta: Delta) -> None:
        raise StoreError("a page process reads a snapshot; it never writes")


class PageProcesses:
    """The serving process's side: forwards ``/id/…`` GET and HEAD to the page processes."""

    def __init__(self, graph: ClaimGraph, settings: Settings, processes: int) -> None:
        self.graph = graph
        self.settings = settings
        self.stats = PageStats()
        self._lock = threading.Lock()
        worker_settings = dataclasses.replace(
            settings, page_processes=1, propagation=False, seed=False, store=None, data_dir=None
        )
        self.executor = QueryExecutor(
            graph.store,  # type: ignore[arg-type]
            lambda: graph.generation,
            workers=processes,
            wait=settings.page_timeout,
            isolate_network=True,  # pages read the snapshot only
            target=main,
            target_args=(worker_settings,),
            name="claimgraph-page-process",
        )
        graph.close_listeners.append(self.executor.close)

    def start(self) -> None:
        """Start the processes now, not on the first page (each takes seconds to import)."""
        self.executor.start()

    def forwards(self) -> bool:
        path = request.path
        return (
            request.method in ("GET", "HEAD")
            and path.startswith("/id/")
            and "/propagation" not in path
        )

    def render(self) -> Response:
        environ = {k: v for k, v in request.environ.items() if isinstance(v, str)}
        # The page process's app applies the proxy fix (trusted proxies) itself: send the
        # environ as the server received it.
        for key, value in request.environ.get("werkzeug.proxy_fix.orig", {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        environ["REQUEST_METHOD"] = "GET"  # HEAD: this process drops the body, keeping its length
        environ["HTTP_X_REQUEST_ID"] = httperrors.request_id()  # one id in both processes' logs
        job = PageJob(environ, self.graph.generation, self.graph.last_modified)
        timeout = self.settings.page_timeout + GRACE
        for attempt in range(ATTEMPTS):
            try:
                status, reply = self.executor.exchange(job, timeout=timeout)
                break
            except WorkerCrashed:  # it is replaced; a page only reads: sending it again is safe
                if attempt == ATTEMPTS - 1:
                    raise ServerBusy(
                        f"the page processes stopped {ATTEMPTS} times on this page; try again"
                    ) from None
                with self._lock:
                    self.stats.resent += 1
            except QueryTimeout:  # its process did not stop at the page's own deadline
                raise QueryTimeout(
                    f"the page took longer than its time limit of {self.settings.page_timeout:g} s "
                    "(CLAIMGRAPH_PAGE_TIMEOUT) and was stopped"
                ) from None
            except ServerBusy:
                raise ServerBusy(
                    f"no page process became free within {self.settings.page_timeout:g} s "
                    "(CLAIMGRAPH_PAGE_TIMEOUT); try again shortly"
                ) from None
        if status != "ok":
            raise StoreError(f"the page process failed: {reply}")
        assert isinstance(reply, PageReply)
        with self._lock:
            self.stats.rendered[reply.pid] += 1
        headers = [(k, v) for k, v in reply.headers if k.lower() not in SENT_BACK]
        return Response(reply.body, status=reply.status, headers=headers)


def init_app(app: Flask, graph: ClaimGraph, settings: Settings) -> None:
    """With more than one page process (and a store that snapshots), forward ``/id/…``."""
    processes = default_page_processes(settings, graph.store)
    if processes <= 1 or not callable(getattr(graph.store, "snapshot", None)):
        return
    procs = PageProcesses(graph, settings, processes)
    app.extensions["claimgraph.page_processes"] = procs

    @app.before_request
    def forward() -> Response | None:
        return procs.render() if procs.forwards() else None


# -- the page process ----------------------------------------------------------------------------


def main(conn: Connection, isolate: bool, settings: Settings) -> None:
    """The page process's loop, in ``claimgraph.sparql.worker.main``'s protocol: receive
    (snapshot path, PageJob, keep, memory, patch), send (status, PageReply, (None, None))."""
    from werkzeug.test import run_wsgi_app

    from claimgraph.app import create_app
    from claimgraph.sparql.worker import isolate_network

    isolated = isolate_network() if isolate else False  # before any thread starts
    # Its 5xx (with their tracebacks and request ids) to stderr, as `claimgraph serve` logs.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    view = SnapshotView()
    graph = ClaimGraph(settings, store=view)
    app = create_app(settings, graph=graph)
    try:
        conn.send(("ready", isolated))
    except (BrokenPipeError, EOFError, OSError):
        return
    while True:
        try:
            snapshot, job, _keep, _memory, _patch = conn.recv()
        except (EOFError, OSError):
            return
        reply: tuple[str, Any]
        try:
            view.open(snapshot)
            graph.generation, graph.last_modified = job.generation, job.last_modified
            environ: dict[str, Any] = dict(job.environ)
            environ.update(
                {
                    "wsgi.version": (1, 0),
                    "wsgi.input": io.BytesIO(b""),
                    "wsgi.errors": sys.stderr,
                    "wsgi.multithread": False,
                    "wsgi.multiprocess": True,
                    "wsgi.run_once": False,
                }
            )
            body, status, headers = run_wsgi_app(app, environ, buffered=True)
            try:
                data = b"".join(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            reply = ("ok", PageReply(status, list(headers.items()), data, os.getpid()))
        except Exception as err:  # the process must answer every job and stay up
            reply = ("error", f"{type(err).__name__}: {err}")
        try:
            conn.send((*reply, (None, None)))
        except (BrokenPipeError, EOFError, OSError):
            return
