"""`claimgraph serve` as `make serve` runs it: a real server on loopback, the seed data loaded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("serve") / "store"
    exe = Path(sys.executable).with_name("claimgraph")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMGRAPH_")}
    with serve_process(
        [exe, "serve", "--port", str(port), "--data-dir", data], port, env=env
    ) as url:
        yield url


@contextmanager
def serve_process(
    command: Sequence[str | Path], port: int, *, env: dict[str, str], cwd: Path | None = None
) -> Iterator[str]:
    """Run ``command`` (a `claimgraph serve`) until it answers on ``port``; yield its URL."""
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"server exited: {out}")
                time.sleep(0.2)
        else:
            pytest.fail("server did not answer within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_status_page_shows_the_case_file(live_url: str) -> None:
    with urllib.request.urlopen(live_url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        body = resp.read().decode()
    assert "https://claimgraph.org/graph/zpmc" in body
    assert "statements" in body


def test_status_json(live_url: str) -> None:
    import json

    with urllib.request.urlopen(live_url + "status.json", timeout=10) as resp:
        data = json.load(resp)
    assert data["classes"]["claims"] >= 15 and data["triples"] > 500


def test_status_page_escapes_graph_names(settings: Settings, graph: ClaimGraph) -> None:
    import pyoxigraph as ox

    from claimgraph.store import Delta

    odd = ox.NamedNode("https://example.org/g?a=1&b=2")
    graph.store.apply(Delta(add=[ox.Quad(odd, odd, ox.Literal("x"), odd)]))
    client = create_app(settings, graph=graph).test_client()
    body = client.get("/").get_data(as_text=True)
    assert "g?a=1&amp;b=2" in body and "g?a=1&b=2" not in body
