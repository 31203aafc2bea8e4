"""The benchmark: ``python -m bench.run --sizes 10000,100000`` prints one Markdown table.

For each size it generates a case file, then measures, against rdflib's own engine on the same
data in the same run: load throughput; the research battery (``bench/queries/*.rq``); and a
validated write of 100 statements (``ClaimGraph.write``) against whole-graph validation.

Each size runs in a fresh process, so peak memory is per size; rdflib runs in another process,
and each rdflib query in a forked child that is killed when it passes ``--rdflib-limit``
(a query inside rdflib's engine cannot be interrupted any other way). A query that passed the
limit at one size is not run again at a larger one.
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
import pyshacl
import rdflib

from bench.generate import CaseFileGenerator
from server.config import Settings
from server.core import ClaimGraph
from server.errors import ValidationFailed
from server.store import Delta
from server.store.embedded import EmbeddedStore
from server.validation import Validator

ROOT = Path(__file__).resolve().parent.parent
QUERY_DIR = Path(__file__).resolve().parent / "queries"
T = TypeVar("T")

# Targets from the brief.
TARGET_LOAD_TPS = 200_000
TARGET_BATTERY_SPEEDUP = 20.0
TARGET_WRITE_S = 0.250
TARGET_WRITE_AT = 100_000


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
    peak_rss_mb: dict[str, float]  # phase → MB (queries: the largest query child)


@dataclass
class SizeResult:
    statements: int
    quads: int
    generate_s: float
    load_s: dict[str, float]  # method → seconds for ``quads`` quads
    queries: dict[str, Timing]
    writes: list[float]
    write_quads: int
    write_focus_nodes: int
    write_refused: int  # writes the validator refused (then applied unvalidated: see run_size)
    write_problem: str | None
    rdflib: RdflibResult | None
    rdflib_note: str
    peak_rss_mb: dict[str, float] = field(default_factory=dict)


# -- memory --------------------------------------------------------------------------------
def _reset_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):  # elsewhere the peak covers the process so far
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

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
        store.close()
        del store
        store = EmbeddedStore(None)
        t0 = time.perf_counter()
        store.bulk_load(quads)
        load_s["bulk_load"] = time.perf_counter() - t0
        n_quads = len(quads)
        del quads
        gc.collect()
        peaks["load"] = _peak_mb()

        settings = Settings(seed=False)
        graph = ClaimGraph(settings, store=store)
        store.bulk_load(_ontology_quads(graph))

        _log(f"{statements}: research battery on Oxigraph")
        _reset_peak()
        queries: dict[str, Timing] = {}
        for name, text in battery():

            def run(text: str = text, store: EmbeddedStore = store) -> int:
                return materialise(store.query(text))

            queries[name] = _median_runs(run, opts.runs, opts.budget_s)
        peaks["queries"] = _peak_mb()

        _log(f"{statements}: validated writes of {opts.write_statements} statements")
        _reset_peak()
        writes: list[float] = []
        problem: str | None = None
        focus = refused = 0
        batches = [generator.write_batch(opts.write_statements) for _ in range(opts.writes + 1)]
        for i, batch in enumerate(batches):
            delta = Delta(add=batch)
            t0 = time.perf_counter()
            try:
                report = graph.write(delta)
                accepted = True
            except ValidationFailed as err:
                report, accepted = err.report, False
            elapsed = time.perf_counter() - t0
            focus = report.focus_nodes
            if not accepted:
                # The batches conform (tests/test_bench_generator.py checks that): a refusal
                # is the validator's error. Store the batch anyway, or every later batch,
                # which refers to its claims and sources, would be refused for a real reason.
                problem = problem or report.text(limit=5)
                store.apply(delta)
            if i > 0:  # the first write warms up the validator
                writes.append(elapsed)
                refused += not accepted
        peaks["writes"] = _peak_mb()
        graph.close()
        del graph, store
        gc.collect()

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
    return SizeResult(
        statements=statements,
        quads=n_quads,
        generate_s=generate_s,
        load_s=load_s,
        queries=queries,
        writes=writes,
        write_quads=len(batches[1]) if len(batches) > 1 else 0,
        write_focus_nodes=focus,
        write_refused=refused,
        write_problem=problem,
        rdflib=rdflib_result,
        rdflib_note=note,
        peak_rss_mb=peaks,
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
    return RdflibResult(load_s, triples, results, shacl, peaks)


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


def render(
    results: list[SizeResult], opts: Options, started: dt.datetime, wall_s: float, load: float
) -> str:
    head = ["measurement"]
    for r in results:
        label = f"{_short(r.statements)} st. ({r.quads / 1e6:.2f}M triples)"
        head += [f"{label}: ClaimGraph", "rdflib", "×"]
    rows: list[list[str]] = []

    def row(label: str, cells: Iterable[tuple[str, str, str]]) -> None:
        rows.append([label] + [c for triple in cells for c in triple])

    row("generate (quads/s)", ((_rate(r.quads, r.generate_s), "", "") for r in results))
    row(
        "load: `bulk_load` of quads in memory",
        ((_rate(r.quads, r.load_s["bulk_load"]), "", "") for r in results),
    )
    row(
        "load: `apply(Delta(add=…))`, one transaction",
        ((_rate(r.quads, r.load_s["apply"]), "", "") for r in results),
    )

    def parse_cells(r: SizeResult) -> tuple[str, str, str]:
        ours = r.load_s["parse+bulk_load"]
        if r.rdflib is None:
            return _rate(r.quads, ours), "skipped", "—"
        theirs = r.rdflib.load_s
        return _rate(r.quads, ours), _rate(r.quads, theirs), _ratio(theirs, ours)

    row("load: parse N-Quads file + load (rdflib: `Dataset.parse`)", map(parse_cells, results))

    for name, _ in battery():

        def query_cells(r: SizeResult, name: str = name) -> tuple[str, str, str]:
            ours = r.queries[name]
            cell = f"{_duration(ours.seconds)} ({ours.rows} rows)"
            if r.rdflib is None:
                return cell, "skipped", "—"
            theirs = r.rdflib.queries[name]
            if theirs.seconds is None:
                return cell, theirs.note, _ratio(opts.rdflib_limit_s, ours.seconds, True)
            mark = "" if theirs.rows == ours.rows else f" ⚠ {theirs.rows} rows"
            return cell, _duration(theirs.seconds) + mark, _ratio(theirs.seconds, ours.seconds)

        row(f"query `{name}`", map(query_cells, results))

    def total_cells(r: SizeResult) -> tuple[str, str, str]:
        ours, theirs, bound = battery_totals(r, opts.rdflib_limit_s)
        if theirs is None:
            return _duration(ours), "skipped", "—"
        return (
            _duration(ours),
            ("≥ " if bound else "") + _duration(theirs),
            _ratio(theirs, ours, bound),
        )

    row("research battery, sum of medians", map(total_cells, results))

    def write_cells(r: SizeResult) -> tuple[str, str, str]:
        if not r.writes:
            return "—", "—", "—"
        ours = statistics.median(r.writes)
        cell = f"{_duration(ours)} (max {_duration(max(r.writes))})"
        if r.write_refused:
            cell += f", {r.write_refused}/{len(r.writes)} refused ⚠"
        shacl = r.rdflib.shacl if r.rdflib is not None else None
        if shacl is None:
            return cell, f"not run (> {_short(opts.shacl_max_statements)} st.)", "—"
        if shacl.seconds is None:
            return cell, shacl.note, _ratio(opts.shacl_limit_s, ours, True)
        theirs = _duration(shacl.seconds) + (f" ({shacl.note})" if shacl.note else "")
        return cell, theirs, _ratio(shacl.seconds, ours)

    row(
        f"validated write of {opts.write_statements} statements, median of {opts.writes} "
        "(rdflib: whole-graph pyshacl)",
        map(write_cells, results),
    )

    def rss_cells(r: SizeResult, phase: str) -> tuple[str, str, str]:
        ours = f"{r.peak_rss_mb[phase]:,.0f} MB" if phase in r.peak_rss_mb else ""
        theirs = r.rdflib.peak_rss_mb.get(phase) if r.rdflib is not None else None
        return ours, f"{theirs:,.0f} MB" if theirs else "", ""

    for phase in ("generate", "load", "queries", "writes"):
        row(f"peak RSS: {phase}", (rss_cells(r, phase) for r in results))

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    table = [line(head), line(["---"] + ["--:"] * (len(head) - 1))] + [line(r) for r in rows]
    out = [
        f"## ClaimGraph benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}. {versions()}. Seed {opts.seed}; whole run {wall_s:.0f} s; "
        f"load average at the start {load:.1f} (other work on the machine slows every number).",
        "",
        *table,
        "",
        *_target_lines(results, opts),
        "",
        *_notes(results, opts),
    ]
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
        if theirs is not None:
            ratios = []
            for name, t in r.queries.items():
                other = r.rdflib.queries[name] if r.rdflib else None
                if other is not None and t.seconds:
                    ratios.append((other.seconds or opts.rdflib_limit_s) / t.seconds)
            speed = theirs / ours if ours else 0.0
            lines.append(
                f"- research battery ≥ {TARGET_BATTERY_SPEEDUP:g}× rdflib at {size}: "
                f"{'≥ ' if bound else ''}{speed:,.0f}× on the sum of medians "
                f"(per query {min(ratios):,.1f}× to {'≥ ' if bound else ''}{max(ratios):,.0f}×) "
                f"{mark(speed >= TARGET_BATTERY_SPEEDUP)}"
            )
        if r.writes:
            median = statistics.median(r.writes)
            target = (
                mark(median < TARGET_WRITE_S)
                if r.statements >= TARGET_WRITE_AT
                else f"{mark(median < TARGET_WRITE_S)} (target is at {_short(TARGET_WRITE_AT)})"
            )
            lines.append(
                f"- validated {opts.write_statements}-statement write < "
                f"{TARGET_WRITE_S * 1000:.0f} ms at {size}: {_duration(median)} {target}"
                + (
                    f" ({r.write_refused} of {len(r.writes)} wrongly refused)"
                    if r.write_refused
                    else ""
                )
            )
    return lines


def _notes(results: list[SizeResult], opts: Options) -> list[str]:
    notes = [
        "Notes:",
        "",
        "- Oxigraph runs in memory through `EmbeddedStore` (`server.store`); query times are "
        f"medians of up to {opts.runs} runs after a warm-up, results fully read. rdflib runs "
        "`Dataset(default_union=True)` with its own SPARQL engine, medians of up to "
        f"{opts.rdflib_runs} runs, each query in a child process killed at "
        f"{opts.rdflib_limit_s:g} s; ≥ marks a lower bound from that limit.",
        "- A validated write goes through `ClaimGraph.write` (focus-node validation of the "
        "delta on a staging graph, then one `apply`); the baseline validates the whole graph "
        "plus the first timed batch with `Validator.validate_graph` (pyshacl on rdflib, no "
        f"focus nodes), as a write path without them would, in a child killed at "
        f"{opts.shacl_limit_s:g} s.",
    ]
    for r in results:
        size = _short(r.statements)
        if r.rdflib_note:
            notes.append(f"- {size}: {r.rdflib_note}.")
        if r.writes:
            notes.append(
                f"- {size}: each write added {r.write_quads} quads and validated "
                f"{r.write_focus_nodes} focus nodes."
            )
        if r.write_problem:
            notes.append(
                f"- {size}: ⚠ `ClaimGraph.write` refused {r.write_refused} of {len(r.writes)} "
                "timed writes, of batches that conform when the whole graph is validated; each "
                "refused batch was stored unvalidated so that later batches could refer to it "
                "(the time shown is still that of the refused attempt). The first refusal:"
                "\n\n```\n" + r.write_problem + "\n```"
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
    parser.add_argument(
        "--rdflib-limit",
        type=float,
        default=Options.rdflib_limit_s,
        metavar="SECONDS",
        help="time limit per rdflib query",
    )
    parser.add_argument(
        "--rdflib-max-triples",
        type=int,
        default=Options.rdflib_max_triples,
        help="skip rdflib above this many triples",
    )
    parser.add_argument(
        "--shacl-limit",
        type=float,
        default=Options.shacl_limit_s,
        metavar="SECONDS",
        help="limit for the whole-graph pyshacl baseline",
    )
    parser.add_argument(
        "--shacl-max-statements",
        type=int,
        default=Options.shacl_max_statements,
        help="whole-graph pyshacl baseline only up to this size",
    )
    parser.add_argument("--writes", type=int, default=Options.writes, help="timed writes per size")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    opts = Options(
        seed=args.seed,
        rdflib_limit_s=args.rdflib_limit,
        shacl_limit_s=args.shacl_limit,
        rdflib_max_triples=args.rdflib_max_triples,
        shacl_max_statements=args.shacl_max_statements,
        writes=args.writes,
    )
    started = dt.datetime.now(dt.UTC)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    results: list[SizeResult] = []
    too_slow: set[str] = set()
    for size in sorted(sizes):
        result = in_fresh_process(run_size, size, opts, frozenset(too_slow))
        if result.rdflib is not None:
            too_slow |= {n for n, t in result.rdflib.queries.items() if t.note.startswith(">")}
        results.append(result)
    report = render(results, opts, started, time.perf_counter() - t0, load)
    sys.stdout.write(report)
    if args.out is not None:
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    # Run the importable module, not __main__: worker processes unpickle its functions by name.
    from bench import run

    sys.exit(run.main())
