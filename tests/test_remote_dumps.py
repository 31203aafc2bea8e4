"""Dumps over a real Virtuoso (tests/virtuoso.py, which caps an answer at 1,000 rows) equal the
embedded store's, quad for quad: every format the service offers, the whole store and each
graph; each graph is read as the server exports it, none sorted on the server."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

import claimgraph.store.remote
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import StoreError
from claimgraph.formats import by_path
from claimgraph.store import Delta
from claimgraph.store.shared import RemoteStore
from claimgraph.validation import Validator
from tests.live_server import fetch, seeded_with_reviews, serve
from tests.virtuoso import Virtuoso

SUFFIXES = [".trig", ".nq", ".trig.gz", ".nq.gz"]
XSD = "http://www.w3.org/2001/XMLSchema#"
BIG = ox.NamedNode("https://claimgraph.org/graph/big")
# Literals whose every character must come back: spaces at both ends, escapes, astral
# characters, a language tag (Virtuoso keeps tags in lower case), datatypes of all kinds.
LITERALS = [
    ox.Literal("  spaced  "),
    ox.Literal('tab\tnewline\nquote"backslash\\'),
    ox.Literal("é 😀 \u2028"),
    ox.Literal(""),
    ox.Literal("chat", language="fr-ca"),
    ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")),
    ox.Literal("2024-04-07", datatype=ox.NamedNode(XSD + "date")),
    ox.Literal("x y", datatype=ox.NamedNode("https://example.org/datatype")),
]


def big_graph() -> list[ox.Quad]:
    """More triples than one capped answer holds, with the literals above."""
    p = ox.NamedNode("https://example.org/p")
    quads = [
        ox.Quad(ox.NamedNode(f"https://example.org/s/{i}"), p, ox.Literal(f"v{i}"), BIG)
        for i in range(2_500)
    ]
    quads += [
        ox.Quad(ox.NamedNode(f"https://example.org/lit/{i}"), p, lit, BIG)
        for i, lit in enumerate(LITERALS)
    ]
    return quads


class CountingStore(RemoteStore):
    """Records the queries it sends."""

    sent: list[str]

    def _read(self, sparql: str, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        self.sent.append(sparql)
        return super()._read(sparql, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def urls(
    virtuoso: Virtuoso, validator: Validator
) -> Iterator[tuple[str, str, ClaimGraph, CountingStore]]:
    """The embedded store (seeded, two ClaimReviews imported, the big graph) and Virtuoso
    holding the same quads, each served on loopback."""
    embedded = seeded_with_reviews(validator)
    embedded.store.bulk_load(big_graph())
    virtuoso.reset()
    settings = Settings(seed=False, **virtuoso.settings())
    store = CountingStore.from_settings(settings)
    store.sent = []
    store.bulk_load(embedded.store.quads())
    remote = ClaimGraph(settings, store=store, validator=validator)
    with (
        serve(create_app(embedded.settings, graph=embedded)) as local,
        serve(create_app(settings, graph=remote)) as far,
    ):
        yield local, far, embedded, store
    remote.close()
    embedded.close()
    virtuoso.reset()


def parsed(url: str) -> list[ox.Quad]:
    reply = fetch(url, {"Accept-Encoding": "identity"})
    assert reply.status == 200, (url, reply.body[:300])
    body = gzip.decompress(reply.body) if url.endswith(".gz") else reply.body
    return list(ox.parse(body, format=by_path(url.removesuffix(".gz")).ox))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_whole_store_dumps_as_the_embedded_store_does(
    urls: tuple[str, str, ClaimGraph, CountingStore], suffix: str
) -> None:
    local, far, embedded, store = urls
    store.sent.clear()
    mine, theirs = (
        parsed(f"{far}/dumps/claimgraph{suffix}"),
        parsed(f"{local}/dumps/claimgraph{suffix}"),
    )
    assert len(mine) == len(set(mine)) == embedded.store.count() > 2_500
    assert set(mine) == set(theirs)
    assert not [q for q in store.sent if "ORDER BY" in q]  # nothing sorted on the server
    # Graphs that did not fit in one answer were read in parts, each checked: sets of
    # predicates, and the big graph's one predicate in hash ranges.
    assert [q for q in store.sent if "VALUES ?p" in q and "MD5" not in q]
    assert [q for q in store.sent if "GROUP BY ?h" in q]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_each_graph_dumps_as_in_the_embedded_store(
    urls: tuple[str, str, ClaimGraph, CountingStore], suffix: str
) -> None:
    local, far, embedded, store = urls
    graphs = embedded.store.graphs()
    assert BIG in graphs and len(graphs) > 3
    store.sent.clear()
    for graph in graphs:
        path = embedded.iris.dump_path(suffix, graph.value)
        assert path is not None
        mine, theirs = parsed(far + path), parsed(local + path)
        assert len(mine) == len(set(mine)) == embedded.store.count(graph)
        assert set(mine) == set(theirs), graph
    assert not [q for q in store.sent if "ORDER BY" in q]


def test_a_graph_read_in_ranges_equals_the_graph(
    urls: tuple[str, str, ClaimGraph, CountingStore],
) -> None:
    """The literals come back exactly, through the ranges of a capped server."""
    *_, store = urls
    store.sent.clear()
    assert set(store.export(BIG)) == set(big_graph())
    # the count, the capped whole, the grouped count, then ranges of at most 1,000 triples
    ranges = [q for q in store.sent if "FILTER(SUBSTR(MD5" in q]
    assert len(store.sent) == 3 + len(ranges) and 3 <= len(ranges) <= 6


def test_a_graph_that_changes_between_count_and_read_is_an_error(
    virtuoso: Virtuoso,
    urls: tuple[str, str, ClaimGraph, CountingStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    *_, store = urls
    monkeypatch.setattr(claimgraph.store.remote, "EXPORT_PARALLEL", 1)  # one part at a time
    ranges = iter(store.export(BIG))
    first = next(ranges)  # the first range has been read: the others are known by size
    late = [
        ox.Quad(ox.NamedNode(f"https://example.org/late/{i}"), first.predicate, first.object, BIG)
        for i in range(50)  # some land in ranges not read yet
    ]
    writer = virtuoso.store()
    writer.apply(Delta(add=late))
    try:
        with pytest.raises(StoreError, match="changed while it was being read"):
            list(ranges)
    finally:
        writer.apply(Delta(remove=late))
