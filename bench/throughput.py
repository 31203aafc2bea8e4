"""Serving throughput: requests per second under concurrent clients, with the service run the
way README says to run it in production (``claimgraph serve``: waitress, 8 threads, the
store on disk).

``python -m bench.throughput --statements 100000`` generates a synthetic case file
(``bench.generate``), bulk-loads it into a store directory, starts ``claimgraph serve`` on it
as its own process on a loopback port, and drives it with a bounded load generator: N client
threads, each on one keep-alive connection, sending its next request when the last answer has
been read to the end (closed loop: no more than N requests in flight), for a fixed time after a
warm-up. Two workloads, each at every client count:

- the claim page (HTML) of a claim picked at random among 200;
- a typical SELECT through ``/sparql``: the claim dossier (``bench/queries/q01``) of a claim
  picked at random, as a form POST, SPARQL JSON.

Each workload runs once per page-process count (``--page-processes``, default 1 and one per
CPU: ``CLAIMGRAPH_PAGE_PROCESSES``), a fresh service each: 1 renders pages in the serving
process, more in page processes over snapshots of the store (``claimgraph.pageprocs``).

It prints one Markdown table: requests/s, latency median and p95, errors, and the peak memory
of the service (its process and its worker processes). The client runs on the same machine:
on few cores it takes CPU from the service, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.generate import generate
from bench.run import QUERY_DIR, _log, _ontology_quads, machine
from bench.service import proc_cpu_s, proc_peak_mb, sample_claims
from bench.virtuoso import free_port
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store.embedded import EmbeddedStore

DOSSIER_CLAIM = (
    "<https://claimgraph.org/id/claim/c1-zenith-crane-corporation-installed-cellular-modems>"
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    errors: dict[str, int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def client_connection(port: int, n: int, timeout: float = 120) -> http.client.HTTPConnection:
    """Client ``n``'s connection, from a loopback address of its own (127.0.0.2, 127.0.0.3, …):
    the service tells clients apart by address, as it would real users."""
    source = f"127.0.{(n // 250) % 256}.{n % 250 + 2}"
    return http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0)
    )


def drive(port: int, requests: list[Request], clients: int, seconds: float, warm_up: float) -> Load:
    """``clients`` closed-loop clients for ``warm_up`` + ``seconds``; only the latter counts."""
    start = time.monotonic()
    measure_from, stop = start + warm_up, start + warm_up + seconds
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def client(n: int) -> None:
        rng = random.Random(n)
        conn = client_connection(port, n)
        mine: list[float] = []
        failed: dict[str, int] = {}
        try:
            while (begun := time.monotonic()) < stop:
                req = rng.choice(requests)
                t0 = time.perf_counter()
                try:
                    conn.request(req.method, req.path, body=req.body, headers=req.headers)
                    answer = conn.getresponse()
                    answer.read()
                    problem = None if answer.status == 200 else f"HTTP {answer.status}"
                except (OSError, http.client.HTTPException) as err:
                    problem = type(err).__name__
                    conn.close()
                    conn = client_connection(port, n)
                took = time.perf_counter() - t0
                # Only requests sent and answered inside the measured window count.
                if begun < measure_from or time.monotonic() > stop:
                    continue
                if problem is None:
                    mine.append(took)
                else:
                    failed[problem] = failed.get(problem, 0) + 1
        except Exception as err:  # a client that dies is an error, not a silent loss
            failed[type(err).__name__] = failed.get(type(err).__name__, 0) + 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                for key, count in failed.items():
                    errors[key] = errors.get(key, 0) + count

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Load(seconds, latencies, errors)


def _warm(port: int, requests: list[Request]) -> None:
    """Send one request of the workload, untimed, before it is driven: the first query starts
    the query workers and takes a snapshot, which a short warm-up window may not cover."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        req = requests[0]
        conn.request(req.method, req.path, body=req.body, headers=req.headers)
        conn.getresponse().read()
    finally:
        conn.close()


def _workers(pid: int) -> list[int]:
    """The query workers of the service ``pid`` (its spawned children; not the resource
    tracker that multiprocessing also starts)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in command:
            out.append(int(stat.parent.name))
    return out


def _settle(pid: int, timeout: float = 1800) -> None:
    """Wait until the service is idle: its start-up work (the summaries, the propagation
    analysis of the whole graph) would otherwise share the CPUs with the measured requests."""
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and quiet < 2:
        before = proc_cpu_s(pid, *_workers(pid))
        time.sleep(1.0)
        quiet = quiet + 1 if proc_cpu_s(pid, *_workers(pid)) - before < 0.05 else 0


def _measured(
    port: int, pid: int, requests: list[Request], clients: int, seconds: float
) -> tuple[Load, float, float]:
    """``drive``, and the CPU milliseconds per answered request of the serving process and of
    its worker processes over the measured window (sampled when it opens and closes)."""
    warm_up = min(3.0, seconds / 3)
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        samples.append((proc_cpu_s(pid), proc_cpu_s(*_workers(pid))))

    timers = [threading.Timer(warm_up, sample), threading.Timer(warm_up + seconds, sample)]
    for t in timers:
        t.start()
    load = drive(port, requests, clients, seconds, warm_up=warm_up)
    for t in timers:
        t.join()
    answered = max(1, len(load.latencies))
    (serving0, workers0), (serving1, workers1) = samples
    return load, (serving1 - serving0) * 1000 / answered, (workers1 - workers0) * 1000 / answered


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"claimgraph serve exited with {process.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", "/claims")  # the warm-up's last page: ready when it answers
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError("claimgraph serve did not answer in time")


def workloads(graph: ClaimGraph, seed: int) -> dict[str, list[Request]]:
    claims = sample_claims(graph, 200, seed)
    html = {"Accept": "text/html"}
    pages = [
        Request("GET", "/" + iri.removeprefix(graph.iris.base), headers=html) for iri in claims
    ]
    dossier = (QUERY_DIR / "q01-claim-dossier.rq").read_text(encoding="utf-8")
    if DOSSIER_CLAIM not in dossier:  # every request would ask about the same claim
        raise RuntimeError(f"q01-claim-dossier.rq no longer names {DOSSIER_CLAIM}")
    form = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/sparql-results+json",
    }
    selects = [
        Request(
            "POST",
            "/sparql",
            urllib.parse.urlencode({"query": dossier.replace(DOSSIER_CLAIM, f"<{iri}>")}).encode(),
            form,
        )
        for iri in claims
    ]
    return {"claim page (HTML)": pages, "`/sparql` SELECT: one claim's dossier (q01)": selects}


def build_store(data_dir: Path, statements: int, seed: int) -> ClaimGraph:
    """A store directory with ``statements`` generated statements and the ontology, bulk-loaded
    (no validation: the generator's data conforms); returned open, to be closed by the caller.
    ``statements=0``: the ontology alone."""
    _log(f"generating {statements} statements and loading them")
    store = EmbeddedStore(data_dir)
    if statements:
        store.bulk_load(generate(statements, seed))
    graph = ClaimGraph(Settings(seed=False), store=store)
    store.bulk_load(_ontology_quads(graph))
    return graph


def start_service(
    data_dir: Path, threads: int, log: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``claimgraph serve`` on ``data_dir`` as its own process on a free loopback port, once it
    answers; its standard error goes to ``log`` (appended)."""
    port = free_port()
    cli = Path(sys.executable).with_name("claimgraph")
    command = [str(cli), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    command += ["--threads", str(threads)]
    _log(f"starting {' '.join(command[1:2])} on port {port}")
    with log.open("ab") as err:
        process = subprocess.Popen(
            command,
            env={**os.environ, "CLAIMGRAPH_SEED": "false", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        _wait_ready(port, process)
    except BaseException:
        stop_service(process)
        raise
    return process, port


def stop_service(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run(
    statements: int,
    seed: int,
    clients: list[int],
    seconds: float,
    threads: int,
    tmp: Path,
    page_processes: list[int],
    pages_only: bool = False,
) -> tuple[list[list[str]], list[str]]:
    data_dir = tmp / "store"
    graph = build_store(data_dir, statements, seed)
    quads = graph.store.count()
    loads = workloads(graph, seed)
    graph.close()

    rows: list[list[str]] = []
    memory: list[str] = []
    for procs in page_processes:
        env = {"CLAIMGRAPH_PAGE_PROCESSES": str(procs)}
        process, port = start_service(data_dir, threads, tmp / "serve.log", env)
        try:
            _log("waiting for the service's start-up work to end")
            _settle(process.pid)
            for name, requests in loads.items():
                if pages_only and not name.startswith("claim page"):
                    continue
                _warm(port, requests)
                for n in clients:
                    _log(f"{name}: {procs} page processes, {n} clients")
                    load, serving, workers = _measured(port, process.pid, requests, n, seconds)
                    times = sorted(load.latencies)
                    p95 = times[min(len(times) - 1, int(len(times) * 0.95))] if times else 0.0
                    errors = ", ".join(f"{k}: {v}" for k, v in sorted(load.errors.items())) or "0"
                    rows.append(
                        [
                            name,
                            str(procs),
                            str(n),
                            f"{load.rate:,.0f}",
                            f"{statistics.median(times) * 1000:.1f} ms" if times else "—",
                            f"{p95 * 1000:.1f} ms",
                            f"{serving:.1f} + {workers:.1f} ms",
                            errors,
                        ]
                    )
            peak = proc_peak_mb(process.pid) or 0.0
            rss = sum(proc_peak_mb(pid) or 0.0 for pid in _workers(process.pid))
            memory.append(
                f"{procs} page process(es): peak RSS of the service {peak:,.0f} MB, "
                f"its worker processes {rss:,.0f} MB in all"
            )
        finally:
            stop_service(process)
    return rows, [f"{quads:,} quads", *memory]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", default="1,4,16", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per cell")
    parser.add_argument("--threads", type=int, default=8, help="claimgraph serve --threads")
    parser.add_argument(
        "--page-processes",
        default=f"1,{_cpus()}",
        help="CLAIMGRAPH_PAGE_PROCESSES of each run, comma-separated (default: 1 and one per CPU)",
    )
    parser.add_argument("--pages-only", action="store_true", help="only the claim pages")
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    procs = [int(c) for c in args.page_processes.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="cg-bench-serve-") as tmp:
        rows, memory = run(
            args.statements,
            args.seed,
            clients,
            args.seconds,
            args.threads,
            Path(tmp),
            procs,
            args.pages_only,
        )
    print(
        f"Serving throughput, {time.strftime('%Y-%m-%d')}: {args.statements:,} statements, "
        f"`claimgraph serve --threads {args.threads}`; {machine()}; {'; '.join(memory)}; "
        f"{args.seconds:g} s per row after a warm-up.\n"
    )
    print(
        "| workload | page processes | clients | requests/s | median | p95 "
        "| CPU per request: serving + workers | errors |"
    )
    print("| --- | --: | --: | --: | --: | --: | --: | --: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
