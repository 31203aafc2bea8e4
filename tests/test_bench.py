"""The benchmark commands run end to end on a tiny case file and print every column they
promise: embedded Oxigraph, rdflib, and Virtuoso (started by the benchmark itself), and the
serving throughput of `claimgraph serve`. Correctness only: figures are never asserted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import dump, reliability, run, throughput

TIME = re.compile(r"[\d.,]+ (ms|s)¹?")  # a measured time: not "> 60 s", not a row-count ⚠
RATIO = re.compile(r"[\d.,]+×")  # not a lower bound "≥ …"


def _table(text: str) -> dict[str, list[str]]:
    """Markdown table rows by their first cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_the_benchmark_prints_oxigraph_rdflib_and_virtuoso_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    assert run.main(["--sizes", "300", "--writes", "2", "--out", str(out)]) == 0
    report = out.read_text(encoding="utf-8")
    rows = _table(report)
    assert rows["measurement"] == run.COLUMNS[1:]
    for name, _ in run.battery():
        oxigraph, rdflib_, ratio, remote, own, versus, overhead, scale_out = rows[f"query `{name}`"]
        assert "`/sparql`" in oxigraph and "rows" in oxigraph, name
        assert TIME.fullmatch(rdflib_) and RATIO.fullmatch(ratio), (name, rdflib_, ratio)
        assert TIME.fullmatch(remote) and TIME.fullmatch(own), (name, remote, own)
        assert RATIO.fullmatch(versus) and RATIO.fullmatch(overhead), (name, versus, overhead)
        assert RATIO.fullmatch(scale_out), (name, scale_out)  # on Virtuoso ÷ embedded
    for name, _ in run.battery():
        faster = rows[f"query `{name}`, `/sparql` (in-memory workers · cache warm)"]
        memory, cached = faster[0].split(" · ")
        assert TIME.fullmatch(memory) and TIME.fullmatch(cached), (name, faster)
        assert RATIO.fullmatch(faster[5]), (name, faster)  # ÷ Virtuoso's own endpoint
    copy = rows["in-memory copy of a snapshot: first query to first answer from it"]
    assert TIME.fullmatch(copy[0]), copy
    page = rows["claim page, server time (HTML, median)"]
    assert "20 claims" in page[0] and "20 claims" in page[3] and RATIO.fullmatch(page[7])
    write = next(v for k, v in rows.items() if k.startswith("validated write"))
    assert "refused" not in write[0] + write[3] and write[3].endswith(")")
    assert RATIO.fullmatch(write[7]), write
    dump = rows["dump, N-Quads, whole store"]
    assert all("MB" in cell for cell in (dump[0], dump[1], dump[3])), dump
    assert RATIO.fullmatch(dump[7]), dump
    assert rows["peak RSS: the Virtuoso server (virtuoso-t)"][3].endswith("MB")
    assert "Virtuoso failed" not in report
    assert "Virtuoso/" in report  # the server's version, from its answers


def test_the_dump_benchmark_splits_each_dump_between_both_processes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert dump.main(["--statements", "300", "--runs", "2", "--chunk", "1000"]) == 0
    rows = _table(capsys.readouterr().out)
    assert [k for k in rows if not k.startswith("300 statements")] == ["1", "2"]
    for run_ in ("1", "2"):
        wall, rate, ours, theirs, size, _ = rows[run_]
        assert TIME.fullmatch(wall) and rate.endswith("k/s"), rows[run_]
        assert TIME.fullmatch(ours) and TIME.fullmatch(theirs) and size.endswith("MB")


def test_the_throughput_benchmark_drives_a_real_service(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--statements", "300", "--seconds", "2", "--clients", "1,3", "--page-processes", "1,2"]
    assert throughput.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in lines
        if line.startswith("| ") and not line.startswith(("| ---", "| workload"))
    ]
    assert [(r[0].split(" ")[0], r[1], r[2]) for r in rows] == [
        (workload, procs, clients)
        for procs in ("1", "2")
        for workload in ("claim", "`/sparql`")
        for clients in ("1", "3")
    ]
    for workload, procs, _, rate, median, p95, cpu, errors in rows:
        assert float(rate.replace(",", "")) > 0
        assert median.endswith(" ms") and p95.endswith(" ms")
        serving, workers = (float(x) for x in cpu.removesuffix(" ms").split(" + "))
        assert serving > 0
        if procs == "2" and workload.startswith("claim page"):  # rendered in page processes
            assert workers > 0, (workload, procs)
        assert errors == "0"
    assert "1 page process(es): peak RSS of the service" in lines[0]
    assert "2 page process(es): peak RSS of the service" in lines[0]


def test_the_reliability_benchmark_accounts_for_every_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--statements", "200", "--clients", "4", "--seconds", "3", "--threads", "4"]
    assert reliability.main(args) == 0  # non-zero: a write was lost, duplicated or phantom
    out = capsys.readouterr().out
    rows = _table(out)
    for kind in (*reliability.KINDS, "all"):
        requests, rate, *percentiles, _ = rows[kind]
        assert int(requests) >= 0 and float(rate.replace(",", "")) >= 0, kind
        assert all(TIME.fullmatch(p) or p == "—" for p in percentiles), (kind, percentiles)
    assert int(rows["all"][0]) == sum(int(rows[k][0]) for k in reliability.KINDS)
    assert int(rows["all"][0]) > 0
    writes = re.search(
        r"writes acknowledged (\d+), found afterwards (\d+); lost 0, duplicated 0, phantom 0",
        out,
    )
    assert writes and writes[1] == writes[2], out


def test_the_crash_run_finds_every_acknowledged_write_after_kill_9(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--crash", "--statements", "200", "--clients", "3", "--seconds", "3"]
    args += ["--crash-after", "2", "--load-statements", "2000"]
    assert reliability.main(args) == 0
    out = capsys.readouterr().out
    assert "lost 0, duplicated 0, phantom 0" in out and "`claimgraph validate`: exit 0" in out
    assert re.search(r"holds [\d,]+ of its quads: (none|all) of it", out), out
