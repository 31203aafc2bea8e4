"""Summaries lag a write only while a slow recomputation runs, and then catch up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask

from claimgraph.summaries import Step, Summaries


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

    def update(old: tuple[int, ...], since: int, until: int) -> Step[tuple[int, ...]] | None:
        seen.append((old, since, until))
        return Step(lambda: (*old, until)) if until < 3 else None  # None: cannot, compute it

    assert s.get("n", 2, lambda: (-1,), app=app, wait=1.0, update=update) == (0, 2)
    assert s.get("n", 2, lambda: (-1,), app=app, wait=1.0, update=update) == (0, 2)
    assert s.get("n", 3, lambda: (-1,), app=app, wait=5.0, update=update) == (-1,)
    assert seen == [((0,), 0, 2), ((0, 2), 2, 3)]


class Gate:
    """A computation that blocks until let through, counting its calls and how many ran at
    the same time."""

    def __init__(self, result: Callable[[int], str]) -> None:
        self.result = result
        self.open = threading.Event()
        self.entered = threading.Event()
        self.calls = 0
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
            call = self.calls
            self.running += 1
            self.most = max(self.most, self.running)
        self.entered.set()
        try:
            assert self.open.wait(30)
            return self.result(call)
        finally:
            with self._lock:
                self.running -= 1


def test_one_refresh_at_a_time_then_one_for_the_newest_generation() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    gate = Gate(lambda call: f"computation {call}")
    assert s.get("n", 1, gate, app=app, wait=0.0) == "v0"
    assert gate.entered.wait(30)
    for generation in (2, 3, 2):  # writes meanwhile: no computation started for them
        assert s.get("n", generation, gate, app=app, wait=0.0) == "v0"
    assert gate.calls == 1
    gate.open.set()
    assert s.get("n", 3, gate, app=app, wait=30.0) == "computation 2"  # one more, for 3
    assert s.generation_of("n") == 3
    assert (gate.calls, gate.most) == (2, 1)


def test_after_a_rebuild_the_newer_writes_are_followed_by_an_update() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    gate = Gate(lambda call: "rebuilt")
    seen: list[tuple[str, int, int]] = []

    def update(old: str, since: int, until: int) -> Step[str] | None:
        seen.append((old, since, until))
        return None if since == 0 else Step(lambda: f"{old}+{until}", quick=False)

    assert s.get("n", 1, gate, app=app, wait=0.0, update=update) == "v0"
    assert gate.entered.wait(30)
    assert s.get("n", 2, gate, app=app, wait=0.0, update=update) == "v0"
    gate.open.set()
    assert s.get("n", 2, gate, app=app, wait=30.0, update=update) == "rebuilt+2"
    assert seen == [("v0", 0, 1), ("rebuilt", 1, 2)] and gate.calls == 1


def test_a_quick_update_runs_once_the_others_wait_for_it() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    gate = Gate(lambda call: f"updated {call}")
    got: list[str] = []

    def update(old: str, since: int, until: int) -> Step[str]:
        return Step(gate)

    first = threading.Thread(
        target=lambda: got.append(s.get("n", 1, gate, app=app, wait=0.0, update=update))
    )
    first.start()
    assert gate.entered.wait(30)
    assert s.get("n", 1, gate, app=app, wait=0.0, update=update) == "v0"  # not a second one
    gate.open.set()
    first.join(30)
    assert got == ["updated 1"]
    assert s.get("n", 1, gate, app=app, wait=0.0, update=update) == "updated 1"
    assert gate.calls == 1


def test_a_slow_update_runs_in_the_background() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    gate = Gate(lambda call: "updated")
    where: list[str] = []

    def slow() -> str:
        where.append(threading.current_thread().name)
        return gate()

    def update(old: str, since: int, until: int) -> Step[str]:
        return Step(slow, quick=False)

    assert s.get("n", 1, lambda: "rebuilt", app=app, wait=0.0, update=update) == "v0"
    gate.open.set()
    assert s.get("n", 1, lambda: "rebuilt", app=app, wait=30.0, update=update) == "updated"
    assert where == ["summary:n"]


def test_a_failed_update_serves_the_previous_value_while_it_is_computed_anew() -> None:
    s, app = Summaries(), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    gate = Gate(lambda call: "rebuilt")

    def broken() -> str:
        raise TimeoutError("the store did not answer in time")

    def update(old: str, since: int, until: int) -> Step[str]:
        return Step(broken)

    assert s.get("n", 1, gate, app=app, wait=0.0, update=update) == "v0"
    gate.open.set()
    assert s.get("n", 1, gate, app=app, wait=30.0, update=update) == "rebuilt"

    def unplanned(old: str, since: int, until: int) -> Step[str]:
        raise RuntimeError("cannot tell")

    assert s.get("n", 2, lambda: "again", app=app, wait=30.0, update=unplanned) == "again"


def test_under_steady_writes_a_recomputation_rests_before_the_next() -> None:
    s, app = Summaries(rest=50.0), Flask(__name__)
    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        time.sleep(0.05)
        return f"v{len(calls)}"

    assert s.get("n", 1, compute, app=app, wait=5.0) == "v1"  # the first after a quiet spell
    for generation in range(2, 12):  # a write every 50 ms for half a second
        assert s.get("n", generation, compute, app=app, wait=0.0) == "v1"
        time.sleep(0.05)
    # the next computation rests 50 × 50 ms after the last: none started meanwhile, and the
    # pages kept the value they had
    assert calls == [1] and s.running("n") and s.generation_of("n") == 1


def test_after_close_a_resting_recomputation_never_starts() -> None:
    s, app = Summaries(rest=50.0), Flask(__name__)
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        time.sleep(0.05)
        return f"v{len(calls)}"

    s.get("n", 0, lambda: "v0", app=app, wait=1.0)
    assert s.get("n", 1, compute, app=app, wait=5.0) == "v1"  # in the background: timed
    assert s.get("n", 2, compute, app=app, wait=0.0) == "v1"  # its recomputation rests
    assert s.running("n")
    s.close()  # e.g. ClaimGraph.close(): the store goes next
    for _ in range(100):
        if not s.running("n"):
            break
        time.sleep(0.01)
    assert not s.running("n") and calls == [1]
