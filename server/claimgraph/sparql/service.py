"""The SPARQL 1.1 Service Description of the endpoint (``sd:Service``), as RDF triples.

Served at ``/sparql`` without a query, in any RDF format: what Comunica and other clients
read to discover the endpoint. It says which languages, result formats and features the
endpoint has, that the default graph is the union of the named graphs, which graphs there
are (with their sizes), and where the VoID description of the dataset is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
RDFS_SEE_ALSO = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
PREFIXES = {"sd": SD, "formats": FORMATS, "void": VOID}

RESULT_FORMATS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "JSON-LD",
    "RDF_XML",
    "TriG",
    "N-Quads",
)
INPUT_FORMATS = ("Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG", "N-Quads")


@dataclass(frozen=True)
class Description:
    endpoint: str  # this endpoint's URL, as the client reached it
    void: str  # the dataset's VoID description
    graphs: tuple[tuple[str, int], ...]  # named graph IRI, triples
    triples: int  # in the default graph (the union)
    federated: bool  # SERVICE allowed to some endpoints
    limits: str  # a sentence for humans


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(SD + name)


def triples(d: Description) -> Iterable[ox.Triple]:
    service = ox.NamedNode(d.endpoint)
    dataset, default = ox.BlankNode("dataset"), ox.BlankNode("default")
    yield ox.Triple(service, RDF_TYPE, _sd("Service"))
    yield ox.Triple(service, _sd("endpoint"), service)
    for lang in ("SPARQL11Query", "SPARQL11Update"):
        yield ox.Triple(service, _sd("supportedLanguage"), _sd(lang))
    for fmt in RESULT_FORMATS:
        yield ox.Triple(service, _sd("resultFormat"), ox.NamedNode(FORMATS + fmt))
    for fmt in INPUT_FORMATS:
        yield ox.Triple(service, _sd("inputFormat"), ox.NamedNode(FORMATS + fmt))
    yield ox.Triple(service, _sd("feature"), _sd("UnionDefaultGraph"))
    if d.federated:
        yield ox.Triple(service, _sd("feature"), _sd("BasicFederatedQuery"))
    yield ox.Triple(
        service,
        _sd("defaultEntailmentRegime"),
        ox.NamedNode("http://www.w3.org/ns/entailment/Simple"),
    )
    yield ox.Triple(service, RDFS_COMMENT, ox.Literal(d.limits, language="en"))
    yield ox.Triple(service, _sd("defaultDataset"), dataset)
    yield ox.Triple(dataset, RDF_TYPE, _sd("Dataset"))
    yield ox.Triple(dataset, RDFS_SEE_ALSO, ox.NamedNode(d.void))
    yield ox.Triple(dataset, _sd("defaultGraph"), default)
    yield ox.Triple(default, RDF_TYPE, _sd("Graph"))
    yield ox.Triple(default, ox.NamedNode(VOID + "triples"), _count(d.triples))
    for i, (name, count) in enumerate(d.graphs):
        named, graph = ox.BlankNode(f"named{i}"), ox.BlankNode(f"graph{i}")
        yield ox.Triple(dataset, _sd("namedGraph"), named)
        yield ox.Triple(named, RDF_TYPE, _sd("NamedGraph"))
        yield ox.Triple(named, _sd("name"), ox.NamedNode(name))
        yield ox.Triple(named, _sd("graph"), graph)
        yield ox.Triple(graph, RDF_TYPE, _sd("Graph"))
        yield ox.Triple(graph, ox.NamedNode(VOID + "triples"), _count(count))


def _count(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=XSD_INTEGER)
