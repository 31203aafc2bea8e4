"""The dataset description at ``/.well-known/void`` (RFC 8615, VoID §7): VoID and DCAT.

Title, description, licence and publisher; triples and entities per class and per named graph
(counted with SPARQL once per write generation); each named graph with the PROV metadata the
graph states about itself; example resources; the SPARQL endpoint; the dumps as VoID data dumps
and DCAT distributions; the vocabularies the data uses. Negotiated like every resource
(Turtle by default). What it describes is named on the canonical base; the endpoint and the
dumps are URLs of this server (``CLAIMGRAPH_PUBLIC_URL``, else the address asked), the same
as in the SPARQL service description.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Blueprint, Response, render_template

from claimgraph import sparqlterms
from claimgraph.core import ClaimGraph
from claimgraph.describe import Labeller, section
from claimgraph.dumps import DUMP_FORMATS, GZIP
from claimgraph.errors import NotFound
from claimgraph.iris import CG, PREFIXES, SCHEMA, VOID_PATH, Site, slugify
from claimgraph.linkeddata import (
    alternates,
    cached,
    claimgraph,
    page_labels,
    represent,
    serialize,
    split_suffix,
    start_representation,
)
from claimgraph.web import site

bp = Blueprint("void", __name__)

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DCTERMS = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
VOID_PREFIXES = {"void": VOID, "dcat": DCAT, "foaf": FOAF}
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
TITLE = "ClaimGraph"
DESCRIPTION = (
    "A fact-check knowledge graph: who said what about which claim, when and where (statements "
    "with speaker, stance, date, source and reporting chain), what evidence bears on each claim, "
    "and what fact-checkers concluded (schema:ClaimReview with a normalized verdict)."
)
# Classes whose instances make good examples, in the order they are shown.
EXAMPLE_CLASSES = ("Claim", "Statement", "Actor", "Person", "Source", "Evidence")
# The classes and properties of these namespaces count as "vocabularies used".
VOCABULARIES = (
    str(CG),
    str(SCHEMA),
    PREFIXES["prov"],
    PREFIXES["skos"],
    PREFIXES["dcterms"],
    PREFIXES["org"],
    PREFIXES["oa"],
    PREFIXES["cito"],
    PREFIXES["owl"],
    PREFIXES["rdfs"],
)
DESCRIBED_GRAPH_PROPERTIES = (
    f"{DCTERMS}title",
    f"{DCTERMS}description",
    f"{DCTERMS}license",
    f"{DCTERMS}creator",
    f"{PROV}wasDerivedFrom",
    f"{PROV}generatedAtTime",
    f"{PROV}wasAttributedTo",
)


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _int(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=_n(f"{XSD}integer"))


def _select(cg: ClaimGraph, sparql: str) -> list[ox.QuerySolution]:
    result = cg.store.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    return list(result)


def triples_per_graph(cg: ClaimGraph) -> dict[str, int]:
    rows = _select(cg, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {r["g"].value: int(r["n"].value) for r in rows if isinstance(r["g"], ox.NamedNode)}


def entities_per_class(cg: ClaimGraph) -> dict[str, int]:
    """Distinct instances of each class (as typed; no inference), over all graphs."""
    rows = _select(cg, "SELECT ?c (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ?c } GROUP BY ?c")
    return {r["c"].value: int(r["n"].value) for r in rows if isinstance(r["c"], ox.NamedNode)}


@dataclass(frozen=True)
class Counts:
    """What the description says about the data, counted once per write generation."""

    graphs: dict[str, int]  # triples per named graph
    classes: dict[str, int]  # entities per class
    entities: int
    vocabularies: list[str]
    described: dict[str, list[ox.Triple]]  # what each graph says about itself
    examples: list[str]

    @classmethod
    def of(cls, cg: ClaimGraph) -> Counts:
        return cls(
            triples_per_graph(cg),
            entities_per_class(cg),
            _entities(cg),
            _vocabularies(cg),
            _graph_metadata(cg),
            list(_examples(cg)),
        )


def describe_dataset(cg: ClaimGraph, site: Site, counts: Counts | None = None) -> list[ox.Triple]:
    """The VoID + DCAT description of everything the store holds now. Things are named on the
    canonical base; the endpoint and the dumps are where ``site`` serves them."""
    iris = cg.iris
    counts = counts or Counts.of(cg)
    ds = _n(iris.void_iri("dataset"))
    doc = _n(iris.void_iri())
    out: list[ox.Triple] = []

    def add(s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> None:
        out.append(ox.Triple(s, _n(p), o))

    add(doc, RDF_TYPE.value, _n(f"{VOID}DatasetDescription"))
    add(doc, f"{DCTERMS}title", ox.Literal(f"Description of the {TITLE} dataset", language="en"))
    add(doc, f"{FOAF}primaryTopic", ds)

    graphs, classes = counts.graphs, counts.classes
    add(ds, RDF_TYPE.value, _n(f"{VOID}Dataset"))
    add(ds, RDF_TYPE.value, _n(f"{DCAT}Dataset"))
    add(ds, f"{DCTERMS}title", ox.Literal(TITLE, language="en"))
    add(ds, f"{DCTERMS}description", ox.Literal(DESCRIPTION, language="en"))
    add(ds, f"{DCTERMS}license", _n(LICENSE))
    publisher = _n(iris.void_iri("publisher"))
    add(ds, f"{DCTERMS}publisher", publisher)
    add(publisher, RDF_TYPE.value, _n(f"{FOAF}Organization"))
    add(publisher, f"{FOAF}name", ox.Literal("The ClaimGraph project", language="en"))
    add(publisher, f"{FOAF}homepage", _n(iris.base))
    add(ds, f"{FOAF}homepage", _n(iris.base))
    add(
        ds,
        f"{DCTERMS}modified",
        ox.Literal(cg.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=_n(f"{XSD}dateTime")),
    )
    add(ds, f"{VOID}triples", _int(sum(graphs.values())))
    add(ds, f"{VOID}entities", _int(counts.entities))
    add(ds, f"{VOID}classes", _int(len(classes)))
    add(ds, f"{VOID}uriSpace", ox.Literal(f"{iris.base}id/"))
    add(ds, f"{VOID}sparqlEndpoint", _n(site.sparql_endpoint()))
    add(ds, f"{VOID}rootResource", _n(iris.absolute("/ontology")))
    for vocabulary in counts.vocabularies:
        add(ds, f"{VOID}vocabulary", _n(vocabulary))

    # Dumps: VoID data dumps and DCAT distributions (the same URLs).
    for suffix, fmt in DUMP_FORMATS.items():
        for gz in (False, True):
            url = _n(site.url(iris.dump_path(suffix + (GZIP if gz else "")) or ""))
            add(ds, f"{VOID}dataDump", url)
            add(ds, f"{DCAT}distribution", url)
            add(url, RDF_TYPE.value, _n(f"{DCAT}Distribution"))
            add(url, f"{DCAT}downloadURL", url)
            media = "application/gzip" if gz else fmt.media_type
            add(url, f"{DCAT}mediaType", _n(f"{IANA_MEDIA_TYPES}{media}"))
            add(url, f"{DCTERMS}format", ox.Literal(fmt.media_type))
            add(
                url,
                f"{DCTERMS}title",
                ox.Literal(f"Everything, as {fmt.name}{' (gzip)' if gz else ''}", language="en"),
            )

    # Class partitions: entities per class.
    for cls, n in sorted(classes.items()):
        part = _n(iris.void_iri(f"class-{slugify(_curie(cls))}"))
        add(ds, f"{VOID}classPartition", part)
        add(part, f"{VOID}class", _n(cls))
        add(part, f"{VOID}entities", _int(n))

    # Named graphs: subsets with their size, dumps and what each says about itself.
    described = counts.described
    for graph, n in sorted(graphs.items()):
        node = _n(graph)
        add(ds, f"{VOID}subset", node)
        add(node, RDF_TYPE.value, _n(f"{VOID}Dataset"))
        add(node, f"{VOID}triples", _int(n))
        for suffix in DUMP_FORMATS:
            path = iris.dump_path(suffix, graph)
            if path:
                add(node, f"{VOID}dataDump", _n(site.url(path)))
        out.extend(described.get(graph, []))

    for example in counts.examples:
        add(ds, f"{VOID}exampleResource", _n(example))
    return out


def _curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns):
            return f"{prefix}-{iri[len(ns) :]}"
    return iri


def _entities(cg: ClaimGraph) -> int:
    rows = _select(cg, "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ?c }")
    return int(rows[0]["n"].value) if rows else 0


def _vocabularies(cg: ClaimGraph) -> list[str]:
    """The namespaces of ``VOCABULARIES`` that some predicate or class in the data is from."""
    rows = _select(
        cg,
        "SELECT DISTINCT ?t WHERE { { ?s ?t ?o } UNION { ?s a ?t } }",
    )
    terms = {r["t"].value for r in rows if isinstance(r["t"], ox.NamedNode)}
    return [ns for ns in VOCABULARIES if any(t.startswith(ns) for t in terms)]


def _graph_metadata(cg: ClaimGraph) -> dict[str, list[ox.Triple]]:
    """What each named graph says about itself (its PROV and Dublin Core metadata)."""
    props = sparqlterms.iris((*DESCRIBED_GRAPH_PROPERTIES, RDF_TYPE.value))
    sparql = f"SELECT ?g ?p ?o WHERE {{ GRAPH ?g {{ ?g ?p ?o }} VALUES ?p {{ {props} }} }}"
    rows = _select(cg, sparql)
    out: dict[str, list[ox.Triple]] = {}
    for r in rows:
        g, p, o = r["g"], r["p"], r["o"]
        if isinstance(g, ox.NamedNode) and isinstance(p, ox.NamedNode) and o is not None:
            out.setdefault(g.value, []).append(ox.Triple(g, p, o))
    return out


def _examples(cg: ClaimGraph) -> Iterable[str]:
    for name in EXAMPLE_CLASSES:
        rows = _select(
            cg,
            f"SELECT ?x WHERE {{ ?x a {sparqlterms.iri(CG + name)} . FILTER(isIRI(?x)) }} "
            "ORDER BY ?x LIMIT 1",
        )
        for r in rows:
            yield r["x"].value


def _void_response(suffix_name: str | None) -> Response:
    _, suffix = split_suffix(f"void{suffix_name}") if suffix_name else ("void", None)
    if suffix_name and suffix is None:
        raise NotFound(f"no representation {suffix_name} of the dataset description")
    rep = start_representation(suffix)
    cg = claimgraph()

    def body() -> bytes | str:
        counts = cached("void", lambda: Counts.of(cg))
        triples = describe_dataset(cg, site(), counts)
        if rep.rdf is not None:
            return serialize(
                triples, rep.rdf, cg.iris, first=cg.iris.void_iri("dataset"), extra=VOID_PREFIXES
            )
        labeller = Labeller(cg.iris, triples, page_labels())
        subjects = list(dict.fromkeys(t.subject for t in triples))
        sections = [
            section(
                subj,  # type: ignore[arg-type]
                triples,
                labeller,
                anchor=subj.value.split("#", 1)[1] if "#" in subj.value else None,  # type: ignore[union-attr]
                incoming=False,
            )
            for subj in subjects
        ]
        # The dataset first, then everything else in the order described.
        sections.sort(key=lambda sec: sec.iri != cg.iris.void_iri("dataset"))
        return render_template(
            "resource.html",
            title=sections[0].title,
            iri=cg.iris.void_iri(),
            sections=sections,
            alternates=alternates(VOID_PATH),
            dumps=[],
            claimreview=None,
        )

    return represent(VOID_PATH, rep, negotiated=suffix is None, body=body)


@bp.get("/.well-known/void")
def void() -> Response:
    """The dataset description, negotiated (Turtle unless the client asks otherwise)."""
    return _void_response(None)


@bp.get("/.well-known/void.<ext>")
def void_file(ext: str) -> Response:
    return _void_response(f".{ext}")
