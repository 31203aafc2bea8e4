"""A large write to an on-disk store that no other thread reads (`claimgraph load`) is
committed by swapping in a copy of the store: the same result as one transaction, all or
nothing when refused or killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from bench.generate import BENCH_GRAPH, generate, write_nquads
from claimgraph.cli import main
from claimgraph.iris import CG
from claimgraph.store import Delta, embedded
from claimgraph.store.embedded import EmbeddedStore

G1, G2 = ox.NamedNode("https://example.org/g1"), ox.NamedNode("https://example.org/g2")


def _quad(i: int, g: ox.NamedNode) -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"https://example.org/s{i}"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal(f"value {i}", language="en"),
        g,
    )


def _copies(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.write-*"))


def _contents(store: EmbeddedStore) -> set[ox.Quad]:
    return set(store.quads())


@pytest.mark.parametrize("exclusive", [True, False])
def test_a_large_write_lands_as_one_transaction_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exclusive: bool
) -> None:
    monkeypatch.setattr(embedded, "SWAP_MIN_QUADS", 100)
    before = [_quad(i, G1) for i in range(50)] + [_quad(i, G2) for i in range(50)]
    delta = Delta(
        add=[_quad(i, G2) for i in range(1000, 1300)],
        remove=[_quad(3, G2)],
        drop_graphs=[G1],
    )
    reference = EmbeddedStore(None)
    reference.apply(Delta(add=before))
    reference.apply(delta)
    path = tmp_path / "store"
    store = EmbeddedStore(path, exclusive=exclusive)
    store.apply(Delta(add=before))
    inode = path.stat().st_ino
    store.apply(delta)
    # swapped in (a new directory) only when nobody else reads the store
    assert (path.stat().st_ino != inode) is exclusive
    assert _contents(store) == _contents(reference)
    assert store.graphs() == [G2]
    assert _copies(path) == []
    store.close()
    assert _contents(EmbeddedStore(path)) == _contents(reference)  # durable, reopened


def test_a_small_write_is_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = EmbeddedStore(path, exclusive=True)
    inode = path.stat().st_ino
    store.apply(Delta(add=[_quad(i, G1) for i in range(10)]))
    assert path.stat().st_ino == inode
    assert store.count() == 10


def _bench_file(path: Path, statements: int, *, bad: bool = False) -> Path:
    quads = list(generate(statements, seed=3))
    if bad:  # a statement whose text has no language tag: refused by the shapes
        subject = next(q.subject for q in quads if q.predicate.value == f"{CG}speaker")
        quads.append(
            ox.Quad(subject, ox.NamedNode(f"{CG}text"), ox.Literal("x"), ox.NamedNode(BENCH_GRAPH))
        )
    with path.open("wb") as out:
        write_nquads(iter(quads), out)
    return path


def _count(data_dir: Path) -> int:
    store = EmbeddedStore(data_dir)
    try:
        return store.count()
    finally:
        store.close()


def test_a_refused_large_load_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    runner = CliRunner()
    assert runner.invoke(main, ["stats", "--data-dir", str(data_dir)]).exit_code == 0  # seeded
    before = _count(data_dir)
    file = _bench_file(tmp_path / "bad.nq", 6000, bad=True)
    result = runner.invoke(main, ["load", str(file), "--data-dir", str(data_dir)])
    assert result.exit_code == 1, result.output
    assert "violation" in result.output
    assert _count(data_dir) == before
    assert _copies(data_dir) == []


def test_a_large_load_killed_while_copying_leaves_none_of_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    runner = CliRunner()
    assert runner.invoke(main, ["stats", "--data-dir", str(data_dir)]).exit_code == 0
    before = _count(data_dir)
    file = _bench_file(tmp_path / "big.nq", 6000)
    assert sum(1 for _ in ox.parse(path=file, format=ox.RdfFormat.N_QUADS)) >= 50_000
    load = subprocess.Popen(
        [sys.executable, "-m", "claimgraph", "load", str(file), "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while not _copies(data_dir):  # validated; the copy is being written
            assert load.poll() is None, load.stderr.read() if load.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(load.pid, signal.SIGKILL)
    finally:
        load.kill()
        load.wait()
    assert _copies(data_dir)  # left by the killed process …
    assert _count(data_dir) == before  # … and the store holds none of the load
    assert _copies(data_dir) == []  # the copy was deleted when the store was opened again
    result = runner.invoke(main, ["load", str(file), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert _count(data_dir) > before + 50_000  # the same load, not killed: all of it
