"""Resource pages and validated writes on both stores: server time and reads of the store.

``python -m bench.resourcepages --statements 100000`` generates a synthetic case file, loads it
into an on-disk Oxigraph store and into a throw-away Virtuoso (``bench.virtuoso``), analyses
the propagation (the claim page's "How it spread"), then on each store requests the page of
sampled claims, actors, statements, sources and evidence items (HTML, through the Flask app in
process: no network time; each resource once, after one warm-up request per kind) and makes
validated writes of 100 statements (``ClaimGraph.write``, the propagation analysis stopped;
the first a warm-up). Each row gives
the median and slowest server time and the most reads one request sent to the store (calls
of the ``Store`` interface, each one request to a remote store). Prints one Markdown table.
``--stores virtuoso`` (or ``oxigraph``) runs one store only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
from flask.testing import FlaskClient

from bench.counting import CountingStore
from bench.generate import CaseFileGenerator
from bench.linkeddata import _sample
from bench.run import _ontology_quads, timed_writes
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store import Store
from claimgraph.store.embedded import EmbeddedStore

KINDS = ("Claim", "Actor", "Statement", "Source", "Evidence")
STORES = ("oxigraph", "virtuoso")
WRITES = 5


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cell(times: list[float], reads: list[int]) -> str:
    if not times:
        return "none sampled"
    times = sorted(times)
    return (
        f"{statistics.median(times) * 1000:.0f} ms (max {times[-1] * 1000:.0f} ms), "
        f"≤ {max(reads)} reads"
    )


def _pages(
    graph: ClaimGraph, client: FlaskClient, counting: CountingStore, samples: dict[str, list[str]]
) -> dict[str, str]:
    out = {}
    for cls, iris in samples.items():
        times, reads = [], []
        for i, iri in enumerate(iris):
            path = "/" + iri.removeprefix(graph.iris.base)
            counting.reset()
            t0 = time.perf_counter()
            response = client.get(path, headers={"Accept": "text/html"})
            response.get_data()
            took = time.perf_counter() - t0
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")
            if i > 0:  # the first of each kind warms up
                times.append(took)
                reads.append(counting.total)
        out[cls] = _cell(times, reads)
    return out


def _writes(graph: ClaimGraph, counting: CountingStore, batches: list[list[ox.Quad]]) -> str:
    reads = []
    original = graph.validator.validate_delta

    def counted(store: Store, delta: object, **kwargs: object) -> object:
        counting.reset()
        try:
            return original(store, delta, **kwargs)  # type: ignore[arg-type]
        finally:
            reads.append(counting.total)

    graph.validator.validate_delta = counted  # type: ignore[assignment,method-assign]
    try:
        writes = timed_writes(graph, batches)
    finally:
        graph.validator.validate_delta = original  # type: ignore[method-assign]
    note = f", {writes.refused} refused" if writes.refused else ""
    return _cell(writes.times, reads[1:]).replace("reads", "reads in validation") + note


def _measure(
    graph: ClaimGraph,
    samples: dict[str, list[str]],
    batches: list[list[ox.Quad]],
    propagation: bool = True,
) -> dict[str, str]:
    counting = CountingStore(graph.store)
    graph.store = counting
    app = create_app(graph.settings.replace(propagation=propagation), graph=graph)
    runner = app.extensions.get("claimgraph.propagation")
    if runner is not None:
        t0 = time.perf_counter()
        runner.ensure()
        analysed = runner.wait(graph.generation, 3600)
        _log(f"  propagation analysed in {time.perf_counter() - t0:.1f} s ({analysed})")
    out = _pages(graph, app.test_client(), counting, samples)
    if runner is not None:
        # the analysis reruns after each write, beside it, and reads the store too: off here
        runner.stop()
    out["validated write of 100 statements"] = _writes(graph, counting, batches)
    graph.store = counting.store
    return out


def run(
    statements: int,
    seed: int,
    requests: int,
    tmp: Path,
    stores: tuple[str, ...] = STORES,
    propagation: bool = True,
) -> list[tuple[str, ...]]:
    from bench.virtuoso import Virtuoso

    _log(f"generating {statements} statements")
    generator = CaseFileGenerator(statements, seed)
    quads = list(generator)
    batches = [generator.write_batch(100) for _ in range(WRITES + 1)]  # the same on each store
    settings = Settings(seed=False)
    results: dict[str, dict[str, str]] = {}

    # the resources are sampled on the embedded store (either way: the same on both)
    _log("Oxigraph on disk: load")
    store = EmbeddedStore(tmp / "store")
    store.bulk_load(quads)
    graph = ClaimGraph(settings, store=store)
    store.bulk_load(_ontology_quads(graph))
    rng = random.Random(seed)
    samples = {cls: _sample(graph, cls, requests + 1, rng) for cls in KINDS}
    if "oxigraph" in stores:
        _log("Oxigraph on disk: pages and writes")
        results["Oxigraph on disk"] = _measure(graph, samples, batches, propagation)
    graph.close()
    if "virtuoso" not in stores:
        return _table(results)

    root = tmp / "virtuoso"
    root.mkdir()
    server = Virtuoso.for_data(root, len(quads), 600)
    try:
        server.start()
        _log("Virtuoso: load")
        remote = server.store(timeout=600.0)
        remote.bulk_load(quads)
        loader = ClaimGraph(settings.replace(**server.settings()), store=remote)
        remote.bulk_load(_ontology_quads(loader))
        loader.close()
        _log(f"Virtuoso: checkpoint, restart: {server.restart_after_load():.1f} s")
        remote = server.store(timeout=600.0)
        graph = ClaimGraph(settings.replace(**server.settings()), store=remote)
        _log("Virtuoso: pages and writes")
        results[f"Virtuoso ({(remote.http.server or '').split()[0]})"] = _measure(
            graph, samples, batches, propagation
        )
        graph.close()
    finally:
        server.stop()
    return _table(results)


def _table(results: dict[str, dict[str, str]]) -> list[tuple[str, ...]]:
    """A head row (the stores), then one row per measure."""
    keys = [*KINDS, "validated write of 100 statements"]
    rows: list[tuple[str, ...]] = [("store", *results)]
    for key in keys:
        name = f"{key.lower()} page" if key in KINDS else key
        rows.append((name, *(r[key] for r in results.values())))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--requests", type=int, default=20, help="resources sampled per kind")
    parser.add_argument(
        "--stores", default=",".join(STORES), help="comma-separated: oxigraph, virtuoso"
    )
    parser.add_argument(
        "--no-propagation",
        action="store_true",
        help='no propagation analysis first (claim pages without "How it spread"): at 1M '
        "statements its first run takes most of an hour on Virtuoso",
    )
    args = parser.parse_args(argv)
    stores = tuple(s.strip() for s in args.stores.split(",") if s.strip())
    if not stores or set(stores) - set(STORES):
        parser.error(f"--stores: one or both of {', '.join(STORES)}")
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        rows = run(
            args.statements, args.seed, args.requests, Path(tmp), stores, not args.no_propagation
        )
    head, *body = rows
    print(f"| {args.statements:,} statements | " + " | ".join(head[1:]) + " |")
    print("|" + " --- |" * len(head))
    for row in body:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
