"""The SPARQL 1.1 Protocol at /sparql over plain HTTP: methods, parameters, negotiation,
errors, headers, the service description and the query page."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import rdflib

from claimgraph.errors import InputError, NotAcceptable, UnsupportedMediaType
from claimgraph.sparql.protocol import Formats, choose_formats, parse_request
from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, DIRECT, FORM, PREFIXES, Live, form, http, live_server

CLAIMS = PREFIXES + "SELECT ?claim WHERE { ?claim a cg:Claim } ORDER BY ?claim LIMIT 3"
CONSTRUCT = PREFIXES + "CONSTRUCT { ?c cg:text ?t } WHERE { ?c cg:text ?t } LIMIT 4"


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator, max_rows=50, max_body_bytes=50_000) as server:
        yield server


# -- negotiation (pure) -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "params", "expected"),
    [
        (None, {}, Formats("json", "turtle")),
        ("*/*", {}, Formats("json", "turtle")),
        ("application/sparql-results+xml", {}, Formats("xml", "rdfxml")),  # rdflib's SPARQLStore
        ("application/sparql-results+json", {}, Formats("json", "jsonld")),
        ("text/csv", {}, Formats("csv", "turtle")),
        ("text/tab-separated-values", {}, Formats("tsv", "ntriples")),
        ("text/turtle", {}, Formats(None, "turtle")),
        ("application/rdf+xml", {}, Formats("xml", "rdfxml")),
        ("application/n-triples;q=0.5, text/turtle", {}, Formats(None, "turtle")),
        ("text/csv;q=0.1, application/sparql-results+xml", {}, Formats("xml", "rdfxml")),
        ("application/json", {}, Formats("json", "jsonld")),
        ("image/png", {"format": ["json"]}, Formats("json", "jsonld")),
        ("application/sparql-results+xml", {"format": ["json"]}, Formats("json", "jsonld")),
        (None, {"output": ["csv"]}, Formats("csv", "turtle")),
        (None, {"format": ["tsv", "text/tab-separated-values"]}, Formats("tsv", "ntriples")),
        (None, {"format": ["rdf+xml", "application/rdf+xml"]}, Formats("xml", "rdfxml")),
        (None, {"results": ["unknown"]}, Formats("json", "turtle")),
        # N3 (SPARQLWrapper's N3: Accept and format=n3): Turtle, labelled as N3
        ("text/n3", {}, Formats(None, "turtle", n3=True)),
        ("application/n3", {}, Formats(None, "turtle", n3=True)),
        ("text/turtle, text/n3", {}, Formats(None, "turtle")),
        (None, {"format": ["n3"]}, Formats("json", "turtle", n3=True)),
    ],
)
def test_choose_formats(
    accept: str | None, params: dict[str, list[str]], expected: Formats
) -> None:
    assert choose_formats(accept, params) == expected


def test_nothing_acceptable() -> None:
    with pytest.raises(NotAcceptable, match="image/png"):
        choose_formats("image/png", {})


def test_parse_request_rules() -> None:
    with pytest.raises(InputError, match="2 query"):
        parse_request("GET", {"query": ["ASK {}", "ASK {}"]}, {}, b"", None)
    with pytest.raises(InputError, match="POST"):
        parse_request("GET", {"update": ["CLEAR ALL"]}, {}, b"", None)
    with pytest.raises(UnsupportedMediaType):
        parse_request("POST", {}, {}, b"ASK {}", "text/plain")
    op = parse_request("POST", {"default-graph-uri": ["http://g"]}, {}, b"ASK {}", DIRECT_CT)
    assert op.query == "ASK {}" and op.default_graphs == ["http://g"]
    # The protocol's bodies are UTF-8 only: another declared charset is refused, not decoded.
    for charset in ("ISO-8859-1", "UTF-16", '"utf-16le"'):
        with pytest.raises(InputError, match="only UTF-8"):
            parse_request("POST", {}, {}, b"ASK {}", f"application/sparql-query;charset={charset}")
    op = parse_request("POST", {}, {"update": ["CLEAR ALL"]}, b"", FORM["Content-Type"])
    assert op.update == "CLEAR ALL" and op.query is None


DIRECT_CT = "Application/SPARQL-Query; Charset=UTF-8"


# -- query over HTTP --------------------------------------------------------------------------
def test_get_post_form_and_post_direct_agree(live: Live) -> None:
    accept = {"Accept": "application/sparql-results+json"}
    got = http("GET", live.sparql, params={"query": CLAIMS}, headers=accept)
    posted = http("POST", live.sparql, data=form({"query": CLAIMS}), headers={**FORM, **accept})
    direct = http("POST", live.sparql, data=CLAIMS, headers={**DIRECT, **accept})
    charset = http(
        "POST",
        live.sparql,
        data=CLAIMS.encode("utf-8"),
        headers={"Content-Type": "application/sparql-query; charset=UTF-8", **accept},
    )
    assert got.status == posted.status == direct.status == charset.status == 200
    assert got.body == posted.body == direct.body == charset.body
    bindings = json.loads(got.body)["results"]["bindings"]
    assert len(bindings) == 3 and got.content_type == "application/sparql-results+json"


@pytest.mark.parametrize(
    ("accept", "content_type", "starts"),
    [
        ("application/sparql-results+json", "application/sparql-results+json", b'{"head"'),
        ("application/sparql-results+xml", "application/sparql-results+xml", b"<?xml"),
        ("text/csv", "text/csv; charset=utf-8", b"claim\r\n"),
        ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8", b"?claim\n<"),
        ("*/*", "application/sparql-results+json", b'{"head"'),
    ],
)
def test_select_formats(live: Live, accept: str, content_type: str, starts: bytes) -> None:
    reply = http("GET", live.sparql, params={"query": CLAIMS}, headers={"Accept": accept})
    assert reply.status == 200
    assert reply.content_type == content_type
    assert reply.body.startswith(starts)
    assert "Accept" in reply.headers["Vary"]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "ntriples"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml", "rdfxml"),
        ("application/trig", "trig"),
        ("application/n-quads", "nquads"),
        ("application/sparql-results+xml", "rdfxml"),  # a results type on a CONSTRUCT
        ("application/sparql-results+json", "jsonld"),
        ("*/*", "turtle"),
    ],
)
def test_construct_formats(live: Live, accept: str, fmt: str) -> None:
    from claimgraph.formats import by_name

    reply = http("GET", live.sparql, params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert reply.status == 200
    rdf = by_name(fmt)
    assert reply.content_type.split(";")[0] == rdf.media_type
    triples = list(ox.parse(reply.body, rdf.ox))
    assert len(triples) == 4


def test_ask_and_describe(live: Live) -> None:
    ask = http("GET", live.sparql, params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "*/*"})
    assert json.loads(ask.body) == {"head": {}, "boolean": True}
    xml = http(
        "GET",
        live.sparql,
        params={"query": "ASK { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert b"<boolean>true</boolean>" in xml.body
    describe = http(
        "GET",
        live.sparql,
        params={"query": "DESCRIBE <https://claimgraph.org/id/actor/tang-qingyun>"},
        headers={"Accept": "application/n-triples"},
    )
    assert describe.status == 200 and "Tang Qingyun" in describe.text


def test_sparqlwrapper_format_parameters_override_accept(live: Live) -> None:
    reply = http(
        "GET",
        live.sparql,
        params={"query": CLAIMS, "format": "json", "output": "json", "results": "json"},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert reply.status == 200 and reply.content_type == "application/sparql-results+json"


def test_a_select_as_turtle_only_is_406(live: Live) -> None:
    reply = http("GET", live.sparql, params={"query": CLAIMS}, headers={"Accept": "text/turtle"})
    assert reply.status == 406 and "SELECT/ASK" in reply.text
    none = http("GET", live.sparql, params={"query": CLAIMS}, headers={"Accept": "image/png"})
    assert none.status == 406


def test_protocol_dataset_parameters(live: Live) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    named = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    csv = {"Accept": "text/csv"}
    vocab = "https://claimgraph.org/graph/vocab"
    total = int(http("GET", live.sparql, params={"query": count}, headers=csv).text.split()[1])
    only = http(
        "GET", live.sparql, params={"query": count, "default-graph-uri": vocab}, headers=csv
    )
    assert 0 < int(only.text.split()[1]) < total
    graphs = http(
        "GET",
        live.sparql,
        params={"query": named, "named-graph-uri": [vocab, "https://claimgraph.org/graph/zpmc"]},
        headers=csv,
    )
    assert graphs.text.split()[1] == "2"
    # named-graph-uri alone: the default graph is empty (SPARQL 1.1 Protocol §2.1.4)
    empty = http("GET", live.sparql, params={"query": count, "named-graph-uri": vocab}, headers=csv)
    assert empty.text.split()[1] == "0"
    bad = http("GET", live.sparql, params={"query": count, "default-graph-uri": "not an iri"})
    assert bad.status == 400


def test_head_gives_headers_only(live: Live) -> None:
    reply = http("HEAD", live.sparql, params={"query": CLAIMS}, headers={"Accept": "text/csv"})
    assert reply.status == 200 and reply.body == b""
    assert reply.content_type == "text/csv; charset=utf-8"


def test_etag_and_304(live: Live) -> None:
    first = http("GET", live.sparql, params={"query": CLAIMS})
    etag = first.headers["ETag"]
    again = http("GET", live.sparql, params={"query": CLAIMS}, headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    other = http(
        "GET",
        live.sparql,
        params={"query": CLAIMS},
        headers={"If-None-Match": etag, "Accept": "text/csv"},
    )
    assert other.status == 200  # another representation, another validator


def test_rows_beyond_the_cap_are_cut_and_flagged(live: Live) -> None:
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    reply = http("GET", live.sparql, params={"query": query})
    assert reply.status == 200
    assert reply.headers["X-ClaimGraph-Truncated"] == "true"
    assert reply.headers["X-ClaimGraph-Row-Limit"] == "50"
    assert len(json.loads(reply.body)["results"]["bindings"]) == 50
    small = http("GET", live.sparql, params={"query": CLAIMS})
    assert "X-ClaimGraph-Truncated" not in small.headers
    triples = http("GET", live.sparql, params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
    assert triples.headers["X-ClaimGraph-Truncated"] == "true"
    assert len(list(ox.parse(triples.body, ox.RdfFormat.TURTLE))) == 50


# -- errors -----------------------------------------------------------------------------------
def test_syntax_error_gives_line_and_column(live: Live) -> None:
    reply = http("GET", live.sparql, params={"query": "SELECT * WHERE {\n  ?s ?p }"})
    assert reply.status == 400
    assert "2:" in reply.text and "syntax" in reply.text.lower()
    as_json = http(
        "GET",
        live.sparql,
        params={"query": "SELECT * WHERE { ?s ?p }"},
        headers={"Accept": "application/json"},
    )
    assert as_json.status == 400
    assert json.loads(as_json.body)["error"] == "QuerySyntaxError"


@pytest.mark.parametrize(
    ("method", "params", "data", "headers", "status", "says"),
    [
        ("GET", {"query": ["ASK {}", "ASK {}"]}, None, {}, 400, "exactly one"),
        ("POST", {}, form({"query": ["ASK {}", "ASK {}"]}), FORM, 400, "exactly one"),
        ("POST", {}, b"ASK {}", {"Content-Type": "text/plain"}, 415, "not accepted"),
        ("POST", {}, form({"other": "x"}), FORM, 400, "no query"),
        ("GET", {"update": "CLEAR ALL"}, None, {}, 400, "POST"),
        ("GET", {}, None, {"Accept": "application/sparql-results+json"}, 400, "no query"),
        ("PUT", {}, b"ASK {}", DIRECT, 405, ""),
        ("POST", {"query": "ASK {}"}, b"ASK {}", DIRECT, 400, "body"),
        ("GET", {"query": "INSERT DATA { }"}, None, {}, 400, "/update"),
        ("POST", {}, b"\xff\xfe", DIRECT, 400, "not valid UTF-8"),
        ("POST", {}, b"x" * 60_000, DIRECT, 413, "at most"),
    ],
)
def test_negative_cases(
    live: Live,
    method: str,
    params: dict[str, str | list[str]],
    data: bytes | None,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    reply = http(method, live.sparql, params=params, data=data, headers=headers)
    assert reply.status == status, reply.text
    assert says in reply.text
    assert "Traceback" not in reply.text


# -- without a query: service description and query page --------------------------------------
@pytest.mark.parametrize(
    "accept",
    [
        "text/turtle",
        "application/ld+json",
        "application/rdf+xml",
        # what Comunica sends when it discovers an endpoint
        "application/n-quads,application/trig;q=0.95,application/ld+json;q=0.9,"
        "application/n-triples;q=0.8,text/turtle;q=0.6,application/rdf+xml;q=0.5,*/*;q=0.1",
        "*/*",
    ],
)
def test_service_description(live: Live, accept: str) -> None:
    from claimgraph.formats import by_media_type

    reply = http("GET", live.sparql, headers={"Accept": accept})
    assert reply.status == 200
    fmt = by_media_type(reply.content_type)
    store = ox.Store()
    store.load(reply.body, fmt.ox)
    sd = "http://www.w3.org/ns/sparql-service-description#"

    def ask(pattern: str) -> bool:
        return bool(store.query(f"PREFIX sd: <{sd}> ASK {{ {pattern} }}"))

    assert ask(f"<{live.sparql}> a sd:Service ; sd:endpoint <{live.sparql}>")
    assert ask("?s sd:supportedLanguage sd:SPARQL11Query, sd:SPARQL11Update")
    assert ask("?s sd:feature sd:UnionDefaultGraph")
    assert not ask("?s sd:feature sd:BasicFederatedQuery")
    assert ask(
        "?s sd:resultFormat <http://www.w3.org/ns/formats/SPARQL_Results_JSON>, "
        "<http://www.w3.org/ns/formats/Turtle>"
    )
    assert ask("?s sd:defaultDataset/sd:namedGraph/sd:name <https://claimgraph.org/graph/zpmc>")
    void = live.url + ".well-known/void"
    assert ask(f"?s sd:defaultDataset/<http://www.w3.org/2000/01/rdf-schema#seeAlso> <{void}>")


def test_a_browser_gets_the_query_page(live: Live) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = http("GET", live.sparql, headers={"Accept": browser})
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert "<textarea" in page.text and 'rel="alternate"' in page.headers["Link"]
    results = http("GET", live.sparql, params={"query": CLAIMS}, headers={"Accept": browser})
    assert results.status == 200 and results.content_type.startswith("text/html")
    assert "https://claimgraph.org/id/claim/" in results.text and "<table>" in results.text
    broken = http("GET", live.sparql, params={"query": "SELECT"}, headers={"Accept": browser})
    assert broken.status == 400 and "syntax" in broken.text.lower() and "<textarea" in broken.text


def test_a_post_without_content_type_is_415(live: Live) -> None:
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(live.url)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    conn.putrequest("POST", "/sparql")
    conn.putheader("Content-Length", "6")
    conn.endheaders(b"ASK {}")
    response = conn.getresponse()
    assert response.status == 415 and b"not accepted" in response.read()
    conn.close()


# -- encodings: the protocol's text is UTF-8 ----------------------------------------------------
UTF16 = "application/sparql-query; charset=UTF-16"


@pytest.mark.parametrize(
    ("method", "url_query", "data", "content_type", "says"),
    [
        # the W3C protocol suite's bad_query_non_utf8 / bad_update_non_utf8
        ("POST", "", "ASK {}".encode("utf-16"), UTF16, "charset=UTF-16"),
        (
            "POST",
            "",
            "CLEAR ALL".encode("utf-16"),
            "application/sparql-update; charset=utf-16",
            "charset=utf-16",
        ),
        ("POST", "", "ASK { ?s ?p 'é' }".encode("latin-1"), "application/sparql-query", "byte 13"),
        ("POST", "", b"query=ASK%20%7B%7D%20%23%FF", FORM["Content-Type"], "form body"),
        ("POST", "", b"update=CLEAR%20ALL%20%23%E9", FORM["Content-Type"], "form body"),
        ("POST", "", b"query=ASK%20%7B%7D", FORM["Content-Type"] + "; charset=ISO-8859-1", "ISO"),
        ("GET", "query=ASK%20%7B%7D%20%23%FF", None, None, "query string"),
    ],
)
def test_non_utf8_requests_are_400(
    live: Live, method: str, url_query: str, data: bytes | None, content_type: str | None, says: str
) -> None:
    before = live.graph.store.count()
    headers = {"Content-Type": content_type} if content_type else {}
    url = live.sparql + (f"?{url_query}" if url_query else "")
    reply = http(method, url, data=data, headers={**headers, **AUTH})
    assert reply.status == 400, reply.text
    assert "UTF-8" in reply.text and says in reply.text
    assert live.graph.store.count() == before


def test_utf8_text_is_read_as_such(live: Live) -> None:
    query = "ASK { FILTER(STRLEN('唐青赟') = 3) }"
    for reply in (
        http("GET", live.sparql, params={"query": query}),
        http("POST", live.sparql, data=form({"query": query}), headers=FORM),
        http(
            "POST",
            live.sparql,
            data=query,
            headers={"Content-Type": f"{DIRECT_TYPE}; charset=utf-8"},
        ),
    ):
        assert reply.status == 200, reply.text
        assert json.loads(reply.body)["boolean"] is True


DIRECT_TYPE = "application/sparql-query"


# -- N3 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("accept", ["text/n3", "text/rdf+n3", "application/n3"])
def test_construct_as_n3(live: Live, accept: str) -> None:
    reply = http("GET", live.sparql, params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert reply.status == 200
    assert reply.content_type == "text/n3; charset=utf-8"
    assert len(rdflib.Graph().parse(data=reply.body, format="n3")) == 4


@pytest.mark.parametrize(
    ("accept", "media_type", "rdflib_format"),
    [
        ("text/n3", "text/n3", "n3"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        (
            'application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"',
            "application/ld+json",
            "json-ld",
        ),
        ("text/rdf+n3;q=0.9, text/html;q=0.1", "text/n3", "n3"),
    ],
)
def test_service_description_in_n3_and_json_ld(
    live: Live, accept: str, media_type: str, rdflib_format: str
) -> None:
    reply = http("GET", live.sparql, headers={"Accept": accept})
    assert reply.status == 200, reply.text
    assert reply.content_type.split(";")[0] == media_type
    g = rdflib.Graph().parse(data=reply.body, format=rdflib_format)
    service = rdflib.URIRef(live.sparql)
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (service, rdflib.RDF.type, sd.Service) in g
