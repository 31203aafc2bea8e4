"""Summaries lag a write only while a slow recomputation runs, and then catch up."""

from __future__ import annotations

import threading

from flask import Flask

from server.summaries import Summaries


def test_fresh_value_within_the_wait() -> None:
    s, app = Summaries(), Flask(__name__)
    assert s.get("n", 0, lambda: "v0", app=app, wait=1.0) == "v0"
    assert s.get("n", 1, lambda: "v1", app=app, wait=5.0) == "v1"
    assert s.generation_of("n") == 1


def test_slow_recomputation_serves_the_previous_value_then_catches_up() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    gate = threading.Event()
    calls = []

    def slow() -> str:
        calls.append(1)
        gate.wait(10)
        return "v1"

    assert s.get("n", 1, slow, app=app, wait=0.01) == "v0"  # lagging, not blocking
    assert s.get("n", 1, slow, app=app, wait=0.01) == "v0"  # one refresh, not two
    gate.set()
    assert s.get("n", 1, slow, app=app, wait=5.0) == "v1"
    assert calls == [1]


def test_no_wait_means_always_fresh() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=None)
    assert s.get("n", 1, lambda: "v1", app=app, wait=None) == "v1"


def test_a_failed_refresh_keeps_the_previous_value() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)

    def broken() -> str:
        raise RuntimeError("boom")

    assert s.get("n", 1, broken, app=app, wait=5.0) == "v0"


def test_update_derives_the_new_value_where_it_can() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: (0,), app=app, wait=1.0)
    seen = []

    def update(old: tuple[int, ...], since: int, until: int) -> tuple[int, ...] | None:
        seen.append((old, since, until))
        return (*old, until) if until < 3 else None  # None: cannot, compute it

    assert s.get("n", 2, lambda: (-1,), app=app, wait=1.0, update=update) == (0, 2)
    assert s.get("n", 2, lambda: (-1,), app=app, wait=1.0, update=update) == (0, 2)
    assert s.get("n", 3, lambda: (-1,), app=app, wait=5.0, update=update) == (-1,)
    assert seen == [((0,), 0, 2), ((0, 2), 2, 3)]
