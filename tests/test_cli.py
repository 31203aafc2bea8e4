"""The CLI: documented exit codes (0 ok, 1 violations, 2 error), messages that say where."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from claimgraph.cli import main
from tests.conftest import ROOT
from tests.test_writes import BASE, PREFIXES

BAD_STATEMENT = (
    PREFIXES
    + """
statement:no-date a cg:Statement ; cg:speaker actor:alice ; cg:claim claim:sky-green ;
    cg:stance stance:asserts ; cg:source source:paper .
"""
)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One on-disk store seeded with the shipped data, copied per test (seeding takes time)."""
    path = tmp_path_factory.mktemp("seeded") / "store"
    result = CliRunner().invoke(main, ["stats", "--data-dir", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def data_dir(store_dir: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "store"
    shutil.copytree(store_dir, target)
    return target


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def export(data_dir: Path) -> str:
    result = run("export", "--format", "nquads", "--data-dir", data_dir)
    assert result.exit_code == 0
    return result.stdout


def test_load_valid_file(data_dir: Path, tmp_path: Path) -> None:
    f = write(tmp_path, "case.ttl", BASE)
    result = run("load", f, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "https://claimgraph.org/graph/case" in result.stdout
    out = run(
        "query",
        "SELECT ?t WHERE { ?c <https://claimgraph.org/ontology#text> ?t }",
        "--format",
        "csv",
        "--data-dir",
        data_dir,
    )
    assert "The sky is green." in out.stdout


def test_load_violating_file_exits_1_and_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    before = export(data_dir)
    f = write(tmp_path, "bad.ttl", BASE + BAD_STATEMENT)
    result = run("load", f, "--data-dir", data_dir)
    assert result.exit_code == 1
    assert "statement/no-date" in result.stderr and "cg:date" in result.stderr
    assert export(data_dir) == before


def test_load_malformed_file_exits_2_with_line(data_dir: Path, tmp_path: Path) -> None:
    before = export(data_dir)
    good = write(tmp_path, "good.ttl", BASE)
    text = PREFIXES + 'claim:a cg:text "unterminated .\n'
    bad = write(tmp_path, "broken.ttl", text)
    result = run("load", good, bad, "--data-dir", data_dir)
    assert result.exit_code == 2
    last_line = text.count("\n")
    assert f"{bad}:{last_line}:" in result.stderr  # file:line:column
    assert export(data_dir) == before  # the good file was not loaded either


@pytest.mark.parametrize(
    "args",
    [
        ["load", "no-such-file.ttl"],
        ["load", "README.md"],
        ["query", "SELECT * WHERE { ?s ?p }"],
        ["query"],
        ["export", "--graph", "https://example.org/none"],
    ],
)
def test_errors_exit_2(data_dir: Path, args: list[str]) -> None:
    result = run(*args, "--data-dir", data_dir)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")


def test_query_syntax_error_gives_position(data_dir: Path) -> None:
    result = run("query", "SELECT * WHERE { ?s ?p }", "--data-dir", data_dir)
    assert "1:" in result.stderr and "SPARQL syntax error" in result.stderr


def test_validate_exit_codes(data_dir: Path, tmp_path: Path) -> None:
    assert run("validate", "--data-dir", data_dir).exit_code == 0
    ok = write(tmp_path, "ok.ttl", BASE)
    result = run("validate", ok, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    bad = write(tmp_path, "bad.ttl", BASE + BAD_STATEMENT)
    result = run("validate", bad, "--format", "json", "--data-dir", data_dir)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["conforms"] is False and report["violations"] >= 1
    assert {"severity", "focus_node", "path", "value", "message", "shape"} <= set(
        report["results"][0]
    )
    broken = write(tmp_path, "broken.nt", "<a> <b> .\n")
    assert run("validate", broken, "--data-dir", data_dir).exit_code == 2


def test_query_formats(data_dir: Path) -> None:
    q = (
        "SELECT ?n WHERE { ?a a <https://claimgraph.org/ontology#Person> ; "
        "<http://schema.org/name> ?n FILTER(lang(?n) = 'zh') } ORDER BY ?n"
    )
    table = run("query", q, "--data-dir", data_dir)
    assert table.exit_code == 0 and "唐青赟" in table.stdout and "row" in table.stdout
    js = json.loads(run("query", q, "--format", "json", "--data-dir", data_dir).stdout)
    assert any(b["n"]["value"] == "唐青赟" for b in js["results"]["bindings"])
    construct = run(
        "query",
        "CONSTRUCT WHERE { ?s a <https://claimgraph.org/ontology#Claim> }",
        "--data-dir",
        data_dir,
    )
    assert construct.exit_code == 0 and "ontology#Claim" in construct.stdout
    ask = run(
        "query", "ASK { ?s a <https://claimgraph.org/ontology#Statement> }", "--data-dir", data_dir
    )
    assert ask.stdout.strip() == "true"


def test_export_round_trips(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dump.trig"
    assert run("export", "-o", out, "--data-dir", data_dir).exit_code == 0
    fresh = tmp_path / "fresh"
    env = {"CLAIMGRAPH_SEED": "false"}
    result = CliRunner(env=env).invoke(main, ["load", str(out), "--data-dir", str(fresh)])
    assert result.exit_code == 0, result.output
    assert sorted(export(fresh).splitlines()) == sorted(export(data_dir).splitlines())


def test_stats_counts_the_case_file(data_dir: Path) -> None:
    result = run("stats", "--json", "--data-dir", data_dir)
    stats = json.loads(result.stdout)
    assert stats["classes"]["statements"] >= 30 and stats["classes"]["actors"] >= 15
    assert "https://claimgraph.org/graph/zpmc" in stats["graphs"]


def test_graphs_on_the_embedded_store(data_dir: Path) -> None:
    """Every graph of the embedded store is ClaimGraph's: listed; nothing to register."""
    result = run("graphs", "list", "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    rows = dict(line.split("\t") for line in result.stdout.splitlines())
    stats = json.loads(run("stats", "--json", "--data-dir", data_dir).stdout)
    assert {g: int(n) for g, n in rows.items()} == stats["graphs"]
    assert "https://claimgraph.org/graph/zpmc" in rows
    as_json = json.loads(run("graphs", "list", "--json", "--data-dir", data_dir).stdout)
    assert as_json == {"graphs": stats["graphs"], "complete": True}
    unregistered = run("graphs", "list", "--unregistered", "--data-dir", data_dir)
    assert unregistered.exit_code == 0 and unregistered.stdout == ""
    assert "none is unregistered" in unregistered.stderr
    before = export(data_dir)
    for command in ("register", "unregister"):
        result = run("graphs", command, "https://claimgraph.org/graph/zpmc", "--data-dir", data_dir)
        assert result.exit_code == 2 and "only to a remote store" in result.stderr
    assert export(data_dir) == before


def test_restart_does_not_duplicate(data_dir: Path) -> None:
    before = export(data_dir)
    assert run("stats", "--data-dir", data_dir).exit_code == 0  # opens and seeds again
    assert export(data_dir) == before


def test_store_in_use_is_a_clear_error(data_dir: Path) -> None:
    from claimgraph.store.embedded import EmbeddedStore

    holder = EmbeddedStore(data_dir)
    try:
        result = run("stats", "--data-dir", data_dir)
        assert result.exit_code == 2 and "in use" in result.stderr
    finally:
        holder.close()


def test_console_script_is_installed(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("claimgraph")
    env = {**os.environ, "CLAIMGRAPH_SEED": "false"}
    proc = subprocess.run(
        [exe, "stats", "--data-dir", tmp_path / "s"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0 and "triples\t0" in proc.stdout
    proc = subprocess.run(
        [exe, "load", "missing.ttl"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2 and "missing.ttl" in proc.stderr


def test_query_construct_as_ttl(data_dir: Path) -> None:
    q = "CONSTRUCT WHERE { ?s a <https://claimgraph.org/ontology#Person> }"
    result = run("query", q, "--format", "ttl", "--data-dir", data_dir)
    assert result.exit_code == 0
    import pyoxigraph as ox

    assert len(list(ox.parse(result.stdout_bytes, ox.RdfFormat.TURTLE))) >= 5
    bad = run("query", "SELECT * WHERE { ?s ?p ?o }", "--format", "ttl", "--data-dir", data_dir)
    assert bad.exit_code == 2 and "CONSTRUCT" in bad.stderr


def test_rdfxml_with_entities_is_refused(data_dir: Path, tmp_path: Path) -> None:
    """Nested DTD entities expand a few hundred bytes to gigabytes in the parser."""
    bomb = write(
        tmp_path,
        "bomb.rdf",
        """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="http://example.org/x"><rdf:value>&b;</rdf:value></rdf:Description>
</rdf:RDF>
""",
    )
    result = run("load", bomb, "--data-dir", data_dir)
    assert result.exit_code == 2 and "ENTITY" in result.stderr
