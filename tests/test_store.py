"""The store contract: named graphs, union default graph, atomic deltas, export, reopening."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.formats import by_name
from server.store import Delta, Store
from server.store.embedded import EmbeddedStore

EX = "http://example.org/"
G1, G2 = ox.NamedNode(EX + "g1"), ox.NamedNode(EX + "g2")


def q(s: str, p: str, o: ox.NamedNode | ox.Literal, g: ox.NamedNode = G1) -> ox.Quad:
    return ox.Quad(ox.NamedNode(EX + s), ox.NamedNode(EX + p), o, g)


@pytest.fixture(params=["memory", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = EmbeddedStore(None if request.param == "memory" else tmp_path / "store")
    yield s
    s.close()


def nquads(store: Store) -> bytes:
    out = io.BytesIO()
    store.dump(out, by_name("nquads"))
    return out.getvalue()


def test_default_graph_is_union_of_named_graphs(store: Store) -> None:
    store.apply(Delta(add=[q("a", "p", ox.Literal("1")), q("b", "p", ox.Literal("2"), G2)]))
    rows = store.query("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s")
    assert isinstance(rows, ox.QuerySolutions)
    assert [r["s"].value for r in rows] == [EX + "a", EX + "b"]  # type: ignore[union-attr]
    only_g2 = store.query("SELECT ?s WHERE { ?s ?p ?o }", default_graph=[G2])
    assert [r["s"].value for r in only_g2] == [EX + "b"]  # type: ignore[union-attr]
    assert store.graphs() == [G1, G2]
    assert store.count() == 2 and store.count(G1) == 1


def test_apply_removes_adds_and_drops_in_one_step(store: Store) -> None:
    old = q("a", "p", ox.Literal('tricky "quoted"\nline', language="en"))
    store.apply(Delta(add=[old, q("b", "p", ox.Literal("x"), G2)]))
    new = q(
        "a",
        "p",
        ox.Literal("2024-03", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYearMonth")),
    )
    store.apply(Delta(remove=[old], add=[new], drop_graphs=[G2]))
    assert list(store.quads()) == [new]
    assert not store.has_graph(G2)


@pytest.mark.parametrize("fmt", ["trig", "nquads", "turtle", "ntriples", "jsonld", "rdfxml"])
def test_dump_parses_back(store: Store, fmt: str) -> None:
    quads = [q("a", "p", ox.Literal("é"), G1), q("b", "p", ox.NamedNode(EX + "c"), G2)]
    store.apply(Delta(add=quads))
    out = io.BytesIO()
    store.dump(out, by_name(fmt))
    parsed = list(ox.parse(out.getvalue(), by_name(fmt).ox))
    assert len(parsed) == 2
    if by_name(fmt).datasets:
        assert set(parsed) == set(quads)


def test_reopened_store_holds_the_same_triples(tmp_path: Path) -> None:
    path = tmp_path / "store"
    s = EmbeddedStore(path)
    s.apply(Delta(add=[q(f"s{i}", "p", ox.Literal(str(i))) for i in range(100)]))
    before = nquads(s)
    s.close()
    again = EmbeddedStore(path)
    assert nquads(again) == before and again.count() == 100
    again.close()
