"""Whole-graph summaries (counts, rankings, list indexes) cached per write generation.

Computing one can take seconds on a large graph. After a write, a request waits a moment
(``Settings.page_refresh_wait``) for the fresh value, recomputed in the background; if it
is not ready by then, the request is served the previous one, so pages stay fast while the
summary catches up. The first computation ever is synchronous (there is nothing to show).
A summary that can follow the writes from what they changed (the claims index) is updated
in the request instead, when it can (``update``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Refresh:
    generation: int
    done: threading.Event = field(default_factory=threading.Event)


class Summaries:
    """One app's cache: name → (generation, value), with at most one refresh per name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, Any]] = {}
        self._refreshing: dict[str, _Refresh] = {}

    def get(
        self,
        name: str,
        generation: int,
        compute: Callable[[], T],
        *,
        app: Flask,
        wait: float | None,
        update: Callable[[T, int, int], T | None] | None = None,
    ) -> T:
        """The value for ``generation``; ``wait=None``: always fresh (computed here if need be).

        ``update(value, since, generation)``: the value for ``generation`` derived quickly from
        the one cached for ``since`` (from what the writes between changed), or ``None`` when
        it cannot be: then it is computed as usual.
        """
        with self._lock:
            hit = self._values.get(name)
        if hit is not None and hit[0] == generation:
            return hit[1]  # type: ignore[no-any-return]
        if hit is not None and hit[0] < generation and update is not None:
            fresh = update(hit[1], hit[0], generation)
            if fresh is not None:
                with self._lock:
                    current = self._values.get(name)
                    if current is None or current[0] < generation:
                        self._values[name] = (generation, fresh)
                return fresh
        if hit is None or wait is None:
            value = compute()
            with self._lock:
                self._values[name] = (generation, value)
            return value
        refresh = self._start(name, generation, compute, app)
        refresh.done.wait(wait)
        with self._lock:
            latest = self._values[name]
        return latest[1]  # type: ignore[no-any-return]

    def generation_of(self, name: str) -> int | None:
        """The write generation the cached value of ``name`` was computed for, if any."""
        with self._lock:
            hit = self._values.get(name)
        return None if hit is None else hit[0]

    def _start(
        self, name: str, generation: int, compute: Callable[[], Any], app: Flask
    ) -> _Refresh:
        with self._lock:
            running = self._refreshing.get(name)
            if running is not None and running.generation == generation:
                return running
            refresh = self._refreshing[name] = _Refresh(generation)

        def work() -> None:
            try:
                with app.app_context():
                    value = compute()
                with self._lock:
                    current = self._values.get(name)
                    if current is None or current[0] < generation:
                        self._values[name] = (generation, value)
            except Exception:  # a failed refresh keeps serving the previous value
                log.exception("recomputing the summary %r failed", name)
            finally:
                refresh.done.set()

        threading.Thread(target=work, name=f"summary:{name}", daemon=True).start()
        return refresh
