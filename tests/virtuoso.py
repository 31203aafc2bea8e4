"""The tests' Virtuoso (see ``bench/virtuoso.py``, shared with the benchmark).

In CI (``CI=true``) a Virtuoso that cannot be installed or started fails the tests that need
it, with the reason; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.virtuoso import Virtuoso, VirtuosoUnavailable

__all__ = ["Virtuoso", "started", "virtuoso"]


def _unavailable(err: VirtuosoUnavailable) -> None:
    reason = f"Virtuoso is needed for this test and is unavailable: {err}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def started(root: Path, **options: Any) -> Virtuoso:
    """A running Virtuoso over ``root``, or the test fails (CI) or skips with the reason."""
    try:
        server = Virtuoso(root, **options)
        server.start()
    except VirtuosoUnavailable as err:
        _unavailable(err)
        raise  # unreachable: fail/skip raise
    return server


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """One Virtuoso for the whole session (tests reset it); started on first use only."""
    root = tmp_path_factory.mktemp("virtuoso")
    server = started(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
