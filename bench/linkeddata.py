"""Linked-data benchmark: dump throughput and resource dereference latency at one size.

``python -m bench.linkeddata --statements 100000`` generates a synthetic case file
(``bench.generate``), bulk-loads it into an on-disk Oxigraph store (as ``make serve`` keeps
it), and measures through the Flask app (in process, so no network time is counted):

- dumps: quads per second for ``/dumps/claimgraph.nq``, ``.trig`` and ``.nq.gz`` when the dump
  is written (first request after a write) and when it is served from the dump file;
- dereferencing: median and 95th-percentile latency of ``GET /id/<kind>/<slug>`` for sampled
  claims, actors, statements and sources, in Turtle, JSON-LD and HTML.

It prints one Markdown table.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import pyoxigraph as ox

from bench import twocolumn
from bench.generate import generate
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.iris import CG
from claimgraph.store.embedded import EmbeddedStore

KINDS = ("Claim", "Actor", "Statement", "Source")
FORMATS = (("Turtle", "text/turtle"), ("JSON-LD", "application/ld+json"), ("HTML", "text/html"))
DUMPS = ("claimgraph.nq", "claimgraph.trig", "claimgraph.nq.gz")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sample(graph: ClaimGraph, cls: str, n: int, rng: random.Random) -> list[str]:
    result = graph.store.query(
        f"SELECT ?x WHERE {{ ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{CG}{cls}> . "
        f'?x a ?c FILTER(STRSTARTS(STR(?x), "{graph.iris.base}id/")) }}'
    )
    assert isinstance(result, ox.QuerySolutions)
    iris = sorted({row["x"].value for row in result})
    return rng.sample(iris, min(n, len(iris)))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(statements: int, seed: int, requests: int, data_dir: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    _log(f"generating {statements} statements and loading them")
    store = EmbeddedStore(data_dir)
    t0 = time.perf_counter()
    store.bulk_load(generate(statements, seed))
    graph = ClaimGraph(Settings(seed=False), store=store)
    for seed_file in graph.seed_files():
        if seed_file.parent.name == "ontology":
            store.bulk_load(graph.read_files([seed_file])[0])
    n_quads = store.count()
    rows.append(("quads in the store", f"{n_quads:,}"))
    rows.append(("generate + bulk load", f"{time.perf_counter() - t0:.1f} s"))
    client = create_app(graph.settings, graph=graph).test_client()

    for name in DUMPS:
        for label in ("written", "cached"):
            t0 = time.perf_counter()
            resp = client.get(f"/dumps/{name}")
            size = sum(len(chunk) for chunk in resp.response)
            resp.close()
            took = time.perf_counter() - t0
            assert resp.status_code == 200, resp.status_code
            rows.append(
                (
                    f"dump `{name}` ({label})",
                    f"{n_quads / took:,.0f} quads/s ({took:.2f} s, {size / 1e6:.0f} MB)",
                )
            )
        graph.generation += 1  # as a write would: the next dump is written again

    rng = random.Random(seed)
    for cls in KINDS:
        sample = _sample(graph, cls, requests, rng)
        for fmt, media_type in FORMATS:
            times = []
            for iri in sample:
                path = "/" + iri.removeprefix(graph.iris.base)
                t0 = time.perf_counter()
                resp = client.get(path, headers={"Accept": media_type})
                resp.get_data()
                times.append(time.perf_counter() - t0)
                assert resp.status_code == 200, (path, resp.status_code)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            rows.append(
                (
                    f"dereference {cls.lower()} as {fmt} ({len(times)} IRIs)",
                    f"median {_ms(statistics.median(times))}, p95 {_ms(p95)}",
                )
            )
    graph.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    return twocolumn.main(run, __doc__, requests=200, header="", argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
