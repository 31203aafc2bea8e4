"""The endpoint under concurrent load, through the real loopback server: reads stay correct
while writes happen (snapshot lifetimes), and runaway queries cannot starve other clients."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import pytest

from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, UPDATE, Live, http, live_server

CG = "PREFIX cg: <https://claimgraph.org/ontology#>\n"
EX = "https://claimgraph.org/"
COUNT_CLAIMS = CG + "SELECT (COUNT(?c) AS ?n) WHERE { ?c a cg:Claim }"
# Six unconstrained patterns over the shipped data: runs until the timeout stops it.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { " + " . ".join(f"?s{i} ?p{i} ?o{i}" for i in range(6))
RUNAWAY += " }"
READERS, READS = 12, 40
CSV = {"Accept": "text/csv"}


@pytest.fixture
def on_disk(validator: Validator, tmp_path: Path) -> Iterator[tuple[Live, Path]]:
    with live_server(validator, data_dir=tmp_path / "store", query_workers=2) as live:
        yield live, tmp_path


def _claim(name: str) -> str:
    return (
        f"{CG}INSERT DATA {{ GRAPH <{EX}graph/load> {{ <{EX}id/claim/{name}> a cg:Claim ; "
        f'cg:text "Claim {name}"@en . }} }}'
    )


def test_reads_stay_correct_while_writes_happen(on_disk: tuple[Live, Path]) -> None:
    """Every SELECT answers while other requests write (each write makes the next query take
    a new snapshot, and old ones are deleted); no query may lose the snapshot it was given."""
    live, where = on_disk
    failures: list[str] = []
    counts: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        for _ in range(READS):
            reply = http("GET", live.sparql, params={"query": COUNT_CLAIMS}, headers=CSV)
            if reply.status != 200:
                failures.append(f"{reply.status} {reply.text}")
            else:
                counts.append(int(reply.text.split()[1]))

    def writer() -> None:
        i = 0
        while not stop.is_set():
            # A plain insert, then one whose WHERE reads a scratch copy made within the update.
            text = _claim(f"w{i}")
            if i % 3 == 2:
                text += (
                    f' ;\n{CG}INSERT {{ GRAPH <{EX}graph/load> {{ ?c cg:text "encore"@fr }} }} '
                    f"WHERE {{ GRAPH <{EX}graph/load> {{ ?c a cg:Claim }} "
                    f"FILTER(?c = <{EX}id/claim/w{i}>) }}"
                )
            reply = http("POST", live.url + "update", data=text, headers={**AUTH, **UPDATE})
            if reply.status != 200:
                failures.append(f"write {reply.status} {reply.text}")
            i += 1

    readers = [threading.Thread(target=reader) for _ in range(READERS)]
    writing = threading.Thread(target=writer)
    writing.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=120)
    stop.set()
    writing.join(timeout=60)
    assert not failures, failures[:5]
    assert len(counts) == READERS * READS
    executor = live.service.executor
    assert executor.stats.snapshots > 3  # the writes did make queries take new snapshots
    (root,) = where.glob(".store.snapshots-*")
    # Only the current snapshot and the ones workers still have open remain: none leaks.
    assert len(list(root.glob("g*"))) <= 1 + 2
    assert not list(root.glob("scratch-*"))  # the updates' scratch copies are gone too


@dataclass
class Answer:
    status: int
    retry_after: str | None
    body: str
    seconds: float


def ask(live: Live, query: str, source: str) -> Answer:
    """One GET /sparql from the loopback address ``source`` (127.0.0.x): another client."""
    where = urllib.parse.urlsplit(live.sparql)
    conn = HTTPConnection(where.hostname or "", where.port, timeout=30, source_address=(source, 0))
    started = time.monotonic()
    try:
        conn.request(
            "GET", where.path + "?" + urllib.parse.urlencode({"query": query}), headers=CSV
        )
        resp = conn.getresponse()
        body = resp.read().decode()
        return Answer(resp.status, resp.getheader("Retry-After"), body, time.monotonic() - started)
    finally:
        conn.close()


def test_runaway_queries_do_not_starve_other_clients(validator: Validator) -> None:
    """Three clients each send two queries that run to the timeout; meanwhile a fourth
    client's cheap queries are all answered at once. Each runaway client gets one worker (its
    limit), and its second query a 503 with Retry-After."""
    settings = {
        "query_workers": 4,
        "query_client_limit": 1,
        "query_wait": 1.0,
        "query_timeout": 3.0,
    }
    with live_server(validator, **settings) as live:
        # Start every worker first (a spawned worker takes a moment to be ready).
        warm = [
            threading.Thread(target=ask, args=(live, COUNT_CLAIMS, f"127.0.0.{10 + i}"))
            for i in range(4)
        ]
        for t in warm:
            t.start()
        for t in warm:
            t.join(timeout=30)

        runaway: dict[str, list[Answer]] = {f"127.0.0.{i}": [] for i in (2, 3, 4)}

        def run(source: str) -> None:
            runaway[source].append(ask(live, RUNAWAY, source))

        threads = [threading.Thread(target=run, args=(s,)) for s in runaway for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        cheap: list[Answer] = []
        while any(t.is_alive() for t in threads):
            cheap.append(ask(live, COUNT_CLAIMS, "127.0.0.5"))
        for t in threads:
            t.join(timeout=30)

    assert len(cheap) >= 5
    assert all(a.status == 200 for a in cheap), [a.body for a in cheap if a.status != 200]
    assert max(a.seconds for a in cheap) < 2.0, sorted(a.seconds for a in cheap)[-3:]
    for source, answers in runaway.items():
        # one over the client's own limit (429), one stopped at the timeout (503)
        by_status = {a.status: a.body for a in answers}
        assert sorted(by_status) == [429, 503], (source, answers)
        assert all(a.retry_after for a in answers)
        assert "CLAIMGRAPH_QUERY_CLIENT_LIMIT" in by_status[429]
        assert "ran longer than 3 s" in by_status[503], by_status
