"""The dataset description at /.well-known/void, against a live server: it parses, its counts
are what SPARQL counts, it names the graphs with their PROV metadata, and every dump, example and
endpoint it lists is there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import rdflib
from rdflib import RDF, RDFS, Literal, Namespace, URIRef

from claimgraph.app import create_app
from claimgraph.claimreview import import_markup
from claimgraph.core import ClaimGraph
from claimgraph.iris import CG, SCHEMA
from claimgraph.validation import Validator
from tests.conftest import FIXTURES
from tests.live_server import fetch, seeded_with_reviews, serve

VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
PROV = Namespace("http://www.w3.org/ns/prov#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
BASE = "https://claimgraph.org/"
DATASET = URIRef(f"{BASE}.well-known/void#dataset")


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[tuple[str, ClaimGraph]]:
    cg = seeded_with_reviews(validator)
    with serve(create_app(cg.settings, graph=cg)) as url:
        yield url, cg
    cg.close()


def void(url: str, accept: str = "text/turtle") -> rdflib.Graph:
    reply = fetch(f"{url}/.well-known/void", {"Accept": accept})
    assert reply.status == 200
    fmt = {"text/turtle": "turtle", "application/ld+json": "json-ld"}[accept]
    return rdflib.Graph().parse(data=reply.body, format=fmt)


def count(cg: ClaimGraph, sparql: str) -> int:
    (row,) = list(cg.store.query(sparql))  # type: ignore[arg-type]
    return int(row["n"].value)  # type: ignore[index]


def test_turtle_is_the_default_and_json_ld_says_the_same(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    reply = fetch(f"{url}/.well-known/void")
    assert reply.content_type == "text/turtle"
    assert len(void(url) ^ void(url, "application/ld+json")) == 0
    html = fetch(f"{url}/.well-known/void", {"Accept": "text/html"})
    assert html.content_type == "text/html" and "ClaimGraph" in html.text()
    assert fetch(f"{url}/.well-known/void.nt").content_type == "application/n-triples"


def test_describes_the_dataset(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    g = void(url)
    assert (DATASET, RDF.type, VOID.Dataset) in g
    assert (DATASET, RDF.type, DCAT.Dataset) in g
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.publisher):
        assert g.value(DATASET, prop) is not None, prop
    # The endpoint is where this server is (the request's address unless one is configured),
    # and the service description names the same one.
    assert g.value(DATASET, VOID.sparqlEndpoint) == URIRef(f"{url}/sparql")
    sd = fetch(f"{url}/sparql", {"Accept": "text/turtle"})
    assert (URIRef(f"{url}/sparql"), SD.endpoint, URIRef(f"{url}/sparql")) in rdflib.Graph().parse(
        data=sd.body, format="turtle"
    )
    vocabularies = set(g.objects(DATASET, VOID.vocabulary))
    assert {URIRef(str(CG)), URIRef(SCHEMA)} <= vocabularies


def test_counts_match_sparql(live: tuple[str, ClaimGraph]) -> None:
    url, cg = live
    g = void(url)
    assert g.value(DATASET, VOID.triples) == Literal(cg.store.count())
    for part in g.objects(DATASET, VOID.classPartition):
        cls = g.value(part, VOID["class"])
        n = count(cg, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a <{cls}> }}")
        assert g.value(part, VOID.entities) == Literal(n), cls
    classes = {g.value(p, VOID["class"]) for p in g.objects(DATASET, VOID.classPartition)}
    assert URIRef(f"{CG}Statement") in classes and URIRef(f"{SCHEMA}ClaimReview") in classes
    graphs = set(g.objects(DATASET, VOID.subset))
    assert {str(x) for x in graphs} == {x.value for x in cg.store.graphs()}
    for graph in graphs:
        n = count(cg, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        assert g.value(graph, VOID.triples) == Literal(n), graph


def test_graphs_carry_their_prov_metadata(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    g = void(url)
    zpmc = URIRef(f"{BASE}graph/zpmc")
    assert g.value(zpmc, PROV.wasDerivedFrom) == URIRef(f"{BASE}id/source/zpmc-rebuttal-article")
    assert g.value(zpmc, PROV.generatedAtTime) is not None
    imported = URIRef(f"{BASE}graph/claimreview")
    assert (imported, PROV.wasDerivedFrom, None) in g


def test_everything_it_links_to_is_served(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    g = void(url)
    dumps = set(g.objects(DATASET, VOID.dataDump))
    assert len(dumps) == 4 and dumps == set(g.objects(DATASET, DCAT.distribution))
    for graph in g.objects(DATASET, VOID.subset):
        dumps |= set(g.objects(graph, VOID.dataDump))
    examples = set(g.objects(DATASET, VOID.exampleResource))
    assert len(examples) >= 3
    for dump in dumps:  # URLs of this server
        assert str(dump).startswith(f"{url}/dumps/")
        assert fetch(str(dump)).status == 200, dump
    for iri in examples:  # IRIs on the canonical base, answered here
        assert str(iri).startswith(BASE)
        reply = fetch(url + "/" + str(iri).removeprefix(BASE))
        assert reply.status == 200, iri


def test_a_configured_public_url_names_the_endpoint_and_dumps(validator: Validator) -> None:
    cg = seeded_with_reviews(validator)
    public = "https://kg.example.org/claims/"
    app = create_app(cg.settings.replace(public_url=public), graph=cg)
    with serve(app) as url:
        g = void(url)
        sd = fetch(f"{url}/sparql", {"Accept": "text/turtle"})
    app.extensions["claimgraph.sparql"].close()
    cg.close()
    assert g.value(DATASET, VOID.sparqlEndpoint) == URIRef(f"{public}sparql")
    assert {str(d) for d in g.objects(DATASET, VOID.dataDump)} == {
        f"{public}dumps/claimgraph{s}" for s in (".trig", ".nq", ".trig.gz", ".nq.gz")
    }
    described = rdflib.Graph().parse(data=sd.body, format="turtle")
    service = URIRef(f"{public}sparql")
    assert (service, SD.endpoint, service) in described
    assert (None, RDFS.seeAlso, URIRef(f"{public}.well-known/void")) in described


def test_recounted_after_a_write(validator: Validator) -> None:
    cg = seeded_with_reviews(validator)
    with serve(create_app(cg.settings, graph=cg)) as url:
        before = void(url).value(DATASET, VOID.triples)
        variant = FIXTURES / "claimreview" / "number-only.jsonld"
        import_markup(cg, [("v", variant.read_bytes())])
        after = void(url).value(DATASET, VOID.triples)
        assert after == Literal(cg.store.count()) and after != before
    cg.close()


def test_every_graph_it_names_has_a_page(live: tuple[str, ClaimGraph]) -> None:
    """Graphs loaded from files that say nothing of themselves (the ontology's) are still
    resources with a page that links their dumps."""
    url, _ = live
    g = void(url)
    graphs = [str(s) for s in g.subjects(VOID.triples, None) if str(s).startswith(f"{BASE}graph/")]
    assert f"{BASE}graph/vocab" in graphs and len(graphs) >= 5
    for graph in graphs:
        page = fetch(url + "/" + graph.removeprefix(BASE), {"Accept": "text/html"})
        assert page.status == 200, graph
        assert "/dumps/graph/" in page.text()
    assert fetch(f"{url}/graph/no-such-graph", {"Accept": "text/html"}).status == 404
