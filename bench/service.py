"""Measuring the service as users meet it: the app under waitress on loopback, a research
query through ``/sparql`` or through another server's own endpoint, the claim page, the dump.

Shared by ``bench.run`` (embedded Oxigraph and the Virtuoso column) and ``bench.throughput``.
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from waitress.server import create_server

from bench.linkeddata import _sample
from claimgraph.core import ClaimGraph
from claimgraph.formats import by_name

JSON = "application/sparql-results+json"


@contextlib.contextmanager
def serving(app: Flask, threads: int = 4) -> Iterator[str]:
    """``app`` served by waitress on a free loopback port; yields its base URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="bench")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()
        server.close()
        sparql = app.extensions.get("claimgraph.sparql")
        if sparql is not None:
            sparql.close()


def post_query(url: str, query: str, timeout: float = 600, graphs: Sequence[str] = ()) -> int:
    """POST ``query`` to a SPARQL endpoint as a form (the one way every server takes; Virtuoso
    7.2 does not read an ``application/sparql-query`` body), SPARQL JSON read to the end; bytes.
    ``graphs``: the dataset (``default-graph-uri``), as ClaimGraph's remote store names it."""
    form = [("query", query), *(("default-graph-uri", g) for g in graphs)]
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": JSON},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return len(response.read())


def sample_claims(graph: ClaimGraph, n: int, seed: int) -> list[str]:
    """``n`` claim IRIs picked at random (the same ones for the same data and seed)."""
    return _sample(graph, "Claim", n, random.Random(seed))


@dataclass
class PageTiming:
    median_s: float
    max_s: float
    pages: int


def claim_pages(graph: ClaimGraph, app: Flask, claims: list[str]) -> PageTiming:
    """Server time of the claim page (HTML, in process: no network) of each of ``claims``,
    after one warm-up request; each claim is asked for once, as readers do."""
    client = app.test_client()
    times = []
    for i, iri in enumerate(claims):
        path = "/" + iri.removeprefix(graph.iris.base)
        t0 = time.perf_counter()
        response = client.get(path, headers={"Accept": "text/html"})
        response.get_data()
        took = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        if i > 0:
            times.append(took)
    times.sort()
    return PageTiming(statistics.median(times), times[-1], len(times))


def dump_nquads(graph: ClaimGraph) -> int:
    """Write the whole store as N-Quads to a temporary file; its size in bytes."""
    with tempfile.TemporaryFile() as out:
        graph.store.dump(out, by_name("nquads"))
        return out.tell()


def proc_cpu_s(*pids: int) -> float:
    """CPU seconds (user + system, all threads) the processes ``pids`` have used so far; a
    process that has ended counts for nothing."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_peak_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of another process, while it runs."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
