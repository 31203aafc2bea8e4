"""SHACL validation: the whole graph, or only what one write touches.

Shapes are parsed once per process. A write is validated on a small in-memory *staging
graph*: the state the touched nodes would have after the write, one hop around them, and the
ontology (class hierarchy and concept schemes). pyshacl then checks only the touched nodes
(``focus_nodes``), so a write costs the same at 10k or 10M triples. (Handing pyshacl the store
itself is far slower: it counts the data graph once per result, and scans every target.)
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib import RDF, SH, Graph, Literal, Namespace, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from server.iris import PREFIXES
from server.store import Delta, Store
from server.terms import triples_to_graph

# How many statements may point at one changed node before we stop pulling them into the
# staging graph (a concept such as stance:asserts is the object of every statement).
MAX_REFERRERS = 10_000
_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def _compact(term: Node | None, prefixes: dict[str, str] = PREFIXES) -> str | None:
    if term is None:
        return None
    if isinstance(term, URIRef):
        iri = str(term)
        for prefix, ns in prefixes.items():
            if iri.startswith(ns) and len(iri) > len(ns):
                return f"{prefix}:{iri[len(ns) :]}"
        return iri
    if isinstance(term, Literal):
        return term.n3()
    return str(term)


@dataclass(frozen=True)
class Result:
    """One validation result, in the words a curator needs."""

    severity: str  # Violation | Warning | Info
    focus_node: str
    path: str | None
    value: str | None
    message: str
    shape: str  # the node shape (and property shape, if it has a name)
    constraint: str  # the SHACL constraint component, e.g. sh:MinCountConstraintComponent

    def line(self) -> str:
        where = self.focus_node + (f" {self.path}" if self.path else "")
        value = f" (value {self.value})" if self.value is not None else ""
        return f"{self.severity}: {where}{value}: {self.message} [{self.shape}]"


@dataclass
class Report:
    conforms: bool
    results: list[Result]
    graph: Graph = field(repr=False)
    focus_nodes: int = 0  # how many nodes were checked (0: the whole graph)

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[Result]:
        return [r for r in self.results if r.severity != "Violation"]

    def summary(self) -> str:
        if self.conforms and not self.results:
            return "the data conforms to the shapes"
        head = (
            "the data conforms to the shapes"
            if self.conforms
            else f"the data violates the shapes ({len(self.violations)} violation(s))"
        )
        if self.warnings:
            head += f", {len(self.warnings)} warning(s)"
        return head

    def text(self, limit: int | None = None) -> str:
        lines = [self.summary()]
        ordered = self.violations + self.warnings
        lines += [r.line() for r in ordered[:limit]]
        if limit is not None and len(ordered) > limit:
            lines.append(f"… and {len(ordered) - limit} more")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "conforms": self.conforms,
                "violations": len(self.violations),
                "warnings": len(self.warnings),
                "results": [asdict(r) for r in self.results],
            },
            ensure_ascii=False,
            indent=2,
        )


@functools.lru_cache(maxsize=512)
def _prepared(text: str) -> Query:
    return prepareQuery(text)


class _StagingGraph(Graph):
    """A data graph whose SPARQL texts are parsed once per process.

    pyshacl runs each SHACL-SPARQL constraint once per focus node and rdflib parses the text
    every time (~40 ms a parse: 95% of validating the case file). A prepared query is reusable
    with any bindings, so the cache changes nothing but speed.
    """

    def query(self, query_object: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


def _read_graph(paths: Iterable[Path]) -> Graph:
    g = Graph()
    for path in paths:
        g.parse(path, format="turtle")
    return g


class Validator:
    """Validates data against the ClaimGraph shapes; build it once and share it."""

    def __init__(self, shapes: Graph, ontology: Graph) -> None:
        self.shapes = shapes
        # Only what validation reads from the ontology: the class hierarchy (for sh:class)
        # and the concept schemes (for sh:in / skos:inScheme checks).
        self.ontology = Graph()
        skos = Namespace("http://www.w3.org/2004/02/skos/core#")
        rdfs_sub = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")
        for pred in (rdfs_sub, skos.inScheme, skos.topConceptOf, RDF.type):
            for t in ontology.triples((None, pred, None)):
                self.ontology.add(t)
        self._parents = self._property_shape_parents()

    @classmethod
    def from_dirs(cls, shapes_dir: Path, ontology_dir: Path) -> Validator:
        return cls(
            _read_graph(sorted(shapes_dir.glob("*.ttl"))),
            _read_graph(sorted(ontology_dir.glob("*.ttl"))),
        )

    def _property_shape_parents(self) -> dict[Node, Node]:
        return {ps: ns for ns, _, ps in self.shapes.triples((None, SH.property, None))}

    def _shape_name(self, shape: Node | None) -> str:
        if shape is None:
            return "?"
        parent = self._parents.get(shape)
        name = self.shapes.value(shape, SH.name)
        if parent is None:
            return _compact(shape) or "?"
        label = _compact(shape) if isinstance(shape, URIRef) else None
        label = label or (str(name) if name is not None else None)
        label = label or _compact(self.shapes.value(shape, SH.path)) or "property"
        return f"{_compact(parent)} › {label}"

    def validate_graph(self, data: Graph, focus_nodes: list[URIRef] | None = None) -> Report:
        """Validate ``data`` (plus the ontology); only ``focus_nodes`` if given."""
        if focus_nodes is not None and not focus_nodes:
            return Report(True, [], Graph(), 0)
        staged = _StagingGraph()
        staged += data
        staged += self.ontology
        conforms, report_graph, _ = pyshacl.validate(
            staged,
            inplace=True,  # staged is ours to mutate, and a copy would lose the query cache
            shacl_graph=self.shapes,
            inference="none",
            advanced=False,
            js=False,
            do_owl_imports=False,
            allow_warnings=True,
            focus_nodes=focus_nodes,  # type: ignore[arg-type]
        )
        assert isinstance(report_graph, Graph)
        return Report(
            bool(conforms), self._results(report_graph), report_graph, len(focus_nodes or [])
        )

    def _results(self, rg: Graph) -> list[Result]:
        out = []
        # top-level results only: nested sh:detail results repeat them in generic words
        for r in rg.objects(None, SH.result):
            severity = rg.value(r, SH.resultSeverity)
            message = rg.value(r, SH.resultMessage)
            out.append(
                Result(
                    severity=_SEVERITY.get(severity, str(severity)),  # type: ignore[call-overload]
                    focus_node=_compact(rg.value(r, SH.focusNode)) or "?",
                    path=_compact(rg.value(r, SH.resultPath)),
                    value=_compact(rg.value(r, SH.value)),
                    message=str(message) if message is not None else "constraint not met",
                    shape=self._shape_name(rg.value(r, SH.sourceShape)),
                    constraint=_compact(rg.value(r, SH.sourceConstraintComponent)) or "?",
                )
            )
        out.sort(key=lambda r: (r.severity != "Violation", r.focus_node, r.path or ""))
        return out

    def validate_store(self, store: Store) -> Report:
        """Full validation of everything the store holds."""
        triples = store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert isinstance(triples, ox.QueryTriples)
        return self.validate_graph(triples_to_graph(triples))

    def validate_delta(self, store: Store, delta: Delta) -> Report:
        """Validate the nodes a write touches, as they would be after it."""
        view = _AfterView(store, delta)
        changed = view.changed_subjects()
        focus: set[ox.NamedNode | ox.BlankNode] = set(changed)
        for node in changed:
            referrers = itertools.islice(view.incoming(node), MAX_REFERRERS)
            focus.update(q.subject for q in referrers if not isinstance(q.subject, ox.Triple))
        staging = _StagingGraph()
        described: set[ox.NamedNode | ox.BlankNode] = set()

        def describe(node: ox.NamedNode | ox.BlankNode) -> list[ox.Quad]:
            if node in described:
                return []
            described.add(node)
            quads = list(view.outgoing(node))
            triples_to_graph(quads, staging)
            return quads

        for node in focus:
            for q in describe(node):
                if isinstance(q.object, ox.NamedNode | ox.BlankNode):
                    describe(q.object)
            # inverse paths (e.g. "a claim is the object of some statement") read referrers
            triples_to_graph(itertools.islice(view.incoming(node), MAX_REFERRERS), staging)
        nodes = [URIRef(n.value) for n in focus if isinstance(n, ox.NamedNode)]
        return self.validate_graph(staging, nodes)


class _AfterView:
    """The store as it would be after a delta, seen through subject/object lookups."""

    def __init__(self, store: Store, delta: Delta) -> None:
        self.store = store
        self.delta = delta
        self.removed = set(delta.remove)
        self.dropped = set(delta.drop_graphs)
        self.add_by_subject: dict[object, list[ox.Quad]] = {}
        self.add_by_object: dict[object, list[ox.Quad]] = {}
        for q in delta.add:
            self.add_by_subject.setdefault(q.subject, []).append(q)
            self.add_by_object.setdefault(q.object, []).append(q)

    def _live(self, quads: Iterator[ox.Quad]) -> Iterator[ox.Quad]:
        for q in quads:
            if q not in self.removed and q.graph_name not in self.dropped:
                yield q

    def changed_subjects(self) -> set[ox.NamedNode | ox.BlankNode]:
        subjects: set[ox.NamedNode | ox.BlankNode] = set()
        for q in itertools.chain(self.delta.add, self.delta.remove):
            if not isinstance(q.subject, ox.Triple):
                subjects.add(q.subject)
        for g in self.dropped:
            subjects.update(q.subject for q in self.store.quads(graph=g))  # type: ignore[misc]
        return subjects

    def outgoing(self, node: ox.NamedNode | ox.BlankNode) -> Iterator[ox.Quad]:
        yield from self._live(self.store.quads(subject=node))
        yield from self.add_by_subject.get(node, ())

    def incoming(self, node: ox.NamedNode | ox.BlankNode) -> Iterator[ox.Quad]:
        yield from self._live(self.store.quads(object=node))
        yield from self.add_by_object.get(node, ())
