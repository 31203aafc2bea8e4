"""The write path: validated against the shapes, incremental, atomic, loses nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pyoxigraph as ox
import pytest

from claimgraph.core import ClaimGraph
from claimgraph.errors import InputError, ValidationFailed
from claimgraph.formats import by_name
from claimgraph.iris import CG
from claimgraph.rdfio import parse
from claimgraph.store import REGISTRY, Delta

PREFIXES = """
@prefix cg: <https://claimgraph.org/ontology#> .
@prefix stance: <https://claimgraph.org/vocab/stance#> .
@prefix actor: <https://claimgraph.org/id/actor/> .
@prefix claim: <https://claimgraph.org/id/claim/> .
@prefix statement: <https://claimgraph.org/id/statement/> .
@prefix source: <https://claimgraph.org/id/source/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix schema: <http://schema.org/> .
"""

BASE = (
    PREFIXES
    + """
actor:alice a cg:Person ; schema:name "Alice Example"@en .
source:paper a cg:NewsArticle ; cg:title "A paper"@en ; cg:publisher actor:alice ;
    cg:datePublished "2024-03-08"^^xsd:date ; cg:language "en"^^xsd:language .
claim:sky-green a cg:Claim ; cg:text "The sky is green."@en .
statement:alice-sky a cg:Statement ; cg:speaker actor:alice ; cg:claim claim:sky-green ;
    cg:stance stance:asserts ; cg:date "2024-03-07"^^xsd:date ; cg:source source:paper ;
    cg:excerpt "The sky is green, said Alice."@en .
"""
)


def turtle(graph: ClaimGraph, text: str, name: str = "test") -> list[ox.Quad]:
    g = ox.NamedNode(graph.iris.graph(name))
    return parse(text.encode(), by_name("turtle"), graph=g, iris=graph.iris)


def dump(graph: ClaimGraph) -> bytes:
    out = io.BytesIO()
    graph.store.dump(out, by_name("nquads"))
    return out.getvalue()


@pytest.fixture
def base(graph: ClaimGraph) -> ClaimGraph:
    report = graph.write(Delta(add=turtle(graph, BASE)))
    assert report.conforms, report.text()
    return graph


def test_valid_write_is_applied(base: ClaimGraph) -> None:
    assert base.store.has_graph(ox.NamedNode(base.iris.graph("test")))
    assert any(base.store.quads(predicate=ox.NamedNode(str(CG.speaker))))


def test_violating_write_leaves_store_byte_for_byte_unchanged(base: ClaimGraph) -> None:
    before = dump(base)
    bad = (
        PREFIXES
        + """
    statement:two-speakers a cg:Statement ; cg:speaker actor:alice, actor:bob ;
        cg:claim claim:sky-green ; cg:stance stance:denies ; cg:date "2024-03-07"^^xsd:date ;
        cg:source source:paper .
    actor:bob a cg:Person ; schema:name "Bob Example"@en .
    """
    )
    with pytest.raises(ValidationFailed) as info:
        base.write(Delta(add=turtle(base, bad)))
    assert dump(base) == before
    report = info.value.report
    assert not report.conforms
    hit = [r for r in report.violations if r.path == "cg:speaker"]
    assert hit and hit[0].focus_node == "https://claimgraph.org/id/statement/two-speakers"
    assert hit[0].message and "Statement" in hit[0].shape
    assert "cg:speaker" in report.text()
    # the report is RDF too
    assert report.graph.serialize(format="turtle")


def test_removing_a_referenced_source_is_refused(base: ClaimGraph) -> None:
    """Incremental validation re-checks the statements that point at a changed node."""
    before = dump(base)
    src = ox.NamedNode("https://claimgraph.org/id/source/paper")
    gone = list(base.store.quads(subject=src))
    with pytest.raises(ValidationFailed) as info:
        base.write(Delta(remove=gone))
    assert any(r.focus_node.endswith("statement/alice-sky") for r in info.value.report.violations)
    assert dump(base) == before


def test_moving_a_source_date_before_its_statements_is_refused(base: ClaimGraph) -> None:
    src = ox.NamedNode("https://claimgraph.org/id/source/paper")
    date = ox.NamedNode(str(CG.datePublished))
    old = next(base.store.quads(subject=src, predicate=date))
    earlier = ox.Quad(
        src,
        date,
        ox.Literal("2024-03-01", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
        old.graph_name,
    )
    with pytest.raises(ValidationFailed) as info:
        base.write(Delta(remove=[old], add=[earlier]))
    assert any(r.focus_node.endswith("statement/alice-sky") for r in info.value.report.violations)


def test_the_registry_graph_is_reserved(base: ClaimGraph) -> None:
    """The remote store's registry graph cannot be written on any store, so that data moves
    between the stores unchanged (and no write can forge the remote store's generation)."""
    before, generation = dump(base), base.generation
    quad = ox.Quad(
        ox.NamedNode("urn:claimgraph:generation"),
        ox.NamedNode("urn:claimgraph:value"),
        ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        REGISTRY,
    )
    for delta in (Delta(add=[quad]), Delta(remove=[quad]), Delta(drop_graphs=[REGISTRY])):
        with pytest.raises(InputError, match="urn:claimgraph:graphs> is reserved") as info:
            base.write(delta)
        assert info.value.http_status == 400
    assert dump(base) == before and base.generation == generation


def test_blank_nodes_are_given_iris(graph: ClaimGraph) -> None:
    quads = turtle(graph, PREFIXES + '[] a cg:Person ; schema:name "Nobody"@en .')
    assert quads and all(isinstance(q.subject, ox.NamedNode) for q in quads)
    assert "/.well-known/genid/" in quads[0].subject.value


def test_new_nodes_reached_first_as_objects_are_described_in_full(base: ClaimGraph) -> None:
    """A new source is both the object of a new statement and a focus node of its own: its
    publisher's type must be in the staging graph however the nodes are visited."""
    new = PREFIXES + "".join(
        f"""
    source:s{i} a cg:NewsArticle ; cg:title "S{i}"@en ; cg:publisher actor:alice ;
        cg:datePublished "2024-03-09"^^xsd:date ; cg:language "en"^^xsd:language .
    statement:st{i} a cg:Statement ; cg:speaker actor:alice ; cg:claim claim:sky-green ;
        cg:stance stance:asserts ; cg:date "2024-03-08"^^xsd:date ; cg:source source:s{i} ;
        cg:excerpt "The sky is green."@en .
    """
        for i in range(30)
    )
    report = base.write(Delta(add=turtle(base, new)))
    assert report.conforms, report.text()


def test_a_reporting_loop_made_by_a_write_is_refused(base: ClaimGraph) -> None:
    """Loop checks follow cg:reportedBy to the end of the chain, not one hop."""
    chain = PREFIXES + "".join(
        f"""
    statement:r{i} a cg:Statement ; cg:speaker actor:alice ; cg:claim claim:sky-green ;
        cg:stance stance:reports ; cg:date "2024-03-07"^^xsd:date ; cg:source source:paper ;
        cg:excerpt "The sky is green."@en ; cg:reportedBy statement:r{i + 1} .
    """
        for i in range(4)
    )
    chain += """
    statement:r4 a cg:Statement ; cg:speaker actor:alice ; cg:claim claim:sky-green ;
        cg:stance stance:reports ; cg:date "2024-03-07"^^xsd:date ; cg:source source:paper ;
        cg:excerpt "The sky is green."@en .
    """
    assert base.write(Delta(add=turtle(base, chain))).conforms
    closing = PREFIXES + "statement:r4 cg:reportedBy statement:r0 ."
    with pytest.raises(ValidationFailed) as info:
        base.write(Delta(add=turtle(base, closing)))
    assert any(
        "loop" in r.shape.lower() or "itself" in r.message for r in info.value.report.violations
    )


# Written blank nodes are skolemized to IRIs, so the no-blank-node rule cannot fail on a write.
INVALID = sorted(
    p
    for p in (Path(__file__).parent / "fixtures" / "invalid").glob("*.ttl")
    if p.stem != "blank-node-statement"
)
WARNING = sorted((Path(__file__).parent / "fixtures" / "warning").glob("*.ttl"))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_every_invalid_fixture_is_refused_as_a_write(graph: ClaimGraph, path: Path) -> None:
    """The incremental write path finds what whole-graph validation finds (nested shapes
    such as the date patterns included)."""
    before = dump(graph)
    quads, _ = graph.read_files([path])
    with pytest.raises(ValidationFailed):
        graph.write(Delta(add=quads))
    assert dump(graph) == before


@pytest.mark.parametrize("path", WARNING, ids=lambda p: p.stem)
def test_every_warning_fixture_warns_as_a_write(graph: ClaimGraph, path: Path) -> None:
    quads, _ = graph.read_files([path])
    report = graph.write(Delta(add=quads))
    assert report.conforms and report.warnings, report.text()
