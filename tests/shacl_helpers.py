"""Load the ontology, vocabularies and shapes, and validate through the product's validator."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from rdflib import Dataset, Graph, Namespace
from rdflib.term import Node

from claimgraph.validation import Validator

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_DIR = ROOT / "ontology"
SHAPES_FILE = ROOT / "shapes" / "claimgraph-shapes.ttl"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

CG = Namespace("https://claimgraph.org/ontology#")
CGSH = Namespace("https://claimgraph.org/shapes#")
SH = Namespace("http://www.w3.org/ns/shacl#")


def load_ontology() -> Graph:
    """The graph validation mixes into the data: claimgraph.ttl plus vocab.ttl."""
    graph = Graph()
    for name in ("claimgraph.ttl", "vocab.ttl"):
        graph.parse(ONTOLOGY_DIR / name, format="turtle")
    return graph


def load_shapes() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


def load_data(path: Path) -> Graph:
    """A Turtle or TriG file as one graph (the union of its named graphs)."""
    if path.suffix == ".trig":
        dataset = Dataset()
        with warnings.catch_warnings():
            # rdflib 7's own TriG parser still goes through its deprecated ConjunctiveGraph.
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset.parse(path, format="trig")
        graph = Graph()
        for s, p, o, _ in dataset.quads((None, None, None, None)):
            graph.add((s, p, o))
        return graph
    return Graph().parse(path, format="turtle")


def validate(data: Graph, shapes: Graph, ontology: Graph) -> tuple[bool, Graph]:
    """Validate as every write is (claimgraph.validation); returns (conforms, report graph)."""
    report = Validator(shapes, ontology).validate_graph(data)
    return report.conforms, report.graph


@dataclass(frozen=True)
class Result:
    """One sh:ValidationResult, with the terms a test wants to compare."""

    severity: Node
    focus: Node
    source_shape: Node
    component: Node
    constraint: Node | None
    path: Node | None
    message: str


def results(report: Graph) -> list[Result]:
    """The top-level results of a report (not the sh:detail results nested in them)."""
    found = []
    for node in report.objects(None, SH.result):
        message = report.value(node, SH.resultMessage)
        found.append(
            Result(
                severity=report.value(node, SH.resultSeverity),
                focus=report.value(node, SH.focusNode),
                source_shape=report.value(node, SH.sourceShape),
                component=report.value(node, SH.sourceConstraintComponent),
                constraint=report.value(node, SH.sourceConstraint),
                path=report.value(node, SH.resultPath),
                message=str(message) if message is not None else "",
            )
        )
    return found
