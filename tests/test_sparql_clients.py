"""Real SPARQL clients against a real server: SPARQLWrapper (every return format, GET and
POST, query and update with the token) and rdflib's SPARQLStore / SPARQLUpdateStore."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from urllib.error import HTTPError
from xml.dom.minidom import Document

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, Unauthorized

from claimgraph.validation import Validator
from tests.sparql_helpers import PREFIXES, TOKEN, Live, live_server

SELECT = (
    PREFIXES
    + """SELECT ?name WHERE {
  ?statement cg:claim claim:zpmc-installs-modems-at-factory ; cg:stance stance:denies ;
             cg:speaker/schema:name ?name .
  FILTER(LANG(?name) = "en")
} ORDER BY ?name"""
)
DENIERS = ["Tang Qingyun", "Xinhua News Agency"]
ASK = PREFIXES + "ASK { actor:tang-qingyun a cg:Person }"
CONSTRUCT = (
    PREFIXES
    + "CONSTRUCT { actor:tang-qingyun schema:name ?n } WHERE { actor:tang-qingyun schema:name ?n }"
)
TANG = URIRef("https://claimgraph.org/id/actor/tang-qingyun")
NAME = URIRef("http://schema.org/name")


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator) as server:
        yield server


def wrapper(live: Live, method: str = GET, request: str = URLENCODED) -> SPARQLWrapper:
    sparql = SPARQLWrapper(live.sparql)
    sparql.setMethod(method)
    sparql.setRequestMethod(request)
    return sparql


METHODS = [(GET, URLENCODED), (POST, URLENCODED), (POST, POSTDIRECTLY)]


# -- SPARQLWrapper ----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "request_method"), METHODS)
def test_sparqlwrapper_select_json(live: Live, method: str, request_method: str) -> None:
    sparql = wrapper(live, method, request_method)
    sparql.setQuery(SELECT)
    sparql.setReturnFormat(JSON)
    result = sparql.queryAndConvert()
    assert [b["name"]["value"] for b in result["results"]["bindings"]] == DENIERS  # type: ignore[index]


@pytest.mark.parametrize(("method", "request_method"), METHODS)
def test_sparqlwrapper_select_xml(live: Live, method: str, request_method: str) -> None:
    sparql = wrapper(live, method, request_method)
    sparql.setQuery(SELECT)
    sparql.setReturnFormat(XML)
    doc = sparql.queryAndConvert()
    assert isinstance(doc, Document)
    names = [n.firstChild.data for n in doc.getElementsByTagName("literal")]  # type: ignore[union-attr]
    assert names == DENIERS


@pytest.mark.parametrize("fmt", [CSV, TSV])
@pytest.mark.parametrize(("method", "request_method"), METHODS)
def test_sparqlwrapper_select_csv_tsv(
    live: Live, fmt: str, method: str, request_method: str
) -> None:
    sparql = wrapper(live, method, request_method)
    sparql.setQuery(SELECT)
    sparql.setReturnFormat(fmt)
    body = sparql.queryAndConvert()
    assert isinstance(body, bytes)
    lines = body.decode().splitlines()
    if fmt == CSV:
        assert lines == ["name", *DENIERS]
    else:
        assert lines == ["?name", *(f'"{n}"@en' for n in DENIERS)]


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_ask(live: Live, fmt: str) -> None:
    sparql = wrapper(live)
    sparql.setQuery(ASK)
    sparql.setReturnFormat(fmt)
    result = sparql.queryAndConvert()
    if fmt == JSON:
        assert result == {"head": {}, "boolean": True}
    elif fmt == XML:
        assert isinstance(result, Document)
        assert result.getElementsByTagName("boolean")[0].firstChild.data == "true"  # type: ignore[union-attr]
    else:
        assert isinstance(result, bytes) and b"true" in result


@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, XML, JSONLD])
@pytest.mark.parametrize(("method", "request_method"), METHODS)
def test_sparqlwrapper_construct(live: Live, fmt: str, method: str, request_method: str) -> None:
    sparql = wrapper(live, method, request_method)
    sparql.setQuery(CONSTRUCT)
    sparql.setReturnFormat(fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SPARQLWrapper warns about its own JSON-LD support
        result = sparql.queryAndConvert()
    if isinstance(result, bytes):
        parse_as = {TURTLE: "turtle", N3: "n3", JSONLD: "json-ld"}[fmt]
        result = Graph().parse(data=result, format=parse_as)
    assert isinstance(result, Graph)
    assert set(result.objects(TANG, NAME)) == {
        Literal("Tang Qingyun", lang="en"),
        Literal("唐青赟", lang="zh"),
    }


@pytest.mark.parametrize("only_conneg", [False, True])
def test_sparqlwrapper_n3_is_labelled_n3(live: Live, only_conneg: bool) -> None:
    # SPARQLWrapper's N3 sends Accept: application/turtle, text/turtle, text/rdf+n3,
    # application/n-triples, application/n3, text/n3 and format=n3: the answer is Turtle
    # (which N3 contains), labelled text/n3, and rdflib's N3 parser reads it.
    sparql = wrapper(live)
    sparql.setOnlyConneg(only_conneg)
    sparql.setQuery(CONSTRUCT)
    sparql.setReturnFormat(N3)
    result = sparql.query()
    expected = "text/turtle" if only_conneg else "text/n3"  # Turtle is its first choice
    assert result.info()["content-type"].split(";")[0] == expected
    graph = Graph().parse(data=result.convert(), format="n3")
    assert set(graph.objects(TANG, NAME)) == {
        Literal("Tang Qingyun", lang="en"),
        Literal("唐青赟", lang="zh"),
    }


def test_sparqlwrapper_bad_query(live: Live) -> None:
    sparql = wrapper(live)
    sparql.setQuery("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QueryBadFormed, match="1:"):
        sparql.query()


@pytest.mark.parametrize("request_method", [URLENCODED, POSTDIRECTLY])
def test_sparqlwrapper_update_with_token(live: Live, request_method: str) -> None:
    graph = f"https://example.org/graph/sparqlwrapper-{request_method}"
    sparql = SPARQLWrapper(live.sparql, updateEndpoint=live.url + "update")
    sparql.setMethod(POST)
    sparql.setRequestMethod(request_method)
    sparql.setQuery(
        f"""PREFIX cg: <https://claimgraph.org/ontology#>
        INSERT DATA {{ GRAPH <{graph}> {{
          <https://example.org/id/claim/sw> a cg:Claim ; cg:text "Written by SPARQLWrapper"@en .
        }} }}"""
    )
    with pytest.raises(Unauthorized):
        sparql.query()
    sparql.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    response = sparql.query()
    assert response.response.status == 200
    check = wrapper(live)
    check.setQuery(f'ASK {{ GRAPH <{graph}> {{ ?c ?p "Written by SPARQLWrapper"@en }} }}')
    check.setReturnFormat(JSON)
    assert check.queryAndConvert()["boolean"] is True  # type: ignore[index]


def test_sparqlwrapper_update_through_the_query_endpoint(live: Live) -> None:
    """SPARQLWrapper sends updates to the query URL unless told otherwise: update= works."""
    sparql = SPARQLWrapper(live.sparql)
    sparql.setMethod(POST)
    sparql.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    sparql.setQuery(
        "PREFIX cg: <https://claimgraph.org/ontology#> INSERT DATA { GRAPH "
        "<https://example.org/graph/sw-query-endpoint> { <https://example.org/id/claim/sw2> "
        'a cg:Claim ; cg:text "Through /sparql"@en } }'
    )
    assert sparql.query().response.status == 200


# -- rdflib -----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_query_triples_len(live: Live, method: str) -> None:
    store = SPARQLStore(live.sparql, method=method)
    graph = Graph(store=store)
    rows = list(graph.query(SELECT))
    assert [str(r[0]) for r in rows] == DENIERS  # type: ignore[index]
    assert set(graph.objects(TANG, NAME)) == {
        Literal("Tang Qingyun", lang="en"),
        Literal("唐青赟", lang="zh"),
    }
    assert len(graph) == live.graph.store.count()
    constructed = graph.query(CONSTRUCT)
    assert len(constructed.graph) == 2  # type: ignore[arg-type]
    assert graph.query(ASK).askAnswer is True
    zpmc = Graph(
        store=SPARQLStore(live.sparql, method=method),
        identifier=URIRef("https://claimgraph.org/graph/zpmc"),
    )
    assert 0 < len(zpmc) < len(graph)


def test_rdflib_sparqlupdatestore(live: Live) -> None:
    name = URIRef("https://example.org/graph/rdflib")
    store = SPARQLUpdateStore(
        live.sparql,
        live.url + "update",
        autocommit=False,  # the claim and its text in one update: a claim needs a text
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    graph = Graph(store=store, identifier=name)
    claim = URIRef("https://example.org/id/claim/rdflib")
    text = URIRef("https://claimgraph.org/ontology#text")
    rdf_type = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    graph.add((claim, rdf_type, URIRef("https://claimgraph.org/ontology#Claim")))
    graph.add((claim, text, Literal("Added by rdflib", lang="en")))
    store.commit()
    assert len(graph) == 2
    assert set(graph.objects(claim, text)) == {Literal("Added by rdflib", lang="en")}
    graph.update(
        "PREFIX cg: <https://claimgraph.org/ontology#> "
        'DELETE { ?c cg:text ?t } INSERT { ?c cg:text "Changed by rdflib"@en } '
        "WHERE { ?c cg:text ?t }"
    )
    store.commit()
    assert set(graph.objects(claim, text)) == {Literal("Changed by rdflib", lang="en")}
    # Without its text the claim would violate the shapes: refused (422), nothing changes.
    graph.remove((claim, text, None))
    with pytest.raises(HTTPError) as refused:
        store.commit()
    assert refused.value.code == 422
    store.rollback()
    assert len(graph) == 2
    graph.remove((None, None, None))
    store.commit()
    assert len(graph) == 0
