"""Whole-graph summaries (counts, rankings, list indexes) cached per write generation.

Computing one can take seconds on a large graph. After a write, a request waits a moment
(``Settings.page_refresh_wait``) for the fresh value, recomputed in the background; if it
is not ready by then, the request is served the previous one, so pages stay fast while the
summary catches up. The first computation ever is synchronous (there is nothing to show).

At most one computation of a summary runs at a time. Requests for a newer generation while
one runs only raise the generation wanted: when it ends, one more starts if the generation
wanted moved on past the one it computed, so a burst of writes costs one more computation,
not one per write.

Under a steady stream of writes that would still be one computation after another, each
summary keeping a CPU busy for good. So a full recomputation in the background rests first:
it starts no sooner than ``rest`` times the last one's duration after that one ended (at most
``MAX_REST`` seconds), which bounds each summary to a third of a CPU (``rest`` 2) however
fast the writes come; pages meanwhile show the value they have, as they would anyway.

A summary that can follow the writes from what they changed (the claims index) says how in
``update``: a quick update runs in the request that finds the summary behind (the others
asking meanwhile wait for it, up to their ``wait``); a slower one runs in the background as a
full recomputation would. A failed update falls back to the full recomputation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Flask

from claimgraph.deadline import within

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_REST = 30.0  # seconds, whatever the last computation took


@dataclass(frozen=True)
class Step(Generic[T]):
    """How to derive a summary's value for a newer generation from the cached one."""

    run: Callable[[], T]
    quick: bool = True  # cheap enough to run in the request; else run in the background


Update = Callable[[T, int, int], Step[T] | None]


@dataclass
class _State:
    """The computation of one summary: what is asked for, and whether one is running."""

    compute: Callable[[], Any]
    update: Callable[[Any, int, int], Step[Any] | None] | None
    wanted: int = -1  # the newest generation a request asked for
    busy: bool = False  # a computation runs (in a request or in the background)
    failed: int | None = None  # the generation the last failed background computation was for
    rested: float = 0.0  # (monotonic) no full background computation starts before


class Summaries:
    """One app's cache: name → (generation, value), with at most one computation per name."""

    def __init__(self, *, rest: float = 2.0) -> None:
        self.rest = rest
        self._lock = threading.Condition()
        self._values: dict[str, tuple[int, Any]] = {}
        self._states: dict[str, _State] = {}
        self._closed = threading.Event()

    def close(self) -> None:
        """No background computation starts after this (the store is about to close); one
        that runs ends with its store's error, logged once, and none follows it."""
        self._closed.set()

    def get(
        self,
        name: str,
        generation: int,
        compute: Callable[[], T],
        *,
        app: Flask,
        wait: float | None,
        update: Update[T] | None = None,
    ) -> T:
        """The value for ``generation`` (or a newer one); ``wait=None``: always fresh.

        ``update(value, since, generation)``: how to derive the value for ``generation`` from
        the one cached for ``since`` (from what the writes between changed), or ``None`` when
        it cannot be: then it is computed as usual.
        """
        deadline = None if wait is None else time.monotonic() + wait
        with self._lock:
            state = self._states.get(name)
            if state is None:
                state = self._states[name] = _State(compute, update)
            state.compute, state.update = compute, update  # the newest, for what follows
            state.wanted = max(state.wanted, generation)
            while True:
                hit = self._values.get(name)
                if hit is not None and hit[0] >= generation:
                    return hit[1]  # type: ignore[no-any-return]
                if not state.busy:
                    break
                if hit is None or deadline is None:  # nothing to show, or fresh wanted
                    self._lock.wait()
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return hit[1]  # type: ignore[no-any-return]
                self._lock.wait(left)
            if hit is not None and deadline is not None and state.failed == state.wanted:
                return hit[1]  # type: ignore[no-any-return]  # failed for it: not tried again
            state.busy = True  # this request computes (or starts the computation)
        step: Step[Any] | None = None
        value, done = None, False
        try:
            if hit is None or deadline is None:
                value, done = self._here(name, state, generation, hit), True
            else:
                step = self._plan(name, state, hit, generation)
                if step is not None and step.quick:
                    try:
                        with within(None):
                            value, done = step.run(), True
                    except Exception:  # served the previous value, while it is computed anew
                        log.exception("updating the summary %r failed", name)
                        step = None
        except BaseException:
            self._idle(state)
            raise
        if done:
            self._finish(name, state, generation, value, app)
            return value  # type: ignore[return-value]
        self._background(name, state, generation, step, app)
        assert deadline is not None
        with self._lock:
            while True:
                hit = self._values[name]
                left = deadline - time.monotonic()
                if hit[0] >= generation or not state.busy or left <= 0:
                    return hit[1]  # type: ignore[no-any-return]
                self._lock.wait(left)

    def latest(
        self,
        name: str,
        generation: int,
        compute: Callable[[], T],
        *,
        app: Flask,
        delay: float,
        current: Callable[[], int],
    ) -> tuple[int, T] | None:
        """The newest value there is and the generation it was computed for (``None``: none
        yet), never computed by the caller, for a summary too costly for any request to wait
        for (the whole-graph validation report).

        When it is older than ``generation``, one computation starts in the background, unless
        one is running (it computes what is wanted next when it ends) or the last one failed
        for this generation. It waits ``delay`` seconds, then computes the generation
        ``current()`` says the graph is at then: a burst of writes costs one computation.
        """
        with self._lock:
            state = self._states.get(name)
            if state is None:
                state = self._states[name] = _State(compute, None)
            state.compute = compute
            state.wanted = max(state.wanted, generation)
            hit = self._values.get(name)
            failed = state.failed is not None and state.failed >= generation
            if (hit is not None and hit[0] >= generation) or state.busy or failed:
                return hit
            state.busy = True
        self._background(name, state, generation, None, app, delay=delay, current=current)
        return hit

    def running(self, name: str) -> bool:
        """Whether a computation of ``name`` is running (or waiting to start)."""
        with self._lock:
            state = self._states.get(name)
            return state is not None and state.busy

    def generation_of(self, name: str) -> int | None:
        """The write generation the cached value of ``name`` was computed for, if any."""
        with self._lock:
            hit = self._values.get(name)
        return None if hit is None else hit[0]

    def _plan(
        self, name: str, state: _State, hit: tuple[int, Any] | None, generation: int
    ) -> Step[Any] | None:
        """How to follow the writes from ``hit`` to ``generation``; ``None``: compute anew."""
        if hit is None or state.update is None:
            return None
        try:
            return state.update(hit[1], hit[0], generation)
        except Exception:
            log.exception("planning the update of the summary %r failed", name)
            return None

    def _here(self, name: str, state: _State, generation: int, hit: tuple[int, Any] | None) -> Any:
        """Computed in this request: the first value ever, or one that must be fresh.

        Not under the request's deadline (``server.deadline``): the work is shared (one
        computation at a time, whatever the requests), and one stopped at a deadline would
        be started again, and stopped again, by every request after it."""
        with within(None):
            step = self._plan(name, state, hit, generation)
            if step is not None:
                try:
                    return step.run()
                except Exception:
                    log.exception("updating the summary %r failed", name)
            return state.compute()

    def _idle(self, state: _State) -> None:
        with self._lock:
            state.busy = False
            self._lock.notify_all()

    def _store(self, name: str, generation: int, value: Any) -> None:
        current = self._values.get(name)
        if current is None or current[0] < generation:
            self._values[name] = (generation, value)

    def _finish(self, name: str, state: _State, generation: int, value: Any, app: Flask) -> None:
        """Keep ``value``; then, if a newer generation is wanted, compute it in the background."""
        with self._lock:
            self._store(name, generation, value)
            self._lock.notify_all()
            if state.wanted <= generation:
                state.busy = False
                return
            generation = state.wanted
            hit = self._values[name]
        self._background(name, state, generation, self._plan(name, state, hit, generation), app)

    def _background(
        self,
        name: str,
        state: _State,
        generation: int,
        step: Step[Any] | None,
        app: Flask,
        *,
        delay: float = 0.0,
        current: Callable[[], int] | None = None,
    ) -> None:
        """Compute ``generation`` in a thread (``step``, else anew), then what is wanted next.
        The caller has made ``state`` busy; the thread makes it idle when nothing is left.
        ``delay``, ``current``: each computation waits ``delay`` seconds first, then computes
        the generation ``current()`` gives (if newer), as ``latest`` asks."""

        def work() -> None:
            try:
                follow(generation, step)
            except BaseException:  # not a failed computation (those are caught): let go
                self._idle(state)
                raise

        def follow(target: int, todo: Step[Any] | None) -> None:
            while True:
                if delay:
                    self._closed.wait(delay)
                if todo is None:
                    self._closed.wait(max(0.0, state.rested - time.monotonic()))
                if self._closed.is_set():
                    self._idle(state)
                    return
                try:
                    began = time.monotonic()
                    with app.app_context():
                        if current is not None:
                            target = max(target, current())
                        if todo is not None:
                            value = todo.run()
                        else:
                            value = state.compute()
                            took = time.monotonic() - began
                            state.rested = began + took + min(MAX_REST, self.rest * took)
                except Exception:  # a failed refresh keeps serving the previous value
                    log.exception("recomputing the summary %r failed", name)
                    if todo is not None:  # a failed update: compute it anew
                        todo = None
                        continue
                    with self._lock:
                        state.failed = target
                else:
                    with self._lock:
                        self._store(name, target, value)
                with self._lock:
                    self._lock.notify_all()
                    if state.wanted <= target:
                        state.busy = False
                        return
                    target = state.wanted
                    hit = self._values.get(name)
                with app.app_context():
                    todo = self._plan(name, state, hit, target)

        try:
            threading.Thread(target=work, name=f"summary:{name}", daemon=True).start()
        except BaseException:
            self._idle(state)
            raise
