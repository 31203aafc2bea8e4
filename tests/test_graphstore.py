"""The SPARQL 1.1 Graph Store HTTP Protocol at /graph-store, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, Listener, Live, Reply, http, live_server

ZPMC = "https://claimgraph.org/graph/zpmc"
EX = "https://example.org/"
TURTLE = {"Content-Type": "text/turtle"}
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
CLAIM = """@prefix cg: <https://claimgraph.org/ontology#> .
<https://example.org/id/claim/{name}> a cg:Claim ; cg:text "{text}"@en .
"""


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator, max_body_bytes=100_000) as server:
        yield server


def store_url(live: Live, graph: str | None = None) -> str:
    base = live.url + "graph-store"
    return base + (f"?graph={quote(graph, safe='')}" if graph else "?default")


def put(live: Live, graph: str, body: str, method: str = "PUT", **headers: str) -> Reply:
    return http(method, store_url(live, graph), data=body, headers={**AUTH, **TURTLE, **headers})


def triples(reply: Reply, fmt: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> set[str]:
    return {str(t) for t in ox.parse(reply.body, fmt)}


def test_get_a_graph_in_every_format(live: Live) -> None:
    from claimgraph.formats import RDF_FORMATS

    counts = set()
    for fmt in RDF_FORMATS:
        reply = http("GET", store_url(live, ZPMC), headers={"Accept": fmt.media_type})
        assert reply.status == 200, fmt.name
        assert reply.headers["Content-Type"].split(";")[0] == fmt.media_type
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
        counts.add(len(list(ox.parse(reply.body, fmt.ox))))
    assert counts == {live.graph.store.count(ox.NamedNode(ZPMC))}


def test_head_etag_and_404(live: Live) -> None:
    head = http("HEAD", store_url(live, ZPMC), headers={"Accept": "text/turtle"})
    assert head.status == 200 and head.body == b"" and head.headers["ETag"]
    cached = http(
        "GET",
        store_url(live, ZPMC),
        headers={"Accept": "text/turtle", "If-None-Match": head.headers["ETag"]},
    )
    assert cached.status == 304
    missing = http("GET", store_url(live, EX + "graph/none"))
    assert missing.status == 404 and "no graph" in missing.text
    assert http("GET", store_url(live, ZPMC), headers={"Accept": "image/png"}).status == 406


def test_default_graph_is_the_union_and_read_only(live: Live) -> None:
    union = http("GET", store_url(live), headers={"Accept": "application/n-triples"})
    assert union.status == 200
    assert len(triples(union)) >= live.graph.store.count(ox.NamedNode(ZPMC))
    write = http("PUT", store_url(live), data="", headers={**AUTH, **TURTLE})
    assert write.status == 405 and "union" in write.text and "GET" in write.headers["Allow"]


def test_put_creates_then_replaces(live: Live) -> None:
    graph = EX + "graph/put"
    created = put(live, graph, CLAIM.format(name="put", text="First"))
    assert created.status == 201, created.text
    assert created.headers["Location"] == f"{live.url}graph-store?graph={graph}"
    assert json.loads(created.body)["added"] == 2
    replaced = put(live, graph, CLAIM.format(name="put2", text="Second"))
    assert replaced.status == 200
    body = http("GET", created.headers["Location"], headers={"Accept": "application/n-triples"})
    assert all("put2" in t for t in triples(body)) and len(triples(body)) == 2


def test_post_adds_and_post_to_the_store_mints_a_graph(live: Live) -> None:
    graph = EX + "graph/post"
    assert put(live, graph, CLAIM.format(name="p1", text="One"), "POST").status == 201
    assert put(live, graph, CLAIM.format(name="p2", text="Two"), "POST").status == 200
    body = http("GET", store_url(live, graph), headers={"Accept": "application/n-triples"})
    assert len(triples(body)) == 4
    minted = http(
        "POST",
        live.url + "graph-store",
        data=CLAIM.format(name="minted", text="Minted"),
        headers={**AUTH, **TURTLE},
    )
    assert minted.status == 201
    fetched = http("GET", minted.headers["Location"], headers={"Accept": "text/turtle"})
    assert fetched.status == 200 and "Minted" in fetched.text
    assert "graph-store?graph=https://claimgraph.org/graph/upload-" in minted.headers["Location"]


def test_delete_drops_the_graph(live: Live) -> None:
    graph = EX + "graph/delete"
    assert put(live, graph, CLAIM.format(name="d", text="Gone soon")).status == 201
    deleted = http("DELETE", store_url(live, graph), headers=AUTH)
    assert deleted.status == 200
    assert http("GET", store_url(live, graph)).status == 404
    assert http("DELETE", store_url(live, graph), headers=AUTH).status == 404


def test_the_registry_graph_cannot_be_written(live: Live) -> None:
    registry = "urn:claimgraph:graphs"
    for method in ("PUT", "POST", "DELETE"):
        reply = put(live, registry, "<urn:x:a> <urn:x:b> <urn:x:c> .", method)
        assert reply.status == 400 and "is reserved" in reply.text, (method, reply.text)
    assert http("GET", store_url(live, registry)).status == 404


def test_blank_nodes_in_uploads_are_skolemized(live: Live) -> None:
    graph = EX + "graph/bnode"
    body = '@prefix cg: <https://claimgraph.org/ontology#> . [] a cg:Claim ; cg:text "B"@en .'
    assert put(live, graph, body).status == 201
    got = http("GET", store_url(live, graph), headers={"Accept": "application/n-triples"})
    assert "/.well-known/genid/" in got.text and "_:" not in got.text


def test_writes_are_validated_and_atomic(live: Live) -> None:
    graph = EX + "graph/invalid"
    bad = CLAIM.format(name="x", text="no language").replace('"@en', '"')
    reply = put(live, graph, bad, Accept="application/json")
    assert reply.status == 422
    assert json.loads(reply.body)["conforms"] is False
    assert http("GET", store_url(live, graph)).status == 404
    zpmc_before = http("GET", store_url(live, ZPMC), headers={"Accept": "application/n-quads"})
    assert put(live, ZPMC, bad).status == 422  # a PUT that fails leaves the graph as it was
    zpmc_after = http("GET", store_url(live, ZPMC), headers={"Accept": "application/n-quads"})
    assert zpmc_before.body == zpmc_after.body


@pytest.mark.parametrize(
    ("method", "params", "body", "headers", "status", "says"),
    [
        (
            "PUT",
            {"graph": EX + "graph/a"},
            "<a> <b> <c> .",
            {"Content-Type": "text/turtle"},
            401,
            "",
        ),
        ("PUT", {"graph": "relative"}, "", {**AUTH, **TURTLE}, 400, "absolute IRI"),
        ("PUT", {"graph": [EX + "a", EX + "b"]}, "", {**AUTH, **TURTLE}, 400, "one graph"),
        ("GET", {}, None, {}, 400, "name the graph"),
        (
            "PUT",
            {"graph": EX + "graph/a"},
            "x",
            {**AUTH, "Content-Type": "image/png"},
            415,
            "text/turtle",
        ),
        (
            "PUT",
            {"graph": EX + "graph/a"},
            "<http://s> <http://p> .",
            {**AUTH, **TURTLE},
            400,
            "1:",
        ),
        ("PUT", {"graph": EX + "graph/a"}, "x" * 100_001, {**AUTH, **TURTLE}, 413, "at most"),
        (
            "PUT",
            {"graph": EX + "graph/a"},
            "<http://s> <http://p> <http://o> <http://other> .",
            {**AUTH, "Content-Type": "application/n-quads"},
            400,
            "other graphs",
        ),
    ],
)
def test_negative_cases(
    live: Live,
    method: str,
    params: dict[str, str | list[str]],
    body: str | None,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    reply = http(method, live.url + "graph-store", params=params, data=body, headers=headers)
    assert reply.status == status, reply.text
    assert says in reply.text


def test_rdfxml_entity_expansion_is_refused(live: Live) -> None:
    entities = '<!ENTITY a0 "xxxxxxxxxx">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 9)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [{entities}]>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://ex/">'
        '<rdf:Description rdf:about="http://s"><ex:p>&a8;</ex:p></rdf:Description></rdf:RDF>'
    )
    reply = put(live, EX + "graph/bomb", bomb, **{"Content-Type": "application/rdf+xml"})
    assert reply.status == 400 and "ENTITY" in reply.text


def test_jsonld_remote_contexts_are_not_fetched(live: Live) -> None:
    ear = Listener()
    try:
        doc = json.dumps({"@context": ear.url, "@id": EX + "id/claim/ctx", "text": "x"})
        reply = put(live, EX + "graph/ctx", doc, **{"Content-Type": "application/ld+json"})
        assert reply.status == 400
    finally:
        ear.close()
    assert ear.connections == 0


# -- POST to the graph store itself (GSP §5.5) and multipart/form-data (GSP §5.4) ---------------
JSONLD_CLAIM = json.dumps(
    {
        "@id": EX + "id/claim/{name}",
        "@type": "https://claimgraph.org/ontology#Claim",
        "https://claimgraph.org/ontology#text": {"@value": "{text}", "@language": "en"},
    }
)


def multipart(parts: list[tuple[str, str | None, str | None, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body of (field, file name, Content-Type, content) parts."""
    boundary = "claimgraph-test-boundary-7d1f"
    out = b""
    for field, filename, content_type, content in parts:
        disposition = f'form-data; name="{field}"' + (
            f'; filename="{filename}"' if filename else ""
        )
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + content.encode() + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_parts(live: Live, url: str, parts: list[tuple[str, str | None, str | None, str]]) -> Reply:
    body, content_type = multipart(parts)
    return http("POST", url, data=body, headers={**AUTH, "Content-Type": content_type})


def jsonld(name: str, text: str) -> str:
    return JSONLD_CLAIM.replace("{name}", name).replace("{text}", text)


def test_post_to_the_store_names_a_new_graph(live: Live) -> None:
    graphs_before = {g.value for g in live.graph.store.graphs()}
    reply = http(
        "POST",
        live.url + "graph-store",
        data=CLAIM.format(name="new-graph", text="Named by the server"),
        headers={**AUTH, **TURTLE},
    )
    assert reply.status == 201, reply.text
    (minted,) = {g.value for g in live.graph.store.graphs()} - graphs_before
    assert minted.startswith("https://claimgraph.org/graph/upload-")
    assert reply.headers["Location"] == f"{live.url}graph-store?graph={minted}"
    assert json.loads(reply.body)["added"] == 2
    # Another POST names another graph.
    again = http(
        "POST",
        live.url + "graph-store",
        data=CLAIM.format(name="n2", text="Two"),
        headers={**AUTH, **TURTLE},
    )
    assert again.status == 201 and again.headers["Location"] != reply.headers["Location"]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (TURTLE, CLAIM.format(name="no-token", text="x"), 401),
        ({**AUTH, **TURTLE}, CLAIM.format(name="bad", text="x").replace('"@en', '"'), 422),
        ({**AUTH, **TURTLE}, "<http://s> <http://p> .", 400),
        ({**AUTH, "Content-Type": "image/png"}, "x", 415),
    ],
)
def test_post_to_the_store_that_fails_creates_nothing(
    live: Live, headers: dict[str, str], body: str, status: int
) -> None:
    graphs_before = {g.value for g in live.graph.store.graphs()}
    count_before = live.graph.store.count()
    reply = http("POST", live.url + "graph-store", data=body, headers=headers)
    assert reply.status == status, reply.text
    assert {g.value for g in live.graph.store.graphs()} == graphs_before
    assert live.graph.store.count() == count_before


def test_multipart_parts_are_added_together(live: Live) -> None:
    graph = EX + "graph/multipart"
    reply = post_parts(
        live,
        store_url(live, graph),
        [
            ("a", "one.ttl", "text/turtle", CLAIM.format(name="mp1", text="Part one")),
            # no useful type: the file name tells
            ("b", "two.jsonld", "application/octet-stream", jsonld("mp2", "Part two")),
            (
                "c",
                "three.nt",
                None,
                f'<{EX}id/claim/mp3> <https://claimgraph.org/ontology#text> "Three"@en .\n'
                f"<{EX}id/claim/mp3> <{RDF_TYPE}> <https://claimgraph.org/ontology#Claim> .",
            ),
        ],
    )
    assert reply.status == 201, reply.text
    assert json.loads(reply.body)["added"] == 6
    got = triples(http("GET", store_url(live, graph), headers={"Accept": "application/n-triples"}))
    assert {t.split(" ")[0] for t in got} == {f"<{EX}id/claim/mp{i}>" for i in (1, 2, 3)}


def test_multipart_to_the_store_itself(live: Live) -> None:
    reply = post_parts(
        live,
        live.url + "graph-store",
        [("file", "claim.ttl", "text/turtle", CLAIM.format(name="mp-new", text="Minted"))],
    )
    assert reply.status == 201, reply.text
    fetched = http("GET", reply.headers["Location"], headers={"Accept": "text/turtle"})
    assert fetched.status == 200 and "Minted" in fetched.text


@pytest.mark.parametrize(
    ("second", "status", "says"),
    [
        (("b", "bad.ttl", "text/turtle", "<http://s> <http://p> ."), 400, "part 'b' (bad.ttl)"),
        (("b", "b.ttl", None, CLAIM.format(name="mp-x", text="x").replace('"@en', '"')), 422, ""),
        (("b", "notes.txt", "application/octet-stream", "hello"), 415, ".txt"),
        (("b", None, None, "<http://s> <http://p> <http://o> ."), 415, "part 'b'"),
        (
            ("b", "b.ttl", "text/turtle; charset=latin-1", "<http://s> <http://p> <http://o> ."),
            400,
            "UTF-8",
        ),
    ],
)
def test_multipart_with_one_bad_part_writes_nothing(
    live: Live, second: tuple[str, str | None, str | None, str], status: int, says: str
) -> None:
    graph = EX + "graph/multipart-bad"
    first = ("a", "a.ttl", "text/turtle", CLAIM.format(name="mp-good", text="Good"))
    before = live.graph.store.count()
    reply = post_parts(live, store_url(live, graph), [first, second])
    assert reply.status == status, reply.text
    assert says in reply.text
    assert live.graph.store.count() == before
    assert http("GET", store_url(live, graph)).status == 404


def test_multipart_without_files_is_400(live: Live) -> None:
    reply = post_parts(live, store_url(live, EX + "graph/empty"), [])
    assert reply.status == 400 and "no file parts" in reply.text
