"""Dumps over a real Virtuoso (tests/virtuoso.py, which caps an answer at 1,000 rows) equal the
embedded store's, quad for quad: every format the service offers, the whole store and each
graph; each graph is read as the server exports it, none sorted on the server."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

import claimgraph.store.remote
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import StoreError
from claimgraph.formats import by_name, by_path
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
    ox.Literal("a line's end in N-Triples .\n"),  # the N-Quads dump adds the graph at " .\n"
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
    # one subject with more triples of a predicate than an answer: no range of ids cuts it
    one, p2 = ox.NamedNode("https://example.org/one"), ox.NamedNode("https://example.org/p2")
    quads += [ox.Quad(one, p2, ox.Literal(f"w{i}"), BIG) for i in range(1_200)]
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
    # predicates, the big graph's large predicates in ranges of subject ids, and its one
    # subject with more triples of a predicate than an answer in hash ranges.
    assert [q for q in store.sent if "VALUES ?p" in q and "FILTER" not in q]
    assert [q for q in store.sent if "GROUP BY ?k" in q]
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


def test_a_graphs_nquads_dump_takes_virtuosos_lines(
    urls: tuple[str, str, ClaimGraph, CountingStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One graph's N-Quads dump, like the whole store's, is the server's lines with the graph
    added: no quad is parsed into terms and serialized again."""
    local, far, embedded, _ = urls

    def parsed_quads(*args: object) -> object:
        raise AssertionError("the graph was read quad by quad")

    monkeypatch.setattr(RemoteStore, "export", parsed_quads)
    path = embedded.iris.dump_path(".nq", BIG.value)
    assert path is not None
    assert set(parsed(far + path)) == set(parsed(local + path)) == set(big_graph())


def test_a_graph_read_in_ranges_equals_the_graph(
    urls: tuple[str, str, ClaimGraph, CountingStore],
) -> None:
    """The literals come back exactly, through the ranges of a capped server."""
    *_, store = urls
    store.sent.clear()
    assert set(store.export(BIG)) == set(big_graph())
    # The count by predicate (which gives the size: over the cap, so not read whole); per
    # predicate over the cap, the span of its subject ids and their count by bucket, then
    # ranges of ids of at most 1,000 triples; the one subject whose 1,200 triples of `p2` no
    # range of ids cuts, by hash prefixes. No COUNT of the graph, nothing sorted.
    assert "GROUP BY ?p" in store.sent[0]
    spans = [q for q in store.sent if "MIN(<SHORT_OR_LONG::bif:iri_id_num>(?s))" in q]
    buckets = [q for q in store.sent if "GROUP BY ?k" in q]
    by_ids = [q for q in store.sent if q.startswith("CONSTRUCT") and "iri_id_num" in q]
    hashed = [q for q in store.sent if "GROUP BY ?h" in q]
    by_hashes = [q for q in store.sent if q.startswith("CONSTRUCT") and "FILTER(SUBSTR(MD5" in q]
    states = [q for q in store.sent if "<urn:claimgraph:generation>" in q]
    assert len(spans) == len(buckets) == 2 and len(hashed) == 1 and len(states) == 2
    assert 3 <= len(by_ids) <= 6 and len(by_hashes) == 2
    assert len(store.sent) == 1 + 2 + 2 + 1 + 2 + len(by_ids) + len(by_hashes)
    assert not [q for q in store.sent if "ORDER BY" in q]
    # the ranges of ids leave no id out: the first and the last are open-ended
    assert sum("iri_id_num>(?s) >=" not in q for q in by_ids) == 1
    assert sum("iri_id_num>(?s) <=" not in q for q in by_ids) == 1


def test_a_bucket_of_ids_too_large_is_counted_again_finer(
    urls: tuple[str, str, ClaimGraph, CountingStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two buckets a level, each holds more than an answer: each is counted again in
    two, and so on down, and the parts still cover the graph exactly once."""
    *_, store = urls
    monkeypatch.setattr(claimgraph.store.remote, "ID_BUCKETS", 2)
    store.sent.clear()
    quads = list(store.export(BIG))
    assert len(quads) == len(set(quads)) and set(quads) == set(big_graph())
    assert len([q for q in store.sent if "GROUP BY ?k" in q]) > 3


def test_a_server_without_virtuosos_ids_is_read_in_hash_ranges(
    urls: tuple[str, str, ClaimGraph, CountingStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that refuses the query of subject ids (here, a function Virtuoso does not
    have) is read in ranges of hashes, as any other SPARQL server is."""
    *_, store = urls
    monkeypatch.setattr(claimgraph.store.remote, "_ID", "<SHORT_OR_LONG::bif:no_such>(?s)")
    store.sent.clear()
    assert set(store.export(BIG)) == set(big_graph())
    assert not [q for q in store.sent if "GROUP BY ?k" in q]
    assert len([q for q in store.sent if q.startswith("CONSTRUCT") and "MD5" in q]) >= 5


def test_a_value_replaced_while_a_graph_is_read_is_an_error(
    virtuoso: Virtuoso,
    urls: tuple[str, str, ClaimGraph, CountingStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that keeps every part's count (one value for another, of one subject: in one
    range of ids) is seen by the store's write generation, read before and after."""
    *_, store = urls
    monkeypatch.setattr(claimgraph.store.remote, "EXPORT_PARALLEL", 1)
    virtuoso.store().write_base()  # the store counts its writes, as under ClaimGraph
    ranges = iter(store.export(BIG))
    next(ranges)
    p, last = ox.NamedNode("https://example.org/p"), ox.NamedNode("https://example.org/s/2499")
    old, new = ox.Quad(last, p, ox.Literal("v2499"), BIG), ox.Quad(last, p, ox.Literal("w"), BIG)
    writer = virtuoso.store()
    writer.apply(Delta(remove=[old], add=[new]))
    try:
        with pytest.raises(StoreError, match="changed while it was being read"):
            list(ranges)
    finally:
        writer.apply(Delta(remove=[new], add=[old]))


def test_a_graph_that_changes_between_count_and_read_is_an_error(
    virtuoso: Virtuoso,
    urls: tuple[str, str, ClaimGraph, CountingStore],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    *_, store = urls
    monkeypatch.setattr(claimgraph.store.remote, "EXPORT_PARALLEL", 1)  # one part at a time
    ranges = iter(store.export(BIG))
    first = next(ranges)  # the first range has been read: the others are known by size
    late = [  # to subjects spread over the graph: some land in ranges not read yet
        ox.Quad(ox.NamedNode(f"https://example.org/s/{i}"), first.predicate, ox.Literal("x"), BIG)
        for i in range(0, 2_500, 50)
    ]
    writer = virtuoso.store()
    writer.apply(Delta(add=late))
    try:
        with pytest.raises(StoreError, match="changed while it was being read"):
            list(ranges)
    finally:
        writer.apply(Delta(remove=late))


def test_the_nquads_dump_takes_virtuosos_lines_with_the_graph_added(
    urls: tuple[str, str, ClaimGraph, CountingStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Virtuoso's N-Triples become N-Quads without the parser-and-serializer way round."""
    *_, embedded, store = urls
    rewritten: list[ox.NamedNode] = []

    def spy(graph: ox.NamedNode, body: bytes) -> tuple[list[ox.Quad], int]:
        rewritten.append(graph)
        return quads_of(graph, body)

    quads_of = claimgraph.store.remote._quads_of
    monkeypatch.setattr(claimgraph.store.remote, "_quads_of", spy)
    out = io.BytesIO()
    store.dump(out, by_name("nquads"))
    assert set(ox.parse(out.getvalue(), ox.RdfFormat.N_QUADS)) == set(embedded.store.quads())
    assert rewritten == []


G = ox.NamedNode("https://example.org/g")
SPO = b"<https://e.org/s> <https://e.org/p> <https://e.org/o>"


@pytest.mark.parametrize(
    "body",
    [
        b'<https://e.org/s> <https://e.org/p> "x ." .\n' + SPO + b" .\n",
        SPO + b".\n",  # no space before the dot
        SPO + b" . # a comment .\n",
        b"# a comment .\n" + SPO + b" .\r\n",
        SPO + b" .",  # no end of line
        b"",
    ],
)
def test_an_answer_in_any_layout_becomes_the_same_nquads(body: bytes) -> None:
    text, received = claimgraph.store.remote._nquads_of(G, body)
    quads = list(ox.parse(text, ox.RdfFormat.N_QUADS))
    expected = [
        ox.Quad(t.subject, t.predicate, t.object, G) for t in ox.parse(body, ox.RdfFormat.N_TRIPLES)
    ]
    assert quads == expected and received == len(expected)


def test_an_answer_that_is_not_ntriples_is_refused() -> None:
    with pytest.raises(SyntaxError):
        claimgraph.store.remote._nquads_of(G, b"<https://e.org/s> <https://e.org/p> .\n")
