"""What an attacker tried against the default settings, over real HTTP (waitress on loopback)
and the Flask test client: deep nesting, oversized bodies before the token, error formats,
request ids and the 5xx log, security headers, unsafe links in ClaimReview markup."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from claimgraph.cli import main
from claimgraph.core import ClaimGraph
from claimgraph.errors import QueryEngineError
from claimgraph.store import Delta
from claimgraph.validation import Validator
from tests.live_server import serve
from tests.sparql_helpers import AUTH, UPDATE, Live, http, live_server

G = "https://example.org/graph/deep"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DEPTH_MESSAGE = "nested deeper than 100 levels (CLAIMGRAPH_MAX_DATA_DEPTH)"


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator, max_body_bytes=2_000_000) as server:
        yield server


def deep_json(n: int) -> bytes:
    return ('{"@id":"http://a.example/","http://p.example/":' * n + '"x"' + "}" * n).encode()


def deep_rdfxml(n: int) -> bytes:
    return (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
        + b"<e:T><e:p>" * n
        + b"x"
        + b"</e:p></e:T>" * n
        + b"</rdf:RDF>"
    )


def deep_triple_terms(n: int) -> bytes:
    return (
        b"<http://a.example/> <http://p.example/> "
        + b"<<( <http://a.example/> <http://p.example/> " * n
        + b"<http://o.example/>"
        + b" )>>" * n
        + b" .\n"
    )


def snapshot(graph: ClaimGraph) -> set[str]:
    return {str(q) for q in graph.store.quads(None, None, None, None)}


# -- 1, 2: deep input is a 400, checked in linear time, before the write lock ------------------


def test_deep_claimreview_json_is_a_400(live: Live) -> None:
    before = snapshot(live.graph)
    for n in (1_000, 30_000):  # 1,000 was a 500 (RecursionError); 30,000 in < 2 s
        started = time.monotonic()
        reply = http(
            "POST",
            live.url + "import/claimreview",
            data=deep_json(n),
            headers={**AUTH, "Accept": "application/json"},
        )
        assert reply.status == 400, reply.text
        assert DEPTH_MESSAGE in json.loads(reply.body)["message"]
        assert time.monotonic() - started < 2
    assert snapshot(live.graph) == before


@pytest.mark.parametrize(
    ("content_type", "body", "what"),
    [
        ("application/ld+json", deep_json(6_000), "JSON-LD"),  # crashed the whole process
        ("application/rdf+xml", deep_rdfxml(12_000), "XML elements"),  # 24k levels: 12 s
        ("text/turtle", deep_triple_terms(30_000), "triple terms"),  # crashed the process
        ("application/n-triples", deep_triple_terms(30_000), "triple terms"),
        ("application/trig", b"<http://g.example/> {" + deep_triple_terms(500) + b"}", "triple"),
        ("application/n-quads", deep_triple_terms(500), "triple terms"),
    ],
)
def test_deep_rdf_bodies_are_a_400_and_change_nothing(
    live: Live, content_type: str, body: bytes, what: str
) -> None:
    before = snapshot(live.graph)
    started = time.monotonic()
    reply = http(
        "PUT",
        f"{live.url}graph-store?graph={quote(G, safe='')}",
        data=body,
        headers={**AUTH, "Content-Type": content_type, "Accept": "text/plain"},
    )
    assert reply.status == 400, reply.text
    assert what in reply.text and DEPTH_MESSAGE in reply.text
    assert reply.text.startswith("request body:1:")  # where
    assert time.monotonic() - started < 2
    assert snapshot(live.graph) == before


def test_nesting_within_the_limit_is_accepted(live: Live) -> None:
    # 40 levels of typed node and property elements: 80 XML elements, within 100.
    body = deep_rdfxml(40).replace(b"<e:T>", b'<e:T rdf:about="http://e/n">', 1)
    reply = http(
        "POST",
        f"{live.url}graph-store?graph={quote(G, safe='')}",
        data=body,
        headers={**AUTH, "Content-Type": "application/rdf+xml", "Accept": "application/json"},
    )
    assert reply.status in (200, 201), reply.text
    assert json.loads(reply.body)["added"] == 80
    # Brackets inside strings and IRIs are not nesting.
    turtle = '<http://e/n> <http://e/p> "<<<< [[[[ {{{{" , """<<(\n<<""" .\n' * 60
    reply = http(
        "POST",
        f"{live.url}graph-store?graph={quote(G, safe='')}",
        data=turtle.encode(),
        headers={**AUTH, "Content-Type": "text/turtle"},
    )
    assert reply.status in (200, 201), reply.text


def test_a_body_is_parsed_before_the_write_lock(live: Live) -> None:
    """Another writer holding the lock does not delay the refusal of a bad body."""
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with live.graph.write_lock:
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(5)
    try:
        reply = http(
            "PUT",
            f"{live.url}graph-store?graph={quote(G, safe='')}",
            data=deep_rdfxml(200),
            headers={**AUTH, "Content-Type": "application/rdf+xml"},
            timeout=10,
        )
        assert reply.status == 400 and "XML elements" in reply.text
    finally:
        release.set()
        thread.join()


def test_cli_refuses_deep_files(tmp_path: Path) -> None:
    markup = tmp_path / "deep.json"
    markup.write_bytes(deep_json(2_000))
    rdf = tmp_path / "deep.rdf"
    rdf.write_bytes(deep_rdfxml(2_000))
    runner = CliRunner()
    result = runner.invoke(main, ["import-claimreview", str(markup)])
    assert result.exit_code == 2 and DEPTH_MESSAGE in result.output
    result = runner.invoke(main, ["load", str(rdf)])
    assert result.exit_code == 2 and DEPTH_MESSAGE in result.output


# -- 3: the token before the size ---------------------------------------------------------------


def test_oversized_bodies_without_the_token_get_401(live: Live) -> None:
    big = b"#" * 2_100_000
    graph_store = f"{live.url}graph-store?graph={quote(G, safe='')}"
    for method, url, headers in [
        ("POST", live.url + "update", UPDATE),
        ("POST", live.url + "sparql", UPDATE),
        ("PUT", graph_store, {"Content-Type": "text/turtle"}),
        ("POST", live.url + "import/claimreview", {"Content-Type": "application/ld+json"}),
    ]:
        assert http(method, url, data=big, headers=headers).status == 401, url
        with_token = http(method, url, data=big, headers={**headers, **AUTH})
        assert with_token.status == 413, url


# -- 4: Werkzeug's errors rendered as ClaimGraph's -----------------------------------------------


def test_http_errors_follow_accept(live: Live) -> None:
    cases = [
        ("GET", live.url + "no/such/page", 404, "NotFound"),
        ("DELETE", live.url + "sparql", 405, "MethodNotAllowed"),
    ]
    for method, url, status, name in cases:
        as_json = http(method, url, headers={"Accept": "application/json"})
        assert as_json.status == status and as_json.content_type == "application/json"
        assert json.loads(as_json.body)["error"] == name
        as_text = http(method, url, headers={"Accept": "text/plain"})
        assert as_text.status == status and as_text.content_type.startswith("text/plain")
        assert "<" not in as_text.text
        as_html = http(method, url, headers={"Accept": "text/html,*/*;q=0.8"})
        assert as_html.status == status and as_html.content_type.startswith("text/html")
        assert f"{status}: {name}" in as_html.text
    allowed = http("DELETE", live.url + "sparql", headers={"Accept": "application/json"})
    assert "GET" in allowed.headers["Allow"]


def test_werkzeug_413_is_json_too(graph: ClaimGraph) -> None:
    from claimgraph.app import create_app

    app = create_app(graph.settings.replace(write_token="t", max_body_bytes=10), graph=graph)
    client = app.test_client()
    # A body without a length: Werkzeug's own limit stops it (RequestEntityTooLarge).
    reply = client.post(
        "/update",
        input_stream=io.BytesIO(b"x" * 100),
        environ_overrides={"wsgi.input_terminated": True},
        headers={"Authorization": "Bearer t", "Accept": "application/json", **UPDATE},
    )
    assert reply.status_code == 413
    assert reply.get_json()["error"] in ("PayloadTooLarge", "RequestEntityTooLarge")


# -- 5: request ids and the 5xx log --------------------------------------------------------------


def test_request_ids_are_echoed_when_sane(live: Live) -> None:
    sent = http("GET", live.url + "status.json", headers={"X-Request-Id": "abc-123.x"})
    assert sent.headers["X-Request-Id"] == "abc-123.x"
    for bad in ("a b", "x" * 300, "<script>"):
        reply = http("GET", live.url + "status.json", headers={"X-Request-Id": bad})
        assert reply.headers["X-Request-Id"] not in (bad, "")
    a = http("GET", live.url + "status.json").headers["X-Request-Id"]
    b = http("GET", live.url + "no-such").headers["X-Request-Id"]
    assert a and b and a != b


def test_every_5xx_is_logged_with_its_traceback_and_id(
    graph: ClaimGraph, caplog: pytest.LogCaptureFixture
) -> None:
    from claimgraph.app import create_app

    app = create_app(graph.settings, graph=graph)

    def engine_died() -> str:
        raise QueryEngineError("the query engine died")

    def bug() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/test-engine", view_func=engine_died)
    app.add_url_rule("/test-bug", view_func=bug)
    with serve(app) as url:
        for path, name in (("/test-engine", "QueryEngineError"), ("/test-bug", "InternalServer")):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="server.httperrors"):
                reply = http(
                    "GET", url + path, headers={"Accept": "application/json", "X-Request-Id": "r1"}
                )
            assert reply.status == 500
            body = json.loads(reply.body)
            assert body["requestId"] == "r1" and "r1" in body["message"]
            assert body["error"].startswith(name)
            assert "Traceback" not in reply.text
            records = [r for r in caplog.records if "r1" in r.getMessage()]
            assert len(records) == 1 and records[0].exc_info is not None
            text = http("GET", url + path, headers={"Accept": "text/plain", "X-Request-Id": "r2"})
            assert "request id r2" in text.text


# -- 6: security headers -------------------------------------------------------------------------


def test_security_headers_on_every_response(live: Live) -> None:
    for path, accept in [
        ("", "text/html"),
        ("sparql", "text/html"),
        ("sparql?query=ASK%7B%7D", "application/sparql-results+json"),
        ("static/claimgraph.css", "*/*"),
        ("no-such", "application/json"),
        ("id/claim/zpmc-cranes-contain-cellular-modems", "text/html"),
    ]:
        reply = http("GET", live.url + path, headers={"Accept": accept})
        csp = reply.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    query = http("GET", live.url + "sparql?query=ASK%7B%7D", headers={"Origin": "https://x.org"})
    assert query.headers["Access-Control-Allow-Origin"] == "*"  # YASGUI and friends


def test_pages_need_no_inline_script_or_style(live: Live) -> None:
    import re

    claims = http("GET", live.url + "claims.json").body
    first = json.loads(claims)
    paths = ["", "claims", "sparql", "sparql?query=ASK%7B%7D", "validation", "ontology"]
    items = first.get("claims") or first.get("items") or []
    if items:
        href = items[0].get("href") or items[0].get("iri") or ""
        paths.append(href.split("claimgraph.org/")[-1].lstrip("/"))
    for path in paths:
        page = http("GET", live.url + path, headers={"Accept": "text/html"}).text
        assert "<style" not in page and " style=" not in page, path
        assert not re.search(r"\son[a-z]+=", page), path
        for script in re.findall(r"<script[^>]*>", page):
            assert "src=" in script or 'type="application/ld+json"' in script, (path, script)


# -- 7: no javascript: links in ClaimReview markup ------------------------------------------------


def test_claimreview_markup_publishes_only_http_links(live: Live) -> None:
    review = live.graph.iris.base + "id/review/hostile"
    evil = [
        ox.NamedNode("javascript:alert(1)"),
        ox.Literal("javascript:alert(2)"),
        ox.NamedNode("data:text/html,alert(3)"),
        ox.Literal(" vbscript:msgbox(4)"),
    ]
    g = ox.NamedNode("https://example.org/graph/hostile")
    s = "http://schema.org/"
    node = ox.NamedNode(review)
    rating = ox.NamedNode("javascript:rating")
    author = ox.NamedNode("https://example.org/id/actor/x")
    quads = [
        ox.Quad(node, ox.NamedNode(RDF_TYPE), ox.NamedNode(s + "ClaimReview"), g),
        ox.Quad(node, ox.NamedNode(s + "url"), evil[1], g),
        ox.Quad(node, ox.NamedNode(s + "author"), author, g),
        ox.Quad(node, ox.NamedNode(s + "reviewRating"), rating, g),
        ox.Quad(rating, ox.NamedNode(s + "image"), evil[2], g),
        ox.Quad(rating, ox.NamedNode(s + "alternateName"), ox.Literal("False"), g),
        ox.Quad(author, ox.NamedNode(s + "name"), ox.Literal("X"), g),
        ox.Quad(author, ox.NamedNode(s + "sameAs"), evil[0], g),
        ox.Quad(author, ox.NamedNode(s + "url"), evil[3], g),
        ox.Quad(author, ox.NamedNode(s + "image"), evil[2], g),
    ]
    live.graph.store.apply(Delta(add=quads))  # as another client of a shared store could
    try:
        markup = http("GET", live.url + "claimreview/hostile").text
        assert json.loads(markup)["author"]["name"] == "X"
        page = http("GET", live.url + "id/review/hostile", headers={"Accept": "text/html"}).text
        embedded = page.split('<script type="application/ld+json">')[1].split("</script>")[0]
        assert json.loads(embedded)["author"]["name"] == "X"
        for scheme in ("javascript:", "data:", "vbscript:"):
            assert scheme not in markup and scheme not in embedded
            assert f'href="{scheme}' not in page and f'src="{scheme}' not in page
    finally:
        live.graph.store.apply(Delta(drop_graphs=[g]))
