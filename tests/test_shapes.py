"""The shapes are valid SHACL, accept good data, and reject each kind of bad data for the
reason the fixture names (first line: ``# expect: <shape> <component, path or constraint>``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl.entrypoints import meta_validate
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SKOS
from shacl_helpers import (
    CG,
    CGSH,
    FIXTURES,
    SH,
    Result,
    load_data,
    load_ontology,
    load_shapes,
    results,
    validate,
)

PREFIXES = {"cgsh": str(CGSH), "sh": str(SH), "cg": str(CG), "schema": "http://schema.org/"}
SCHEMES = {
    CG.stance: "https://claimgraph.org/vocab/stance",
    CG.direction: "https://claimgraph.org/vocab/direction",
    CG.normalizedVerdict: "https://claimgraph.org/vocab/verdict",
    CG.topic: "https://claimgraph.org/vocab/topic",
}
# Node-level constraint parameters: a node shape using any of them needs its own sh:message.
NODE_LEVEL = (SH["class"], SH.nodeKind, SH["or"], SH["not"], SH["in"], SH.datatype)


def fixtures(kind: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / kind).iterdir() if p.suffix in (".ttl", ".trig"))


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes()


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


def expand(curie: str) -> URIRef:
    prefix, _, local = curie.partition(":")
    return URIRef(PREFIXES[prefix] + local)


def expectation(path: Path) -> tuple[URIRef, URIRef]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: …'"
    shape, detail = first.removeprefix("# expect: ").split()
    return expand(shape), expand(detail)


def owner(shapes: Graph, shape: URIRef) -> URIRef | None:
    """The node shape that lists this property shape with sh:property."""
    return next(iter(shapes.subjects(SH.property, shape)), None)


def from_shape(result: Result, shape: URIRef, shapes: Graph) -> bool:
    source = result.source_shape
    return source == shape or owner(shapes, source) == shape


def matches(result: Result, shape: URIRef, detail: URIRef, shapes: Graph) -> bool:
    return from_shape(result, shape, shapes) and detail in (
        result.component,
        result.path,
        result.constraint,
    )


def describe(found: list[Result]) -> str:
    return "\n".join(
        f"  {r.severity.fragment} {r.source_shape} {r.component.fragment} {r.path}: {r.message}"
        for r in found
    )


# --- the shapes graph itself ---------------------------------------------------------


def test_shapes_pass_meta_shacl(shapes: Graph) -> None:
    conforms, _, text = meta_validate(shapes)
    assert conforms, text


def test_every_property_shape_is_named_and_explained(shapes: Graph) -> None:
    for shape in set(shapes.objects(None, SH.property)):
        assert isinstance(shape, URIRef) and str(shape).startswith(str(CGSH)), f"unnamed: {shape}"
        assert shapes.value(shape, SH.name) is not None, f"{shape} needs sh:name"
        assert english_message(shapes, shape), f"{shape} needs an English sh:message"


def test_every_constraint_has_a_message(shapes: Graph) -> None:
    for constraint in set(shapes.objects(None, SH.sparql)):
        assert english_message(shapes, constraint), f"{constraint} needs an English sh:message"
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        targeted = any(
            shapes.value(shape, t) is not None
            for t in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
        )
        node_level = any(shapes.value(shape, p) is not None for p in NODE_LEVEL)
        if targeted and node_level:
            assert english_message(shapes, shape), f"{shape} needs an English sh:message"


def english_message(shapes: Graph, node: object) -> bool:
    return any(
        isinstance(m, Literal) and m.language == "en" and str(m).strip()
        for m in shapes.objects(node, SH.message)
    )


def test_shapes_use_only_declared_terms(shapes: Graph, ontology: Graph) -> None:
    declared = set(ontology.subjects())
    used = {t for triple in shapes for t in triple if isinstance(t, URIRef)}
    unknown = {t for t in used if str(t).startswith(str(CG)) and t not in declared}
    assert not unknown, f"shapes use terms the ontology does not declare: {unknown}"


@pytest.mark.parametrize("path", sorted(SCHEMES), ids=lambda p: p.fragment)
def test_in_lists_match_the_vocabulary(path: URIRef, shapes: Graph, ontology: Graph) -> None:
    shape = next(s for s in shapes.subjects(SH.path, path) if shapes.value(s, SH["in"]))
    listed = set(Collection(shapes, shapes.value(shape, SH["in"])))
    scheme = URIRef(SCHEMES[path])
    concepts = set(ontology.subjects(SKOS.inScheme, scheme))
    assert listed == concepts, (
        f"{shape} sh:in and {scheme} differ: only in shapes {listed - concepts}, "
        f"only in ontology/vocab.ttl {concepts - listed}"
    )


def test_declared_property_check_sees_the_ontology(ontology: Graph) -> None:
    """cgsh:DeclaredProperty relies on every property being typed in the mixed-in ontology."""
    properties = set(ontology.subjects(RDF.type, OWL.ObjectProperty)) | set(
        ontology.subjects(RDF.type, OWL.DatatypeProperty)
    )
    assert CG.speaker in properties and CG.datePublished in properties


# --- data that must pass -------------------------------------------------------------


@pytest.mark.parametrize("path", fixtures("valid"), ids=lambda p: p.name)
def test_valid_fixture_conforms_without_warnings(path: Path, shapes: Graph, ontology: Graph):
    conforms, report = validate(load_data(path), shapes, ontology)
    found = results(report)
    assert conforms and not found, f"{path.name}:\n{describe(found)}"


# --- data that must fail, or warn, for the expected reason -----------------------------


@pytest.mark.parametrize("path", fixtures("invalid"), ids=lambda p: p.name)
def test_invalid_fixture_fails_on_expected_shape(path: Path, shapes: Graph, ontology: Graph):
    shape, detail = expectation(path)
    conforms, report = validate(load_data(path), shapes, ontology)
    violations = [r for r in results(report) if r.severity == SH.Violation]
    assert not conforms, f"{path.name} conforms"
    assert any(matches(r, shape, detail, shapes) for r in violations), describe(violations)
    # Each fixture breaks one rule: anything else failing means the fixture is sloppy.
    others = [r for r in violations if not from_shape(r, shape, shapes)]
    assert not others, f"{path.name} also violates:\n{describe(others)}"


@pytest.mark.parametrize("path", fixtures("warning"), ids=lambda p: p.name)
def test_warning_fixture_conforms_with_expected_warning(path: Path, shapes: Graph, ontology):
    shape, detail = expectation(path)
    conforms, report = validate(load_data(path), shapes, ontology)
    found = results(report)
    violations = [r for r in found if r.severity == SH.Violation]
    assert conforms and not violations, describe(violations)
    warnings = [r for r in found if r.severity == SH.Warning]
    assert any(matches(r, shape, detail, shapes) for r in warnings), describe(found)


@pytest.mark.parametrize("path", fixtures("invalid") + fixtures("warning"), ids=lambda p: p.name)
def test_results_carry_curator_messages(path: Path, shapes: Graph, ontology: Graph) -> None:
    """Every result shows our message with its placeholders filled, not pySHACL's default."""
    _, report = validate(load_data(path), shapes, ontology)
    for result in results(report):
        source = result.constraint or result.source_shape
        ours = {str(m) for m in shapes.objects(source, SH.message)}
        assert ours, f"{source} has no sh:message"
        if result.constraint is None:
            assert result.message in ours
        else:
            assert "{?" not in result.message and "{$" not in result.message, result.message
