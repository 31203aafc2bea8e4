"""SHACL Core over a whole Oxigraph store at once, for validations too large for pyshacl.

pyshacl walks one focus node at a time through an rdflib graph: fine for a write's few
nodes, minutes and gigabytes for a million quads. Here each property shape reads its path's
triples in one scan of the store and checks the values in Python; nested shapes (``sh:node``,
``sh:or``, ``sh:not``, ``sh:qualifiedValueShape``) are checked on their value nodes with
lookups. Only the constraint components the ClaimGraph shapes use are implemented, each as
pyshacl evaluates it (pyshacl is the reference: ``tests/test_bulk_validation.py`` compares
the two on every fixture and on data with injected violations); shapes with any other
component raise ``Unsupported`` and are validated by pyshacl.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial

import pyoxigraph as ox
from pyshacl.rdfutil.compare import compare_literal
from rdflib import RDF, RDFS, SH, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from claimgraph.terms import RDF_LANGSTRING, XSD_STRING, to_ox, to_rdflib

Term = ox.NamedNode | ox.BlankNode | ox.Literal
_TYPE = ox.NamedNode(str(RDF.type))
# A node's values on a path: a tuple of one (most are one; a set costs 4 times the memory
# and its building time) or a set of several (duplicates across graphs collapse).
Values = Collection[Term]
_NONE: Values = ()  # no values
_SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))
# Parameters this engine understands; a shape using any other sh: predicate is Unsupported.
_KNOWN = {
    SH.path, SH.message, SH.name, SH.description, SH.severity, SH.deactivated, SH.order,
    SH.group, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode,
    SH.property, SH.sparql, SH.declare, SH.prefixes, SH.minCount, SH.maxCount, SH["class"],
    SH.datatype, SH.pattern, SH.nodeKind, SH["in"], SH.uniqueLang, SH.node, SH["or"],
    SH["not"], SH.qualifiedValueShape, SH.qualifiedMinCount, SH.languageIn, SH.minInclusive,
    SH.maxInclusive, SH.hasValue, SH.lessThan, SH.lessThanOrEquals, SH.select, SH.prefix,
    SH.namespace,
}  # fmt: skip
_COMPONENT = {
    "minCount": SH.MinCountConstraintComponent,
    "maxCount": SH.MaxCountConstraintComponent,
    "class": SH.ClassConstraintComponent,
    "datatype": SH.DatatypeConstraintComponent,
    "pattern": SH.PatternConstraintComponent,
    "nodeKind": SH.NodeKindConstraintComponent,
    "in": SH.InConstraintComponent,
    "uniqueLang": SH.UniqueLangConstraintComponent,
    "node": SH.NodeConstraintComponent,
    "or": SH.OrConstraintComponent,
    "not": SH.NotConstraintComponent,
    "qualifiedMinCount": SH.QualifiedMinCountConstraintComponent,
    "languageIn": SH.LanguageInConstraintComponent,
    "minInclusive": SH.MinInclusiveConstraintComponent,
    "maxInclusive": SH.MaxInclusiveConstraintComponent,
    "hasValue": SH.HasValueConstraintComponent,
    "lessThan": SH.LessThanConstraintComponent,
    "lessThanOrEquals": SH.LessThanOrEqualsConstraintComponent,
}


class Unsupported(ValueError):
    """The shapes use a SHACL feature this engine does not implement (pyshacl does)."""


@dataclass(frozen=True)
class Finding:
    """One validation result, in the terms of the report graph."""

    focus: Term
    path: Node | None  # the shape's sh:path node (in the shapes graph)
    value: Term | None
    component: URIRef
    severity: URIRef
    shape: Node
    messages: tuple[Literal, ...]


@dataclass
class _Shape:
    node: Node
    deactivated: bool = False
    path: ox.NamedNode | None = None
    inverse: bool = False
    path_node: Node | None = None
    severity: URIRef = SH.Violation
    messages: tuple[Literal, ...] = ()
    min_count: int | None = None
    max_count: int | None = None
    classes: list[ox.NamedNode] = field(default_factory=list)
    datatype: URIRef | None = None
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    node_kind: URIRef | None = None
    in_values: set[Term] | None = None
    unique_lang: bool = False
    nodes: list[_Shape] = field(default_factory=list)
    ors: list[list[_Shape]] = field(default_factory=list)
    nots: list[_Shape] = field(default_factory=list)
    qualified: tuple[_Shape, int] | None = None
    languages: list[str] | None = None
    min_inclusive: list[Literal] = field(default_factory=list)
    max_inclusive: list[Literal] = field(default_factory=list)
    has_values: list[Term] = field(default_factory=list)
    # sh:lessThan / sh:lessThanOrEquals: (the other property, whether equal is allowed)
    less_than: list[tuple[ox.NamedNode, bool]] = field(default_factory=list)
    properties: list[_Shape] = field(default_factory=list)
    # targets (node shapes only)
    target_classes: list[ox.NamedNode] = field(default_factory=list)
    subjects_of: list[ox.NamedNode] = field(default_factory=list)
    objects_of: list[ox.NamedNode] = field(default_factory=list)
    target_nodes: list[Term] = field(default_factory=list)


def _named(node: Node, what: str) -> ox.NamedNode:
    if not isinstance(node, URIRef):
        raise Unsupported(f"{what} must be an IRI here, not {node!r}")
    return ox.NamedNode(str(node))


class BulkShapes:
    """The shapes graph compiled once; ``validate`` then checks a whole store."""

    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self._parsed: dict[Node, _Shape] = {}
        if any(shapes.subjects(RDF.type, SH.ConstraintComponent)):
            # their parameters are not sh: terms: they would be ignored here without a word
            raise Unsupported("custom (SHACL-SPARQL) constraint components")
        roots = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
            shapes.subjects(RDF.type, SH.PropertyShape)
        )
        for pred in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode):
            roots |= set(shapes.subjects(pred, None))
        nested = set(shapes.objects(None, SH.property))
        self.top: list[_Shape] = []
        for node in sorted(roots, key=str):
            if shapes.value(node, SH.deactivated) == Literal(True):
                continue
            if node in nested and not self._has_targets(node):
                continue  # reached through its node shape
            shape = self._shape(node)
            if shape.path is not None and self._has_targets(node):
                raise Unsupported(f"{node}: a property shape with its own targets")
            self.top.append(shape)

    def _has_targets(self, node: Node) -> bool:
        return (
            any(
                self.g.value(node, p) is not None
                for p in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
            )
            or (node, RDF.type, RDFS.Class) in self.g
        )

    def _list(self, head: Node) -> list[Node]:
        return list(self.g.items(head))

    def _shape(self, node: Node) -> _Shape:
        if node in self._parsed:
            return self._parsed[node]
        g = self.g
        s = _Shape(node, deactivated=g.value(node, SH.deactivated) == Literal(True))
        self._parsed[node] = s  # before the nested shapes: a cycle ends here
        for p in set(g.predicates(node, None)):
            if p in (RDF.type, RDFS.label, RDFS.comment) or not str(p).startswith(str(SH)):
                continue
            if p not in _KNOWN:
                raise Unsupported(f"{node}: {p} is not implemented by the bulk validator")
        if (node, RDF.type, RDFS.Class) in g:
            raise Unsupported(f"{node}: implicit class targets")
        path = g.value(node, SH.path)
        if path is not None:
            s.path_node = path
            if isinstance(path, URIRef):
                s.path = ox.NamedNode(str(path))
            else:
                inv = g.value(path, SH.inversePath)
                if not isinstance(inv, URIRef) or len(set(g.predicate_objects(path))) != 1:
                    raise Unsupported(f"{node}: only IRI and inverse-IRI paths are implemented")
                s.path, s.inverse = ox.NamedNode(str(inv)), True
        s.severity = g.value(node, SH.severity) or SH.Violation  # type: ignore[assignment]
        s.messages = tuple(m for m in g.objects(node, SH.message) if isinstance(m, Literal))
        for attr, pred in (("min_count", SH.minCount), ("max_count", SH.maxCount)):
            values = list(g.objects(node, pred))
            if len(values) > 1:
                raise Unsupported(f"{node}: several {pred}")
            if values:
                setattr(s, attr, int(values[0]))  # type: ignore[call-overload]
        s.classes = [_named(c, "sh:class") for c in g.objects(node, SH["class"])]
        datatypes = list(g.objects(node, SH.datatype))
        if len(datatypes) > 1:
            raise Unsupported(f"{node}: several sh:datatype")
        s.datatype = datatypes[0] if datatypes else None  # type: ignore[assignment]
        if s.datatype in (RDFS.Literal, RDFS.Datatype):
            raise Unsupported(f"{node}: sh:datatype {s.datatype}")
        if g.value(node, SH.flags) is not None:
            raise Unsupported(f"{node}: sh:flags")
        s.patterns = [re.compile(str(p)) for p in g.objects(node, SH.pattern)]
        kinds = list(g.objects(node, SH.nodeKind))
        if len(kinds) > 1:
            raise Unsupported(f"{node}: several sh:nodeKind")
        s.node_kind = kinds[0] if kinds else None  # type: ignore[assignment]
        if s.node_kind is not None and s.node_kind not in _KINDS:
            raise Unsupported(f"{node}: sh:nodeKind {s.node_kind}")
        ins = list(g.objects(node, SH["in"]))
        if len(ins) > 1:
            raise Unsupported(f"{node}: several sh:in")
        if ins:
            s.in_values = {to_ox(v) for v in self._list(ins[0])}  # type: ignore[misc]
        s.unique_lang = g.value(node, SH.uniqueLang) == Literal(True)
        s.nodes = [self._shape(n) for n in g.objects(node, SH.node)]
        s.ors = [[self._shape(n) for n in self._list(o)] for o in g.objects(node, SH["or"])]
        s.nots = [self._shape(n) for n in g.objects(node, SH["not"])]
        qvs = list(g.objects(node, SH.qualifiedValueShape))
        if qvs:
            qmin = g.value(node, SH.qualifiedMinCount)
            if len(qvs) > 1 or qmin is None:
                raise Unsupported(f"{node}: sh:qualifiedValueShape without one qualifiedMinCount")
            s.qualified = (self._shape(qvs[0]), int(qmin))  # type: ignore[call-overload]
        langs = list(g.objects(node, SH.languageIn))
        if len(langs) > 1:
            raise Unsupported(f"{node}: several sh:languageIn")
        if langs:
            s.languages = [str(x) for x in self._list(langs[0])]
        s.min_inclusive = [x for x in g.objects(node, SH.minInclusive) if isinstance(x, Literal)]
        s.max_inclusive = [x for x in g.objects(node, SH.maxInclusive) if isinstance(x, Literal)]
        s.has_values = [to_ox(v) for v in g.objects(node, SH.hasValue)]  # type: ignore[misc]
        s.less_than = [(_named(o, "sh:lessThan"), False) for o in g.objects(node, SH.lessThan)]
        s.less_than += [
            (_named(o, "sh:lessThanOrEquals"), True) for o in g.objects(node, SH.lessThanOrEquals)
        ]
        s.properties = [
            p for p in (self._shape(p) for p in g.objects(node, SH.property)) if not p.deactivated
        ]
        if s.path is not None and s.properties:
            raise Unsupported(f"{node}: sh:property on a property shape")
        s.target_classes = [_named(c, "sh:targetClass") for c in g.objects(node, SH.targetClass)]
        s.subjects_of = [
            _named(p, "sh:targetSubjectsOf") for p in g.objects(node, SH.targetSubjectsOf)
        ]
        s.objects_of = [
            _named(p, "sh:targetObjectsOf") for p in g.objects(node, SH.targetObjectsOf)
        ]
        s.target_nodes = [to_ox(n) for n in g.objects(node, SH.targetNode)]  # type: ignore[misc]
        return s

    def validate(self, store: ox.Store, focus: set[Term] | None = None) -> list[Finding]:
        """Every result of the shapes on the union of ``store``'s graphs (``focus``: only
        for those focus nodes)."""
        run = _Run(store)
        try:
            with _gc_paused():
                return list(run.run(self.top, focus))
        finally:
            run.close()


# The tables hold millions of small containers, none in a reference cycle; while they were
# built, the cyclic GC's collections walked them over and over: 2.6 of 22 s of CPU at 1.03M
# quads.
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = True


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC off while any thread is inside (it is one switch per process)."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class _Run:
    """One validation: caches the class hierarchy and class members it has looked up."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self._members: dict[ox.NamedNode, set[Term]] = {}
        self._subclasses: dict[ox.NamedNode, set[ox.NamedNode]] = {}
        self._tables: dict[tuple[ox.NamedNode, bool], dict[Term, Values]] = {}
        self._conforms: dict[tuple[int, Term], bool] = {}
        self._compiled: dict[int, list[tuple[URIRef, Callable[[Term], bool]]]] = {}

    def close(self) -> None:
        """Drop the caches now: the compiled tests refer back to this run, a cycle that
        only the cyclic GC would free, after walking every table."""
        for cache in (self._members, self._subclasses, self._tables, self._conforms):
            cache.clear()
        self._compiled.clear()

    # -- data access (the union of the store's graphs; duplicates across graphs collapse) --
    def _quads(self, s: Term | None, p: ox.NamedNode, o: Term | None) -> Iterator[ox.Quad]:
        return self.store.quads_for_pattern(s, p, o, None)  # type: ignore[arg-type]

    def values(self, shape: _Shape, node: Term) -> Values:
        assert shape.path is not None
        table = self._tables.get((shape.path, shape.inverse))
        if table is not None:  # the path's table is read already: no lookup in the store
            return table.get(node, _NONE)
        if shape.inverse:
            return {q.subject for q in self._quads(None, shape.path, node)}  # type: ignore[misc]
        if isinstance(node, ox.Literal):
            return set()
        return {q.object for q in self._quads(node, shape.path, None)}  # type: ignore[misc]

    def subclasses(self, cls: ox.NamedNode) -> set[ox.NamedNode]:
        if cls not in self._subclasses:
            found, todo = {cls}, [cls]
            while todo:
                for q in self._quads(None, _SUBCLASS, todo.pop()):
                    sub = q.subject
                    if isinstance(sub, ox.NamedNode) and sub not in found:
                        found.add(sub)
                        todo.append(sub)
            self._subclasses[cls] = found
        return self._subclasses[cls]

    def members(self, cls: ox.NamedNode) -> set[Term]:
        """Nodes typed ``cls`` or a subclass of it (what sh:class and sh:targetClass mean)."""
        if cls not in self._members:
            self._members[cls] = {
                q.subject  # type: ignore[misc]
                for c in self.subclasses(cls)
                for q in self._quads(None, _TYPE, c)
            }
        return self._members[cls]

    def targets(self, shape: _Shape) -> set[Term]:
        found: set[Term] = set(shape.target_nodes)
        for c in shape.target_classes:
            found |= self.members(c)
        # the paths' tables: the property shapes on these paths read them anyway
        for p in shape.subjects_of:
            found.update(self.table(p, False).keys())
        for p in shape.objects_of:
            found.update(self.table(p, True).keys())
        return found

    # -- validation ------------------------------------------------------------------------
    def run(self, shapes: list[_Shape], focus: set[Term] | None) -> Iterator[Finding]:
        for shape in shapes:
            targets = self.targets(shape)
            if focus is not None:
                targets &= focus
            if not targets:
                continue
            if shape.path is None:
                for node in targets:
                    yield from self.check(shape, node, (node,))
            props = shape.properties if shape.path is None else [shape]
            for prop in props:
                pairs = _with_values(targets, self.all_values(prop), _needs_values(prop))
                if (
                    prop.unique_lang
                    or prop.qualified is not None
                    or prop.has_values
                    or prop.less_than
                ):
                    for node, values in pairs:
                        yield from self.check(prop, node, values)
                    continue
                # Most nodes pass: test them in a tight loop, and only build the results of
                # those that fail.
                low, high = prop.min_count or 0, prop.max_count
                tests = self._tests(prop)
                for node, values in pairs:
                    n = len(values)
                    if n < low or (high is not None and n > high):
                        yield from self.check(prop, node, values)
                        continue
                    for _, ok in tests:
                        if not all(map(ok, values)):
                            yield from self.check(prop, node, values)
                            break

    # Compiling each shape into SPARQL (GROUP BY … HAVING for the counts, DISTINCT values)
    # was measured slower: 16 s of CPU against 12 s at 1.03M quads; these tables are shared.
    def all_values(self, shape: _Shape) -> dict[Term, Values]:
        """Focus node → value nodes, for every node that has a value on the path (one scan
        of the path's triples, shared by the shapes on the same path)."""
        assert shape.path is not None
        return self.table(shape.path, shape.inverse)

    def table(self, path: ox.NamedNode, inverse: bool) -> dict[Term, Values]:
        key = (path, inverse)
        if key not in self._tables:
            out: dict[Term, Values] = {}
            get = out.get
            for q in self._quads(None, path, None):
                s, o = (q.object, q.subject) if inverse else (q.subject, q.object)
                had = get(s)  # type: ignore[arg-type]
                if had is None:
                    out[s] = (o,)  # type: ignore[index,assignment]
                elif type(had) is tuple:
                    if o not in had:
                        out[s] = {*had, o}  # type: ignore[index,arg-type]
                else:
                    had.add(o)  # type: ignore[attr-defined]
            self._tables[key] = out
        return self._tables[key]

    def conforms(self, shape: _Shape, node: Term) -> bool:
        key = (id(shape), node)
        hit = self._conforms.get(key)
        if hit is None:
            hit = self._conforms[key] = self._conforms_now(shape, node)
        return hit

    def _any_conforms(self, shapes: list[_Shape], node: Term) -> bool:
        return any(self.conforms(x, node) for x in shapes)

    def _not_conforms(self, shape: _Shape, node: Term) -> bool:
        return not self.conforms(shape, node)

    def _conforms_now(self, shape: _Shape, node: Term) -> bool:
        if shape.deactivated:  # a deactivated shape accepts everything (SHACL 2.1.5)
            return True
        values = self.values(shape, node) if shape.path is not None else {node}
        if self.check(shape, node, values):
            return False
        if shape.path is None:
            for prop in shape.properties:
                if self.check(prop, node, self.values(prop, node)):
                    return False
        return True

    def _tests(self, s: _Shape) -> list[tuple[URIRef, Callable[[Term], bool]]]:
        """``s``'s per-value constraints, as (component, test) pairs, built once per shape."""
        tests = self._compiled.get(id(s))
        if tests is not None:
            return tests
        tests = []
        for cls in s.classes:
            members = self.members(cls)
            tests.append((_COMPONENT["class"], members.__contains__))
        if s.datatype is not None:
            rule, memo = str(s.datatype), dict[Term, bool]()

            def datatype_ok(v: Term) -> bool:
                hit = memo.get(v)
                if hit is None:
                    hit = memo[v] = self._datatype_ok(v, rule)
                return hit

            tests.append((_COMPONENT["datatype"], datatype_ok))
        for pattern in s.patterns:
            tests.append((_COMPONENT["pattern"], partial(_pattern_ok, pattern)))
        if s.node_kind is not None:
            tests.append((_COMPONENT["nodeKind"], partial(_kind_ok, _KINDS[s.node_kind])))
        if s.in_values is not None:
            tests.append((_COMPONENT["in"], s.in_values.__contains__))
        for nested in s.nodes:
            tests.append((_COMPONENT["node"], partial(self.conforms, nested)))
        for alternatives in s.ors:
            tests.append((_COMPONENT["or"], partial(self._any_conforms, alternatives)))
        for nested in s.nots:
            tests.append((_COMPONENT["not"], partial(self._not_conforms, nested)))
        if s.languages is not None:
            tests.append((_COMPONENT["languageIn"], partial(_lang_ok, s.languages)))
        for bound in s.min_inclusive:
            tests.append(
                (_COMPONENT["minInclusive"], partial(_compare_ok, bound=bound, ok=_at_least))
            )
        for bound in s.max_inclusive:
            tests.append(
                (_COMPONENT["maxInclusive"], partial(_compare_ok, bound=bound, ok=_at_most))
            )
        self._compiled[id(s)] = tests
        return tests

    def check(self, s: _Shape, focus: Term, values: Values) -> list[Finding]:
        """The results of ``s``'s own constraints on ``focus`` with value nodes ``values``."""
        out: list[tuple[URIRef, Term | None]] = []
        n = len(values)
        if s.min_count is not None and n < s.min_count:
            out.append((_COMPONENT["minCount"], None))
        if s.max_count is not None and n > s.max_count:
            out.append((_COMPONENT["maxCount"], None))
        if n:
            for component, ok in self._tests(s):
                for v in values:
                    if not ok(v):
                        out.append((component, v))
        if s.unique_lang:
            langs: dict[str, int] = {}
            for v in values:
                if isinstance(v, ox.Literal) and v.language:
                    key = v.language.lower()
                    langs[key] = langs.get(key, 0) + 1
            out += [(_COMPONENT["uniqueLang"], None) for c in langs.values() if c > 1]
        if s.qualified is not None:
            nested, minimum = s.qualified
            if sum(1 for v in values if self.conforms(nested, v)) < minimum:
                out.append((_COMPONENT["qualifiedMinCount"], None))
        for wanted in s.has_values:
            if wanted not in values:
                out.append((_COMPONENT["hasValue"], None))
        for other, or_equal in s.less_than:
            # pyshacl's pairwise rule: each value against each value of the other property.
            component = _COMPONENT["lessThanOrEquals" if or_equal else "lessThan"]
            others = [q.object for q in self._quads(focus, other, None)]
            accept = _at_most if or_equal else _below
            out += [
                (component, v)
                for v in values
                for o in others
                if not (isinstance(o, ox.Literal) and _compare_ok(v, _as_rdflib(o), accept))
            ]
        return [Finding(focus, s.path_node, v, c, s.severity, s.node, s.messages) for c, v in out]

    def _datatype_ok(self, v: Term, rule: str) -> bool:
        """pyshacl's DatatypeConstraintComponent, on the literal as rdflib reads it."""
        if not isinstance(v, ox.Literal):
            return False
        if v.language:
            return rule == RDF_LANGSTRING
        dt = v.datatype.value
        if dt == XSD_STRING or dt != rule:
            return dt == rule
        lit = to_rdflib(v)
        assert isinstance(lit, Literal)
        if getattr(lit, "ill_typed", None) is True:
            return False
        expected = _PYTHON_TYPES.get(rule)
        return expected is None or isinstance(lit.value, expected)


# What rdflib's value of a well-typed literal is, per datatype (pyshacl checks it).
_PYTHON_TYPES: dict[str, type] = {
    str(XSD.integer): int,
    str(XSD.float): float,
    str(XSD.decimal): Decimal,
    str(XSD.boolean): bool,
    str(XSD.date): date,
    str(XSD.time): time,
    str(XSD.dateTime): datetime,
}


def _with_values(
    targets: set[Term], table: dict[Term, Values], all_targets: bool
) -> Iterator[tuple[Term, Values]]:
    """Each target and its values; ``all_targets``: those without a value too (they fail
    only count-like constraints), else only those the table holds (one hash per node)."""
    if all_targets:
        get = table.get
        return ((node, get(node, _NONE)) for node in targets)
    return ((node, values) for node, values in table.items() if node in targets)


def _needs_values(s: _Shape) -> bool:
    """Whether a node with no value on ``s``'s path can fail ``s``."""
    return bool(
        (s.min_count or 0) > 0 or s.has_values or (s.qualified is not None and s.qualified[1] > 0)
    )


_KINDS: dict[Node, tuple[type, ...]] = {
    SH.IRI: (ox.NamedNode,),
    SH.BlankNode: (ox.BlankNode,),
    SH.Literal: (ox.Literal,),
    SH.BlankNodeOrIRI: (ox.BlankNode, ox.NamedNode),
    SH.BlankNodeOrLiteral: (ox.BlankNode, ox.Literal),
    SH.IRIOrLiteral: (ox.NamedNode, ox.Literal),
}


def _kind_ok(kinds: tuple[type, ...], v: Term) -> bool:
    return type(v) in kinds


def _pattern_ok(pattern: re.Pattern[str], v: Term) -> bool:
    """pyshacl's PatternConstraintComponent: a blank node never matches."""
    return not isinstance(v, ox.BlankNode) and pattern.search(v.value) is not None


def _lang_ok(ranges: list[str], v: Term) -> bool:
    return isinstance(v, ox.Literal) and _lang_in(v.language, ranges)


def _at_least(c: int) -> bool:
    return c >= 0


def _below(c: int) -> bool:
    return c < 0


def _as_rdflib(v: ox.Literal) -> Literal:
    lit = to_rdflib(v)
    assert isinstance(lit, Literal)
    return lit


def _at_most(c: int) -> bool:
    return c <= 0


def _lang_in(lang: str | None, ranges: Iterable[str]) -> bool:
    """SPARQL langMatches with basic ranges, as pyshacl's LanguageInConstraintComponent."""
    if not lang:
        return False
    lang = lang.lower()
    for r in ranges:
        r = r.lower()
        if r == "*" or lang == r or lang.startswith(r + "-"):
            return True
    return False


def _compare_ok(v: Term, bound: Literal, ok: Callable[[int], bool]) -> bool:
    """pyshacl's value range check: literals of comparable kinds only."""
    if not isinstance(v, ox.Literal):
        return False
    lit = to_rdflib(v)
    assert isinstance(lit, Literal)
    if isinstance(bound.value, str) != isinstance(lit.value, str):
        return False
    try:
        return ok(compare_literal(lit, bound))  # type: ignore[no-untyped-call]
    except (TypeError, NotImplementedError):
        return False


def report_graph(findings: Iterable[Finding], shapes: Graph, conforms: bool) -> Graph:
    """The SHACL validation report graph of ``findings`` (as pyshacl writes one)."""
    rg = Graph()
    report = BNode()
    rg.add((report, RDF.type, SH.ValidationReport))
    rg.add((report, SH.conforms, Literal(conforms)))
    for f in findings:
        r = BNode()
        rg.add((report, SH.result, r))
        rg.add((r, RDF.type, SH.ValidationResult))
        rg.add((r, SH.focusNode, to_rdflib(f.focus)))
        rg.add((r, SH.resultSeverity, f.severity))
        rg.add((r, SH.sourceShape, f.shape))
        rg.add((r, SH.sourceConstraintComponent, f.component))
        if f.value is not None:
            rg.add((r, SH.value, to_rdflib(f.value)))
        if f.path is not None:
            if isinstance(f.path, BNode):  # copy the path's structure (an inverse path)
                path = BNode()
                for p, o in shapes.predicate_objects(f.path):
                    rg.add((path, p, o))
                rg.add((r, SH.resultPath, path))
            else:
                rg.add((r, SH.resultPath, f.path))
        for m in f.messages:
            rg.add((r, SH.resultMessage, m))
    return rg
