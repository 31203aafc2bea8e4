"""The N-Quads dump of a remote store, alone: where its time goes, ours and the server's.

``python -m bench.dump --statements 100000 --runs 3`` generates a synthetic case file, loads
it into a throw-away Virtuoso (``Virtuoso.for_data``, as ``bench.run`` sets it up), then
dumps the whole store as N-Quads (``Store.dump``) into a temporary file ``--runs`` times. Each
row gives the wall time, the quads per second, and the CPU seconds of this process (all its
threads) and of ``virtuoso-t`` during the dump: on a machine whose cores are shared, the CPU
seconds say more than the wall time. ``--chunk`` and ``--parallel`` set ``EXPORT_CHUNK`` and
``EXPORT_PARALLEL`` (``claimgraph.store.remote``). Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import CaseFileGenerator
from bench.service import proc_cpu_s
from claimgraph.formats import by_name
from claimgraph.store import remote


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(statements: int, seed: int, runs: int, tmp: Path) -> list[tuple[str, ...]]:
    from bench.virtuoso import Virtuoso

    _log(f"generating {statements} statements")
    quads = list(CaseFileGenerator(statements, seed))
    server = Virtuoso.for_data(tmp, len(quads), 600)
    rows: list[tuple[str, ...]] = []
    try:
        server.start()
        assert server.process is not None
        store = server.store(timeout=600.0)
        _log(f"Virtuoso: load {len(quads):,} quads")
        store.bulk_load(quads)
        store.close()
        _log(f"Virtuoso: checkpoint, restart: {server.restart_after_load():.1f} s")
        store = server.store(timeout=600.0)
        for i in range(runs):
            _log(f"dump {i + 1} of {runs}")
            theirs, ours, t0 = proc_cpu_s(server.process.pid), time.process_time(), time.time()
            with tempfile.TemporaryFile() as out:
                store.dump(out, by_name("nquads"))
                size = out.tell()
            wall = time.time() - t0
            ours = time.process_time() - ours
            theirs = proc_cpu_s(server.process.pid) - theirs
            rows.append(
                (
                    f"{i + 1}",
                    f"{wall:.1f} s",
                    f"{len(quads) / wall / 1000:.0f}k/s",
                    f"{ours:.1f} s",
                    f"{theirs:.1f} s",
                    f"{size / 1e6:.0f} MB",
                    f"{os.getloadavg()[0]:.1f}",
                )
            )
        store.close()
    finally:
        server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=remote.EXPORT_CHUNK, help="EXPORT_CHUNK")
    parser.add_argument(
        "--parallel", type=int, default=remote.EXPORT_PARALLEL, help="EXPORT_PARALLEL"
    )
    args = parser.parse_args(argv)
    remote.EXPORT_CHUNK, remote.EXPORT_PARALLEL = args.chunk, args.parallel
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        rows = run(args.statements, args.seed, args.runs, Path(tmp))
    print(
        f"| {args.statements:,} statements, chunk {args.chunk:,}, {args.parallel} at a time "
        "| wall | quads/s | CPU, ours | CPU, virtuoso-t | size | load average |"
    )
    print("|" + " --- |" + " --: |" * 6)
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
