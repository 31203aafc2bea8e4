"""The time limit of the store queries that serve one page request.

Oxigraph has no timeout, and a signal cannot interrupt its Rust code, so a running query
cannot be stopped in this process (``/sparql`` runs user queries in worker processes it can
kill instead). The queries behind pages are fixed shapes, each keyed by one IRI or bounded by
a ``LIMIT``; what is left to bound is their sum, and a query whose rows come slowly. Oxigraph
streams a result lazily, computing each row as it is asked for, so the page's deadline is
checked before each query and between the rows of its result: past it, the request stops
with ``QueryTimeout`` (503). A query that must see every row before giving the first (an
``ORDER BY`` or an aggregate) is checked only once that first row comes, which is why those
queries are either keyed by one IRI or whole-graph summaries computed once per write
generation (``server/summaries.py``), never under a request's deadline. Over the remote store
each request to the server has its own timeout (``Settings.store_timeout``) as well.

The deadline is a context variable: set per request (``init_app``), absent in background
threads, which start with an empty context.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from flask import Flask, g

from claimgraph.errors import QueryTimeout

T = TypeVar("T")

# (monotonic time it ends, the seconds it was set to): for the message
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("page_deadline", default=None)
# Rows between two looks at the clock: a clock read costs ~50 ns, a row ~1 µs or more.
EVERY = 64


def check() -> None:
    """``QueryTimeout`` when the current request is past its deadline; else nothing."""
    limit = _deadline.get()
    if limit is not None and time.monotonic() > limit[0]:
        raise QueryTimeout(
            f"the page took longer than its time limit of {limit[1]:g} s "
            "(CLAIMGRAPH_PAGE_TIMEOUT) and was stopped"
        )


def rows(result: Iterable[T]) -> Iterator[T]:
    """The rows of a query result, checking the deadline before the first and between rows."""
    check()
    if _deadline.get() is None:
        yield from result
        return
    for i, row in enumerate(result, 1):
        if i % EVERY == 0:
            check()
        yield row


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Queries in this block are stopped ``seconds`` from now (``None``: not at all)."""
    token = _deadline.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def init_app(app: Flask, seconds: float) -> None:
    """Give every request of ``app`` the deadline ``seconds`` from its start."""

    @app.before_request
    def start() -> None:
        g.page_deadline = _deadline.set((time.monotonic() + seconds, seconds))

    @app.teardown_request
    def end(_: BaseException | None) -> None:
        token = g.pop("page_deadline", None)
        if token is not None:
            try:
                _deadline.reset(token)
            except ValueError:  # set in another context (never, in Flask): just clear it
                _deadline.set(None)
