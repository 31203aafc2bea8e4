"""Endpoint benchmark: the research battery through ``/sparql`` over HTTP, next to the
store's own in-process latency, so that the endpoint's overhead shows.

``python -m bench.endpoint --statements 10000`` generates a synthetic case file
(``bench.generate``), bulk-loads it into an on-disk Oxigraph store (as ``make serve`` keeps
it), serves it with waitress on loopback, and for each query of ``bench/queries/`` measures
the median of N runs of:

- in process: ``store.query`` and reading every row (as ``bench.run`` does);
- over HTTP: a POST of the query to ``/sparql`` (``application/sparql-query``, SPARQL JSON),
  response read to the end: request parsing, static checks, a worker process, serialization
  by Oxigraph, and the loopback round trip.

It prints one Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from waitress.server import create_server

from bench.generate import generate
from bench.run import battery, materialise
from server.app import create_app
from server.config import Settings
from server.core import ClaimGraph
from server.store.embedded import EmbeddedStore


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _median(run: Callable[[], object], runs: int) -> float:
    run()  # warm-up (the first HTTP query also takes the store's snapshot)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def run(statements: int, seed: int, runs: int, data_dir: Path) -> list[tuple[str, str, str, str]]:
    _log(f"generating {statements} statements and loading them")
    store = EmbeddedStore(data_dir)
    store.bulk_load(generate(statements, seed))
    settings = Settings(seed=False, query_timeout=120, max_rows=1_000_000)
    graph = ClaimGraph(settings, store=store)
    for seed_file in graph.seed_files():
        if seed_file.parent.name == "ontology":
            store.bulk_load(graph.read_files([seed_file])[0])
    app = create_app(settings, graph=graph)
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="bench")
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/sparql"

    def http(query: str) -> bytes:
        request = urllib.request.Request(
            url,
            data=query.encode(),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return bytes(response.read())

    rows = []
    try:
        for name, query in battery():
            _log(f"  {name}")
            local = _median(lambda q=query: materialise(store.query(q)), runs)  # type: ignore[misc]
            remote = _median(lambda q=query: http(q), runs)  # type: ignore[misc]
            rows.append((name, _ms(local), _ms(remote), _ms(remote - local)))
    finally:
        server.task_dispatcher.shutdown()
        server.close()
        app.extensions["claimgraph.sparql"].close()
        graph.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cg-bench-endpoint-") as tmp:
        rows = run(args.statements, args.seed, args.runs, Path(tmp) / "store")
    print(f"| query ({args.statements:,} statements) | in process | HTTP `/sparql` | overhead |")
    print("| --- | --: | --: | --: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
