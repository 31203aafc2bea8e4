"""Browsing-page benchmark: server time of each page type at one size.

``python -m bench.pages --statements 100000`` generates a synthetic case file, bulk-loads it
into an on-disk Oxigraph store and requests the pages through the Flask app in process (no
network time): the claim, actor, statement and source pages of sampled resources, the claims
list (first page, a search, a deep page), and the home page — first request after a write
(its aggregates computed) and cached. Prints one Markdown table.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

from flask.testing import FlaskClient

from bench import twocolumn
from bench.generate import generate
from bench.linkeddata import _sample
from server.app import create_app
from server.config import Settings
from server.core import ClaimGraph
from server.store.embedded import EmbeddedStore

KINDS = ("Claim", "Actor", "Statement", "Source")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _get(client: FlaskClient, path: str) -> float:
    t0 = time.perf_counter()
    resp = client.get(path, headers={"Accept": "text/html"})
    resp.get_data()
    took = time.perf_counter() - t0
    assert resp.status_code == 200, (path, resp.status_code)
    return took


def _summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def run(statements: int, seed: int, requests: int, data_dir: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    _log(f"generating {statements} statements and loading them")
    store = EmbeddedStore(data_dir)
    store.bulk_load(generate(statements, seed))
    graph = ClaimGraph(Settings(seed=False), store=store)
    for seed_file in graph.seed_files():
        if seed_file.parent.name == "ontology":
            store.bulk_load(graph.read_files([seed_file])[0])
    rows.append(("quads in the store", f"{store.count():,}"))
    client = create_app(graph.settings, graph=graph).test_client()

    rng = random.Random(seed)
    for cls in KINDS:
        sample = _sample(graph, cls, requests, rng)
        times = [_get(client, "/" + iri.removeprefix(graph.iris.base)) for iri in sample]
        rows.append((f"{cls.lower()} page ({len(times)} resources)", _summary(times)))

    rows.append(("home page, first request (cold)", f"{_get(client, '/') * 1000:.0f} ms"))
    rows.append(("claims list, first request (cold)", f"{_get(client, '/claims') * 1000:.0f} ms"))
    graph.generation += 1  # as a write would: the aggregates are computed again
    after = _get(client, "/"), _get(client, "/claims")
    rows.append(("home page, first request after a write", f"{after[0] * 1000:.0f} ms"))
    rows.append(("claims list, first request after a write", f"{after[1] * 1000:.0f} ms"))
    time.sleep(10)  # let the background recomputation finish before timing the cached pages
    rows.append(("home page, cached", _summary([_get(client, "/") for _ in range(20)])))
    for label, path in (
        ("claims list, first page", "/claims"),
        ("claims list, search", "/claims?q=port"),
        ("claims list, page 20", "/claims?page=20"),
        ("claims list, sorted by text", "/claims?sort=text"),
        ("claims list, stance filter", "/claims?stance=denies"),
        ("claims list, date range", "/claims?from=2020-01&to=2020-06"),
    ):
        rows.append((label, _summary([_get(client, path) for _ in range(5)])))
    graph.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    return twocolumn.main(run, __doc__, requests=50, header="server time", argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
