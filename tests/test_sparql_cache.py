"""Faster answers on the embedded store: the result cache (per write generation, bounded in
bytes) and the query workers' in-memory copies of the snapshot, through the real loopback
server and on the executor itself."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from claimgraph.iris import PREFIXES
from claimgraph.sparql import safety
from claimgraph.sparql.cache import ResultCache
from claimgraph.sparql.executor import QueryExecutor
from claimgraph.sparql.worker import Job, Outcome
from claimgraph.validation import Validator
from tests.conftest import ROOT
from tests.sparql_helpers import AUTH, UPDATE, Live, http, live_server

CG = "PREFIX cg: <https://claimgraph.org/ontology#>\n"
EX = "https://claimgraph.org/"
COUNT_CLAIMS = CG + "SELECT (COUNT(?c) AS ?n) WHERE { ?c a cg:Claim }"
CSV = {"Accept": "text/csv"}
QUERIES = sorted((ROOT / "queries").glob("*.rq"))


def _insert_claim(live: Live, name: str) -> None:
    text = (
        f"{CG}INSERT DATA {{ GRAPH <{EX}graph/load> {{ <{EX}id/claim/{name}> a cg:Claim ; "
        f'cg:text "Claim {name}"@en . }} }}'
    )
    reply = http("POST", live.url + "update", data=text, headers={**AUTH, **UPDATE})
    assert reply.status == 200, reply.text


def _count(live: Live) -> tuple[int, str]:
    reply = http("GET", live.sparql, params={"query": COUNT_CLAIMS}, headers=CSV)
    assert reply.status == 200, reply.text
    return int(reply.text.split()[1]), reply.headers["X-ClaimGraph-Cache"]


@pytest.fixture
def on_disk(validator: Validator, tmp_path: Path) -> Iterator[Live]:
    with live_server(validator, data_dir=tmp_path / "store", query_workers=2) as live:
        yield live


def test_the_same_query_again_is_a_hit_until_a_write(on_disk: Live) -> None:
    n, first = _count(on_disk)
    assert first == "miss"
    again, second = _count(on_disk)
    assert (again, second) == (n, "hit")
    runs = on_disk.service.executor.stats.snapshots
    _insert_claim(on_disk, "cached-then-written")
    after, third = _count(on_disk)
    assert (after, third) == (n + 1, "miss")  # the write is seen at once, never the kept answer
    assert on_disk.service.executor.stats.snapshots == runs + 1
    assert _count(on_disk) == (n + 1, "hit")


def test_the_key_is_the_whole_request(on_disk: Live) -> None:
    """Another format, or another dataset, is another entry (a CSV answer is never sent as
    JSON, nor one graph's answer for the union's)."""
    assert _count(on_disk)[1] == "miss"
    as_json = http(
        "GET",
        on_disk.sparql,
        params={"query": COUNT_CLAIMS},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert as_json.headers["X-ClaimGraph-Cache"] == "miss"
    assert json.loads(as_json.body)["results"]["bindings"]
    one_graph = http(
        "GET",
        on_disk.sparql,
        params={"query": COUNT_CLAIMS, "default-graph-uri": f"{EX}graph/none"},
        headers=CSV,
    )
    assert one_graph.headers["X-ClaimGraph-Cache"] == "miss"
    assert one_graph.text.split()[1] == "0"
    assert _count(on_disk)[1] == "hit"


def test_truncated_results_are_kept_with_their_flags(validator: Validator) -> None:
    query = CG + "SELECT ?c WHERE { ?c a cg:Claim }"
    with live_server(validator, max_rows=2) as live:
        replies = [http("GET", live.sparql, params={"query": query}, headers=CSV) for _ in range(2)]
    assert [r.headers["X-ClaimGraph-Cache"] for r in replies] == ["miss", "hit"]
    for reply in replies:
        assert reply.headers["X-ClaimGraph-Truncated"] == "true"
        assert reply.headers["X-ClaimGraph-Row-Limit"] == "2"
        assert len(reply.text.split()) == 3  # the header and two rows
    assert replies[0].body == replies[1].body


def test_the_size_bound_evicts_the_least_recently_used(validator: Validator) -> None:
    queries = [CG + f"SELECT ?c WHERE {{ ?c a cg:Claim }} LIMIT {n}" for n in (1, 2, 3, 4)]
    with live_server(validator, query_cache_bytes=1200) as live:
        cache = live.service.cache

        def ask(query: str) -> str:
            reply = http("GET", live.sparql, params={"query": query}, headers=CSV)
            assert reply.status == 200, reply.text
            return str(reply.headers["X-ClaimGraph-Cache"])

        assert [ask(q) for q in queries] == ["miss"] * 4
        assert cache.bytes <= 1200
        assert cache.evictions > 0
        assert 0 < len(cache) < 4
        assert ask(queries[-1]) == "hit"  # the latest stays
        assert ask(queries[0]) == "miss"  # the first went
    with live_server(validator, query_cache_bytes=300) as live:  # a result larger than it
        for _ in range(2):
            reply = http("GET", live.sparql, params={"query": queries[-1]}, headers=CSV)
            assert reply.headers["X-ClaimGraph-Cache"] == "miss"
        assert len(live.service.cache) == 0


def test_a_cache_of_zero_bytes_keeps_nothing(validator: Validator) -> None:
    with live_server(validator, query_cache_bytes=0) as live:
        assert [_count(live)[1] for _ in range(2)] == ["miss", "miss"]


def test_the_cache_never_keeps_an_answer_older_than_its_generation() -> None:
    cache = ResultCache(10_000)
    job = Job("SELECT * WHERE { ?s ?p ?o }")
    old, new = Outcome("solutions", b"old", "json"), Outcome("solutions", b"new", "json")
    cache.put(job, 1, old)
    assert cache.get(job, 1) == old
    assert cache.get(job, 2) is None  # a write: the old answer is gone
    cache.put(job, 1, old)  # a query that started before the write ends after it
    assert cache.get(job, 2) is None
    cache.put(job, 2, new)
    assert cache.get(job, 2) == new
    assert cache.get(job, 1) is None  # never an answer for another generation
    assert cache.get(job, 3) is None and len(cache) == 0  # the next write empties it


# -- in-memory copies ------------------------------------------------------------------------
def _job(text: str) -> Job:
    analysis = safety.check(text, safety.Limits(100_000, 100, frozenset(), 1000), "query")
    return Job(
        text,
        union=not analysis.has_dataset,
        results_format="json",
        graph_format="nquads",
        prefixes=tuple(PREFIXES.items()),
    )


def _rows(outcome: Outcome) -> list[str]:
    """The answer as a sorted list (rows in another order are the same answer)."""
    if outcome.kind == "triples":
        return sorted(str(t) for t in ox.parse(outcome.body, ox.RdfFormat.N_QUADS))
    doc = json.loads(outcome.body)
    if "boolean" in doc:
        return [str(doc["boolean"])]
    rows = []
    for binding in doc["results"]["bindings"]:
        for term in binding.values():
            # GROUP_CONCAT joins in no defined order (the battery separates with ", " or " ")
            term["value"] = sorted(term["value"].replace(", ", " ").split(" "))
        rows.append(json.dumps(binding, sort_keys=True))
    return sorted(rows)


def _until_from_memory(executor: QueryExecutor, job: Job) -> Outcome:
    """Ask ``job`` until a worker answers it from its copy (it loads in the background)."""
    deadline = time.monotonic() + 60
    while True:
        outcome = executor.run(job, timeout=30)
        if outcome.memory or time.monotonic() > deadline:
            return outcome
        time.sleep(0.05)


@pytest.fixture(scope="module")
def with_propagation(
    validator: Validator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    where = tmp_path_factory.mktemp("memory") / "store"
    with live_server(validator, data_dir=where, propagation=True, propagation_delay=0.0) as live:
        runner = live.app.extensions["claimgraph.propagation"]
        runner.ensure()
        assert runner.wait(live.graph.generation, 120), "the propagation analysis never ended"
        yield live


def test_in_memory_answers_equal_on_disk_answers(with_propagation: Live) -> None:
    graph = with_propagation.graph
    disk = QueryExecutor(graph.store, lambda: graph.generation, workers=1, memory=0)  # type: ignore[arg-type]
    memory = QueryExecutor(graph.store, lambda: graph.generation, workers=1, memory=1 << 30)  # type: ignore[arg-type]
    try:
        assert _until_from_memory(memory, _job(COUNT_CLAIMS)).memory
        assert memory.stats.memory_copies == 1
        assert QUERIES
        rows = 0
        for path in QUERIES:
            job = _job(path.read_text(encoding="utf-8"))
            on_disk, in_memory = disk.run(job, timeout=60), memory.run(job, timeout=60)
            assert not on_disk.memory and in_memory.memory, path.name
            assert _rows(in_memory) == _rows(on_disk), path.name
            rows += on_disk.rows
        assert rows > len(QUERIES)  # the battery has answers to compare
        assert disk.stats.from_memory == 0
    finally:
        disk.close()
        memory.close()


def test_a_write_is_seen_at_once_by_workers_holding_a_copy(on_disk: Live) -> None:
    executor = on_disk.service.executor
    job = _job(COUNT_CLAIMS)
    before = _until_from_memory(executor, job)
    assert before.memory, "no worker answered from an in-memory copy"
    _insert_claim(on_disk, "seen-through-memory")
    after = executor.run(job, timeout=30)
    assert _rows(after) != _rows(before)
    # the copy was of the old snapshot: the write was applied to it, not the copy loaded again
    assert after.memory and executor.stats.patched == 1


def test_copies_follow_many_writes_by_their_deltas(on_disk: Live) -> None:
    executor = on_disk.service.executor
    job = _job(COUNT_CLAIMS)
    assert _until_from_memory(executor, job).memory
    for n in range(3):  # several writes between two queries: all applied, in order
        _insert_claim(on_disk, f"one-of-many-{n}")
    many = executor.run(job, timeout=30)
    assert many.memory and executor.stats.patched == 1
    disk = QueryExecutor(on_disk.graph.store, lambda: on_disk.graph.generation, workers=1)  # type: ignore[arg-type]
    try:
        assert _rows(many) == _rows(disk.run(job, timeout=30))
        # a write that takes a claim out again is applied as a removal
        update = f"DELETE WHERE {{ GRAPH ?g {{ <{EX}id/claim/one-of-many-1> ?p ?o }} }}"
        reply = http("POST", on_disk.url + "update", data=update, headers={**AUTH, **UPDATE})
        assert reply.status == 200, reply.text
        fewer = executor.run(job, timeout=30)
        assert fewer.memory and executor.stats.patched == 2
        assert _rows(fewer) == _rows(disk.run(job, timeout=30)) != _rows(many)
    finally:
        disk.close()


def test_a_snapshot_too_large_for_the_budget_is_read_from_disk(
    validator: Validator, tmp_path: Path
) -> None:
    with live_server(validator, data_dir=tmp_path / "store", query_memory=1000) as live:
        executor = live.service.executor
        for _ in range(5):
            assert not executor.run(_job(COUNT_CLAIMS), timeout=30).memory
            time.sleep(0.05)
        assert executor.stats.memory_copies == 0
