"""Reliability under load: what every client saw, and whether every acknowledged write is there.

``python -m bench.reliability`` generates a case file (``bench.generate``), loads it into a
store directory, starts ``claimgraph serve`` on it with a write token (``bench.throughput``),
and runs N closed-loop clients for D seconds, each picking its next request from a mix:

- SPARQL SELECTs: the research queries (``queries/*.rq``) and cheap lookups (one claim's text);
- pages: ``/``, ``/claims``, claim pages, actor pages, and ``/id/…`` dereferenced as Turtle;
- validated writes, each inserting one uniquely named claim, by SPARQL Update (``/update``) or
  by a Graph Store POST, with the token; a 2xx answer is an acknowledgement.

After the run it asks the server for every written claim and compares: an acknowledged write
must be there exactly once (else *lost* or *duplicated*), a refused one (4xx/5xx) must not
(else *phantom*); a write whose connection broke has an unknown outcome and is only counted.
It prints Markdown: requests/s, latency percentiles and errors by status, per kind of request.

``--crash`` runs the other test: kill -9 the server in the middle of a burst of writes,
restart it on the same directory, check every acknowledged write is there and that the store
validates (``claimgraph validate``); then kill -9 ``claimgraph load`` of a large file half-way
through and check the restarted store holds either none of that file or all of it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.generate import BENCH_GRAPH, generate, write_nquads
from bench.linkeddata import _sample
from bench.run import ROOT, _log, machine
from bench.throughput import build_store, client_connection, start_service, stop_service

TOKEN = "bench-reliability-token"
WRITE_BASE = "https://example.org/id/claim/reliability-"
WRITE_GRAPH = "https://example.org/graph/reliability"
CG = "https://claimgraph.org/ontology#"
JSON = "application/sparql-results+json"
KINDS = ("query: research battery", "query: lookup", "page", "linked data", "write: update",
         "write: graph store")  # fmt: skip
WEIGHTS = (2, 3, 5, 2, 2, 2)


@dataclass(frozen=True)
class Request:
    kind: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    write: str | None = None  # the IRI of the claim a write inserts


@dataclass
class Outcome:
    kind: str
    status: int | None  # None: the connection failed (no answer)
    seconds: float
    write: str | None


def _form(query: str) -> tuple[bytes, dict[str, str]]:
    body = urllib.parse.urlencode({"query": query}).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded", "Accept": JSON}


class Mix:
    """The requests clients pick from; writes are minted fresh, one claim IRI each."""

    def __init__(self, base: str, claims: list[str], actors: list[str], run: str) -> None:
        self.base, self.claims, self.actors, self.run = base, claims, actors, run
        self.battery = [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("queries/*.rq"))]

    def _path(self, iri: str) -> str:
        return "/" + iri.removeprefix(self.base)

    def pick(self, rng: random.Random, client: int, n: int) -> Request:
        kind = rng.choices(KINDS, WEIGHTS)[0]
        if kind == "query: research battery":
            body, headers = _form(rng.choice(self.battery))
            return Request(kind, "POST", "/sparql", body, headers)
        if kind == "query: lookup":
            claim = rng.choice(self.claims)
            body, headers = _form(f"SELECT ?t WHERE {{ <{claim}> <{CG}text> ?t }}")
            return Request(kind, "POST", "/sparql", body, headers)
        html = {"Accept": "text/html"}
        if kind == "page":
            path = rng.choice(
                ["/", "/claims", "/claims?sort=recent&page=2", *(["claim"] * 3), "actor"]
            )
            if path == "claim":
                path = self._path(rng.choice(self.claims))
            elif path == "actor":
                path = self._path(rng.choice(self.actors))
            return Request(kind, "GET", path, headers=html)
        if kind == "linked data":
            iri = rng.choice(self.claims + self.actors)
            return Request(kind, "GET", self._path(iri), headers={"Accept": "text/turtle"})
        iri = f"{WRITE_BASE}{self.run}-{client}-{n}"
        triples = f'<{iri}> a <{CG}Claim> ; <{CG}text> "Reliability write {client}-{n}."@en .'
        auth = {"Authorization": f"Bearer {TOKEN}"}
        if kind == "write: update":
            body = f"INSERT DATA {{ GRAPH <{WRITE_GRAPH}> {{ {triples} }} }}".encode()
            headers = {**auth, "Content-Type": "application/sparql-update"}
            return Request(kind, "POST", "/update", body, headers, write=iri)
        target = urllib.parse.quote(f"{WRITE_GRAPH}-{client}", safe="")
        headers = {**auth, "Content-Type": "text/turtle"}
        return Request(
            kind, "POST", f"/graph-store?graph={target}", triples.encode(), headers, write=iri
        )


def drive(
    port: int,
    mix: Mix,
    clients: int,
    seconds: float,
    only: tuple[str, ...] = (),
    stop_event: threading.Event | None = None,
) -> list[Outcome]:
    """``clients`` closed-loop clients, each on a keep-alive connection (reopened after a
    failure), for ``seconds`` or until ``stop_event``; every request's outcome."""
    stop = time.monotonic() + seconds
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(number)
        conn = client_connection(port, number)
        mine: list[Outcome] = []
        n = 0
        while time.monotonic() < stop and not (stop_event and stop_event.is_set()):
            req = mix.pick(rng, number, n)
            n += 1
            if only and req.kind not in only:
                continue
            t0 = time.perf_counter()
            status: int | None
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                answer = conn.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                status = None
                conn.close()
                conn = client_connection(port, number)
            mine.append(Outcome(req.kind, status, time.perf_counter() - t0, req.write))
        conn.close()
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def written(port: int, run: str) -> Counter[str]:
    """How many times each claim this run wrote is in the store (its text, across graphs)."""
    found: Counter[str] = Counter()
    page, offset = 5000, 0
    while True:
        query = (
            f"SELECT ?c ?g WHERE {{ GRAPH ?g {{ ?c <{CG}text> ?t }} "
            f'FILTER(STRSTARTS(STR(?c), "{WRITE_BASE}{run}-")) }} '
            f"ORDER BY ?c ?g LIMIT {page} OFFSET {offset}"
        )
        body, headers = _form(query)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("POST", "/sparql", body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        if answer.status != 200:
            raise RuntimeError(f"counting the writes: HTTP {answer.status}: {data[:300]!r}")
        rows = json.loads(data)["results"]["bindings"]
        found.update(row["c"]["value"] for row in rows)
        if len(rows) < page:
            return found
        offset += page


@dataclass
class Audit:
    acknowledged: int
    refused: int
    unknown: int  # no answer: the write may or may not have landed
    lost: list[str]
    duplicated: list[str]
    phantom: list[str]
    unknown_found: int

    def line(self) -> str:
        return (
            f"writes acknowledged {self.acknowledged}, found afterwards "
            f"{self.acknowledged - len(self.lost)}; lost {len(self.lost)}, duplicated "
            f"{len(self.duplicated)}, phantom {len(self.phantom)} (refused {self.refused}); "
            f"no answer {self.unknown} (of which found {self.unknown_found})"
        )

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.phantom)


def audit(outcomes: list[Outcome], found: Counter[str]) -> Audit:
    writes = [o for o in outcomes if o.write is not None]
    acked = [o.write for o in writes if o.status is not None and 200 <= o.status < 300]
    refused = [o.write for o in writes if o.status is not None and o.status >= 400]
    unknown = [o.write for o in writes if o.status is None]
    return Audit(
        acknowledged=len(acked),
        refused=len(refused),
        unknown=len(unknown),
        lost=[w for w in acked if w and not found[w]],
        duplicated=[w for w in acked if w and found[w] > 1],
        phantom=[w for w in refused if w and found[w]],
        unknown_found=sum(1 for w in unknown if w and found[w]),
    )


def _percentile(times: list[float], q: float) -> float:
    return times[min(len(times) - 1, int(len(times) * q))]


def table(outcomes: list[Outcome], seconds: float) -> list[str]:
    lines = [
        "| kind | requests | requests/s | p50 | p95 | p99 | max | errors |",
        "| --- | --: | --: | --: | --: | --: | --: | --- |",
    ]
    for kind in (*KINDS, "all"):
        mine = [o for o in outcomes if kind in ("all", o.kind)]
        times = sorted(o.seconds for o in mine)
        errors = Counter(
            "no answer" if o.status is None else f"HTTP {o.status}"
            for o in mine
            if o.status is None or o.status >= 400
        )
        cells = (
            [f"{_percentile(times, q) * 1000:,.1f} ms" for q in (0.5, 0.95, 0.99)]
            if times
            else ["—"] * 3
        )
        worst = f"{times[-1] * 1000:,.1f} ms" if times else "—"
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "0"
        lines.append(
            f"| {kind} | {len(mine)} | {len(mine) / seconds:,.1f} | {' | '.join(cells)} | "
            f"{worst} | {shown} |"
        )
    return lines


def _sample_iris(data_dir: Path, statements: int, seed: int) -> tuple[str, list[str], list[str]]:
    graph = build_store(data_dir, statements, seed)
    rng = random.Random(seed)
    claims = _sample(graph, "Claim", 200, rng)
    actors = _sample(graph, "Actor", 100, rng)
    base = graph.iris.base
    graph.close()
    return base, claims, actors


def load_run(args: argparse.Namespace, tmp: Path) -> tuple[list[str], bool]:
    data_dir = tmp / "store"
    base, claims, actors = _sample_iris(data_dir, args.statements, args.seed)
    mix = Mix(base, claims, actors, run="load")
    process, port = start_service(data_dir, args.threads, tmp / "serve.log", _env())
    try:
        _log(f"{args.clients} clients for {args.seconds:g} s")
        outcomes = drive(port, mix, args.clients, args.seconds)
        result = audit(outcomes, written(port, "load"))
    finally:
        stop_service(process)
    lines = [
        f"Reliability under load, {time.strftime('%Y-%m-%d')}: {args.statements:,} statements, "
        f"`claimgraph serve --threads {args.threads}`, {args.clients} clients for "
        f"{args.seconds:g} s; {machine()}.",
        "",
        *table(outcomes, args.seconds),
        "",
        f"Writes: {result.line()}.",
    ]
    return lines, result.ok


def _env() -> dict[str, str]:
    return {"CLAIMGRAPH_WRITE_TOKEN": TOKEN}


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def crash_writes(args: argparse.Namespace, tmp: Path) -> tuple[list[str], bool]:
    """kill -9 during a burst of writes; restart; every acknowledged write must be there."""
    data_dir = tmp / "crash-store"
    base, claims, actors = _sample_iris(data_dir, args.statements, args.seed)
    mix = Mix(base, claims, actors, run="crash")
    process, port = start_service(data_dir, args.threads, tmp / "serve.log", _env())
    stop = threading.Event()
    outcomes: list[Outcome] = []
    writers = ("write: update", "write: graph store")
    burst = threading.Thread(
        target=lambda: outcomes.extend(
            drive(port, mix, args.clients, args.seconds * 4, writers, stop)
        )
    )
    burst.start()
    time.sleep(args.crash_after)
    _log("kill -9 the server during the burst of writes")
    _kill(process)
    stop.set()  # the writes in flight fail (no answer); no new ones against a dead server
    burst.join()
    process, port = start_service(data_dir, args.threads, tmp / "serve.log", _env())
    try:
        result = audit(outcomes, written(port, "crash"))
    finally:
        stop_service(process)
    check = _validate(data_dir)
    lines = [
        f"- kill -9 during writes ({args.clients} writers, killed after {args.crash_after:g} s), "
        f"restarted on the same directory: {result.line()}; `claimgraph validate`: {check}.",
    ]
    return lines, result.ok and check.startswith("exit 0")


def _validate(data_dir: Path) -> str:
    cli = Path(sys.executable).with_name("claimgraph")
    command = [str(cli), "validate", "--data-dir", str(data_dir)]
    done = subprocess.run(command, capture_output=True, env=_seedless(), timeout=3600)
    last = (done.stdout or done.stderr).decode(errors="replace").strip().splitlines()
    return f"exit {done.returncode} ({last[-1] if last else 'no output'})"


def _seedless() -> dict[str, str]:
    import os

    return {**os.environ, "CLAIMGRAPH_SEED": "false"}


def _graph_count(port: int) -> int:
    body, headers = _form(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BENCH_GRAPH}> {{ ?s ?p ?o }} }}"
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("POST", "/sparql", body=body, headers=headers)
        data = conn.getresponse().read()
    finally:
        conn.close()
    return int(json.loads(data)["results"]["bindings"][0]["n"]["value"])


def _load(data_dir: Path, file: Path) -> subprocess.Popen[bytes]:
    cli = Path(sys.executable).with_name("claimgraph")
    command = [str(cli), "load", str(file), "--data-dir", str(data_dir)]
    return subprocess.Popen(
        command, env=_seedless(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def crash_load(args: argparse.Namespace, tmp: Path) -> tuple[list[str], bool]:
    """kill -9 ``claimgraph load`` half-way; the restarted store has none of the file or all."""
    file = tmp / "big.nq"
    with file.open("wb") as out:
        write_nquads(generate(args.load_statements, args.seed + 1), out)
    # A complete load first, into its own store: how many quads the file makes, how long it takes.
    pilot = tmp / "pilot-store"
    build_store(pilot, 0, args.seed).close()
    t0 = time.monotonic()
    if _load(pilot, file).wait() != 0:
        raise RuntimeError("claimgraph load of the generated file failed")
    took = time.monotonic() - t0
    process, port = start_service(pilot, 2, tmp / "serve.log")
    try:
        full = _graph_count(port)
    finally:
        stop_service(process)

    data_dir = tmp / "load-store"
    build_store(data_dir, 0, args.seed).close()
    loading = _load(data_dir, file)
    time.sleep(took / 2)
    finished = loading.poll() is not None
    _log("kill -9 claimgraph load half-way")
    _kill(loading)
    process, port = start_service(data_dir, 2, tmp / "serve.log")
    try:
        after = _graph_count(port)
    finally:
        stop_service(process)
    verdict = "none of it" if after == 0 else "all of it" if after == full else "PART of it"
    note = " (the load had already finished: try a larger --load-statements)" if finished else ""
    lines = [
        f"- kill -9 during `claimgraph load` of {args.load_statements:,} statements "
        f"({full:,} quads, a complete load takes {took:.1f} s), killed after {took / 2:.1f} s: "
        f"the restarted store holds {after:,} of its quads: {verdict}{note}.",
    ]
    return lines, after in (0, full)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8, help="claimgraph serve --threads")
    parser.add_argument("--crash", action="store_true", help="the kill -9 runs instead")
    parser.add_argument("--crash-after", type=float, default=3.0, help="seconds into the burst")
    parser.add_argument("--load-statements", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cg-bench-reliability-") as tmp:
        if args.crash:
            writes, ok_writes = crash_writes(args, Path(tmp))
            load, ok_load = crash_load(args, Path(tmp))
            lines = [
                f"Crash recovery, {time.strftime('%Y-%m-%d')}: {args.statements:,} statements; "
                f"{machine()}.",
                "",
                *writes,
                *load,
            ]
            ok = ok_writes and ok_load
        else:
            lines, ok = load_run(args, Path(tmp))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
