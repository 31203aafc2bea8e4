"""No request text reaches a query: resource paths that are not IRIs are 404 before any
query runs (test client and live server), and the one helper that puts terms into query text
accepts IRIs and literals only, escaped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask

from claimgraph import sparqlterms
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.validation import Validator
from tests.live_server import fetch, serve

CLAIM = "/id/claim/zpmc-cranes-have-unexplained-communications-equipment"

# Paths whose decoded form is no IRI: each would have been pasted into a query as <…>.
CRAFTED = [
    # `x> ?s ?p ?o .} SELECT * WHERE { ?s ?p ?o` : the query the issue ran
    "/id/claim/x>%20%3Fs%20%3Fp%20%3Fo%20.%7D%20SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo",
    "/id/claim/x%3E%20%3Fs%20%3Fp%20%3Fo%20.%7D%20%23",
    "/id/claim/a%20b",
    "/id/claim/a%3Eb",
    "/id/claim/a%3Cb",
    "/id/claim/a%7Bb",
    "/id/claim/a%7Db",
    "/id/claim/a%22b",
    "/id/claim/a%0Ab",
    "/id/claim/a%0D%0Ab",
    "/id/claim/a%00b",
    "/id/claim/a%5Cu003Eb",  # \u003E, which a server may expand to > before parsing
    "/id/claim/a%7Cb",
    "/id/claim/a%5Eb",
    "/id/claim/a%60b",
    "/id/claim/a%25zz",  # a broken percent-encoding (%zz once decoded)
    "/id/claim/a%3Eb.ttl",
    "/id/claim/a%3Eb.html",
    "/id/%3E/x",
    "/graph/x%3E%20%3Fs",
    "/.well-known/genid/x%20y",
    "/vocab/stance%3E",
    "/ontology/x%7D",
    "/id/claim/" + "a" * 20_000 + "%3E",
]


class CountingStore(EmbeddedStore):
    """An in-memory store that counts every read: queries, pattern lookups, graph checks."""

    def __init__(self) -> None:
        super().__init__(None)
        self.reads = 0

    def query(self, sparql: str, **kwargs: Any) -> Any:
        self.reads += 1
        return super().query(sparql, **kwargs)

    def quads(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().quads(*args, **kwargs)

    def has_graph(self, graph: ox.NamedNode) -> bool:
        self.reads += 1
        return super().has_graph(graph)

    def count(self, graph: Any = None) -> int:
        self.reads += 1
        return super().count(graph)


@pytest.fixture(scope="module")
def counted(validator: Validator) -> Iterator[tuple[Flask, CountingStore]]:
    settings = Settings(seed=False)
    store = CountingStore()
    cg = ClaimGraph(settings, store=store, validator=validator)
    cg.seed()
    yield create_app(settings, graph=cg), store
    cg.close()


def test_the_counter_sees_the_queries_of_a_real_resource(
    counted: tuple[Flask, CountingStore],
) -> None:
    app, store = counted
    before = store.reads
    assert app.test_client().get(CLAIM, headers={"Accept": "text/turtle"}).status_code == 200
    assert store.reads > before


@pytest.mark.parametrize("path", CRAFTED)
@pytest.mark.parametrize("accept", ["text/turtle", "text/html"])
def test_a_path_that_is_no_iri_is_404_before_any_query(
    counted: tuple[Flask, CountingStore], path: str, accept: str
) -> None:
    app, store = counted
    before = store.reads
    reply = app.test_client().get(path, headers={"Accept": accept})
    assert reply.status_code == 404, reply.get_data(as_text=True)[:300]
    assert "stands for no IRI" in reply.get_data(as_text=True)
    assert store.reads == before


def test_crafted_paths_over_the_live_server(counted: tuple[Flask, CountingStore]) -> None:
    """Through waitress and a real HTTP client: each answered 404 at once, nothing read."""
    app, store = counted
    with serve(app) as url:
        for path in CRAFTED:
            before, start = store.reads, time.monotonic()
            reply = fetch(url + path, {"Accept": "text/turtle"})
            assert reply.status == 404, (path[:80], reply.status, reply.text()[:300])
            assert b"stands for no IRI" in reply.body
            assert store.reads == before, path[:80]
            # generous: the injected query took 24 s; a 404 without a query takes milliseconds
            assert time.monotonic() - start < 2, path[:80]
        assert fetch(url + CLAIM, {"Accept": "text/turtle"}).status == 200


@pytest.mark.parametrize(
    "text",
    ["a>b", "<", ">", "http://x/a b", 'http://x/a"b', "http://x/{a}", "http://x/}", "http://x/a\nb",
     "http://x/a\\u003E", "http://x/a|b", "http://x/a^b", "http://x/a`b", "http://x/a\x00",
     "", "no-scheme", "http://x/%zz"],
)  # fmt: skip
def test_the_iri_helper_refuses_what_is_not_an_iri(text: str) -> None:
    with pytest.raises(ValueError):
        sparqlterms.iri(text)


def test_the_iri_helper_gives_one_iri_token() -> None:
    assert sparqlterms.iri("https://claimgraph.org/id/claim/x") == (
        "<https://claimgraph.org/id/claim/x>"
    )
    assert sparqlterms.iri("http://example.org/café#x") == "<http://example.org/café#x>"
    assert sparqlterms.iris(["http://a/1", "http://a/2"], ", ") == "<http://a/1>, <http://a/2>"


@pytest.mark.parametrize("text", ['a"b', "a\\b", "a\nb", "a\rb", '"} ; DROP ALL ; #', "\\u0022"])
def test_a_literal_goes_in_escaped_and_comes_back_unchanged(text: str) -> None:
    """A literal with quotes, backslashes and line breaks is one term: a query matching it
    finds the stored value, and the query text holds no raw quote or line break."""
    rendered = sparqlterms.literal(text)
    assert "\n" not in rendered and "\r" not in rendered
    store = ox.Store()
    s, p = ox.NamedNode("http://x/s"), ox.NamedNode("http://x/p")
    store.add(ox.Quad(s, p, ox.Literal(text)))
    rows = list(store.query(f"SELECT ?s WHERE {{ ?s ?p {rendered} }}"))  # type: ignore[arg-type]
    assert [r["s"] for r in rows] == [s]


def test_a_literal_language_tag_is_checked() -> None:
    assert sparqlterms.literal("x", language="en") == '"x"@en'
    with pytest.raises(ValueError):
        sparqlterms.literal("x", language='en" } #')


def test_only_iris_and_literals_are_terms() -> None:
    with pytest.raises(TypeError):
        sparqlterms.term("<http://x/a>")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sparqlterms.term(ox.BlankNode("b"))  # type: ignore[arg-type]
