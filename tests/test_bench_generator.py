"""The benchmark's synthetic case files: they conform to the shapes, are reproducible, scale as
asked, and give the research battery something to find. (Correctness only: timings are
measured by ``python -m bench.run``, never asserted in tests.)"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import rdflib.plugins.sparql

from bench.generate import BENCH_GRAPH, CaseFileGenerator, generate, main
from bench.run import battery, materialise
from claimgraph.iris import CG
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.terms import triples_to_graph
from claimgraph.validation import Validator

ROOT = Path(__file__).resolve().parents[1]

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
STATEMENT = f"{CG}Statement"
ACTOR_KINDS = {f"{CG}{k}" for k in ("Person", "Organization", "GovernmentBody", "MediaOutlet")}


def iri(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode) else ""


def count_typed(quads: list[ox.Quad], cls: str) -> int:
    return len([q for q in quads if q.predicate.value == RDF_TYPE and iri(q.object) == cls])


@pytest.fixture(scope="module")
def small_store() -> Iterator[EmbeddedStore]:
    """A 300-statement case file in memory; the tests only read it."""
    store = EmbeddedStore(None)
    store.bulk_load(generate(300))
    yield store
    store.close()


def test_generated_case_file_and_write_batch_conform_to_the_shapes(validator: Validator) -> None:
    generator = CaseFileGenerator(300)
    quads = list(generator) + generator.write_batch(100)
    report = validator.validate_graph(triples_to_graph(quads))
    assert report.violations == [], report.text(limit=20)
    assert report.conforms


def test_same_seed_same_quads_other_seed_other_quads() -> None:
    first = list(generate(500, seed=7))
    assert first == list(generate(500, seed=7))
    assert first != list(generate(500, seed=8))


@pytest.mark.parametrize("n", [1, 9, 10, 11, 250, 2000])
def test_n_statements_make_n_statements(n: int) -> None:
    quads = list(generate(n))
    assert count_typed(quads, STATEMENT) == n
    assert count_typed(quads, f"{CG}Claim") == -(-n // 10)  # one claim per ten statements
    assert {iri(q.graph_name) for q in quads} == {BENCH_GRAPH}


def test_proportions_are_those_of_a_case_file() -> None:
    quads = list(generate(10_000))
    types = Counter(iri(q.object) for q in quads if q.predicate.value == RDF_TYPE)
    actors = sum(types[k] for k in ACTOR_KINDS)
    assert 300 <= actors <= 700  # about half an actor per ten statements
    assert 9 <= len(quads) / 10_000 <= 13  # about eleven triples per statement, as in ZPMC
    assert types["http://schema.org/ClaimReview"] > 0
    assert types[f"{CG}EvidenceAssessment"] > 0


def test_every_node_is_an_iri_under_the_id_namespace() -> None:
    quads = list(generate(300))
    subjects = {q.subject for q in quads} - {ox.NamedNode(BENCH_GRAPH)}
    assert all(isinstance(s, ox.NamedNode) for s in subjects)
    assert all(iri(s).startswith("https://claimgraph.org/id/") for s in subjects)
    assert not any(isinstance(q.object, ox.BlankNode) for q in quads)


def test_write_batch_adds_new_statements_by_existing_actors() -> None:
    generator = CaseFileGenerator(500)
    quads = list(generator)
    batch = generator.write_batch(100)
    assert count_typed(batch, STATEMENT) == 100
    existing_actors = {q.subject for q in quads if iri(q.object) in ACTOR_KINDS}
    speakers = {q.object for q in batch if q.predicate.value == f"{CG}speaker"}
    assert speakers <= existing_actors
    new_statements = {q.subject for q in batch if iri(q.object) == STATEMENT}
    assert not new_statements & {q.subject for q in quads}


def test_cli_writes_gzipped_nquads(tmp_path: Path) -> None:
    out = tmp_path / "bench.nq.gz"
    assert main(["--statements", "50", "-o", str(out)]) == 0
    with gzip.open(out, "rb") as f:
        parsed = list(ox.parse(f.read(), ox.RdfFormat.N_QUADS))
    assert parsed == list(generate(50))


@pytest.mark.parametrize("name", [name for name, _ in battery()])
def test_battery_query_finds_something(small_store: EmbeddedStore, name: str) -> None:
    text = dict(battery())[name]
    assert materialise(small_store.query(text)) > 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's own N-Quads parser
def test_rdflib_and_oxigraph_agree_on_the_battery(
    small_store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark compares the engines' speed; they must first give the same answers."""
    monkeypatch.setattr(rdflib.plugins.sparql, "SPARQL_LOAD_GRAPHS", False)
    buf = io.BytesIO()
    ox.serialize(small_store.quads(), buf, ox.RdfFormat.N_QUADS)
    dataset = rdflib.Dataset(default_union=True)
    dataset.parse(data=buf.getvalue().decode("utf-8"), format="nquads")
    for name, text in battery():
        assert len(list(dataset.query(text))) == materialise(small_store.query(text)), name
