"""SHACL validation: the whole graph, or only what one write touches.

Shapes are parsed once per process. A write is validated on a small in-memory *staging
graph*: the state the touched nodes would have after the write, one hop around them, and the
ontology (class hierarchy and concept schemes). pyshacl then checks only the touched nodes
(``focus_nodes``), so a write costs the same at 10k or 10M triples. (Handing pyshacl the store
itself is far slower: it counts the data graph once per result, and scans every target.)
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pyshacl
from pyshacl.graph_abstraction import DataGraph
from pyshacl.shapes_graph import ShapesGraph
from rdflib import RDF, SH, BNode, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from claimgraph import prefetch, sparqlterms
from claimgraph.bulkshacl import BulkShapes, Unsupported, report_graph
from claimgraph.errors import ContentError
from claimgraph.iris import PREFIXES
from claimgraph.store import Delta, Store
from claimgraph.terms import to_ox, to_rdflib, triples_to_graph

log = logging.getLogger(__name__)

# A write this large (quads added, removed or in dropped graphs) may be validated over a
# staging copy of the whole store, instead of a staging graph of what it reaches. Measured
# when the small path still ran pyshacl (bench store of 21k quads; the machine shared):
# writes of 425, 1,715 and 4,216 quads took 2.0, 4.9 and 9.6 s node by node, 1.6, 1.9 and
# 2.5 s in bulk. So a write goes over a copy when it has at least BULK_MIN_QUADS quads and
# is at least 1/BULK_SHARE of what the store holds after it; smaller ones (a page's edit,
# an update) stay on their staging graph (not measured again since it is the bulk engine's).
BULK_MIN_QUADS = 2_000
BULK_SHARE = 25
# The staging store's graph for the ontology triples validation reads.
_ONTOLOGY_GRAPH = ox.NamedNode("urn:claimgraph:validation:ontology")
_DATA_GRAPH = ox.NamedNode("urn:claimgraph:validation:data")
# How many statements may point at one changed node before we stop pulling them into the
# staging graph (a concept such as stance:asserts is the object of every statement).
MAX_REFERRERS = 10_000
# Predicates the shapes follow transitively (loop checks): staging follows them to the end.
CHAIN_PREDICATES = frozenset(
    f"https://claimgraph.org/ontology#{p}"
    for p in ("reportedBy", "parentOrganization", "translationOf", "partOfSource")
)
_OPTIONS = {
    "inference": "none",
    "advanced": False,
    "use_js": False,
    "inplace": True,  # the staged graph is ours: no copy
    "allow_warnings": True,
}
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


def _read_graph(folder: Path, what: str) -> Graph:
    """Every Turtle file of ``folder`` in one graph; none, or one that does not parse, is a
    ``ContentError``: validating against no shapes would call anything valid."""
    paths = sorted(folder.glob("*.ttl"))
    if not paths:
        raise ContentError(f"no {what} found: {folder} holds no .ttl file")
    g = Graph()
    for path in paths:
        try:
            g.parse(path, format="turtle")
        except Exception as err:  # rdflib raises many kinds; each means the file is unusable
            raise ContentError(f"the {what} file {path} does not parse: {err}") from err
    return g


@dataclass(frozen=True)
class _SparqlCheck:
    """One SHACL-SPARQL constraint of a node shape, run by Oxigraph instead of pyshacl."""

    shape: URIRef
    constraint: Node
    severity: URIRef
    message: str | None
    query: str  # the constraint's SELECT with its prefixes
    targets: str  # a SELECT of the shape's focus nodes (?this)


def _prefix_block(shapes: Graph, holder: Node | None) -> str:
    lines = []
    for decl in shapes.objects(holder, SH.declare) if holder is not None else ():
        prefix, ns = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
        if prefix is not None and ns is not None:
            lines.append(f"PREFIX {prefix}: {sparqlterms.iri(str(ns))}")
    return "\n".join(lines)


def _targets_query(shapes: Graph, shape: Node) -> str:
    rdfs = "http://www.w3.org/2000/01/rdf-schema#"
    sub = sparqlterms.iri(f"{rdfs}subClassOf")

    def t(node: Node) -> str:  # shapes are ours, yet no text goes into a query unchecked
        return sparqlterms.term(to_ox(node))  # type: ignore[arg-type]

    parts = [f"{{ ?this a/{sub}* {t(c)} }}" for c in shapes.objects(shape, SH.targetClass)]
    parts += [f"{{ ?this {t(p)} ?any }}" for p in shapes.objects(shape, SH.targetSubjectsOf)]
    parts += [f"{{ ?any {t(p)} ?this }}" for p in shapes.objects(shape, SH.targetObjectsOf)]
    parts += [f"{{ VALUES ?this {{ {t(n)} }} }}" for n in shapes.objects(shape, SH.targetNode)]
    if (shape, RDF.type, URIRef(f"{rdfs}Class")) in shapes:  # implicit class target
        parts.append(f"{{ ?this a/{sub}* {t(shape)} }}")
    return "SELECT DISTINCT ?this WHERE { " + (" UNION ".join(parts) or "FILTER(false)") + " }"


_PLACEHOLDER = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


class Validator:
    """Validates data against the ClaimGraph shapes; build it once and share it.

    Core constraints run in the bulk engine (``bulkshacl``, the same results as pyshacl's),
    or in pyshacl for shapes the engine does not implement. SHACL-SPARQL constraints run in
    Oxigraph over the same data, once per constraint rather than once per focus node
    (pyshacl evaluates them with rdflib's engine node by node: 95% of a write's validation
    time). The results are merged into one report.
    """

    def __init__(self, shapes: Graph, ontology: Graph) -> None:
        self.shapes = shapes
        # Only what validation reads from the ontology: the class hierarchy (for sh:class),
        # the declared properties and the concept schemes.
        self.ontology = Graph()
        skos = Namespace("http://www.w3.org/2004/02/skos/core#")
        rdfs_sub = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")
        for pred in (rdfs_sub, skos.inScheme, skos.topConceptOf, RDF.type):
            for t in ontology.triples((None, pred, None)):
                self.ontology.add(t)
        self._ontology_quads = [
            ox.Quad(to_ox(s), to_ox(p), to_ox(o))  # type: ignore[arg-type]
            for s, p, o in self.ontology
        ]
        self._parents = {ps: ns for ns, _, ps in shapes.triples((None, SH.property, None))}
        self.core_shapes = Graph()
        for t in shapes:
            if t[1] != SH.sparql:
                self.core_shapes.add(t)
        self._checks = self._sparql_checks()
        self._shapes_graph = ShapesGraph(self.core_shapes)
        try:
            self.bulk: BulkShapes | None = BulkShapes(self.core_shapes)
        except Unsupported as err:  # other shapes than ours: pyshacl validates everything
            log.info("bulk validation off: %s", err)
            self.bulk = None

    @classmethod
    def from_dirs(cls, shapes_dir: Path, ontology_dir: Path) -> Validator:
        shapes = _read_graph(shapes_dir, "SHACL shapes")
        if not any(shapes.subjects(RDF.type, SH.NodeShape)):
            raise ContentError(f"no SHACL shapes found: {shapes_dir} declares no sh:NodeShape")
        return cls(shapes, _read_graph(ontology_dir, "ontology"))

    def _sparql_checks(self) -> list[_SparqlCheck]:
        checks = []
        for shape, constraint in self.shapes.subject_objects(SH.sparql):
            if self.shapes.value(constraint, SH.deactivated) == Literal(True):
                continue
            if shape in self._parents:
                raise ValueError(f"{shape}: sh:sparql on a property shape is not supported")
            select = self.shapes.value(constraint, SH.select)
            if select is None:
                continue
            prefixes = _prefix_block(self.shapes, self.shapes.value(constraint, SH.prefixes))
            message = self.shapes.value(constraint, SH.message) or self.shapes.value(
                shape, SH.message
            )
            checks.append(
                _SparqlCheck(
                    shape=shape,  # type: ignore[arg-type]
                    constraint=constraint,
                    severity=self.shapes.value(shape, SH.severity) or SH.Violation,  # type: ignore[arg-type]
                    message=str(message) if message is not None else None,
                    query=f"{prefixes}\n{select}",
                    targets=_targets_query(self.shapes, shape),
                )
            )
        return checks

    def _shape_name(self, shape: Node | None) -> str:
        return _shape_label(self.shapes, self._parents, shape)

    def validate_graph(
        self, data: Graph, focus_nodes: list[URIRef] | None = None, *, bulk: bool = False
    ) -> Report:
        """Validate ``data`` (plus the ontology); only ``focus_nodes`` if given. ``bulk``:
        with the bulk engine (when it supports the shapes), else with pyshacl."""
        quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in data]  # type: ignore[arg-type]
        if bulk and self.bulk is not None:
            focus = None if focus_nodes is None else {ox.NamedNode(str(n)) for n in focus_nodes}
            return self._validate_quads(quads, focus)
        return self._validate(data, quads, focus_nodes)

    def _validate_quads(self, quads: Iterable[ox.Quad], focus: set[ox.NamedNode] | None) -> Report:
        """``quads`` (plus the ontology) by the bulk engine, in an in-memory store of their
        own; only ``focus`` if given."""
        if focus is not None and not focus:
            return Report(True, [], Graph(), 0)
        staged = ox.Store()
        staged.extend(ox.Quad(q.subject, q.predicate, q.object, _DATA_GRAPH) for q in quads)
        staged.extend(
            ox.Quad(q.subject, q.predicate, q.object, _ONTOLOGY_GRAPH) for q in self._ontology_quads
        )
        return self._validate_bulk(staged, focus)

    def _validate(
        self, data: Graph, quads: list[ox.Quad], focus_nodes: list[URIRef] | None
    ) -> Report:
        if focus_nodes is not None and not focus_nodes:
            return Report(True, [], Graph(), 0)
        staged = Graph()
        staged += data
        staged += self.ontology
        focus_set = None if focus_nodes is None else set(focus_nodes)
        conforms, report_graph = self._core(staged, focus_set)
        store = ox.Store()
        store.extend(quads)
        store.extend(self._ontology_quads)
        focus = None if focus_nodes is None else {str(n) for n in focus_nodes}
        violated = self._run_sparql_checks(store, focus, report_graph)
        conforms = bool(conforms) and not violated
        report_node = next(report_graph.subjects(RDF.type, SH.ValidationReport))
        report_graph.set((report_node, SH.conforms, Literal(conforms)))
        return Report(conforms, self._results(report_graph), report_graph, len(focus_nodes or []))

    def _core(self, staged: Graph, focus: set[URIRef] | None) -> tuple[bool, Graph]:
        """The core (non-SPARQL) constraints, by pyshacl, on ``focus`` nodes only if given.

        pyshacl's own ``focus_nodes`` option also filters the value nodes that nested shapes
        (sh:node, sh:or, sh:qualifiedValueShape) check, so a malformed date passed on a
        write. Here each shape gets its targets among the focus nodes explicitly, and nested
        shapes run unfiltered. The parsed shapes are reused across validations.
        """
        runner = pyshacl.Validator(
            DataGraph.from_rdflib(staged), shacl_graph=self.core_shapes, options=dict(_OPTIONS)
        )
        runner.shacl_graph = self._shapes_graph
        executor = runner.make_executor()
        g = runner.data_graph
        conforms, results = True, []
        for shape in self._shapes_graph.shapes:
            if focus is None:
                ok, found = shape.validate(executor, g)
            else:
                targets = [n for n in shape.focus_nodes(g) if n in focus]
                if not targets:
                    continue
                ok, found = shape.validate(executor, g, focus=targets)
            conforms = conforms and ok
            results.extend(found)
        report_graph, _ = runner.create_validation_report(self._shapes_graph, conforms, results)
        return conforms, report_graph

    def _run_sparql_checks(
        self, store: ox.Store, focus: set[str] | None, rg: Graph, *, union: bool = False
    ) -> bool:
        """Add each SPARQL constraint's results to ``rg``; True if any is a violation.

        ``union``: the data is the union of ``store``'s named graphs, else its default graph.
        A constraint shared by several shapes (cgsh:DeclaredProperty) is run once."""
        return self._report_sparql(self._sparql_answers(store, union), focus, rg)

    def _sparql_answers(self, store: ox.Store, union: bool = False) -> _Answers:
        """Each SPARQL constraint's solutions and, if it has any, its target IRIs (a query
        shared by several shapes is run once).

        The targets are read only for a constraint with solutions: in data that conforms,
        none has any, and the targets (every statement, for one) cost a third of the time."""
        targets: dict[str, set[str]] = {}
        answers: dict[str, tuple[list[str], list[ox.QuerySolution]]] = {}
        for check in self._checks:
            if check.query not in answers:
                solutions = _select(store, check.query, union)
                answers[check.query] = ([v.value for v in solutions.variables], list(solutions))
            if check.targets not in targets and answers[check.query][1]:
                targets[check.targets] = {
                    row["this"].value
                    for row in _select(store, check.targets, union)
                    if isinstance(row["this"], ox.NamedNode)
                }
        return targets, answers

    def _report_sparql(self, found: _Answers, focus: set[str] | None, rg: Graph) -> bool:
        """Add the SPARQL constraints' results to ``rg``; True if any is a violation."""
        report_node = next(rg.subjects(RDF.type, SH.ValidationReport))
        violated = False
        all_targets, answers = found
        for check in self._checks:
            targets = all_targets.get(check.targets, set())
            if focus is not None:
                targets = targets & focus
            if not targets:
                continue
            names, rows = answers[check.query]
            for row in rows:
                this = row["this"]
                if not isinstance(this, ox.NamedNode) or this.value not in targets:
                    continue
                bindings: dict[str, object] = {n: row[n] for n in names if row[n] is not None}
                result = BNode()
                rg.add((report_node, SH.result, result))
                rg.add((result, RDF.type, SH.ValidationResult))
                rg.add((result, SH.focusNode, URIRef(this.value)))
                rg.add((result, SH.resultSeverity, check.severity))
                rg.add((result, SH.sourceShape, check.shape))
                rg.add((result, SH.sourceConstraint, check.constraint))
                rg.add((result, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
                for var, prop in (("path", SH.resultPath), ("value", SH.value)):
                    term = row[var] if var in names else None
                    if term is None and var == "value":
                        term = this  # SHACL 5.3.2: sh:value is $this when ?value is unbound
                    if term is not None:
                        rg.add((result, prop, to_rdflib(term)))
                if check.message:
                    text = _fill(check.message, bindings)
                    rg.add((result, SH.resultMessage, Literal(text)))
                violated = violated or check.severity == SH.Violation
        return violated

    def _results(self, rg: Graph) -> list[Result]:
        return results_of(rg, self._shape_name)

    def validate_store(self, store: Store) -> Report:
        """Full validation of everything the store holds."""
        if self.bulk is not None:
            return self._validate_bulk(self._staging(store, None), None)
        # Read as quads, not with a CONSTRUCT: a remote server caps a query's results.
        quads = [
            ox.Quad(q.subject, q.predicate, q.object)
            for q in store.quads()
            if not isinstance(q.graph_name, ox.DefaultGraph)
        ]
        return self._validate(triples_to_graph(quads), quads, None)

    def _staging(self, store: Store, delta: Delta | None) -> ox.Store:
        """An in-memory copy of the store's named graphs (as they would be after ``delta``),
        plus the ontology, for the bulk engine to read."""
        staged = ox.Store()
        # Quad by quad through Python, yet cheaper than N-Quads from a dump thread parsed in
        # this one (7.4 s of CPU and wall at 1.03M quads, against 8.3 s of both: the two
        # threads did not overlap); the generator lets other threads run meanwhile.
        staged.extend(q for q in store.quads() if not isinstance(q.graph_name, ox.DefaultGraph))
        if delta is not None:
            for g in delta.drop_graphs:
                staged.remove_graph(g)
            for q in delta.remove:
                staged.remove(q)
            staged.bulk_extend(delta.add)
        staged.bulk_extend(
            ox.Quad(q.subject, q.predicate, q.object, _ONTOLOGY_GRAPH) for q in self._ontology_quads
        )
        return staged

    def _validate_bulk(self, staged: ox.Store, focus: set[ox.NamedNode] | None) -> Report:
        """The bulk engine's core results plus the SPARQL constraints', on ``staged``."""
        assert self.bulk is not None
        # Oxigraph releases the GIL while it evaluates: the SPARQL constraints run on the
        # other core while the core constraints are checked in Python here.
        with ThreadPoolExecutor(1, thread_name_prefix="sparql-constraints") as pool:
            sparql = pool.submit(self._sparql_answers, staged, True)
            findings = self.bulk.validate(staged, focus)  # type: ignore[arg-type]
            answers = sparql.result()
        conforms = not any(f.severity == SH.Violation for f in findings)
        rg = report_graph(findings, self.shapes, conforms)
        names = None if focus is None else {n.value for n in focus}
        violated = self._report_sparql(answers, names, rg)
        conforms = conforms and not violated
        report_node = next(rg.subjects(RDF.type, SH.ValidationReport))
        rg.set((report_node, SH.conforms, Literal(conforms)))
        return Report(conforms, self._results(rg), rg, len(focus or ()))

    def _bulk_worth_it(self, store: Store, delta: Delta) -> bool:
        """Whether ``delta`` is large enough, for this store, to be validated in bulk."""
        if self.bulk is None:
            return False
        size = len(delta.add) + len(delta.remove)
        if size < BULK_MIN_QUADS and delta.drop_graphs:
            size += sum(store.count(g) for g in delta.drop_graphs)
        if size < BULK_MIN_QUADS:
            return False
        return size * BULK_SHARE >= store.count() + len(delta.add)

    def validate_delta(
        self,
        store: Store,
        delta: Delta,
        *,
        bulk: bool | None = None,
        known: Iterable[ox.Quad] = (),
    ) -> Report:
        """Validate the nodes a write touches, as they would be after it.

        A large write (``BULK_MIN_QUADS``, ``BULK_SHARE``; ``bulk`` forces the choice) is
        validated by the bulk engine over a staging copy of the store with the write applied;
        a small one on a staging graph of what the write reaches (below). ``known``: every
        quad of some subjects, as the store holds them (``ClaimGraph.term_quads``), not read.

        The staging data: each touched node and each node pointing at one (capped), two
        hops out from them, the whole of every chain the shapes follow transitively
        (reporting, translation, parent organisation), and the nodes' incoming links.
        """
        if bulk if bulk is not None else self._bulk_worth_it(store, delta):
            return self._validate_delta_bulk(store, delta)
        changed = _AfterView(store, delta).changed_subjects()
        # what staging looks up, read at once (a remote store's lookups cost a request each)
        view = _AfterView(prefetch.write_view(store, delta, changed, known=known), delta)
        focus: set[ox.NamedNode | ox.BlankNode] = set(changed)
        for node in changed:
            referrers = itertools.islice(view.incoming(node), MAX_REFERRERS)
            focus.update(q.subject for q in referrers if not isinstance(q.subject, ox.Triple))
        staged: dict[ox.Quad, None] = {}
        outgoing: dict[ox.NamedNode | ox.BlankNode, list[ox.Quad]] = {}
        depth_done: dict[ox.NamedNode | ox.BlankNode, int] = {}

        def describe(node: ox.NamedNode | ox.BlankNode, depth: int) -> None:
            if depth_done.get(node, -1) >= depth:
                return
            depth_done[node] = depth
            if node not in outgoing:
                outgoing[node] = list(view.outgoing(node))
                staged.update(dict.fromkeys(outgoing[node]))
            for q in outgoing[node]:
                o = q.object
                if isinstance(o, ox.NamedNode | ox.BlankNode):
                    if q.predicate.value in CHAIN_PREDICATES:
                        describe(o, max(depth, 1))  # follow chains to their end
                    elif depth > 0:
                        describe(o, depth - 1)

        for node in focus:
            describe(node, 2)
            # inverse paths (e.g. "a claim is the object of some statement") read referrers
            staged.update(dict.fromkeys(itertools.islice(view.incoming(node), MAX_REFERRERS)))
        if self.bulk is not None:  # the same results as pyshacl's, in a fraction of the time
            return self._validate_quads(staged, {n for n in focus if isinstance(n, ox.NamedNode)})
        quads = [ox.Quad(q.subject, q.predicate, q.object) for q in staged]
        nodes = [URIRef(n.value) for n in focus if isinstance(n, ox.NamedNode)]
        return self._validate(triples_to_graph(quads), quads, nodes)

    def _validate_delta_bulk(self, store: Store, delta: Delta) -> Report:
        """The same focus nodes as the small path (the touched nodes and those pointing at
        them), checked on the whole store as it would be after the write."""
        # not through _AfterView: its indexes of the added quads cost seconds and 100s of MB
        changed = _changed_subjects(store, delta)
        staged = self._staging(store, delta)
        focus = {n for n in changed if isinstance(n, ox.NamedNode)}
        for node in changed:
            referrers = itertools.islice(staged.quads_for_pattern(None, None, node), MAX_REFERRERS)
            focus.update(q.subject for q in referrers if isinstance(q.subject, ox.NamedNode))
        return self._validate_bulk(staged, focus)


def results_of(rg: Graph, shape_name: Callable[[Node | None], str]) -> list[Result]:
    """The top-level results of a SHACL report graph, sorted: violations first."""
    out = []
    # top-level results only: nested sh:detail results repeat them in generic words
    for r in rg.objects(None, SH.result):
        severity = rg.value(r, SH.resultSeverity)
        message = rg.value(r, SH.resultMessage)
        out.append(
            Result(
                severity=_SEVERITY.get(severity, str(severity)),  # type: ignore[call-overload]
                focus_node=_compact(rg.value(r, SH.focusNode)) or "?",
                path=_path(rg, rg.value(r, SH.resultPath)),
                value=_compact(rg.value(r, SH.value)),
                message=str(message) if message is not None else "constraint not met",
                shape=shape_name(rg.value(r, SH.sourceShape)),
                constraint=_compact(rg.value(r, SH.sourceConstraintComponent)) or "?",
            )
        )
    # a total order: the same report reads the same whichever engine made it
    out.sort(
        key=lambda r: (
            r.severity != "Violation",
            r.focus_node,
            r.path or "",
            r.shape,
            r.constraint,
            r.value or "",
            r.message,
        )
    )
    return out


def _path(rg: Graph, path: Node | None) -> str | None:
    """A result path: an IRI compacted, an inverse path as ``^iri``."""
    if isinstance(path, BNode):
        inverse = rg.value(path, SH.inversePath)
        if inverse is not None:
            return f"^{_compact(inverse)}"
    return _compact(path)


def _shape_label(shapes: Graph, parents: dict[Node, Node], shape: Node | None) -> str:
    """A shape as a curator reads it: the node shape, › the property shape."""
    if shape is None:
        return "?"
    parent = parents.get(shape)
    name = shapes.value(shape, SH.name)
    if parent is None:
        return _compact(shape) or "?"
    label = _compact(shape) if isinstance(shape, URIRef) else None
    label = label or (str(name) if name is not None else None)
    label = label or _compact(shapes.value(shape, SH.path)) or "property"
    return f"{_compact(parent)} › {label}"


def validate_with(data: Graph, shapes: Graph) -> Report:
    """``data`` against any ``shapes``, by pyshacl (the reference implementation): for
    ``claimgraph validate --shapes``. Warnings and infos do not make it fail."""
    try:
        conforms, rg, _ = pyshacl.validate(
            data,
            shacl_graph=shapes,
            inference="none",
            advanced=False,
            js=False,
            allow_warnings=True,
            allow_infos=True,
            do_owl_imports=False,
        )
    except Exception as err:  # pyshacl's errors for shapes it cannot load have no common base
        raise ContentError(f"the shapes cannot be used: {err}") from err
    assert isinstance(rg, Graph)
    parents = {ps: ns for ns, _, ps in shapes.triples((None, SH.property, None))}

    def name(shape: Node | None) -> str:
        return _shape_label(shapes, parents, shape)

    return Report(bool(conforms), results_of(rg, name), rg, 0)


_Answers = tuple[dict[str, set[str]], dict[str, tuple[list[str], list[ox.QuerySolution]]]]


def _select(store: ox.Store, query: str, union: bool = False) -> ox.QuerySolutions:
    solutions = store.query(query, use_default_graph_as_union=union)
    assert isinstance(solutions, ox.QuerySolutions)
    return solutions


def _fill(message: str, bindings: dict[str, object]) -> str:
    """Substitute ``{?var}`` / ``{$var}`` in an sh:message with the result's values."""
    return _PLACEHOLDER.sub(lambda m: _show(bindings.get(m.group(1))), message)


def _show(term: object) -> str:
    if term is None:
        return "?"
    if isinstance(term, ox.Literal):
        return term.value
    if isinstance(term, ox.NamedNode):
        return _compact(URIRef(term.value)) or term.value
    return str(term)


def _changed_subjects(store: Store, delta: Delta) -> set[ox.NamedNode | ox.BlankNode]:
    """The subjects of the quads a write adds, removes or drops."""
    subjects = {q.subject for q in delta.add}
    subjects.update(q.subject for q in delta.remove)
    for g in delta.drop_graphs:
        subjects.update(q.subject for q in store.quads(graph=g))
    return {s for s in subjects if not isinstance(s, ox.Triple)}


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
        return _changed_subjects(self.store, self.delta)

    def outgoing(self, node: ox.NamedNode | ox.BlankNode) -> Iterator[ox.Quad]:
        yield from self._live(self.store.quads(subject=node))
        yield from self.add_by_subject.get(node, ())

    def incoming(self, node: ox.NamedNode | ox.BlankNode) -> Iterator[ox.Quad]:
        yield from self._live(self.store.quads(object=node))
        yield from self.add_by_object.get(node, ())
