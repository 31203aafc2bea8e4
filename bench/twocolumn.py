"""The command line shared by the small benchmarks that print a two-column table
(`bench.linkeddata`, `bench.pages`): a size, a seed, a sample count, a throw-away store."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

Run = Callable[[int, int, int, Path], list[tuple[str, str]]]


def main(
    run: Run, doc: str | None, *, requests: int, header: str, argv: list[str] | None = None
) -> int:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--requests", type=int, default=requests, help="sampled per kind")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        rows = run(args.statements, args.seed, args.requests, Path(tmp) / "store")
    print(f"| {args.statements:,} statements | {header} |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0
