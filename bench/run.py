"""The benchmark: ``python -m bench.run --sizes 10000,100000`` prints one Markdown table per size.

For each size it generates a case file, then measures, side by side on the same data in the
same run: ClaimGraph on the embedded Oxigraph store, rdflib's own in-memory engine, and
ClaimGraph on Virtuoso through the remote store (with Virtuoso's own endpoint next to it):
load throughput; each research query (``bench/queries/*.rq``), in process and through
``/sparql``; the claim page; a validated write of 100 statements (``ClaimGraph.write``, against
whole-graph validation for rdflib); the N-Quads dump; peak memory.

Each size runs in a fresh process, so peak memory is per size; rdflib runs in another process,
and each rdflib query in a forked child that is killed when it passes ``--rdflib-limit``
(a query inside rdflib's engine cannot be interrupted any other way). A query that passed the
limit at one size is not run again at a larger one. Virtuoso (Debian's ``virtuoso-opensource``,
installed when missing) runs as a throw-away server per size, its client in another process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
import pyshacl
import rdflib
from flask import Flask

from bench import service
from bench.generate import CaseFileGenerator
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import ValidationFailed
from claimgraph.sparql.executor import default_query_memory
from claimgraph.sparql.views import SparqlService
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.store.shared import RemoteStore
from claimgraph.validation import Report, Validator

ROOT = Path(__file__).resolve().parent.parent
QUERY_DIR = Path(__file__).resolve().parent / "queries"
T = TypeVar("T")

# Targets from the brief.
TARGET_LOAD_TPS = 200_000
TARGET_BATTERY_SPEEDUP = 20.0
TARGET_WRITE_S = 0.250
TARGET_WRITE_AT = 100_000
TARGET_CLAIM_PAGE_S = 0.050
WARM_UP = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"  # a query that starts the workers
TARGET_ENDPOINT_RATIO = 2.0  # ClaimGraph's /sparql ÷ Virtuoso's own endpoint


@dataclass(frozen=True)
class Options:
    seed: int = 0
    runs: int = 5  # timed runs per Oxigraph query (median), fewer if a query is slow
    rdflib_runs: int = 3
    budget_s: float = 10.0  # stop repeating a query once this much time is spent on it
    rdflib_limit_s: float = 60.0
    shacl_limit_s: float = 120.0
    rdflib_max_triples: int = 1_500_000
    shacl_max_statements: int = 10_000
    writes: int = 5
    write_statements: int = 100
    claim_pages: int = 20
    dump_limit_s: float = 120.0
    # The validated load's rows above this size run only with --validation-only: at 1M
    # statements (10.3M quads) that process alone peaks near 15 GB, beside the run's own.
    validation_max_statements: int = 100_000
    virtuoso: bool = True
    remote_timeout_s: float = 600.0


@dataclass
class Timing:
    """A median over ``runs`` runs, or a note saying why there is none."""

    seconds: float | None
    runs: int = 0
    rows: int | None = None
    note: str = ""
    peak_mb: float | None = None  # peak RSS of the process that ran it, when it had its own


@dataclass
class RdflibResult:
    load_s: float
    triples: int
    queries: dict[str, Timing]
    shacl: Timing | None
    dump: Timing
    peak_rss_mb: dict[str, float]  # phase → MB (queries: the largest query child)


@dataclass
class Writes:
    """Timed validated writes (the first, a warm-up, is not among ``times``)."""

    times: list[float] = field(default_factory=list)
    quads: int = 0
    focus_nodes: int = 0
    refused: int = 0  # writes the validator refused (then applied unvalidated: see timed_writes)
    problem: str | None = None


@dataclass
class RemoteResult:
    """ClaimGraph on Virtuoso (through ``RemoteStore``), and Virtuoso's own endpoint."""

    server: str
    load_s: float
    queries: dict[str, Timing]  # ClaimGraph's /sparql over the remote store (rows: its answer)
    endpoint: dict[str, Timing]  # the same POST to Virtuoso's own /sparql
    claim_page: service.PageTiming
    writes: Writes
    dump: Timing
    peak_rss_mb: dict[str, float]  # the ClaimGraph process, per phase
    server_peak_mb: float | None  # virtuoso-t


@dataclass
class BulkValidation:
    """``claimgraph load FILE`` of the size's file into an on-disk store holding the shipped
    data, phase by phase (what ``ClaimGraph.load`` does: parse, validate, commit), then
    ``claimgraph validate`` of the whole store in a fresh process; each with its peak RSS."""

    quads: int
    parse_s: float
    validate_load_s: float
    commit_s: float
    load_peak_mb: dict[str, float]  # phase → MB
    store_quads: int
    validate_s: float
    validate_peak_mb: float
    conforms: bool
    load_cpu_s: float = 0.0  # CPU seconds (all threads) of the load's three phases
    validate_cpu_s: float = 0.0  # of the whole-store validation


@dataclass
class SizeResult:
    statements: int
    quads: int
    generate_s: float
    load_s: dict[str, float]  # method → seconds for ``quads`` quads
    queries: dict[str, Timing]
    sparql: dict[str, Timing]  # the same queries through ClaimGraph's /sparql over HTTP
    sparql_memory: dict[str, Timing]  # … with workers answering from in-memory copies
    sparql_cached: dict[str, Timing]  # … with the result cache warm
    copy_s: float | None  # a snapshot's in-memory copy: first query to first answer from it
    claim_page: service.PageTiming
    writes: Writes
    dump: Timing
    rdflib: RdflibResult | None
    rdflib_note: str
    virtuoso: RemoteResult | None
    virtuoso_note: str
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    validation: BulkValidation | None = None


# -- memory --------------------------------------------------------------------------------
def _reset_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):  # elsewhere the peak covers the process so far
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    peak = service.proc_peak_mb(os.getpid())
    if peak is not None:
        return peak
    import resource  # elsewhere than Linux: the peak of the whole process so far

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- processes -----------------------------------------------------------------------------
def _call(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a new interpreter and return its result (its memory is its own)."""
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_call, args=(sender, fn, args))
    proc.start()
    sender.close()
    try:
        status, value = receiver.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"{fn.__name__} died (exit code {proc.exitcode})") from None
    proc.join()
    if status != "ok":
        raise RuntimeError(f"{fn.__name__} failed in its process:\n{value}")
    return value  # type: ignore[no-any-return]


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the battery ---------------------------------------------------------------------------
def battery() -> list[tuple[str, str]]:
    """The research queries, ``(name, SPARQL)``, in file-name order."""
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(QUERY_DIR.glob("*.rq"))]


def materialise(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> int:
    """Read every value of a result (as a client would) and return the row count."""
    if isinstance(result, ox.QueryBoolean):
        return 1
    if isinstance(result, ox.QuerySolutions):
        return len([tuple(solution) for solution in result])
    return len(list(result))


def _median_runs(run: Callable[[], int], runs: int, budget_s: float) -> Timing:
    """One warm-up run, then up to ``runs`` timed runs while within ``budget_s``."""
    start = time.perf_counter()
    rows = run()
    first = time.perf_counter() - start
    if first > budget_s / 2:  # slow: the warm-up is the only measurement we can afford
        return Timing(first, 1, rows)
    times: list[float] = []
    while len(times) < runs and sum(times) + first < budget_s:
        t0 = time.perf_counter()
        rows = run()
        times.append(time.perf_counter() - t0)
    return Timing(statistics.median(times), len(times), rows)


# -- one size (its own process) ------------------------------------------------------------
def _ontology_quads(graph: ClaimGraph) -> list[ox.Quad]:
    paths = [p for p in graph.seed_files() if p.parent.name == "ontology"]
    quads, _ = graph.read_files(paths)
    return quads


def timed_writes(graph: ClaimGraph, batches: list[list[ox.Quad]]) -> Writes:
    """Each batch through ``ClaimGraph.write`` (validated, atomic); the first is a warm-up."""
    out = Writes(quads=len(batches[1]) if len(batches) > 1 else 0)
    for i, batch in enumerate(batches):
        delta = Delta(add=batch)
        t0 = time.perf_counter()
        report: Report
        try:
            report = graph.write(delta)
            accepted = True
        except ValidationFailed as err:
            report, accepted = err.report, False
        elapsed = time.perf_counter() - t0
        out.focus_nodes = report.focus_nodes
        if not accepted:
            # The batches conform (tests/test_bench_generator.py checks that): a refusal
            # is the validator's error. Store the batch anyway, or every later batch,
            # which refers to its claims and sources, would be refused for a real reason.
            out.problem = out.problem or report.text(limit=5)
            graph.store.apply(delta)
        if i > 0:
            out.times.append(elapsed)
            out.refused += not accepted
    return out


def _battery(run: Callable[[str], int], opts: Options) -> dict[str, Timing]:
    return {
        name: _median_runs(lambda text=text: run(text), opts.runs, opts.budget_s)  # type: ignore[misc]
        for name, text in battery()
    }


def _service_settings(opts: Options, **fields: Any) -> Settings:
    """The service as ``claimgraph serve`` runs it, with room for the battery's big queries
    (each row of the embedded store then turns its in-memory copies and result cache on)."""
    # The propagation analysis (the derived graph, rerun after each write) would run beside
    # the measurements, in this process (at 100k statements: minutes, and 9 GB).
    fields = {"query_memory": 0, "query_cache_bytes": 0, "propagation": False, **fields}
    return Settings(seed=False, query_timeout=opts.rdflib_limit_s * 5, max_rows=1_000_000, **fields)


def _swap_sparql(app: Flask, graph: ClaimGraph, settings: Settings) -> SparqlService:
    """The app's SPARQL endpoint again, with other settings (its workers started anew)."""
    app.extensions["claimgraph.sparql"].close()
    svc = SparqlService(graph, settings)
    app.extensions["claimgraph.sparql"] = svc
    return svc


def _await_copy(svc: SparqlService, url: str, limit_s: float) -> float | None:
    """Seconds from the end of the first query on a snapshot until a worker answers from its
    in-memory copy (loaded in the background meanwhile); None: not within limit_s (or the copy
    does not fit the budget)."""
    service.post_query(url, WARM_UP)  # the workers start, the copy starts after this query
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        service.post_query(url, WARM_UP)
        if svc.executor.stats.from_memory:
            return time.perf_counter() - t0
        if svc.executor.stats.memory_copies == 0:
            return None
        time.sleep(0.02)
    return None


def run_size(statements: int, opts: Options, skip_rdflib: frozenset[str]) -> SizeResult:
    _reset_peak()
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        nq_path = Path(tmp) / "bench.nq"
        _log(f"{statements}: generating")
        t0 = time.perf_counter()
        generator = CaseFileGenerator(statements, opts.seed)
        quads = list(generator)
        generate_s = time.perf_counter() - t0
        with nq_path.open("wb") as out:
            ox.serialize(quads, out, ox.RdfFormat.N_QUADS)
        peaks["generate"] = _peak_mb()

        _log(f"{statements}: loading {len(quads)} quads into Oxigraph three ways")
        _reset_peak()
        load_s: dict[str, float] = {}
        store = EmbeddedStore(None)
        t0 = time.perf_counter()
        store.apply(Delta(add=quads))
        load_s["apply"] = time.perf_counter() - t0
        store.close()
        del store
        store = EmbeddedStore(None)
        t0 = time.perf_counter()
        with nq_path.open("rb") as f:
            store.bulk_load(ox.parse(f, ox.RdfFormat.N_QUADS))
        load_s["parse+bulk_load"] = time.perf_counter() - t0
        in_memory = store
        # The store the service then runs on: on disk, as `claimgraph serve --data-dir` keeps it.
        store = EmbeddedStore(Path(tmp) / "store")
        t0 = time.perf_counter()
        store.bulk_load(quads)
        load_s["bulk_load"] = time.perf_counter() - t0
        n_quads = len(quads)
        del quads
        gc.collect()
        peaks["load"] = _peak_mb()

        settings = _service_settings(opts)
        graph = ClaimGraph(settings, store=store)
        store.bulk_load(_ontology_quads(graph))
        in_memory.bulk_load(_ontology_quads(graph))
        app = create_app(settings, graph=graph)

        # In process on the in-memory store (rdflib's conditions); through /sparql on disk (the
        # service's): RocksDB's reads make whole-graph scans several times slower than memory.
        _log(f"{statements}: research battery on Oxigraph, in memory and through /sparql")
        _reset_peak()
        queries = _battery(lambda text, s=in_memory: materialise(s.query(text)), opts)  # type: ignore[misc]
        in_memory.close()
        del in_memory
        gc.collect()
        with service.serving(app) as base:
            url = f"{base}/sparql"
            service.post_query(url, WARM_UP)  # the workers start (not the first query's time)
            sparql = _battery(lambda text: service.post_query(url, text), opts)
            workers = app.extensions["claimgraph.sparql"].executor.pids()
            worker_peak = sum(service.proc_peak_mb(pid) or 0.0 for pid in workers)
            _log(f"{statements}: research battery through /sparql, workers with in-memory copies")
            svc = _swap_sparql(app, graph, settings.replace(query_memory=default_query_memory()))
            copy_s = _await_copy(svc, url, opts.rdflib_limit_s * 5)
            sparql_memory = _battery(lambda text: service.post_query(url, text), opts)
            workers = svc.executor.pids()
            peaks["query workers, in-memory copies"] = sum(
                service.proc_peak_mb(pid) or 0.0 for pid in workers
            )
            _log(f"{statements}: research battery through /sparql, result cache warm")
            svc = _swap_sparql(app, graph, settings.replace(query_cache_bytes=256 << 20))
            service.post_query(url, WARM_UP)
            sparql_cached = _battery(lambda text: service.post_query(url, text), opts)
        peaks["queries"] = _peak_mb()
        peaks["query workers"] = worker_peak

        _log(f"{statements}: claim pages")
        claims = service.sample_claims(graph, opts.claim_pages + 1, opts.seed)
        claim_page = service.claim_pages(graph, app, claims)

        _log(f"{statements}: validated writes of {opts.write_statements} statements")
        _reset_peak()
        batches = [generator.write_batch(opts.write_statements) for _ in range(opts.writes + 1)]
        writes = timed_writes(graph, batches)
        peaks["writes"] = _peak_mb()

        _log(f"{statements}: dump")
        t0 = time.perf_counter()
        size = service.dump_nquads(graph)
        dump = Timing(time.perf_counter() - t0, 1, size)
        graph.close()
        del graph, store, app
        gc.collect()

        validation = None
        if statements <= opts.validation_max_statements:
            _log(f"{statements}: validated load, then whole-store validation (its own process)")
            validation = validation_host(nq_path, Path(tmp) / "validated")

        batch_files = []
        for i, batch in enumerate(batches):
            batch_files.append(Path(tmp) / f"batch-{i}.nq")
            with batch_files[-1].open("wb") as out:
                ox.serialize(batch, out, ox.RdfFormat.N_QUADS)

        triples = n_quads
        rdflib_result: RdflibResult | None = None
        if triples > opts.rdflib_max_triples:
            note = f"rdflib skipped (> {opts.rdflib_max_triples:,} triples)"
        else:
            note = ""
            shacl_batch = None
            if statements <= opts.shacl_max_statements and len(batches) > 1:
                # the graph as the first timed write found it (after the warm-up), plus that write
                shacl_batch = Path(tmp) / "batch.nq"
                with shacl_batch.open("wb") as out:
                    ox.serialize(batches[0] + batches[1], out, ox.RdfFormat.N_QUADS)
            _log(f"{statements}: rdflib (its own process)")
            rdflib_result = in_fresh_process(
                rdflib_host, nq_path, battery(), opts, skip_rdflib, shacl_batch
            )

        remote: RemoteResult | None = None
        remote_note = "not run (--no-virtuoso)"
        if opts.virtuoso:
            _log(f"{statements}: Virtuoso (its own process, and virtuoso-t)")
            try:
                remote = in_fresh_process(
                    virtuoso_host, nq_path, n_quads, batch_files, claims, opts, Path(tmp)
                )
                remote_note = ""
            except RuntimeError as err:  # not installable here, or it failed: say so
                remote_note = f"Virtuoso failed: {str(err).strip().splitlines()[-1]}"
                _log(remote_note)
    return SizeResult(
        statements=statements,
        quads=n_quads,
        generate_s=generate_s,
        load_s=load_s,
        queries=queries,
        sparql=sparql,
        sparql_memory=sparql_memory,
        sparql_cached=sparql_cached,
        copy_s=copy_s,
        claim_page=claim_page,
        writes=writes,
        dump=dump,
        rdflib=rdflib_result,
        rdflib_note=note,
        virtuoso=remote,
        virtuoso_note=remote_note,
        peak_rss_mb=peaks,
        validation=validation,
    )


# -- validation of a load and of the whole store (its own process) ---------------------------
def _cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_host(
    nq_path: Path, store_dir: Path
) -> tuple[int, float, float, float, dict[str, float], float]:
    """What ``claimgraph load FILE`` does (``ClaimGraph.load``), phase by phase."""
    graph = ClaimGraph(Settings(data_dir=store_dir))
    graph.seed()
    assert isinstance(graph.store, EmbeddedStore)
    graph.store.exclusive = True  # as `claimgraph load` opens it: the commit may swap a copy in
    gc.collect()
    peaks: dict[str, float] = {}
    _reset_peak()
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    quads, _ = graph.read_files([nq_path])
    parse_s = time.perf_counter() - t0
    peaks["parse"] = _peak_mb()
    delta = Delta(add=quads)
    _reset_peak()
    t0 = time.perf_counter()
    report = graph.validator.validate_delta(graph.store, delta)
    validate_s = time.perf_counter() - t0
    peaks["validate"] = _peak_mb()
    if not report.conforms:
        raise RuntimeError(f"the bench file does not conform: {report.text(limit=5)}")
    gc.collect()
    _reset_peak()
    t0 = time.perf_counter()
    graph.store.apply(delta)
    commit_s = time.perf_counter() - t0
    peaks["commit"] = _peak_mb()
    cpu = _cpu_s() - cpu0
    graph.close()
    return len(quads), parse_s, validate_s, commit_s, peaks, cpu


def validate_host(store_dir: Path) -> tuple[int, float, float, bool, float]:
    """What ``claimgraph validate`` does on the whole store."""
    graph = ClaimGraph(Settings(data_dir=store_dir))
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    report = graph.validator.validate_store(graph.store)
    seconds = time.perf_counter() - t0
    cpu = _cpu_s() - cpu0
    count = graph.store.count()
    graph.close()
    return count, seconds, _peak_mb(), report.conforms, cpu


def validation_host(nq_path: Path, store_dir: Path) -> BulkValidation:
    """A validated load, then a whole-store validation, each in its own process."""
    quads, parse_s, validate_s, commit_s, peaks, load_cpu = in_fresh_process(
        load_host, nq_path, store_dir
    )
    count, seconds, peak, conforms, cpu = in_fresh_process(validate_host, store_dir)
    return BulkValidation(
        quads, parse_s, validate_s, commit_s, peaks, count, seconds, peak, conforms, load_cpu, cpu
    )


def validation_size(statements: int, opts: Options) -> BulkValidation:
    """Only the validated load and the whole-store validation of a size's file."""
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        nq_path = Path(tmp) / "bench.nq"
        _log(f"{statements}: generating")
        with nq_path.open("wb") as out:
            ox.serialize(CaseFileGenerator(statements, opts.seed), out, ox.RdfFormat.N_QUADS)
        _log(f"{statements}: validated load, then whole-store validation (its own process)")
        return validation_host(nq_path, Path(tmp) / "validated")


# -- Virtuoso (its own process, and the server's) ------------------------------------------
def virtuoso_host(
    nq_path: Path,
    n_quads: int,
    batch_files: list[Path],
    claims: list[str],
    opts: Options,
    tmp: Path,
) -> RemoteResult:
    from bench.virtuoso import Virtuoso

    _reset_peak()
    peaks: dict[str, float] = {}
    root = tmp / "virtuoso"
    root.mkdir()
    server = Virtuoso.for_data(root, n_quads, int(opts.remote_timeout_s))
    try:
        server.start()
        store: RemoteStore = server.store(timeout=opts.remote_timeout_s)
        _log("  Virtuoso: parse N-Quads + RemoteStore.bulk_load")
        t0 = time.perf_counter()
        with nq_path.open("rb") as f:
            store.bulk_load(ox.parse(f, ox.RdfFormat.N_QUADS))
        load_s = time.perf_counter() - t0
        peaks["load"] = _peak_mb()
        settings = _service_settings(opts, **server.settings())
        loader = ClaimGraph(settings, store=store)
        store.bulk_load(_ontology_quads(loader))
        loader.close()
        assert server.process is not None
        load_peak = service.proc_peak_mb(server.process.pid)  # (the restart starts it anew)
        _log(f"  Virtuoso: checkpoint, restart: {server.restart_after_load():.1f} s")
        store = server.store(timeout=opts.remote_timeout_s)
        graph = ClaimGraph(settings, store=store)
        app = create_app(settings, graph=graph)

        _log("  Virtuoso: research battery through the remote store and its own endpoint")
        _reset_peak()
        rows = {name: materialise(store.query(text)) for name, text in battery()}
        with service.serving(app) as base:
            queries = _battery(lambda text: service.post_query(f"{base}/sparql", text), opts)
        for name, timing in queries.items():
            timing.rows = rows[name]
        # The dataset ClaimGraph's remote store names, so that both answer the same question.
        dataset = [g.value for g in store.graphs()]
        endpoint = _battery(
            lambda text: service.post_query(server.query_url, text, graphs=dataset), opts
        )
        peaks["queries"] = _peak_mb()

        _log("  Virtuoso: claim pages")
        claim_page = service.claim_pages(graph, app, claims)

        _log("  Virtuoso: validated writes")
        _reset_peak()
        batches = []
        for path in batch_files:
            with path.open("rb") as f:
                batches.append(list(ox.parse(f, ox.RdfFormat.N_QUADS)))
        writes = timed_writes(graph, batches)
        peaks["writes"] = _peak_mb()

        _log("  Virtuoso: dump")
        dump = time_in_child(lambda: service.dump_nquads(graph), 1, 0.0, opts.dump_limit_s)
        served = service.proc_peak_mb(server.process.pid) if server.process else None
        server_peak = max((p for p in (load_peak, served) if p is not None), default=None)
        version = (store.http.server or "Virtuoso").split()[0]
        graph.close()
    finally:
        server.stop()
    return RemoteResult(
        server=version,
        load_s=load_s,
        queries=queries,
        endpoint=endpoint,
        claim_page=claim_page,
        writes=writes,
        dump=dump,
        peak_rss_mb=peaks,
        server_peak_mb=server_peak,
    )


# -- rdflib (its own process; each query in a forked child) --------------------------------
def _repeat_in_child(run: Callable[[], int], runs: int, budget_s: float, conn: Connection) -> None:
    _reset_peak()
    spent = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = run()
        elapsed = time.perf_counter() - t0
        conn.send((elapsed, rows, _peak_mb()))
        spent += elapsed
        if spent > budget_s / 2:
            break
    conn.send(None)
    conn.close()


def time_in_child(run: Callable[[], int], runs: int, budget_s: float, limit_s: float) -> Timing:
    """Time ``run`` in a forked child (it shares the parent's loaded graph) and kill the
    child when one run passes ``limit_s``: rdflib's engine cannot be interrupted otherwise.
    The child's peak RSS (shared pages included) comes back in ``Timing.peak_mb``."""
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_repeat_in_child, args=(run, runs, budget_s, sender))
    child.start()
    sender.close()
    times: list[float] = []
    rows: int | None = None
    peak = 0.0
    timed_out = False
    try:
        while True:
            if not receiver.poll(limit_s):
                timed_out = True
                break
            message = receiver.recv()
            if message is None:
                break
            elapsed, rows, peak = message
            times.append(elapsed)
    except EOFError:
        pass  # the child died: its exit code says how
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
    if times:
        return Timing(statistics.median(times), len(times), rows, peak_mb=peak)
    if timed_out:
        return Timing(None, 0, None, f"> {limit_s:g} s")
    return Timing(None, 0, None, f"failed (exit code {child.exitcode})")


def rdflib_host(
    nq_path: Path,
    queries: list[tuple[str, str]],
    opts: Options,
    skip: frozenset[str],
    shacl_batch: Path | None,
) -> RdflibResult:
    import rdflib.plugins.sparql

    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    # rdflib's N-Quads parser calls its own deprecated Dataset API once per quad
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="rdflib")
    _reset_peak()
    ds = rdflib.Dataset(default_union=True)
    t0 = time.perf_counter()
    ds.parse(nq_path, format="nquads")
    load_s = time.perf_counter() - t0
    triples = len(ds)  # the union: every triple of every graph
    list(ds.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1"))  # load the SPARQL parser once
    peaks = {"load": _peak_mb()}
    gc.freeze()  # forked children then leave the loaded graph's pages shared
    results: dict[str, Timing] = {}
    for name, text in queries:
        if name in skip:
            results[name] = Timing(None, 0, None, f"> {opts.rdflib_limit_s:g} s at a smaller size")
            continue
        _log(f"  rdflib {name}")

        def run(text: str = text) -> int:
            return len(list(ds.query(text)))

        timing = time_in_child(run, opts.rdflib_runs, opts.budget_s, opts.rdflib_limit_s)
        peaks["queries"] = max(peaks.get("queries", 0.0), timing.peak_mb or 0.0)
        results[name] = timing
    _log("  rdflib: N-Quads dump")

    def dump() -> int:
        with tempfile.TemporaryFile() as out:
            ds.serialize(destination=out, format="nquads")
            return out.tell()

    dumped = time_in_child(dump, 1, 0.0, opts.dump_limit_s)
    shacl: Timing | None = None
    if shacl_batch is not None:
        _log("  rdflib: whole-graph pyshacl validation")
        validator = Validator.from_dirs(ROOT / "shapes", ROOT / "ontology")
        data = rdflib.Graph()
        data.addN((s, p, o, data) for s, p, o in ds.triples((None, None, None)))
        batch = rdflib.Dataset()
        batch.parse(shacl_batch, format="nquads")
        data.addN((s, p, o, data) for s, p, o, _g in batch.quads((None, None, None, None)))

        def validate() -> int:
            # The service's own whole-graph path (its SPARQL parse cache included).
            report = validator.validate_graph(data)
            return 1 if report.conforms else 0  # "rows" 1: conforms

        shacl = time_in_child(validate, 1, 0.0, opts.shacl_limit_s)
        if shacl.seconds is not None:
            peaks["writes"] = shacl.peak_mb or 0.0
            shacl.note = "" if shacl.rows == 1 else "does not conform"
    return RdflibResult(load_s, triples, results, shacl, dumped, peaks)


# -- the report ----------------------------------------------------------------------------
def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


def _rate(quads: int, seconds: float) -> str:
    return f"{quads / seconds / 1000:,.0f}k/s"


def _ratio(slow: float | None, fast: float | None, lower_bound: bool = False) -> str:
    if slow is None or fast is None or fast <= 0:
        return "—"
    r = slow / fast
    text = f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"
    return f"≥ {text}" if lower_bound else text


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        ram = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        ram = "? RAM"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), {ram}, {platform.system()} {platform.release()}"


def versions() -> str:
    return (
        f"Python {platform.python_version()}, pyoxigraph {ox.__version__}, "
        f"rdflib {rdflib.__version__}, pyshacl {pyshacl.__version__}"
    )


def battery_totals(res: SizeResult, limit_s: float) -> tuple[float, float | None, bool]:
    """Sum of Oxigraph medians, sum of rdflib medians (limit for killed ones), lower bound?"""
    ox_total = sum(t.seconds or 0.0 for t in res.queries.values())
    if res.rdflib is None:
        return ox_total, None, False
    total, bound = 0.0, False
    for name in res.queries:
        t = res.rdflib.queries.get(name)
        if t is None or t.seconds is None:
            # killed at the limit (here or at a smaller size): it took at least the limit
            total += limit_s
            bound = True
        else:
            total += t.seconds
    return ox_total, total, bound


def _total(timings: dict[str, Timing]) -> float:
    return sum(t.seconds or 0.0 for t in timings.values())


def _timed(t: Timing) -> str:
    """A query's median; "¹" when its cold first run was the only one (it took more than half
    the time budget)."""
    return _duration(t.seconds) + ("¹" if t.runs == 1 else "")


def _page(t: service.PageTiming) -> str:
    return f"{_duration(t.median_s)} (max {_duration(t.max_s)}, {t.pages} claims)"


def _writes(w: Writes) -> str:
    if not w.times:
        return "—"
    cell = f"{_duration(statistics.median(w.times))} (max {_duration(max(w.times))})"
    if w.refused:
        cell += f", {w.refused}/{len(w.times)} refused ⚠"
    return cell


def _median(w: Writes) -> float | None:
    return statistics.median(w.times) if w.times else None


def _dump(t: Timing | None) -> str:
    if t is None:
        return "—"
    if t.seconds is None:
        return t.note
    return f"{_duration(t.seconds)} ({(t.rows or 0) / 1e6:,.0f} MB)"


def _mb(value: float | None) -> str:
    return f"{value:,.0f} MB" if value else ""


COLUMNS = [
    "measurement",
    "ClaimGraph on embedded Oxigraph (in memory · `/sparql` on disk)",
    "rdflib in memory",
    "rdflib ÷ Oxigraph",
    "ClaimGraph on Virtuoso (remote store; queries: `/sparql`)",
    "Virtuoso's own endpoint",
    "Oxigraph `/sparql` ÷ Virtuoso's endpoint",
    "`/sparql` on Virtuoso ÷ Virtuoso's endpoint",
    "ClaimGraph on Virtuoso ÷ on embedded Oxigraph",
]


def validation_rows(v: BulkValidation) -> list[tuple[str, str]]:
    """The rows of a validated load and of a whole-store validation: (label, cell)."""
    load_s = v.parse_s + v.validate_load_s + v.commit_s
    return [
        (
            "`claimgraph load` of the file, on disk: parse · validation (bulk) · commit "
            "(a bulk-loaded copy swapped in); quads/s of each; CPU seconds of the three",
            f"{_duration(load_s)}, {_rate(v.quads, load_s)}: {_rate(v.quads, v.parse_s)} · "
            f"{_rate(v.quads, v.validate_load_s)} · {_rate(v.quads, v.commit_s)}; "
            f"CPU {v.load_cpu_s:.0f} s",
        ),
        (
            "`claimgraph load`: peak RSS of parse · validation · commit",
            " · ".join(_mb(v.load_peak_mb.get(k)) for k in ("parse", "validate", "commit")),
        ),
        (
            "`claimgraph validate`, whole store (bulk), own process: time · quads/s · peak RSS; "
            "CPU seconds",
            f"{_duration(v.validate_s)} · {_rate(v.store_quads, v.validate_s)} · "
            f"{_mb(v.validate_peak_mb)}; CPU {v.validate_cpu_s:.0f} s"
            + ("" if v.conforms else " ⚠ does not conform"),
        ),
    ]


def size_table(r: SizeResult, opts: Options) -> list[str]:
    """One size's table: a row per measurement, a column per engine (see ``COLUMNS``)."""
    lib, virt = r.rdflib, r.virtuoso
    rows: list[list[str]] = []

    def row(label: str, *cells: str, remote: str = "") -> None:
        """``remote``: the last column, ClaimGraph on Virtuoso ÷ on the embedded store."""
        rows.append([label, *cells, *[""] * (len(COLUMNS) - 2 - len(cells)), remote])

    row("generate (quads/s)", _rate(r.quads, r.generate_s))
    row(
        "load: parse the N-Quads file + load (rdflib: `Dataset.parse`; Virtuoso: "
        "`RemoteStore.bulk_load`, INSERT DATA batches)",
        _rate(r.quads, r.load_s["parse+bulk_load"]),
        _rate(r.quads, lib.load_s) if lib else "skipped",
        _ratio(lib.load_s, r.load_s["parse+bulk_load"]) if lib else "—",
        _rate(r.quads, virt.load_s) if virt else "—",
        remote=_ratio(virt.load_s, r.load_s["parse+bulk_load"]) if virt else "",
    )
    row("load: `bulk_load` of parsed quads, on disk", _rate(r.quads, r.load_s["bulk_load"]))
    row("load: `apply(Delta(add=…))`, one transaction", _rate(r.quads, r.load_s["apply"]))

    for name, _ in battery():
        ours, http = r.queries[name], r.sparql[name]
        cells = [f"{_timed(ours)} · `/sparql` {_timed(http)} ({ours.rows} rows)"]
        if lib is None:
            cells += ["skipped", "—"]
        else:
            theirs = lib.queries[name]
            if theirs.seconds is None:
                cells += [theirs.note, _ratio(opts.rdflib_limit_s, ours.seconds, True)]
            else:
                mark = "" if theirs.rows == ours.rows else f" ⚠ {theirs.rows} rows"
                cells += [_duration(theirs.seconds) + mark, _ratio(theirs.seconds, ours.seconds)]
        if virt is not None:
            remote, own = virt.queries[name], virt.endpoint[name]
            mark = "" if remote.rows == ours.rows else f" ⚠ {remote.rows} rows"
            cells += [
                _timed(remote) + mark,
                _timed(own),
                _ratio(http.seconds, own.seconds),
                _ratio(remote.seconds, own.seconds),
            ]
        row(
            f"query `{name}`",
            *cells,
            remote=_ratio(virt.queries[name].seconds, http.seconds) if virt else "",
        )

    ours_total, lib_total, bound = battery_totals(r, opts.rdflib_limit_s)
    total = [f"{_duration(ours_total)} · `/sparql` {_duration(_total(r.sparql))}"]
    if lib_total is None:
        total += ["skipped", "—"]
    else:
        total += [
            ("≥ " if bound else "") + _duration(lib_total),
            _ratio(lib_total, ours_total, bound),
        ]
    if virt is not None:
        total += [
            _duration(_total(virt.queries)),
            _duration(_total(virt.endpoint)),
            _ratio(_total(r.sparql), _total(virt.endpoint)),
            _ratio(_total(virt.queries), _total(virt.endpoint)),
        ]
    row(
        "research battery, sum of medians",
        *total,
        remote=_ratio(_total(virt.queries), _total(r.sparql)) if virt else "",
    )

    # The embedded store's /sparql again: workers answering from in-memory copies of the
    # snapshot, then the result cache warm (the first run fills it; the median is of hits).
    def faster(label: str, memory: float, cached: float, endpoint: float | None) -> None:
        cells = [f"{_duration(memory)} · {_duration(cached)}", "", "", "", ""]
        row(label, *cells, _ratio(memory, endpoint) if endpoint is not None else "")

    for name, _ in battery():
        memory, cached = r.sparql_memory[name], r.sparql_cached[name]
        faster(
            f"query `{name}`, `/sparql` (in-memory workers · cache warm)",
            memory.seconds or 0.0,
            cached.seconds or 0.0,
            virt.endpoint[name].seconds if virt is not None else None,
        )
    faster(
        "research battery, `/sparql` (in-memory workers · cache warm), sum of medians",
        _total(r.sparql_memory),
        _total(r.sparql_cached),
        _total(virt.endpoint) if virt is not None else None,
    )
    row(
        "in-memory copy of a snapshot: first query to first answer from it",
        _duration(r.copy_s) if r.copy_s is not None else "not made (over the memory budget)",
    )

    row(
        "claim page, server time (HTML, median)",
        _page(r.claim_page),
        "",
        "",
        _page(virt.claim_page) if virt else "—",
        remote=_ratio(virt.claim_page.median_s, r.claim_page.median_s) if virt else "",
    )

    shacl = lib.shacl if lib is not None else None
    if shacl is None:
        baseline, ratio = f"not run (> {_short(opts.shacl_max_statements)} st.)", "—"
    elif shacl.seconds is None:
        baseline = shacl.note
        ratio = _ratio(opts.shacl_limit_s, statistics.median(r.writes.times), True)
    else:
        baseline = _duration(shacl.seconds) + (f" ({shacl.note})" if shacl.note else "")
        ratio = _ratio(shacl.seconds, statistics.median(r.writes.times))
    row(
        f"validated write of {opts.write_statements} statements, median of {opts.writes} "
        "(rdflib: whole-graph pyshacl)",
        _writes(r.writes),
        baseline,
        ratio,
        _writes(virt.writes) if virt else "—",
        remote=_ratio(_median(virt.writes), _median(r.writes)) if virt else "",
    )
    if r.validation is not None:
        for label, cell in validation_rows(r.validation):
            row(label, cell)
    else:
        row(
            "`claimgraph load` validated, and `claimgraph validate` of the whole store",
            f"not run (> {_short(opts.validation_max_statements)} st.: "
            "`python -m bench.run --validation-only`)",
        )
    lib_dump = lib.dump if lib is not None else None
    row(
        "dump, N-Quads, whole store",
        _dump(r.dump),
        _dump(lib_dump) if lib else "skipped",
        _ratio(lib_dump.seconds, r.dump.seconds) if lib_dump else "—",
        _dump(virt.dump) if virt else "—",
        remote=_ratio(virt.dump.seconds, r.dump.seconds) if virt and virt.dump else "",
    )
    phases = ("generate", "load", "queries", "query workers", "query workers, in-memory copies")
    for phase in (*phases, "writes"):
        row(
            f"peak RSS: {phase}" + (" (sum over processes)" if "workers" in phase else ""),
            _mb(r.peak_rss_mb.get(phase)),
            _mb(lib.peak_rss_mb.get(phase)) if lib else "",
            "",
            _mb(virt.peak_rss_mb.get(phase)) if virt else "",
        )
    if virt is not None:
        row("peak RSS: the Virtuoso server (virtuoso-t)", "", "", "", _mb(virt.server_peak_mb))

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    label = f"{r.statements:,} statements ({r.quads / 1e6:.2f}M quads)"
    return [
        f"### {label}",
        "",
        line(COLUMNS),
        line(["---"] + ["--:"] * (len(COLUMNS) - 1)),
        *(line(cells) for cells in rows),
    ]


def render(
    results: list[SizeResult], opts: Options, started: dt.datetime, wall_s: float, load: float
) -> str:
    servers = sorted({r.virtuoso.server for r in results if r.virtuoso is not None})
    out = [
        f"## ClaimGraph benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}. {versions()}"
        + (f", {', '.join(servers)}" if servers else "")
        + f". Seed {opts.seed}; whole run {wall_s:.0f} s; load average at the start "
        f"{load:.1f} (other work on the machine slows every number).",
        "",
    ]
    for r in results:
        out += [*size_table(r, opts), ""]
    out += [*_target_lines(results, opts), "", *_notes(results, opts)]
    return "\n".join(out) + "\n"


def _target_lines(results: list[SizeResult], opts: Options) -> list[str]:
    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = ["Targets:", ""]
    for r in results:
        size = _short(r.statements)
        loads = {k: r.quads / v for k, v in r.load_s.items()}
        lines.append(
            f"- load ≥ {TARGET_LOAD_TPS // 1000}k triples/s at {size}: "
            + ", ".join(
                f"`{k}` {v / 1000:,.0f}k/s {mark(v >= TARGET_LOAD_TPS)}" for k, v in loads.items()
            )
        )
        ours, theirs, bound = battery_totals(r, opts.rdflib_limit_s)
        if theirs is not None and r.rdflib is not None:
            ratios = [
                (r.rdflib.queries[name].seconds or opts.rdflib_limit_s) / t.seconds
                for name, t in r.queries.items()
                if t.seconds
            ]
            speed = theirs / ours if ours else 0.0
            lines.append(
                f"- research battery ≥ {TARGET_BATTERY_SPEEDUP:g}× rdflib at {size}: "
                f"{'≥ ' if bound else ''}{speed:,.0f}× on the sum of medians "
                f"(per query {min(ratios):,.1f}× to {'≥ ' if bound else ''}{max(ratios):,.0f}×) "
                f"{mark(speed >= TARGET_BATTERY_SPEEDUP)}"
            )
        if r.writes.times:
            median = statistics.median(r.writes.times)
            target = (
                mark(median < TARGET_WRITE_S)
                if r.statements >= TARGET_WRITE_AT
                else f"{mark(median < TARGET_WRITE_S)} (target is at {_short(TARGET_WRITE_AT)})"
            )
            lines.append(
                f"- validated {opts.write_statements}-statement write < "
                f"{TARGET_WRITE_S * 1000:.0f} ms at {size}: {_duration(median)} {target}"
                + (
                    f" ({r.writes.refused} of {len(r.writes.times)} wrongly refused)"
                    if r.writes.refused
                    else ""
                )
            )
        page = r.claim_page.median_s
        lines.append(
            f"- claim page < {TARGET_CLAIM_PAGE_S * 1000:.0f} ms server time at {size}: "
            f"{_duration(page)} median, {_duration(r.claim_page.max_s)} max "
            f"{mark(page < TARGET_CLAIM_PAGE_S)}"
        )
        if r.virtuoso is not None:
            endpoint = r.virtuoso.endpoint
            for engine, timings in (("Oxigraph", r.sparql), ("Virtuoso", r.virtuoso.queries)):
                worse = [
                    f"`{name}` {t.seconds / own:.1f}×"
                    for name, t in timings.items()
                    if t.seconds
                    and (own := endpoint[name].seconds)
                    and t.seconds / own > TARGET_ENDPOINT_RATIO
                ]
                lines.append(
                    f"- ClaimGraph's `/sparql` on {engine} ≤ {TARGET_ENDPOINT_RATIO:g}× "
                    f"Virtuoso's own endpoint, per query, at {size}: "
                    + (f"NOT met for {', '.join(worse)}" if worse else "met for every query")
                )
    return lines


def _notes(results: list[SizeResult], opts: Options) -> list[str]:
    notes = [
        "Notes:",
        "",
        "- Oxigraph: query times are medians of "
        f"up to {opts.runs} runs after a warm-up, results fully read: in process on an "
        "in-memory store (`store.query`, as rdflib runs), and through `/sparql` of the service "
        "on its on-disk store (`EmbeddedStore`, as `claimgraph serve --data-dir` keeps it) — "
        "the app under waitress on loopback, a form POST of the query, SPARQL JSON read to the "
        "end (request parsing, the static checks, a worker process on a RocksDB checkpoint, "
        "the serializer, the round trip). The claim page, the writes and the dump run on the "
        "on-disk store too. That `/sparql` column runs with the result cache off and without "
        "in-memory copies (`CLAIMGRAPH_QUERY_CACHE_BYTES=0`, `CLAIMGRAPH_QUERY_MEMORY=0`); the "
        'rows "in-memory workers · cache warm" run the battery again through `/sparql` with '
        "the workers answering from in-memory copies of the snapshot (the default memory "
        "budget; the last column there divides by Virtuoso's own endpoint), then with the "
        "result cache on (its first run fills the cache: the median is of hits). The copy row "
        "times a copy's background load: from the end of the first query on a snapshot to the "
        "first answer from its copy.",
        "- rdflib: `Dataset(default_union=True)` with its own SPARQL engine, medians of up to "
        f"{opts.rdflib_runs} runs, each query in a child process killed at "
        f"{opts.rdflib_limit_s:g} s; ≥ marks a lower bound from that limit.",
        "- Virtuoso: a throw-away `virtuoso-t` per size (Debian's package; cache sized to the "
        "data). Its queries go through ClaimGraph's `/sparql` of the service on the remote "
        "store (the static checks, the registered graphs named as the dataset, the server's "
        "answer passed on); \"Virtuoso's own endpoint\" is the same POST sent to Virtuoso's "
        "`/sparql`. The last two columns divide ClaimGraph's `/sparql` — on Oxigraph, then on "
        "Virtuoso — by Virtuoso's own endpoint.",
        "- ¹: the query's first run took more than half of its time budget "
        f"({opts.budget_s:g} s), so that cold run is its only one.",
        "- Claim page: the HTML page of "
        f"{opts.claim_pages} claims picked at random, each asked for once through the app in "
        "process (server time, no network), after one warm-up request.",
        "- A validated write goes through `ClaimGraph.write` (focus-node validation of the "
        "delta on a staging graph, then one `apply`); the baseline validates the whole graph "
        "plus the first timed batch with `Validator.validate_graph` (pyshacl on rdflib, no "
        f"focus nodes), as a write path without them would, in a child killed at "
        f"{opts.shacl_limit_s:g} s.",
        "- Dump: the whole store as N-Quads into a file (`Store.dump`; rdflib: "
        f"`Dataset.serialize`); rdflib's and the remote store's are killed at "
        f"{opts.dump_limit_s:g} s.",
        "- Peak RSS: of the benchmark's own process in each phase (the in-memory copy for the "
        "in-process battery included), of the query worker processes, and of `virtuoso-t`; "
        "`python -m bench.throughput` gives the service's own.",
    ]
    for r in results:
        size = _short(r.statements)
        if r.rdflib_note:
            notes.append(f"- {size}: {r.rdflib_note}.")
        if r.virtuoso_note:
            notes.append(f"- {size}: Virtuoso {r.virtuoso_note}.")
        if r.writes.times:
            notes.append(
                f"- {size}: each write added {r.writes.quads} quads and validated "
                f"{r.writes.focus_nodes} focus nodes."
            )
        for engine, w in (("Oxigraph", r.writes), ("Virtuoso", r.virtuoso and r.virtuoso.writes)):
            if w and w.problem:
                notes.append(
                    f"- {size}, {engine}: ⚠ `ClaimGraph.write` refused {w.refused} of "
                    f"{len(w.times)} timed writes, of batches that conform when the whole graph "
                    "is validated; each refused batch was stored unvalidated so that later "
                    "batches could refer to it (the time shown is still that of the refused "
                    "attempt). The first refusal:\n\n```\n" + w.problem + "\n```"
                )
        if r.rdflib is not None:
            for name, t in r.rdflib.queries.items():
                ours = r.queries[name]
                if t.rows is not None and t.rows != ours.rows:
                    notes.append(
                        f"- {size}: `{name}` returned {ours.rows} rows on Oxigraph and "
                        f"{t.rows} on rdflib."
                    )
            shacl = r.rdflib.shacl
            if shacl is not None and shacl.note:
                notes.append(f"- {size}: whole-graph validation: {shacl.note}.")
            elif shacl is not None:
                notes.append(
                    f"- {size}: whole-graph validation of the graph plus the first timed batch "
                    "conforms (the batch is valid data)."
                )
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").split("\n", 1)[0]
    )
    parser.add_argument("--sizes", default="10000,100000", help="statement counts, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    for flag, name, what in (
        ("--rdflib-limit", "rdflib_limit_s", "time limit per rdflib query"),
        ("--shacl-limit", "shacl_limit_s", "limit for the whole-graph pyshacl baseline"),
        ("--dump-limit", "dump_limit_s", "time limit of each dump"),
    ):
        parser.add_argument(
            flag, dest=name, type=float, default=getattr(Options, name), metavar="S", help=what
        )
    parser.add_argument(
        "--rdflib-max-triples",
        type=int,
        default=Options.rdflib_max_triples,
        help="skip rdflib above this many triples",
    )
    parser.add_argument(
        "--shacl-max-statements",
        type=int,
        default=Options.shacl_max_statements,
        help="whole-graph pyshacl baseline only up to this size",
    )
    parser.add_argument("--writes", type=int, default=Options.writes, help="timed writes per size")
    parser.add_argument(
        "--validation-max-statements",
        type=int,
        default=Options.validation_max_statements,
        help="the validated load's and whole-store validation's rows only up to this size "
        "(--validation-only runs them at any size)",
    )
    parser.add_argument(
        "--no-virtuoso",
        dest="virtuoso",
        action="store_false",
        help="leave out the Virtuoso column (no server is installed or started)",
    )
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument(
        "--validation-only",
        action="store_true",
        help="only the validated `claimgraph load` and the whole-store `claimgraph validate`",
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    opts = Options(
        seed=args.seed,
        rdflib_limit_s=args.rdflib_limit_s,
        shacl_limit_s=args.shacl_limit_s,
        rdflib_max_triples=args.rdflib_max_triples,
        shacl_max_statements=args.shacl_max_statements,
        writes=args.writes,
        validation_max_statements=args.validation_max_statements,
        virtuoso=args.virtuoso,
        dump_limit_s=args.dump_limit_s,
    )
    started = dt.datetime.now(dt.UTC)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    if args.validation_only:
        lines = [
            f"Validation rows of `python -m bench.run`, {started:%Y-%m-%d %H:%M} UTC, "
            f"{machine()}; load average at the start {load:.1f}.",
            "",
        ]
        for size in sorted(sizes):
            v = in_fresh_process(validation_size, size, opts)
            lines += [f"### {size:,} statements ({v.quads / 1e6:.2f}M quads loaded)", ""]
            lines += ["| measurement | Oxigraph |", "|---|--:|"]
            lines += [f"| {label} | {cell} |" for label, cell in validation_rows(v)]
            lines.append("")
        text = "\n".join(lines)
        if args.out is not None:
            args.out.write_text(text, encoding="utf-8")
        sys.stdout.write(text)
        return 0
    results: list[SizeResult] = []
    too_slow: set[str] = set()
    for size in sorted(sizes):
        result = in_fresh_process(run_size, size, opts, frozenset(too_slow))
        if result.rdflib is not None:
            too_slow |= {n for n, t in result.rdflib.queries.items() if t.note.startswith(">")}
        results.append(result)
        if args.out is not None:  # what is done so far survives a failure at a larger size
            report = render(results, opts, started, time.perf_counter() - t0, load)
            args.out.write_text(report, encoding="utf-8")
    sys.stdout.write(render(results, opts, started, time.perf_counter() - t0, load))
    return 0


if __name__ == "__main__":
    # Run the importable module, not __main__: worker processes unpickle its functions by name.
    from bench import run

    sys.exit(run.main())
