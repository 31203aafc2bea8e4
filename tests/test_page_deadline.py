"""The time limit of a page request's queries: checked before each query and between rows, so
a page stops (503) at its deadline instead of running all its queries; summaries, shared work
computed once per write generation, are not cut by it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from claimgraph import deadline
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import QueryTimeout
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.validation import Validator

CLAIM = "/id/claim/zpmc-cranes-have-unexplained-communications-equipment"


def slow_rows(n: int, pause: float) -> Iterator[int]:
    for i in range(n):
        time.sleep(pause)
        yield i


def test_rows_stop_at_the_deadline() -> None:
    seen = []
    with deadline.within(0.05), pytest.raises(QueryTimeout, match=r"time limit of 0\.05 s"):
        for row in deadline.rows(slow_rows(10_000, 0.001)):
            seen.append(row)
    # stopped after about 50 rows (checked every EVERY rows), far from the 10,000
    assert 0 < len(seen) < 50 + 2 * deadline.EVERY


def test_no_deadline_outside_a_request_or_when_suspended() -> None:
    assert list(deadline.rows(range(5))) == list(range(5))
    with deadline.within(0.0), deadline.within(None):
        assert list(deadline.rows(range(200))) == list(range(200))
    with deadline.within(0.0), pytest.raises(QueryTimeout):
        deadline.check()


class SlowStore(EmbeddedStore):
    """Each query takes ``pause`` seconds more, counted."""

    def __init__(self) -> None:
        super().__init__(None)
        self.pause = 0.0
        self.queries = 0

    def query(self, sparql: str, **kwargs: Any) -> Any:
        self.queries += 1
        time.sleep(self.pause)
        return super().query(sparql, **kwargs)


def test_a_page_stops_at_its_deadline(validator: Validator) -> None:
    store = SlowStore()
    settings = Settings(seed=False, page_timeout=0.5)
    cg = ClaimGraph(settings, store=store, validator=validator)
    cg.seed()
    client = create_app(settings, graph=cg).test_client()
    assert client.get(CLAIM, headers={"Accept": "text/html"}).status_code == 200
    full = store.queries
    client.get(CLAIM, headers={"Accept": "text/html"})
    full = store.queries - full  # the reads of one claim page, summaries cached
    assert full == 3
    store.pause, store.queries = 0.3, 0
    reply = client.get(CLAIM, headers={"Accept": "text/html"})
    assert reply.status_code == 503
    assert "CLAIMGRAPH_PAGE_TIMEOUT" in reply.get_data(as_text=True)
    # 0.3 s each against 0.5 s: the second read passes the deadline, the third never starts
    assert store.queries == 2 < full
    cg.close()


def test_summaries_are_not_cut_by_the_request_deadline(validator: Validator) -> None:
    """The home page's first request computes its whole-graph summaries (shared, at most one
    at a time): a deadline shorter than that computation does not stop it."""
    store = SlowStore()
    settings = Settings(seed=False, page_timeout=0.5)
    cg = ClaimGraph(settings, store=store, validator=validator)
    cg.seed()
    store.pause = 0.2  # the summaries are five queries or more: over 1 s
    client = create_app(settings, graph=cg).test_client()
    first = client.get("/", headers={"Accept": "text/html"})
    assert first.status_code == 503  # the page's own label query came after its deadline
    store.pause = 0.0

    def queries_of_a_request() -> int:
        before = store.queries
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
        return store.queries - before

    # the summaries were kept: this request ran only the page's label lookup, as every later
    # one does (one whose summaries had been cut would compute them now: five queries more)
    second = queries_of_a_request()
    assert second == queries_of_a_request() and second <= 2
    cg.close()
