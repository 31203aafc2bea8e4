"""Page processes (``CLAIMGRAPH_PAGE_PROCESSES``): the ``/id/…`` pages rendered in worker
processes over snapshots are the serving process's pages, show a write once it is answered,
survive a process that dies, and queue rather than fail under more clients than processes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from claimgraph import pageprocs
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.pageprocs import PageProcesses, default_page_processes
from claimgraph.validation import Validator
from tests.live_server import Reply, fetch, seeded_with_reviews, serve
from tests.test_linkeddata import one_of_each_kind

BASE = "https://claimgraph.org/"
TOKEN = "page-processes-token"
HTML = {"Accept": "text/html", "X-Request-Id": "same-id"}
# Differ between any two responses, whoever renders them.
UNSTABLE = {"date", "server"}


@pytest.fixture(scope="module")
def graph(validator: Validator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClaimGraph]:
    """On disk, as served: the snapshots then list a resource's values in the live store's
    order (an in-memory store's order differs from RocksDB's, and no page query sorts them
    all)."""
    cg = seeded_with_reviews(validator, tmp_path_factory.mktemp("store"))
    yield cg
    cg.close()


def app_for(graph: ClaimGraph, processes: int) -> Flask:
    settings = graph.settings.replace(
        page_processes=processes, propagation=False, write_token=TOKEN
    )
    return create_app(settings, graph=graph)


def procs(app: Flask) -> PageProcesses:
    found = app.extensions.get("claimgraph.page_processes")
    assert isinstance(found, PageProcesses)
    return found


@contextmanager
def two_servers(graph: ClaimGraph) -> Iterator[tuple[str, str, PageProcesses]]:
    one, many = app_for(graph, 1), app_for(graph, 2)
    assert "claimgraph.page_processes" not in one.extensions  # 1: today's one process
    try:
        with serve(one) as url_one, serve(many) as url_many:
            yield url_one, url_many, procs(many)
    finally:
        procs(many).executor.close()


def comparable(reply: Reply) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k.lower(), v) for k, v in reply.headers.items() if k.lower() not in UNSTABLE)
    return reply.status, reply.body, headers


def test_pages_from_the_page_processes_are_the_serving_processes(graph: ClaimGraph) -> None:
    paths = [iri.removeprefix(BASE) for iri in one_of_each_kind(graph).values()]
    assert len(paths) >= 5
    asks = [(p, HTML) for p in paths]
    asks += [(paths[0], {"Accept": "text/turtle", "X-Request-Id": "same-id"})]
    asks += [("id/claim/no-such-claim", HTML)]  # the 404 page
    with two_servers(graph) as (one, many, page_procs):
        for path, headers in asks:
            a, b = fetch(f"{one}/{path}", headers), fetch(f"{many}/{path}", headers)
            assert comparable(a) == comparable(b), path
            assert a.status in (200, 404)
        # HEAD: the same headers (the length of the GET's body), no body
        head = fetch(f"{many}/{paths[0]}", HTML, method="HEAD")
        get = fetch(f"{many}/{paths[0]}", HTML)
        assert head.status == 200 and head.body == b""
        assert head.headers["Content-Length"] == str(len(get.body))
        # Really rendered elsewhere: by the page processes, not by this one.
        rendered = page_procs.stats.rendered
        assert sum(rendered.values()) == len(asks) + 2
        assert os.getpid() not in rendered
        assert set(rendered) <= set(page_procs.executor.pids())
        # A list page stays in the serving process (its summaries are kept there).
        assert fetch(f"{many}/claims", HTML).status == 200
        assert sum(rendered.values()) == len(asks) + 2


def test_a_write_is_on_the_next_page(graph: ClaimGraph) -> None:
    app = app_for(graph, 2)
    page_procs = procs(app)
    try:
        with serve(app) as url:
            for n in range(3):
                path = f"/id/claim/page-process-write-{n}"
                assert fetch(url + path, HTML).status == 404
                text = f"A claim written before its page was asked for, number {n}"
                update = (
                    "PREFIX cg: <https://claimgraph.org/ontology#>\n"
                    f"INSERT DATA {{ GRAPH <{BASE}graph/page-processes> {{ "
                    f'<{BASE}{path[1:]}> a cg:Claim ; cg:text "{text}"@en }} }}'
                )
                wrote = fetch(
                    url + "/update",
                    {
                        "Authorization": f"Bearer {TOKEN}",
                        "Content-Type": "application/sparql-update",
                    },
                    method="POST",
                    data=update.encode(),
                )
                assert wrote.status in (200, 204), wrote.text()
                page = fetch(url + path, HTML)
                assert page.status == 200 and text in page.text()
        assert sum(page_procs.stats.rendered.values()) == 6
    finally:
        page_procs.executor.close()


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_a_page_process_that_dies_is_replaced_and_the_page_answered(graph: ClaimGraph) -> None:
    app = app_for(graph, 2)
    page_procs = procs(app)
    path = next(iter(one_of_each_kind(graph).values())).removeprefix(BASE)
    try:
        with serve(app) as url:
            assert fetch(f"{url}/{path}", HTML).status == 200
            before = page_procs.executor.pids()
            assert len(before) == 2
            for pid in before:
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while not all(_dead(pid) for pid in before) and time.monotonic() < deadline:
                time.sleep(0.05)
            # A dead process is found when it is sent a page: each is replaced and the page
            # sent again. Pairs at once, until both dead ones have been sent one.
            statuses: list[int] = []
            with ThreadPoolExecutor(4) as pool:
                for _ in range(10):
                    statuses += pool.map(lambda _: fetch(f"{url}/{path}", HTML).status, range(4))
                    if page_procs.executor.stats.crashed == 2:
                        break
            assert statuses == [200] * len(statuses)
            assert page_procs.executor.stats.crashed == 2
            assert page_procs.stats.resent >= 2
            assert not set(page_procs.executor.pids()) & set(before)
    finally:
        page_procs.executor.close()


def test_more_clients_than_processes_wait_their_turn(graph: ClaimGraph) -> None:
    app = app_for(graph, 2)
    page_procs = procs(app)
    paths = [iri.removeprefix(BASE) for iri in one_of_each_kind(graph).values()]
    try:
        with serve(app, threads=8) as url:
            fetch(f"{url}/{paths[0]}", HTML)  # the processes start
            with ThreadPoolExecutor(24) as pool:
                statuses = list(
                    pool.map(lambda n: fetch(f"{url}/{paths[n % len(paths)]}").status, range(96))
                )
        assert statuses == [200] * 96
        assert sum(page_procs.stats.rendered.values()) == 97
    finally:
        page_procs.executor.close()


def test_a_page_past_its_deadline_is_a_clean_503(
    graph: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pageprocs, "GRACE", 0.0)  # the process is killed at the deadline itself
    settings = graph.settings.replace(page_processes=2, propagation=False, page_timeout=0.001)
    app = create_app(settings, graph=graph)
    page_procs = procs(app)
    path = next(iter(one_of_each_kind(graph).values())).removeprefix(BASE)
    try:
        with serve(app) as url:
            reply = fetch(f"{url}/{path}", HTML)
        assert reply.status == 503
        assert "CLAIMGRAPH_PAGE_TIMEOUT" in reply.text()
        assert reply.headers["X-Request-Id"] == "same-id"
        assert "Content-Security-Policy" in reply.headers
        assert page_procs.executor.stats.killed == 1
    finally:
        page_procs.executor.close()


def test_default_count(tmp_path: Path) -> None:
    memory = ClaimGraph(Settings(seed=False))
    assert default_page_processes(Settings(), memory.store) == 1  # copied whole per snapshot
    assert default_page_processes(Settings(page_processes=3), memory.store) == 3
    memory.close()
    disk = ClaimGraph(Settings(seed=False, data_dir=tmp_path))
    assert default_page_processes(Settings(), disk.store) == len(os.sched_getaffinity(0))
    disk.close()
