"""Browsing-page benchmark: server time of each page type at one size.

``python -m bench.pages --statements 100000`` generates a synthetic case file, bulk-loads it
into an on-disk Oxigraph store and requests the pages through the Flask app in process (no
network time): the claim, actor, statement and source pages of sampled resources; the home
page, the claims list and the case timeline cold, after validated writes (10 statements each)
and cached (the claim pages with their "How it spread", once the propagation is analysed); the
first and the cached request of each claims-list filter and of a text search; the index pages
of each kind (first request: the index is built; cached), a facet, a page, a search across kinds;
and the list
after a write this process did not see (another instance's: the index is rebuilt). Prints
one Markdown table.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import pyoxigraph as ox
from flask.testing import FlaskClient

from bench import twocolumn
from bench.generate import CaseFileGenerator
from bench.linkeddata import _sample
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.iris import CG
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore

KINDS = ("Claim", "Actor", "Statement", "Source")
WRITES = 5
SETTLE = 5.0  # seconds for background recomputations to finish before the next timing


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _get(client: FlaskClient, path: str) -> float:
    t0 = time.perf_counter()
    resp = client.get(path, headers={"Accept": "text/html"})
    resp.get_data()
    took = time.perf_counter() - t0
    assert resp.status_code == 200, (path, resp.status_code)
    return took


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"median {_ms(statistics.median(times))}, p95 {_ms(p95)}"


def _most_used(graph: ClaimGraph, predicate: str) -> str:
    result = graph.store.query(
        f"SELECT ?o (COUNT(*) AS ?n) WHERE {{ ?s <{CG}{predicate}> ?o }} "
        "GROUP BY ?o ORDER BY DESC(?n) LIMIT 1"
    )
    assert isinstance(result, ox.QuerySolutions)
    node = next(iter(result))["o"]
    assert isinstance(node, ox.NamedNode)
    return node.value


def _claims(**params: str) -> str:
    return "/claims?" + urllib.parse.urlencode(params)


def run(statements: int, seed: int, requests: int, data_dir: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    _log(f"generating {statements} statements and loading them")
    store = EmbeddedStore(data_dir)
    generator = CaseFileGenerator(statements, seed)
    store.bulk_load(generator)
    graph = ClaimGraph(Settings(seed=False), store=store)
    for seed_file in graph.seed_files():
        if seed_file.parent.name == "ontology":
            store.bulk_load(graph.read_files([seed_file])[0])
    rows.append(("quads in the store", f"{store.count():,}"))
    app = create_app(graph.settings, graph=graph)
    client = app.test_client()
    # the claim pages' "How it spread" reads the derived propagation graph: analyse first
    # (`serve` does it at start)
    runner = app.extensions["claimgraph.propagation"]
    t0 = time.perf_counter()
    runner.ensure()
    assert runner.wait(graph.generation, 3600), "the propagation analysis did not finish"
    rows.append(("propagation analysis (background, once)", _ms(time.perf_counter() - t0)))

    rng = random.Random(seed)
    for cls in KINDS:
        sample = _sample(graph, cls, requests, rng)
        times = [_get(client, "/" + iri.removeprefix(graph.iris.base)) for iri in sample]
        rows.append((f"{cls.lower()} page ({len(times)} resources)", _summary(times)))

    rows.append(("case timeline, first request (cold)", _ms(_get(client, "/timeline"))))
    topic = _most_used(graph, "topic")
    for label, path in (
        ("case timeline, first page", "/timeline"),
        ("case timeline, page 20", "/timeline?page=20"),
        ("case timeline, 200 a page", "/timeline?per_page=200"),
        ("case timeline, a topic", "/timeline?" + urllib.parse.urlencode({"topic": topic})),
        ("case timeline, from a date", "/timeline?from=2020-06"),
        ("case timeline as JSON", "/timeline.json"),
    ):
        rows.append((label, _summary([_get(client, path) for _ in range(5)])))
    rows.append(("home page, first request (cold)", _ms(_get(client, "/"))))
    rows.append(("claims list, first request (cold)", _ms(_get(client, "/claims"))))
    time.sleep(SETTLE)

    speaker = _most_used(graph, "speaker")
    filters = (
        ("topic", _claims(topic=_most_used(graph, "topic"))),
        ("speaker", _claims(speaker=speaker)),
        ("stance", _claims(stance="denies")),
        ("verdict", _claims(verdict="FALSE")),
        ("date range", _claims(**{"from": "2019", "to": "2020"})),
        ("language", _claims(lang="zh")),
        ("speaker and stance", _claims(speaker=speaker, stance="denies")),
        ("stance and date range", _claims(stance="denies", **{"from": "2020-01", "to": "2020-06"})),
        ("text search", _claims(q="port")),
        ("text search, no match", _claims(q="zzz no such text")),
    )
    for label, path in filters:
        first = _get(client, path)
        again = [_get(client, path) for _ in range(5)]
        rows.append((f"claims list, {label}: first request", _ms(first)))
        rows.append((f"claims list, {label}: again", _summary(again)))

    for name in ("actors", "sources", "evidence", "statements", "topics"):
        rows.append((f"/{name}, first request (index built)", _ms(_get(client, f"/{name}"))))
        rows.append((f"/{name}, cached", _summary([_get(client, f"/{name}") for _ in range(5)])))
    for label, path in (
        (
            "/statements, speaker facet",
            "/statements?" + urllib.parse.urlencode({"speaker": speaker}),
        ),
        ("/statements, page 50", "/statements?page=50"),
        ("/statements, text search", "/statements?q=port"),
        ("/search, text", "/search?q=port"),
        ("/search, no match", "/search?q=zzz+no+such+text"),
    ):
        first = _get(client, path)
        again = [_get(client, path) for _ in range(5)]
        rows.append((f"{label}: first request", _ms(first)))
        rows.append((f"{label}: again", _summary(again)))

    _log(f"{WRITES} validated writes")
    after: dict[str, list[float]] = {"list": [], "filtered": [], "home": [], "timeline": []}
    for _ in range(WRITES):
        graph.write(Delta(add=generator.write_batch(10)))
        after["list"].append(_get(client, "/claims"))
        after["filtered"].append(_get(client, _claims(stance="denies")))
        after["home"].append(_get(client, "/"))
        after["timeline"].append(_get(client, "/timeline"))
        time.sleep(SETTLE)
    for key, label in (
        ("list", "claims list, first request after a write"),
        # after the list's request, which updated the index
        ("filtered", "claims list, stance filter, the request after that"),
        ("home", "home page, first request after a write"),
        ("timeline", "case timeline, first request after a write"),
    ):
        times = after[key]
        rows.append(
            (
                label,
                f"median {_ms(statistics.median(times))}, max {_ms(max(times))}",
            )
        )
    graph.generation += 1  # a write by another instance: no delta seen here
    rows.append(("claims list, first request after an unseen write", _ms(_get(client, "/claims"))))
    rows.append(("home page, first request after an unseen write", _ms(_get(client, "/"))))
    time.sleep(4 * SETTLE)  # the index and the home page's summaries are rebuilt meanwhile

    rows.append(("home page, cached", _summary([_get(client, "/") for _ in range(20)])))
    for label, path in (
        ("claims list, first page", "/claims"),
        ("claims list, page 20", "/claims?page=20"),
        ("claims list, sorted by text", "/claims?sort=text"),
    ):
        rows.append((label, _summary([_get(client, path) for _ in range(5)])))
    graph.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    return twocolumn.main(run, __doc__, requests=50, header="server time", argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
