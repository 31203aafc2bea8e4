"""How many reads a resource's page and a validated write send to the store, on the embedded
store and on a real Virtuoso (tests/virtuoso.py): a page at most three (its neighbourhood, then
the names it mentions, twice), a validated write of 100 statements at most two; and the pages
read that way show what they showed when every part of them was a query of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from bench.counting import CountingStore
from claimgraph import prefetch
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.iris import CG
from claimgraph.store import Delta
from claimgraph.validation import Validator
from tests.pages_helpers import html
from tests.virtuoso import Virtuoso

PAGES = [
    "/id/claim/zpmc-cranes-have-unexplained-communications-equipment",
    "/id/actor/tang-qingyun",
    "/id/actor/zpmc-design-research-institute",
    "/id/statement/xinhua-reports-guan-real-purpose",
    "/id/statement/port-operator-modems-for-mobile-diagnostics",
    "/id/source/xinhua-report",
    "/id/source/xinhua-report-english-translation",
    "/id/evidence/wsj-fourth-story-no-response-line",
    "/id/affiliation/hawkish-congressmen-us-congress",
]
DESCRIPTIONS = [
    "/id/claim/zpmc-cranes-have-unexplained-communications-equipment.ttl",
    "/id/actor/tang-qingyun.jsonld",
    "/id/statement/xinhua-reports-guan-real-purpose.nt",
]


class Graphs(dict[str, tuple[ClaimGraph, CountingStore, FlaskClient]]):
    """Per store: a ClaimGraph seeded as `make serve` seeds it, its store counted, a client."""

    def __init__(self, request: pytest.FixtureRequest, validator: Validator) -> None:
        super().__init__()
        self.request, self.validator = request, validator

    def __missing__(self, store: str) -> tuple[ClaimGraph, CountingStore, FlaskClient]:
        remote: dict[str, Any] = {}
        if store == "virtuoso":
            server: Virtuoso = self.request.getfixturevalue("virtuoso")
            server.reset()
            remote = server.settings()
        settings = Settings(seed=False, page_refresh_wait=60.0, **remote)
        graph = ClaimGraph(settings, validator=self.validator)
        graph.seed()
        counting = CountingStore(graph.store)
        graph.store = counting  # type: ignore[assignment]
        client = create_app(settings, graph=graph).test_client()
        self[store] = (graph, counting, client)
        return self[store]

    def close(self) -> None:
        for graph, counting, _ in self.values():
            graph.store = counting.store
            graph.close()
        if "virtuoso" in self:
            self.request.getfixturevalue("virtuoso").reset()


@pytest.fixture(scope="module")
def graphs(request: pytest.FixtureRequest, validator: Validator) -> Iterator[Graphs]:
    made = Graphs(request, validator)
    yield made
    made.close()


@pytest.fixture(params=["memory", "virtuoso"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _reads(graphs: Graphs, store: str, path: str, accept: str = "text/html") -> tuple[int, str]:
    _, counting, client = graphs[store]
    client.get(path, headers={"Accept": accept})  # once, for the per-generation summaries
    counting.reset()
    reply = client.get(path, headers={"Accept": accept})
    assert reply.status_code == 200, (path, reply.get_data(as_text=True)[:500])
    return counting.total, reply.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_reads_the_store_at_most_three_times(graphs: Graphs, store: str, path: str) -> None:
    reads, body = _reads(graphs, store, path)
    assert 1 <= reads <= 3, (reads, graphs[store][1].queries)
    assert "<h1" in body


@pytest.mark.parametrize("path", DESCRIPTIONS)
def test_a_description_reads_the_store_at_most_three_times(
    graphs: Graphs, store: str, path: str
) -> None:
    reads, body = _reads(graphs, store, path, "*/*")
    assert 1 <= reads <= 3, (reads, graphs[store][1].queries)
    assert "tang" in body or "xinhua" in body or "zpmc" in body


def _content(client: FlaskClient, path: str) -> list[str] | set[ox.Quad]:
    """A page's elements and texts (in any order: rows without an ORDER BY come in the
    store's), or a description's triples."""
    if "." not in path:
        return sorted(re.findall(r"<[^>]+>|[^<]+", html(client, path)))
    reply = client.get(path)
    assert reply.status_code == 200
    fmt = ox.RdfFormat.from_media_type(reply.content_type.split(";")[0])
    assert fmt is not None
    return {
        ox.Quad(t.subject, t.predicate, t.object)
        for t in ox.parse(reply.get_data(), fmt, base_iri="https://claimgraph.org/")
    }


@pytest.mark.parametrize("path", PAGES + DESCRIPTIONS)
def test_a_page_shows_what_it_showed_reading_the_store_query_by_query(
    graphs: Graphs, store: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, counting, client = graphs[store]
    counting.reset()
    read_at_once = _content(client, path)
    assert counting.total <= 3
    # the same page with its queries sent to the store one by one, as they were before
    monkeypatch.setattr(prefetch, "page_view", lambda store, iri, known=(): store)
    read_one_by_one = _content(client, path)
    assert counting.total > 3
    assert read_at_once == read_one_by_one


def _statements(n: int) -> Delta:
    """``n`` new statements about existing claims by existing speakers, each in its source."""
    g = ox.NamedNode("https://claimgraph.org/graph/reads-test")
    claim = ox.NamedNode(
        "https://claimgraph.org/id/claim/zpmc-cranes-have-unexplained-communications-equipment"
    )
    speaker = ox.NamedNode("https://claimgraph.org/id/actor/tang-qingyun")
    source = ox.NamedNode("https://claimgraph.org/id/source/xinhua-report")
    asserts = ox.NamedNode("https://claimgraph.org/vocab/stance#asserts")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    date = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
    add = []
    for i in range(n):
        s = ox.NamedNode(f"https://claimgraph.org/id/statement/reads-test-{i}")
        add += [
            ox.Quad(s, rdf_type, ox.NamedNode(f"{CG}Statement"), g),
            ox.Quad(s, ox.NamedNode(f"{CG}claim"), claim, g),
            ox.Quad(s, ox.NamedNode(f"{CG}speaker"), speaker, g),
            ox.Quad(s, ox.NamedNode(f"{CG}stance"), asserts, g),
            ox.Quad(s, ox.NamedNode(f"{CG}source"), source, g),
            ox.Quad(
                s,
                ox.NamedNode(f"{CG}date"),
                ox.Literal(f"2024-03-{1 + i % 28:02d}", datatype=date),
                g,
            ),
        ]
    return Delta(add=add)


def test_a_validated_write_of_100_statements_reads_the_store_at_most_twice(
    graphs: Graphs, store: str, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph, counting, _ = graphs[store]
    delta = _statements(100)
    counting.reset()
    report = validator.validate_delta(counting, delta)
    assert 1 <= counting.total <= 2, (counting.reads, counting.queries)
    # with the classes and concepts taken from those ClaimGraph keeps, as its writes do
    known = graph.term_quads()
    counting.reset()
    assert validator.validate_delta(counting, delta, known=known).results == report.results
    assert 1 <= counting.total <= 2, (counting.reads, counting.queries)
    # the same report as from lookups sent one by one, as they were before
    monkeypatch.setattr(prefetch, "write_view", lambda store, delta, nodes, known=(): store)
    direct = validator.validate_delta(counting, delta)
    assert counting.total > 100
    assert report.conforms and report.results == direct.results


def test_a_validated_write_reports_what_it_reported_with_lookups_one_by_one(
    graphs: Graphs, store: str, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write with violations (a statement with no speaker, a date that is no date, a claim
    whose statement now reports itself) reports the same violations either way."""
    _, counting, _ = graphs[store]
    delta = _statements(5)
    s0 = ox.NamedNode("https://claimgraph.org/id/statement/reads-test-0")
    delta.add = [
        q for q in delta.add if not (q.subject == s0 and q.predicate.value == f"{CG}speaker")
    ]
    reported = ox.NamedNode("https://claimgraph.org/id/statement/xinhua-reports-guan-real-purpose")
    g = delta.add[0].graph_name
    delta.add.append(ox.Quad(reported, ox.NamedNode(f"{CG}reportedBy"), reported, g))
    delta.add.append(
        ox.Quad(
            ox.NamedNode("https://claimgraph.org/id/statement/reads-test-1"),
            ox.NamedNode(f"{CG}date"),
            ox.Literal("soon"),
            g,
        )
    )
    counting.reset()
    report = validator.validate_delta(counting, delta)
    assert 1 <= counting.total <= 2, (counting.reads, counting.queries)
    monkeypatch.setattr(prefetch, "write_view", lambda store, delta, nodes, known=(): store)
    direct = validator.validate_delta(counting, delta)
    assert not report.conforms and len(report.violations) >= 3
    assert report.results == direct.results


@pytest.mark.parametrize("path", [PAGES[0], PAGES[1], PAGES[5]])
def test_a_page_whose_neighbourhood_does_not_fit_reads_query_by_query(
    graphs: Graphs, store: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read cut at its bound is not used: the page reads the store query by query, and
    shows what it shows when its neighbourhood fits."""
    _, counting, client = graphs[store]
    whole = _content(client, path)
    monkeypatch.setattr(prefetch, "ROWS", 20)
    counting.reset()
    cut = _content(client, path)
    assert counting.total > 3
    assert cut == whole


def test_a_remote_read_says_when_the_server_cut_it(graphs: Graphs) -> None:
    """The tests' Virtuoso caps an answer at 1,000 rows (and does not say so in answer to a
    CONSTRUCT): a read of more quads than that is known to be cut (a page then reads query
    by query); one within it is whole, and holds every quad of what it reads, each with its
    graph."""
    graph, counting, _ = graphs["virtuoso"]
    remote = counting.store
    quads, whole = remote.quads_whole("GRAPH ?g { ?s ?p ?o }", 5_000)
    assert not whole and 0 < len(quads) < len(list(graph.store.quads()))
    tang = ox.NamedNode("https://claimgraph.org/id/actor/tang-qingyun")
    quads, whole = remote.quads_whole(
        f"VALUES ?s {{ <{tang.value}> }} GRAPH ?g {{ ?s ?p ?o }}", 5_000
    )
    assert whole and set(quads) == set(graph.store.quads(tang, None, None, None))
    assert any(q.object.language == "zh" for q in quads if isinstance(q.object, ox.Literal))


def test_the_terms_are_read_once_and_kept_across_writes_that_leave_them_alone(
    validator: Validator,
) -> None:
    graph = ClaimGraph(Settings(seed=False, propagation=False), validator=validator)
    graph.seed()
    try:
        terms = graph.term_quads()
        graph.write(_statements(2))
        assert graph.term_quads() is terms  # not read again
        topic = ox.NamedNode("https://claimgraph.org/vocab/topic#reads-test")
        skos = "http://www.w3.org/2004/02/skos/core#"
        g = ox.NamedNode("https://claimgraph.org/graph/reads-test")
        rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        graph.write(
            Delta(
                add=[
                    ox.Quad(topic, rdf_type, ox.NamedNode(f"{skos}Concept"), g),
                    ox.Quad(topic, ox.NamedNode(f"{skos}prefLabel"), ox.Literal("t"), g),
                    ox.Quad(
                        topic,
                        ox.NamedNode(f"{skos}inScheme"),
                        ox.NamedNode("https://claimgraph.org/vocab/topic"),
                        g,
                    ),
                ]
            )
        )
        # a new concept: read again, with it
        assert any(q.subject == topic for q in graph.term_quads())
    finally:
        graph.close()
