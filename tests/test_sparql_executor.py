"""Query isolation: worker processes on store snapshots, killed at the timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from claimgraph.errors import ClientOverLimit, QueryEngineError, QueryTimeout, ServerBusy
from claimgraph.sparql.executor import QueryExecutor
from claimgraph.sparql.worker import Job
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore

G = ox.NamedNode("https://example.org/graph/g")
COUNT = Job("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", results_format="csv")
PATTERNS = " . ".join(f"?s{i} ?p{i} ?o{i}" for i in range(6))  # 20^6 rows to count
CARTESIAN = Job(f"SELECT (COUNT(*) AS ?n) WHERE {{ {PATTERNS} }}")


class Versioned:
    """A store and a write generation, as ClaimGraph keeps them."""

    def __init__(self, path: Path | None) -> None:
        self.store = EmbeddedStore(path)
        self.generation = 0

    def add(self, n: int) -> None:
        quads = [
            ox.Quad(ox.NamedNode(f"https://example.org/s{self.generation}-{i}"), G, G, G)
            for i in range(n)
        ]
        self.store.apply(Delta(add=quads))
        self.generation += 1


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[tuple[Versioned, QueryExecutor]]:
    data = Versioned(tmp_path / "store")
    data.add(20)
    executor = QueryExecutor(data.store, lambda: data.generation, workers=1, wait=0.3)
    yield data, executor
    executor.close()
    data.store.close()


def count(executor: QueryExecutor) -> int:
    return int(executor.run(COUNT, timeout=10).body.split()[1])


def test_snapshots_follow_writes_and_old_ones_are_removed(
    tmp_path: Path, on_disk: tuple[Versioned, QueryExecutor]
) -> None:
    data, executor = on_disk
    assert count(executor) == 20
    roots = list(tmp_path.glob(".store.snapshots-*"))
    assert len(roots) == 1  # beside the store: checkpoints there are hard links
    assert count(executor) == 20
    assert executor.stats.snapshots == 1  # no write, no new snapshot
    data.add(5)
    assert count(executor) == 25  # a write is seen by the next query
    assert executor.stats.snapshots == 2
    assert len([p for p in roots[0].iterdir() if p.name.startswith("g")]) == 1
    executor.close()
    assert not roots[0].exists()


def test_snapshots_of_a_dead_process_are_cleaned_up(tmp_path: Path) -> None:
    stale = tmp_path / ".store.snapshots-999999999"
    (stale / "g1-x").mkdir(parents=True)
    data = Versioned(tmp_path / "store")
    executor = QueryExecutor(data.store, lambda: data.generation, workers=1)
    try:
        count(executor)
        assert not stale.exists()
    finally:
        executor.close()
        data.store.close()


def test_an_in_memory_store_is_copied_for_the_workers() -> None:
    data = Versioned(None)
    data.add(3)
    executor = QueryExecutor(data.store, lambda: data.generation, workers=1)
    try:
        assert count(executor) == 3
        data.add(4)
        assert count(executor) == 7
    finally:
        executor.close()
        data.store.close()


def test_busy_workers_and_the_timeout(on_disk: tuple[Versioned, QueryExecutor]) -> None:
    _, executor = on_disk
    count(executor)
    errors: list[Exception] = []

    def runaway() -> None:
        try:
            executor.run(CARTESIAN, timeout=1.5)
        except QueryTimeout as err:
            errors.append(err)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    with pytest.raises(ServerBusy, match="CLAIMGRAPH_QUERY_WAIT"):
        executor.run(COUNT, timeout=10)  # the only worker stays busy past the wait
    thread.join(timeout=10)
    assert len(errors) == 1 and executor.stats.killed == 1
    assert count(executor) == 20  # a fresh worker took its place


def test_a_crashing_query_costs_a_worker_not_the_server(
    on_disk: tuple[Versioned, QueryExecutor],
) -> None:
    _, executor = on_disk
    too_deep = Job("SELECT * WHERE " + "{" * 20000 + "}" * 20000)  # past the static checks
    with pytest.raises(QueryEngineError, match="restarted"):
        executor.run(too_deep, timeout=10)
    assert executor.stats.crashed == 1
    assert count(executor) == 20


def _runaway(executor: QueryExecutor, client: str, seconds: float = 2.0) -> threading.Thread:
    """A query from ``client`` that holds a worker until it is stopped after ``seconds``."""

    def go() -> None:
        with pytest.raises(QueryTimeout):
            executor.run(CARTESIAN, timeout=seconds, client=client)

    thread = threading.Thread(target=go)
    thread.start()
    return thread


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[QueryExecutor]:
    data = Versioned(tmp_path / "store")
    data.add(20)
    executor = QueryExecutor(
        data.store, lambda: data.generation, workers=2, wait=0.3, client_limit=1
    )
    count(executor)  # workers started and ready
    yield executor
    executor.close()
    data.store.close()


def test_one_client_cannot_run_more_than_its_limit(two_workers: QueryExecutor) -> None:
    executor = two_workers
    thread = _runaway(executor, "a")
    time.sleep(0.3)
    with pytest.raises(ClientOverLimit, match="CLAIMGRAPH_QUERY_CLIENT_LIMIT"):
        executor.run(COUNT, timeout=10, client="a")
    # Another client is served at once, by the worker client "a" could not take.
    assert executor.run(COUNT, timeout=10, client="b").rows == 1
    thread.join(timeout=10)
    assert executor.run(COUNT, timeout=10, client="a").rows == 1  # its slot is back


def test_a_busy_client_never_takes_the_last_worker(tmp_path: Path) -> None:
    data = Versioned(tmp_path / "store")
    data.add(20)
    executor = QueryExecutor(
        data.store, lambda: data.generation, workers=2, wait=0.3, client_limit=5
    )
    try:
        count(executor)
        thread = _runaway(executor, "a")
        time.sleep(0.3)
        # Within its limit, but the one free worker is kept for clients running nothing.
        with pytest.raises(ServerBusy, match="CLAIMGRAPH_QUERY_WAIT"):
            executor.run(COUNT, timeout=10, client="a")
        assert executor.run(COUNT, timeout=10, client="b").rows == 1
        thread.join(timeout=10)
    finally:
        executor.close()
        data.store.close()


def test_a_leased_snapshot_outlives_newer_ones(
    tmp_path: Path, on_disk: tuple[Versioned, QueryExecutor]
) -> None:
    """A job's snapshot stays on disk until the job ends, whatever other jobs sweep."""
    data, executor = on_disk
    count(executor)
    leased = executor._lease_snapshot()  # as a job waiting to send it to a worker holds it
    try:
        for _ in range(3):
            data.add(1)
            count(executor)  # each takes a new snapshot and sweeps
        assert (leased / "CURRENT").exists()
    finally:
        executor._return_snapshot(leased)
    count(executor)
    assert not leased.exists()  # returned, not current: the next sweep deleted it


def _from_memory(executor: QueryExecutor, job: Job) -> list[str]:
    """``job``'s answer once a worker gives it from its in-memory copy (loaded in the
    background after the first job)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        outcome = executor.run(job, timeout=10)
        if outcome.memory:
            return outcome.body.decode().split()
        time.sleep(0.05)
    raise AssertionError("no worker answered from an in-memory copy")


def test_copies_follow_writes_they_can_apply_and_reload_after_others(tmp_path: Path) -> None:
    data = Versioned(tmp_path / "store")
    data.add(20)
    executor = QueryExecutor(data.store, lambda: data.generation, workers=1, memory=1 << 30)
    per_graph = Job(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
        results_format="csv",
    )

    def write(delta: Delta) -> None:
        data.store.apply(delta)
        data.generation += 1
        executor.record(data.generation, delta)  # as ClaimGraph's write listener would

    try:
        _from_memory(executor, per_graph)
        other = ox.NamedNode("https://example.org/graph/other")
        s = ox.NamedNode("https://example.org/s0-0")
        write(Delta(add=[ox.Quad(s, G, G, other)]))
        write(Delta(remove=[ox.Quad(s, G, G, G)]))
        write(Delta(drop_graphs=[other]))
        outcome = executor.run(per_graph, timeout=10)
        assert outcome.memory and executor.stats.patched == 1  # three writes, one patch
        assert outcome.body.decode().split() == ["g,n", f"{G.value},19"]
        # blank nodes keep no label through a copy's load: such a write is not applied to
        # a copy, which is read from disk until a new one is loaded
        write(Delta(add=[ox.Quad(ox.BlankNode(), G, G, G)]))
        outcome = executor.run(per_graph, timeout=10)
        assert not outcome.memory and executor.stats.patched == 1
        assert outcome.body.decode().split() == ["g,n", f"{G.value},20"]
        assert _from_memory(executor, per_graph) == ["g,n", f"{G.value},20"]
    finally:
        executor.close()
        data.store.close()
