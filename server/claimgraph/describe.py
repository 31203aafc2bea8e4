"""What the server says about one resource: the bounded description query behind every
dereferenceable IRI, and the page model the HTML templates render from it.

A description is useful on its own: the resource's own triples, the incoming links that matter
(statements about a claim, assessments of an evidence item, reviews of a claim, affiliations of
an actor, statements reporting a statement…) with a few summary properties of each linking
node, and the types and labels of every resource mentioned — so that a client never needs a
second request just to show a name. Three SPARQL CONSTRUCTs, bounded by ``INCOMING_LIMIT``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import OWL, RDF, RDFS, SH, SKOS, BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from claimgraph import deadline, prose, sparqlterms
from claimgraph.iris import CG, CITO, ONTOLOGY, PREFIXES, SCHEMA, Iris
from claimgraph.store import Store

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"

# How many linking nodes one description includes (an actor of the 1M benchmark speaks in
# thousands of statements; a page and a client both want the first few hundred).
INCOMING_LIMIT = 500

# Properties that name things, in the order a label is chosen.
LABEL_PROPERTIES = (
    f"{SCHEMA}name",
    f"{CG}text",
    f"{CG}title",
    f"{SKOS_NS}prefLabel",
    f"{RDFS_NS}label",
    f"{DCTERMS}title",
    f"{SCHEMA}alternateName",
    f"{SCHEMA}headline",
    f"{SCHEMA}claimReviewed",  # a review is known by the claim it reviews
)

# Links into a resource that belong to its description.
INCOMING = (
    f"{CG}claim",  # statements about a claim
    f"{CG}assessedClaim",  # assessments of a claim
    f"{CG}evidence",  # assessments of an evidence item
    f"{SCHEMA}itemReviewed",  # reviews of a claim
    f"{SCHEMA}reviewRating",  # the review a rating belongs to
    f"{CG}member",  # affiliations of an actor
    f"{CG}organization",  # affiliations in an organisation
    f"{CG}parentOrganization",  # the parts of an organisation
    f"{CG}reportedBy",  # statements a statement reports
    f"{CG}speaker",  # statements by an actor
    f"{CG}source",  # statements in a source
    f"{CG}quoteSource",
    f"{CG}documentedIn",  # evidence documented in a source
    f"{CG}evidenceSource",
    f"{CG}translationOf",
    f"{CG}partOfSource",
    f"{CG}contradicts",
    f"{CG}sameClaimAs",
    f"{CG}partOf",
    f"{CITO}supports",
    f"{CITO}refutes",
    f"{SCHEMA}author",  # reviews by a fact-checker
)

REPORTED_BY = f"{CG}reportedBy"

# What a description shows of each linking node (a statement's speaker, stance and date).
SUMMARY = (
    f"{CG}speaker",
    f"{CG}stance",
    f"{CG}date",
    f"{CG}claim",
    f"{CG}source",
    f"{CG}direction",
    f"{CG}evidence",
    f"{CG}assessedClaim",
    f"{CG}member",
    f"{CG}organization",
    f"{CG}role",
    f"{CG}normalizedVerdict",
    f"{CG}datePublished",
    f"{SCHEMA}datePublished",
    f"{SCHEMA}itemReviewed",
)


def _construct(store: Store, sparql: str) -> list[ox.Triple]:
    result = store.query(sparql)
    assert isinstance(result, ox.QueryTriples)
    # The union default graph repeats a triple stated in two graphs: keep one.
    return list(dict.fromkeys(deadline.rows(result)))


def describe_resource(store: Store, iri: str) -> list[ox.Triple] | None:
    """The bounded description of ``iri``, or ``None`` when the store says nothing about it.

    Small queries — the resource's own triples, its linking nodes (and, for a statement, the
    statements it is reported by), then the types and labels of every IRI those mention — not
    one with a UNION of them: Virtuoso's planner
    estimates such a UNION at hours on a large store (10M quads) and refuses to run it.
    """
    x = sparqlterms.iri(iri)
    triples = _construct(store, f"CONSTRUCT {{ {x} ?p ?o }} WHERE {{ {x} ?p ?o }}")
    if not triples:
        return None
    own = len(triples)
    # FILTER(?p IN (…)) rather than VALUES: Oxigraph joins a VALUES block as a table of its
    # own (scanning every statement's cg:speaker, say), but applies a filter to the bound rows.
    incoming, summary = sparqlterms.iris(INCOMING, ", "), sparqlterms.iris(SUMMARY, ", ")
    triples += _construct(
        store,
        f"""
    CONSTRUCT {{ ?in ?ip {x} . ?in ?sp ?sv . }}
    WHERE {{
        {{
            SELECT DISTINCT ?in ?ip WHERE {{ ?in ?ip {x} . FILTER(?ip IN ({incoming})) }}
            LIMIT {INCOMING_LIMIT}
        }}
        OPTIONAL {{ ?in ?sp ?sv . FILTER(?sp IN ({summary})) }}
    }}""",
    )
    # the statements this one is reported by: their speaker, stance and date, as for the ones
    # it reports (a client shows "reported by the Wall Street Journal, 7 March 2024")
    if any(t.predicate.value == REPORTED_BY for t in triples[:own]):
        triples += _construct(
            store,
            f"""CONSTRUCT {{ ?r ?sp ?sv }} WHERE {{
              {{ SELECT DISTINCT ?r WHERE {{ {x} {sparqlterms.iri(REPORTED_BY)} ?r }}
                 LIMIT {INCOMING_LIMIT} }}
              ?r ?sp ?sv . FILTER(?sp IN ({summary})) }}""",
        )
    mentioned = dict.fromkeys(
        term.value
        for t in triples
        for term in (t.subject, t.object)
        if isinstance(term, ox.NamedNode)
    )
    labels = _labels(store, mentioned)
    # Those with no name (an untitled source, a statement) are told in words (``prose``) from
    # a few more of their triples, and the names those mention.
    named = {str(t.subject) for t in labels if t.predicate.value in LABEL_PROPERTIES}
    more = [t for t in labels if t.predicate.value in prose.INPUTS and str(t.subject) not in named]
    if more:
        wanted = {
            t.object.value
            for t in more
            if isinstance(t.object, ox.NamedNode) and t.object.value not in mentioned
        }
        more += [t for t in _labels(store, wanted) if t.predicate.value in LABEL_PROPERTIES]
    shown = {RDF_TYPE, *LABEL_PROPERTIES}
    return list(dict.fromkeys(triples + [t for t in labels if t.predicate.value in shown] + more))


def _labels(store: Store, iris: Iterable[str]) -> list[ox.Triple]:
    """Every outgoing triple of ``iris`` (the caller keeps the few it shows): with
    FILTER(?lp IN (…)) Virtuoso scans each label property's whole index range, which grows
    with the store."""
    iris = list(iris)
    if not iris:
        return []
    return _construct(
        store,
        f"CONSTRUCT {{ ?m ?lp ?ml }} "
        f"WHERE {{ VALUES ?m {{ {sparqlterms.iris(iris)} }} ?m ?lp ?ml }}",
    )


def describe_scheme(store: Store, scheme: str) -> list[ox.Triple] | None:
    """A SKOS concept scheme with all its concepts, or ``None`` if there is no such scheme."""
    s = sparqlterms.iri(scheme)
    sparql = f"""
    PREFIX skos: {sparqlterms.iri(SKOS_NS)}
    CONSTRUCT {{ ?s ?p ?o }} WHERE {{
        {s} a skos:ConceptScheme .
        {{ {s} ?p ?o . BIND({s} AS ?s) }} UNION {{ ?s skos:inScheme {s} . ?s ?p ?o . }}
    }}"""
    return _construct(store, sparql) or None


def describe_ontology(store: Store, documents: Sequence[str]) -> list[ox.Triple] | None:
    """Every triple of the named graphs that define the given ``owl:Ontology`` IRIs (the
    ontology, and the alignment published with it), or ``None`` if none is in the store."""
    sparql = f"""
    PREFIX owl: <http://www.w3.org/2002/07/owl#>
    CONSTRUCT {{ ?s ?p ?o }} WHERE {{
        VALUES ?doc {{ {sparqlterms.iris(documents)} }}
        GRAPH ?g {{ ?doc a owl:Ontology . }}
        GRAPH ?g {{ ?s ?p ?o . }}
    }}"""
    return _construct(store, sparql) or None


def term_labels(store: Store) -> dict[str, list[ox.Literal]]:
    """Labels of the classes, properties and concepts in the store, for page headings."""
    sparql = f"""
    PREFIX owl: <http://www.w3.org/2002/07/owl#>
    PREFIX rdfs: {sparqlterms.iri(RDFS_NS)}
    PREFIX skos: {sparqlterms.iri(SKOS_NS)}
    SELECT ?t ?l WHERE {{
        VALUES ?k {{ owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty
                     skos:Concept skos:ConceptScheme }}
        ?t a ?k .
        ?t rdfs:label|skos:prefLabel ?l .
    }}"""
    result = store.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    labels: dict[str, list[ox.Literal]] = {}
    for row in deadline.rows(result):
        t, lit = row["t"], row["l"]
        if isinstance(t, ox.NamedNode) and isinstance(lit, ox.Literal):
            labels.setdefault(t.value, []).append(lit)
    return labels


# -- the page model ---------------------------------------------------------------------------


def best_literal(literals: Sequence[ox.Literal], lang: str = "en") -> ox.Literal | None:
    """The literal to show a reader: English, then untagged, then any other language."""
    for want in (lang, None):
        for lit in literals:
            tag = (lit.language or "").split("-")[0] or None
            if tag == want:
                return lit
    return literals[0] if literals else None


def compact(iri: str, prefixes: dict[str, str] = PREFIXES) -> str:
    """``cg:Claim`` for ``https://claimgraph.org/ontology#Claim``; the IRI if no prefix fits."""
    best = ""
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and len(iri) > len(ns) and len(ns) > len(prefixes.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(prefixes[best]) :]}" if best else iri


@dataclass
class Term:
    """One thing shown on a page: an IRI (a link when it has an ``href``) or a literal."""

    text: str
    href: str | None = None
    iri: str | None = None
    lang: str | None = None  # of a language-tagged literal: the element's lang attribute
    datatype: str | None = None  # compact datatype of a typed literal, shown beside it
    summary: list[tuple[str, Term]] = field(default_factory=list)  # (property, value)


@dataclass
class Row:
    predicate: Term
    values: list[Term]


@dataclass
class Section:
    """One resource on a page: its name, types, properties and what links to it."""

    iri: str
    anchor: str | None
    title: Term
    types: list[Term]
    rows: list[Row]
    incoming: list[Row]
    notes: list[Term] = field(default_factory=list)


class Labeller:
    """Turns pyoxigraph terms into ``Term``s with the labels a description carries."""

    def __init__(
        self,
        iris: Iris,
        triples: Iterable[ox.Triple],
        term_labels: dict[str, list[ox.Literal]] | None = None,
    ) -> None:
        self.iris = iris
        self.prefixes = iris.prefixes()
        found: dict[str, dict[str, list[ox.Literal]]] = {}
        for t in triples:
            p = t.predicate.value
            if (
                p in LABEL_PROPERTIES
                and isinstance(t.object, ox.Literal)
                and isinstance(t.subject, ox.NamedNode | ox.BlankNode)
            ):
                found.setdefault(str(t.subject), {}).setdefault(p, []).append(t.object)
        self.labels: dict[str, ox.Literal] = {}
        for subject, by_property in found.items():
            for p in LABEL_PROPERTIES:
                lit = best_literal(by_property.get(p, []))
                if lit is not None:
                    self.labels[subject] = lit
                    break
        for iri, literals in (term_labels or {}).items():
            lit = best_literal(literals)
            key = f"<{iri}>"
            if lit is not None and key not in self.labels:
                self.labels[key] = lit
        # what has no name of its own, told in words from the facts the description carries
        facts: dict[str, dict[str, list[ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]]] = {}
        for t in triples:
            if t.predicate.value in prose.INPUTS and isinstance(t.subject, ox.NamedNode):
                facts.setdefault(str(t.subject), {}).setdefault(t.predicate.value, []).append(
                    t.object
                )
        named = {key: lit.value for key, lit in self.labels.items()}
        for subject, own in facts.items():
            lit = prose.label(own, lambda iri: named.get(f"<{iri}>"))
            if lit is not None:
                self.labels[subject] = lit

    def label(self, node: ox.NamedNode | ox.BlankNode) -> ox.Literal | None:
        return self.labels.get(str(node))

    def term(self, node: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Term:
        if isinstance(node, ox.Literal):
            dt = node.datatype.value
            shown = None
            if not node.language and dt != f"{XSD}string":
                shown = compact(dt, self.prefixes)
            return Term(node.value, lang=node.language or None, datatype=shown)
        if isinstance(node, ox.NamedNode):
            lit = self.label(node)
            text = lit.value if lit is not None else compact(node.value, self.prefixes)
            lang = (lit.language or None) if lit is not None else None
            return Term(text, href=self.iris.href(node.value), iri=node.value, lang=lang)
        return Term(str(node))

    def predicate(self, iri: str) -> Term:
        node = ox.NamedNode(iri)
        lit = self.label(node)
        curie = compact(iri, self.prefixes)
        text = f"{lit.value} ({curie})" if lit is not None and lit.value != curie else curie
        return Term(text, href=self.iris.href(iri), iri=iri)


def section(
    subject: ox.NamedNode,
    triples: Sequence[ox.Triple],
    labeller: Labeller,
    *,
    anchor: str | None = None,
    incoming: bool = True,
) -> Section:
    """The page section of ``subject``: types, own properties, and (optionally) what links to
    it, each linking node with its summary properties."""
    own: dict[str, list[Term]] = {}
    types: list[Term] = []
    for t in triples:
        if t.subject != subject:
            continue
        if t.predicate.value == RDF_TYPE:
            types.append(labeller.term(t.object))
        else:
            own.setdefault(t.predicate.value, []).append(labeller.term(t.object))
    rows = [Row(labeller.predicate(p), values) for p, values in own.items()]
    rows.sort(key=lambda r: (r.predicate.iri not in LABEL_PROPERTIES, r.predicate.text))

    linking: dict[str, list[ox.NamedNode | ox.BlankNode]] = {}
    if incoming:
        for t in triples:
            if t.object == subject and t.predicate.value in INCOMING:
                linking.setdefault(t.predicate.value, []).append(t.subject)  # type: ignore[arg-type]
    summaries: dict[str, list[tuple[str, Term]]] = {}
    for t in triples:
        if t.predicate.value in SUMMARY and t.object != subject:
            key = str(t.subject)
            pred = labeller.predicate(t.predicate.value)
            summaries.setdefault(key, []).append((pred.text, labeller.term(t.object)))
    back = []
    for p, nodes in linking.items():
        values = []
        for node in dict.fromkeys(nodes):
            term = labeller.term(node)
            term.summary = sorted(summaries.get(str(node), []), key=lambda kv: kv[0])
            values.append(term)
        values.sort(key=lambda v: v.text)
        back.append(Row(labeller.predicate(p), values))
    back.sort(key=lambda r: r.predicate.text)
    lit = labeller.label(subject)
    title = Term(
        lit.value if lit is not None else compact(subject.value, labeller.prefixes),
        iri=subject.value,
        lang=(lit.language or None) if lit is not None else None,
    )
    return Section(subject.value, anchor, title, types, rows, back)


def fragment(iri: str) -> str | None:
    return iri.split("#", 1)[1] if "#" in iri else None


# -- the ontology documentation ---------------------------------------------------------------


@dataclass
class ShapeConstraint:
    """One property constraint of a shape, in the words the documentation uses."""

    shape: str
    path: Term
    cardinality: str
    severity: str
    message: str


@dataclass
class TermDoc:
    """One class or property of the ontology, as its documentation shows it."""

    term: Term
    anchor: str
    comment: str | None
    facts: list[Row]
    shapes: list[ShapeConstraint]


@dataclass
class OntologyDoc:
    iri: str
    title: str
    description: str | None
    version: str | None
    license: Term | None
    namespace: str
    prefix: str
    classes: list[TermDoc]
    properties: list[TermDoc]


def _text(g: Graph, s: Node, p: URIRef) -> str | None:
    values = [o for o in g.objects(s, p)]
    for o in values:
        if getattr(o, "language", None) in (None, "en"):
            return str(o)
    return str(values[0]) if values else None


def _node_term(g: Graph, node: Node, iris: Iris, labels: dict[str, str]) -> Term:
    """A term for an rdflib node; a class union (``owl:unionOf``) reads ``A ∪ B``."""
    if isinstance(node, URIRef | BNode):
        members = list(g.objects(node, OWL.unionOf))
        if members:
            parts = [_node_term(g, m, iris, labels).text for m in Collection(g, members[0])]
            return Term(" ∪ ".join(parts))
    if isinstance(node, URIRef):
        iri = str(node)
        curie = compact(iri, iris.prefixes())
        return Term(curie, href=iris.href(iri), iri=iri)
    return Term(str(node))


def _cardinality(g: Graph, shape: Node) -> str:
    lo, hi = g.value(shape, SH.minCount), g.value(shape, SH.maxCount)
    return f"{lo if lo is not None else 0}..{hi if hi is not None else '*'}"


def _shape_constraints(
    shapes: Graph, term: URIRef, iris: Iris, labels: dict[str, str], *, as_class: bool
) -> list[ShapeConstraint]:
    out: list[ShapeConstraint] = []
    if as_class:
        for node_shape in sorted(set(shapes.subjects(SH.targetClass, term)), key=str):
            name = _text(shapes, node_shape, RDFS.label) or compact(str(node_shape))
            for prop in shapes.objects(node_shape, SH.property):
                path = shapes.value(prop, SH.path)
                if path is None:
                    continue
                severity = shapes.value(prop, SH.severity)
                out.append(
                    ShapeConstraint(
                        f"{name} ({compact(str(node_shape))})",
                        _node_term(shapes, path, iris, labels)
                        if isinstance(path, URIRef)
                        else Term("(path expression)"),
                        _cardinality(shapes, prop),
                        "warning" if severity == SH.Warning else "violation",
                        _text(shapes, prop, SH.message) or "",
                    )
                )
    else:
        for prop in sorted(set(shapes.subjects(SH.path, term)), key=str):
            owners = list(shapes.subjects(SH.property, prop))
            owner = owners[0] if owners else prop
            name = _text(shapes, owner, RDFS.label) or compact(str(owner))
            severity = shapes.value(prop, SH.severity)
            out.append(
                ShapeConstraint(
                    f"{name} ({compact(str(owner))})",
                    Term(compact(str(prop))),
                    _cardinality(shapes, prop),
                    "warning" if severity == SH.Warning else "violation",
                    _text(shapes, prop, SH.message) or "",
                )
            )
    out.sort(key=lambda c: (c.shape, c.path.text, c.severity))
    return out


_CLASS_FACTS = (
    (RDFS.subClassOf, "subclass of"),
    (OWL.disjointWith, "disjoint with"),
    (OWL.equivalentClass, "equivalent class"),
    (SKOS.closeMatch, "close match"),
    (SKOS.exactMatch, "exact match"),
    (RDFS.seeAlso, "see also"),
)
_PROPERTY_FACTS = (
    (RDF.type, "kind"),
    (RDFS.domain, "domain"),
    (RDFS.range, "range"),
    (RDFS.subPropertyOf, "subproperty of"),
    (OWL.inverseOf, "inverse of"),
    (SKOS.closeMatch, "close match"),
    (SKOS.exactMatch, "exact match"),
    (RDFS.seeAlso, "see also"),
)


def ontology_doc(triples: Iterable[ox.Triple], shapes: Graph, iris: Iris) -> OntologyDoc:
    """The documentation of the ontology: classes and properties with their definitions,
    domains and ranges, alignments, and the shapes that constrain them."""
    from claimgraph.terms import triples_to_graph

    g = triples_to_graph(triples)
    ns = str(CG)
    labels: dict[str, str] = {}
    onto = URIRef(ONTOLOGY)

    def docs(
        kinds: Sequence[URIRef], facts: Sequence[tuple[URIRef, str]], as_class: bool
    ) -> list[TermDoc]:
        found: set[URIRef] = set()
        for kind in kinds:
            for s in g.subjects(RDF.type, kind):
                if isinstance(s, URIRef) and str(s).startswith(ns):
                    found.add(s)
        out = []
        for s in sorted(found, key=lambda u: str(u).lower()):
            iri = str(s)
            label = _text(g, s, RDFS.label)
            curie = compact(iri)
            rows = []
            for prop, name in facts:
                values = [
                    _node_term(g, o, iris, labels)
                    for o in g.objects(s, prop)
                    if not (prop == RDF.type and o == OWL.NamedIndividual)
                ]
                if values:
                    values.sort(key=lambda v: v.text)
                    rows.append(Row(Term(name), values))
            if as_class:
                subs = [
                    _node_term(g, o, iris, labels)
                    for o in g.subjects(RDFS.subClassOf, s)
                    if isinstance(o, URIRef)
                ]
                if subs:
                    rows.append(Row(Term("superclass of"), sorted(subs, key=lambda v: v.text)))
            text = f"{label} ({curie})" if label else curie
            out.append(
                TermDoc(
                    Term(text, href=iris.href(iri), iri=iri, lang="en" if label else None),
                    iri[len(ns) :],
                    _text(g, s, RDFS.comment),
                    rows,
                    _shape_constraints(shapes, s, iris, labels, as_class=as_class),
                )
            )
        return out

    license_node = g.value(onto, URIRef(f"{DCTERMS}license"))
    return OntologyDoc(
        iri=ONTOLOGY,
        title=_text(g, onto, URIRef(f"{DCTERMS}title")) or "ClaimGraph ontology",
        description=_text(g, onto, URIRef(f"{DCTERMS}description")),
        version=_text(g, onto, OWL.versionInfo),
        license=_node_term(g, license_node, iris, labels) if license_node is not None else None,
        namespace=ns,
        prefix="cg",
        classes=docs([OWL.Class, RDFS.Class], _CLASS_FACTS, True),
        properties=docs(
            [OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property],
            _PROPERTY_FACTS,
            False,
        ),
    )
