"""The bulk validator (``claimgraph.bulkshacl`` plus the SPARQL constraints in Oxigraph) gives
the results pyshacl gives: on every fixture, and on generated data with violations of every
property shape injected at random."""

from __future__ import annotations

import gc
import random
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node
from shacl_helpers import FIXTURES, SH, load_data, load_ontology, load_shapes

from bench.generate import generate
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.terms import to_ox, to_rdflib
from claimgraph.validation import Validator

FIXTURE_FILES = sorted(
    p for d in ("valid", "invalid", "warning") for p in (FIXTURES / d).glob("*.[tT]*")
)
Key = tuple[object, ...]


def _term(g: Graph, node: Node | None) -> object:
    """A report term, comparable across report graphs (blank-node paths by structure)."""
    if isinstance(node, BNode):
        inverse = g.value(node, SH.inversePath)
        if inverse is not None:
            return ("^", inverse)
    if isinstance(node, Literal):  # rdflib may write 80 as 80.0: compare values
        value = node.value if node.value is not None and not node.ill_typed else str(node)
        return (value, node.datatype, node.language)
    return node


def results(g: Graph) -> Counter[Key]:
    """Each result of a report graph as (focus, path, value, component, severity, shape,
    messages), counted: the same result twice is two results. The messages of a SPARQL
    constraint's result are left out: pyshacl adds its node shape's message to the
    constraint's, the validator (in both paths) gives the constraint's alone."""
    out: Counter[Key] = Counter()
    for r in g.objects(None, SH.result):
        sparql = g.value(r, SH.sourceConstraintComponent) == SH.SPARQLConstraintComponent
        out[
            (
                g.value(r, SH.focusNode),
                _term(g, g.value(r, SH.resultPath)),
                _term(g, g.value(r, SH.value)),
                g.value(r, SH.sourceConstraintComponent),
                g.value(r, SH.resultSeverity),
                g.value(r, SH.sourceShape),
                None if sparql else frozenset(str(m) for m in g.objects(r, SH.resultMessage)),
            )
        ] += 1
    return out


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return load_shapes()


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


@pytest.fixture(scope="module")
def bulk_validator(shapes: Graph, ontology: Graph) -> Validator:
    v = Validator(shapes, ontology)
    assert v.bulk is not None, "the bulk engine must support the project's shapes"
    return v


def reference(data: Graph, shapes: Graph, ontology: Graph) -> tuple[bool, Counter[Key]]:
    """pyshacl alone, core and SPARQL constraints, on the data plus the ontology."""
    g = Graph()
    g += data
    g += ontology
    conforms, report, _ = pyshacl.validate(
        g,
        shacl_graph=shapes,
        inference="none",
        advanced=False,
        allow_warnings=True,
        do_owl_imports=False,
    )
    assert isinstance(report, Graph)
    return bool(conforms), results(report)


def assert_same(data: Graph, shapes: Graph, ontology: Graph, validator: Validator) -> int:
    conforms, expected = reference(data, shapes, ontology)
    report = validator.validate_graph(data, bulk=True)
    got = results(report.graph)
    missing, extra = expected - got, got - expected
    assert not missing and not extra, f"missing {list(missing)}\nextra {list(extra)}"
    assert report.conforms == conforms
    return sum(expected.values())


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_results_equal_pyshacl(
    path: Path, shapes: Graph, ontology: Graph, bulk_validator: Validator
) -> None:
    n = assert_same(load_data(path), shapes, ontology, bulk_validator)
    assert (n == 0) == (path.parent.name == "valid")


def _generated(statements: int, seed: int) -> Graph:
    g = Graph()
    for q in generate(statements, seed):
        g.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return g


# Values that break one constraint or another: wrong kind, wrong datatype, blank text, an
# impossible date, a concept outside every scheme, a duplicate language.
BAD_VALUES: list[Node] = [
    Literal("x"),
    Literal(" ", lang="en"),
    Literal("another", lang="en"),
    Literal("2024-13", datatype=URIRef("http://www.w3.org/2001/XMLSchema#gYearMonth")),
    Literal("2x", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date")),
    Literal("7", datatype=URIRef("http://www.w3.org/2001/XMLSchema#decimal")),
    URIRef("https://example.org/not-a-thing"),
    BNode(),
]

# The SPARQL constraints compare dates with STR(), an error on a blank node in SPARQL 1.1
# (Oxigraph) but the node's label in rdflib's engine: no blank node goes on a date path.
DATES = {URIRef(f"https://claimgraph.org/ontology#{p}") for p in (
    "date", "datePublished", "startDate", "endDate", "assessmentDate"
)}  # fmt: skip


def _inject(data: Graph, shapes: Graph, rng: random.Random) -> int:
    """For each property shape, one of its focus nodes gets a bad value added on its path or
    loses all its values there; some nodes lose their type. Returns how many changes."""
    changes = 0
    for node_shape, prop in shapes.subject_objects(SH.property):
        path = shapes.value(prop, SH.path)
        if not isinstance(path, URIRef):
            continue
        targets = {
            s
            for c in shapes.objects(node_shape, SH.targetClass)
            for s in data.subjects(RDF.type, c)
        }
        for p in shapes.objects(node_shape, SH.targetSubjectsOf):
            targets |= set(data.subjects(p, None))
        if not targets:
            continue
        focus = rng.choice(sorted(targets, key=str))
        if rng.random() < 0.3:
            data.remove((focus, path, None))
        else:
            bad = rng.choice(BAD_VALUES)
            if isinstance(bad, BNode) and path in DATES:
                bad = Literal("x")
            data.add((focus, path, bad))
        changes += 1
    typed = sorted(set(data.subjects(RDF.type, None)), key=str)
    for node in rng.sample(typed, 5):
        data.remove((node, RDF.type, None))
        changes += 1
    return changes


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_data_with_injected_violations_equals_pyshacl(
    seed: int, shapes: Graph, ontology: Graph, bulk_validator: Validator
) -> None:
    data = _generated(120, seed)
    rng = random.Random(seed)
    assert _inject(data, shapes, rng) > 50
    n = assert_same(data, shapes, ontology, bulk_validator)
    assert n > 50  # the injections did break the shapes


@pytest.mark.parametrize("seed", [3, 4])
def test_focus_node_results_equal_pyshacl(
    seed: int, shapes: Graph, ontology: Graph, bulk_validator: Validator
) -> None:
    """A write is validated on its focus nodes (those it touches) by the bulk engine: the same
    results as pyshacl on the same focus nodes, nested shapes checking their values whatever
    the focus."""
    data = _generated(120, seed)
    rng = random.Random(seed)
    _inject(data, shapes, rng)
    subjects = sorted({s for s in data.subjects() if isinstance(s, URIRef)}, key=str)
    focus = rng.sample(subjects, len(subjects) // 4)
    got = bulk_validator.validate_graph(data, focus, bulk=True)
    expected = bulk_validator.validate_graph(data, focus, bulk=False)
    assert results(got.graph) == results(expected.graph)
    assert got.conforms == expected.conforms and not got.conforms  # some focus node broke


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "disk"])
def test_whole_store_results_equal_pyshacl(
    on_disk: bool, tmp_path: Path, shapes: Graph, ontology: Graph, bulk_validator: Validator
) -> None:
    """``claimgraph validate`` of a store: its staging copy of the store's named graphs (the
    default graph left out) gives pyshacl's results on the same data."""
    data = _generated(120, 5)
    assert _inject(data, shapes, random.Random(5)) > 50
    store = EmbeddedStore(tmp_path / "store" if on_disk else None)
    g = ox.NamedNode("https://example.org/graph/case")
    store.bulk_load(ox.Quad(to_ox(s), to_ox(p), to_ox(o), g) for s, p, o in data)  # type: ignore[arg-type]
    # a statement with nothing said of it, in the default graph, which is not the store's data
    stray = ox.NamedNode("https://example.org/not-in-a-named-graph")
    statement = ox.NamedNode("https://claimgraph.org/ontology#Statement")
    store.bulk_load([ox.Quad(stray, ox.NamedNode(str(RDF.type)), statement, ox.DefaultGraph())])
    try:
        report = bulk_validator.validate_store(store)
    finally:
        store.close()
    conforms, expected = reference(data, shapes, ontology)
    got = results(report.graph)
    assert got == expected and sum(got.values()) > 50
    assert report.conforms == conforms


def test_generated_data_conforms_in_bulk(
    shapes: Graph, ontology: Graph, bulk_validator: Validator
) -> None:
    assert assert_same(_generated(150, 7), shapes, ontology, bulk_validator) == 0


def test_w3c_core_cases_the_engine_supports_equal_pyshacl() -> None:
    """On each case of the W3C SHACL core suite whose shapes the bulk engine supports, it gives
    the results pyshacl gives (the others raise ``Unsupported``: pyshacl validates them)."""
    from test_validate_shapes_cli import _cases, _key

    from claimgraph.bulkshacl import BulkShapes, Unsupported, report_graph
    from claimgraph.cli import _read_any
    from claimgraph.terms import to_ox

    supported = 0
    for name, _, data, shapes in _cases():
        dg, sg = _read_any((data,)), _read_any((shapes,))
        try:
            engine = BulkShapes(sg)
        except Unsupported:
            continue
        supported += 1
        store = ox.Store()
        graph = ox.NamedNode("urn:test:data")
        store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph) for s, p, o in dg)  # type: ignore[arg-type]
        ours = report_graph(engine.validate(store), sg, True)
        _, theirs, _ = pyshacl.validate(dg, shacl_graph=sg, inference="none", allow_warnings=True)
        assert isinstance(theirs, Graph)
        got = Counter(_key(ours, r) for r in ours.objects(None, SH.result))
        expected = Counter(_key(theirs, r) for r in theirs.objects(None, SH.result))
        assert got == expected, name
    assert supported >= 40


def test_the_gc_is_as_it_was_after_a_bulk_validation(bulk_validator: Validator) -> None:
    """The engine pauses the cyclic GC while it builds its tables: it must come back on (a
    server would otherwise never collect a cycle again), and stay off if it was off."""
    data = _generated(20, 3)
    assert gc.isenabled()
    bulk_validator.validate_graph(data, bulk=True)
    assert gc.isenabled()
    gc.disable()
    try:
        bulk_validator.validate_graph(data, bulk=True)
        assert not gc.isenabled()
    finally:
        gc.enable()
