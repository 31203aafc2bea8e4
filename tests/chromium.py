"""The session's headless Chromium for the browser tests (tests/test_browser*.py): Debian's
package, never a downloaded browser, installed on demand with apt, with a font that has CJK
glyphs (the case file quotes Chinese sources: without one they render as boxes, in the
screenshots too); in CI (``CI=true``) a
missing browser fails the run instead of skipping it. One per session: Playwright's sync API
runs one instance at a time, so conftest.py provides it to every module."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


CJK_FONT = "fonts-wqy-zenhei"  # 7 MB; Noto CJK would be 56


def _has_cjk_font() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=60)
    return bool(listed.stdout.strip())


def _install_chromium() -> None:
    missing = [] if CHROMIUM.exists() else ["chromium"]
    if not _has_cjk_font():
        missing.append(CJK_FONT)
    if not missing:
        return
    if shutil.which("apt-get") is None:
        if "chromium" in missing:
            _unavailable("no /usr/bin/chromium and no apt-get to install it")
        return  # Chinese text shows as boxes; the tests still run
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *missing]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            _unavailable(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    if not CHROMIUM.exists():
        _unavailable("apt-get installed chromium but /usr/bin/chromium is missing")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _install_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
