"""The store contract, one suite run against every implementation: the embedded store in
memory and on disk, and the remote store on a real Virtuoso (tests/virtuoso.py).

Named graphs, the union default graph (only the store's graphs: none of the server's own),
atomic deltas, bulk load, export, exact literals, and the validated write path.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import QuerySyntaxError, StoreError, ValidationFailed
from claimgraph.formats import by_name
from claimgraph.store import Delta, Store
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.validation import Validator
from tests.virtuoso import Virtuoso

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
G1, G2, G3 = (ox.NamedNode(EX + g) for g in ("g1", "g2", "g3"))
STORES = ["memory", "disk", "virtuoso"]


def q(s: str, p: str, o: ox.NamedNode | ox.Literal, g: ox.NamedNode = G1) -> ox.Quad:
    return ox.Quad(ox.NamedNode(EX + s), ox.NamedNode(EX + p), o, g)


def typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store
    if request.param == "virtuoso":
        server: Virtuoso = request.getfixturevalue("virtuoso")
        server.reset()
        s = server.store()
        yield s
        s.close()
        server.reset()
        return
    s = EmbeddedStore(None if request.param == "memory" else tmp_path / "store")
    yield s
    s.close()


def nquads(store: Store) -> bytes:
    out = io.BytesIO()
    store.dump(out, by_name("nquads"))
    return out.getvalue()


def dumped(store: Store) -> set[ox.Quad]:
    return set(ox.parse(nquads(store), ox.RdfFormat.N_QUADS))


def without_genids(quads: set[ox.Quad]) -> Counter[ox.Quad]:
    """The quads with every skolem IRI made the same (each seed mints fresh ones)."""
    genid = ox.NamedNode("https://claimgraph.org/.well-known/genid/x")

    def same(t: ox.NamedNode) -> ox.NamedNode:
        return genid if "/.well-known/genid/" in str(t) else t

    return Counter(
        ox.Quad(same(q.subject), q.predicate, same(q.object), q.graph_name)  # type: ignore[arg-type]
        for q in quads
    )


def column(rows: object, name: str) -> list[str]:
    assert isinstance(rows, ox.QuerySolutions)
    return [r[name].value for r in rows]  # type: ignore[union-attr]


def test_an_empty_store_holds_nothing(store: Store) -> None:
    """Not even the server's own graphs (Virtuoso keeps system graphs in its union)."""
    assert store.graphs() == [] and store.count() == 0
    assert column(store.query("SELECT ?s WHERE { ?s ?p ?o }"), "s") == []
    assert column(store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"), "g") == []
    assert not bool(store.query("ASK { ?s ?p ?o }"))  # type: ignore[arg-type]
    assert list(store.quads()) == [] and nquads(store) == b""


def test_default_graph_is_union_of_named_graphs(store: Store) -> None:
    store.apply(Delta(add=[q("a", "p", ox.Literal("1")), q("b", "p", ox.Literal("2"), G2)]))
    rows = store.query("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s")
    assert column(rows, "s") == [EX + "a", EX + "b"]
    only_g2 = store.query("SELECT ?s WHERE { ?s ?p ?o }", default_graph=[G2])
    assert column(only_g2, "s") == [EX + "b"]
    named = store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
    assert column(named, "g") == [G1.value, G2.value]
    just_g1 = store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=[G1])
    assert column(just_g1, "g") == [G1.value]
    assert store.graphs() == [G1, G2]
    assert store.count() == 2 and store.count(G1) == 1
    assert store.has_graph(G1) and not store.has_graph(G3)


def test_query_forms(store: Store) -> None:
    store.apply(Delta(add=[q("a", "p", ox.NamedNode(EX + "b")), q("b", "p", ox.Literal("x"))]))
    assert bool(store.query("ASK { ?s <http://example.org/p> ?o }"))  # type: ignore[arg-type]
    # (Virtuoso fails a CONSTRUCT that would put a literal in subject place, where SPARQL
    # skips the triple: the FILTER keeps this test to what every server does.)
    triples = store.query(
        "PREFIX ex: <http://example.org/>\n# a comment\n"
        "CONSTRUCT { ?o ex:q ?s } WHERE { ?s ex:p ?o FILTER(isIRI(?o)) }"
    )
    assert isinstance(triples, ox.QueryTriples)
    out = io.BytesIO()
    triples.serialize(out, ox.RdfFormat.N_TRIPLES)
    assert len(list(ox.parse(out.getvalue(), ox.RdfFormat.N_TRIPLES))) == 1  # not "x" as subject
    described = store.query("DESCRIBE <http://example.org/b>")
    assert isinstance(described, ox.QueryTriples)
    assert ox.Literal("x") in {t.object for t in described}


def test_malformed_query_is_a_syntax_error(store: Store) -> None:
    with pytest.raises(QuerySyntaxError):
        store.query("SELECT ?s WHERE { ?s ?p }")


def test_quads_by_pattern(store: Store) -> None:
    data = [
        q("a", "p", ox.Literal("x")),
        q("a", "q", ox.NamedNode(EX + "b")),
        q("b", "p", ox.Literal("x"), G2),
        q("c", "p", ox.Literal("y"), G2),
    ]
    store.apply(Delta(add=data))
    assert set(store.quads()) == set(data)
    assert set(store.quads(subject=ox.NamedNode(EX + "a"))) == set(data[:2])
    assert set(store.quads(predicate=ox.NamedNode(EX + "p"))) == {data[0], data[2], data[3]}
    assert set(store.quads(object=ox.Literal("x"))) == {data[0], data[2]}
    assert set(store.quads(object=ox.NamedNode(EX + "b"))) == {data[1]}
    assert set(store.quads(graph=G2)) == set(data[2:])
    assert list(store.quads(*data[3])) == [data[3]]  # all four given: does it exist?
    assert list(store.quads(ox.NamedNode(EX + "c"), None, None, G1)) == []


def test_apply_removes_adds_and_drops_in_one_step(store: Store) -> None:
    old = q("a", "p", ox.Literal('tricky "quoted"\nline', language="en"))
    store.apply(Delta(add=[old, q("b", "p", ox.Literal("x"), G2)]))
    new = q("a", "p", typed("2024-03", "gYearMonth"))
    store.apply(Delta(remove=[old], add=[new], drop_graphs=[G2]))
    assert list(store.quads()) == [new]
    assert not store.has_graph(G2) and store.graphs() == [G1]


def test_remove_and_add_in_one_delta(store: Store) -> None:
    """Small (one DELETE/INSERT operation on a remote store) and large (several), across
    graphs, with language-tagged literals (which Virtuoso's DELETE DATA can miss)."""
    for n in (3, 400):
        old = [
            q(f"s{i}", "p", ox.Literal(f'old "{i}"\n', language="en"), G1 if i % 2 else G3)
            for i in range(n)
        ]
        store.apply(Delta(add=old))
        new = [q(f"s{i}", "p", ox.Literal(f"new {i}", language="zh"), G2) for i in range(n)]
        store.apply(Delta(remove=old, add=new))
        assert store.count(G1) == 0 and store.count(G3) == 0 and store.count(G2) == n
        assert set(store.quads()) == set(new)
        store.apply(Delta(remove=new))
        assert store.count() == 0
        store.apply(Delta(drop_graphs=[G1, G2, G3]))


def test_dropping_an_absent_graph_is_silent(store: Store) -> None:
    store.apply(Delta(drop_graphs=[G3]))
    assert store.graphs() == []


# Literals as ClaimGraph writes them: every one must come back exactly.
LITERALS = [
    ox.Literal("quotes \"double\" and 'single', back\\slash", language="en"),
    ox.Literal("line one\nline two\r\n\ttabbed", language="en-GB"),
    ox.Literal("唐青赟", language="zh"),
    ox.Literal("Tang Qingyun", language="en"),
    ox.Literal("😀 emoji beyond the BMP, and é, ß, ı"),
    ox.Literal("", language="en"),
    ox.Literal("plain"),
    ox.Literal("long " * 3000),
    ox.Literal("explicit", datatype=ox.NamedNode(XSD + "string")),
    typed("2024-03-08", "date"),
    typed("2024", "gYear"),
    typed("2024-03", "gYearMonth"),
    typed("2024-03-08T10:15:00Z", "dateTime"),
    typed("en", "language"),
    typed("https://example.org/a?b=c&d", "anyURI"),
    typed("not a date", "date"),  # ill-typed, kept as written
    typed("0.8", "decimal"),  # numbers and booleans in canonical form (see test_remote_store)
    typed("true", "boolean"),
    typed("false", "boolean"),
    typed("12", "integer"),
    ox.Literal("custom", datatype=ox.NamedNode(EX + "datatype")),
    ox.Literal(
        "<b>bold</b>", datatype=ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#HTML")
    ),
]


def test_literals_round_trip_exactly(store: Store) -> None:
    data = [q(f"s{i}", "p", lit) for i, lit in enumerate(LITERALS)]
    store.apply(Delta(add=data))
    assert set(store.quads()) == set(data)
    rows = store.query("SELECT ?s ?o WHERE { ?s ?p ?o }")
    assert isinstance(rows, ox.QuerySolutions)
    assert {(r["s"], r["o"]) for r in rows} == {(d.subject, d.object) for d in data}
    assert dumped(store) == set(data)
    for d in data:  # and each can be found, and removed, by its exact value
        assert list(store.quads(object=d.object)) == [d]
    store.apply(Delta(remove=data))
    assert store.count() == 0


def test_large_write_is_read_back_whole(store: Store) -> None:
    """More than a DATA block, a server's result cap and a page: all of it, once, also after
    the data was partly rewritten (Virtuoso's unordered pages then overlap)."""
    data = [
        q(f"s{i}", "p", ox.Literal(f'value "{i}"\n', language="en"), G1 if i % 3 else G2)
        for i in range(12_000)
    ]
    store.apply(Delta(add=data))
    assert store.count() == 12_000
    assert set(store.quads(graph=G1)) == {d for d in data if d.graph_name == G1}
    assert len(list(store.quads(predicate=ox.NamedNode(EX + "p")))) == 12_000
    assert dumped(store) == set(data)
    gone = data[::5]
    again = [q(f"t{i}", "p", ox.Literal(str(i)), G1) for i in range(2_000)]
    store.apply(Delta(remove=gone))
    store.apply(Delta(add=again))
    assert dumped(store) == set(data) - set(gone) | set(again)


def test_bulk_load(store: Store) -> None:
    data = [q(f"s{i}", "p", ox.Literal(str(i)), G1 if i % 2 else G2) for i in range(25_000)]
    store.bulk_load(iter(data))
    assert store.count() == 25_000 and store.graphs() == [G1, G2]
    assert store.count(G1) == 12_500


@pytest.mark.parametrize("fmt", ["trig", "nquads", "turtle", "ntriples", "jsonld", "rdfxml"])
def test_dump_parses_back(store: Store, fmt: str) -> None:
    quads = [q("a", "p", ox.Literal("é"), G1), q("b", "p", ox.NamedNode(EX + "c"), G2)]
    same = q("a", "p", ox.Literal("é"), G2)  # one triple in two graphs
    store.apply(Delta(add=[*quads, same]))
    out = io.BytesIO()
    store.dump(out, by_name(fmt))
    parsed = list(ox.parse(out.getvalue(), by_name(fmt).ox))
    if by_name(fmt).datasets:
        assert set(parsed) == {*quads, same}
    else:
        assert len(parsed) == 2  # the union: each triple once


@pytest.mark.parametrize("fmt", ["trig", "ntriples"])
def test_dump_of_one_graph(store: Store, fmt: str) -> None:
    store.apply(Delta(add=[q("a", "p", ox.Literal("1")), q("b", "p", ox.Literal("2"), G2)]))
    out = io.BytesIO()
    store.dump(out, by_name(fmt), G2)
    parsed = list(ox.parse(out.getvalue(), by_name(fmt).ox))
    assert [(t.subject, t.object) for t in parsed] == [(ox.NamedNode(EX + "b"), ox.Literal("2"))]


def test_validated_writes_on_the_shipped_data(store: Store, validator: Validator) -> None:
    """The write path over this store: seed, refuse a violating write whole, accept a valid
    one that removes and adds (validation reads the store through ``quads``)."""
    cg = ClaimGraph(Settings(seed=False), store=store, validator=validator)
    cg.seed()
    reference = ClaimGraph(Settings(seed=False), validator=validator)
    reference.seed()
    assert without_genids(dumped(store)) == without_genids(dumped(reference.store))
    assert store.graphs() == reference.store.graphs()
    before = nquads(store)

    statement = next(store.quads(predicate=ox.NamedNode("https://claimgraph.org/ontology#speaker")))
    second = ox.Quad(
        statement.subject, statement.predicate, ox.NamedNode(EX + "nobody"), statement.graph_name
    )
    with pytest.raises(ValidationFailed):
        cg.write(Delta(add=[second]))
    assert nquads(store) == before

    # a valid edit: the statement dated as its source (a date no later than the source's)
    cg_ = "https://claimgraph.org/ontology#"
    date = ox.NamedNode(cg_ + "date")
    old = next(store.quads(subject=statement.subject, predicate=date))
    source = next(store.quads(subject=statement.subject, predicate=ox.NamedNode(cg_ + "source")))
    published = next(store.quads(source.object, ox.NamedNode(cg_ + "datePublished")))  # type: ignore[arg-type]
    new = ox.Quad(old.subject, old.predicate, published.object, old.graph_name)
    report = cg.write(Delta(remove=[old], add=[new]))
    assert report.conforms, report.text()
    assert list(store.quads(subject=statement.subject, predicate=date)) == [new]
    reference.close()


def test_reopened_store_holds_the_same_triples(tmp_path: Path) -> None:
    path = tmp_path / "store"
    s = EmbeddedStore(path)
    s.apply(Delta(add=[q(f"s{i}", "p", ox.Literal(str(i))) for i in range(100)]))
    before = nquads(s)
    s.close()
    again = EmbeddedStore(path)
    assert nquads(again) == before and again.count() == 100
    again.close()


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    """A background thread that outlives ``close()`` gets a StoreError, not an AttributeError."""
    s = EmbeddedStore(tmp_path / "store")
    s.close()
    s.close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        s.count()
    with pytest.raises(StoreError, match="closed"):
        list(s.quads())


def test_a_write_in_parts_lands_what_one_transaction_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply_in_parts`` (large derived-graph writes): removals, drops and additions sliced,
    the end state the same as ``apply``'s."""
    monkeypatch.setattr("claimgraph.store.embedded.BULK_SLICE", 7)
    stores = EmbeddedStore(tmp_path / "a"), EmbeddedStore(tmp_path / "b")
    first = Delta(add=[q(f"s{i}", "p", ox.Literal(str(i))) for i in range(50)])
    first.add.append(q("x", "p", ox.Literal("1"), G2))
    second = Delta(
        remove=first.add[:20],
        add=[q(f"t{i}", "p", ox.Literal(str(i))) for i in range(30)],
        drop_graphs=[G2],
    )
    for s in stores:
        s.apply(first)
    stores[0].apply(second)
    stores[1].apply_in_parts(second)
    assert nquads(stores[0]) == nquads(stores[1]) and stores[1].count() == 60
    for s in stores:
        s.close()


def test_another_instance_sees_the_same_remote_data(virtuoso: Virtuoso) -> None:
    """Service instances over one server are stateless: a second one sees the first's writes."""
    virtuoso.reset()
    first, second = virtuoso.store(), virtuoso.store()
    first.apply(Delta(add=[q(f"s{i}", "p", ox.Literal(str(i))) for i in range(100)]))
    assert nquads(second) == nquads(first) and second.count() == 100
    assert second.graphs() == [G1]
    virtuoso.reset()
