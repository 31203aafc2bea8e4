"""The remote store's own workings: the settings that open it, the SPARQL it sends, and what
Virtuoso does differently (the shared behaviour is the contract suite in test_store.py)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from server.config import Settings
from server.core import open_store
from server.errors import InputError, StoreError
from server.store import Delta
from server.store.remote import (
    REGISTRY,
    SINGLE_OPERATION_LIMIT,
    RemoteStore,
    query_form,
    update_operations,
)
from tests.virtuoso import Virtuoso

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
G1, G2 = ox.NamedNode(EX + "g1"), ox.NamedNode(EX + "g2")


def quads(n: int, g: ox.NamedNode = G1, tag: str = "v") -> list[ox.Quad]:
    p = ox.NamedNode(EX + "p")
    return [
        ox.Quad(ox.NamedNode(f"{EX}s{i}"), p, ox.Literal(f"{tag} {i}", language="en"), g)
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("sparql", "form"),
    [
        ("SELECT * { ?s ?p ?o }", "SELECT"),
        ("  # a comment\nprefix ex:<http://example.org/>\nPREFIX : <x:>\nask {}", "ASK"),
        ("BASE <http://example.org/> PREFIX ex: <p#> CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
        ("describe <http://example.org/a>", "DESCRIBE"),
        ("PREFIX select: <http://example.org/> SELECT ?x {}", "SELECT"),
        ("INSERT DATA {}", None),
    ],
)
def test_query_form(sparql: str, form: str | None) -> None:
    assert query_form(sparql) == form


def test_query_form_takes_linear_time_on_crafted_text() -> None:
    assert query_form("# a: " * 5_000 + "x") is None
    assert query_form("PREFIX a: <x:> " * 5_000 + "ASK {}") == "ASK"


def test_open_store_takes_a_sparql_url() -> None:
    store = open_store(
        Settings.from_env(
            {
                "CLAIMGRAPH_STORE": "sparql+https://triples.example.org/sparql",
                "CLAIMGRAPH_STORE_UPDATE_URL": "https://triples.example.org/sparql-auth",
                "CLAIMGRAPH_STORE_USER": "dba",
                "CLAIMGRAPH_STORE_PASSWORD": "secret",
                "CLAIMGRAPH_STORE_TIMEOUT": "2.5",
                "CLAIMGRAPH_STORE_PAGE_SIZE": "500",
            }
        )
    )
    assert isinstance(store, RemoteStore)
    assert store.query_url == "https://triples.example.org/sparql"
    assert store.update_url == "https://triples.example.org/sparql-auth"
    assert store.timeout == 2.5 and store.page_size == 500
    with pytest.raises(InputError, match="CLAIMGRAPH_STORE_USER"):
        open_store(Settings(store="sparql+http://dba:secret@localhost:8890/sparql"))


def test_a_write_is_one_operation_where_the_delta_allows() -> None:
    big = quads(20_000)
    assert len(update_operations(Delta(add=big))) == 1  # any size: blocks in one INSERT DATA
    small = quads(SINGLE_OPERATION_LIMIT // 4)
    assert len(update_operations(Delta(remove=small))) == 1
    (op,) = update_operations(Delta(remove=small, add=quads(10, G2)))
    assert op.startswith("DELETE {") and op.endswith("WHERE {}") and str(REGISTRY) in op
    replace = update_operations(Delta(add=quads(3), drop_graphs=[G1]))
    assert [o.split(" ", 2)[:2] for o in replace] == [["DROP", "SILENT"], ["INSERT", "DATA"]]
    # a large removal across graphs: one DELETE DATA, or one per graph block on Virtuoso
    two_graphs = quads(300) + quads(300, G2)
    assert len(update_operations(Delta(remove=two_graphs))) == 1
    assert len(update_operations(Delta(remove=two_graphs), virtuoso=True)) == 2


def test_what_the_remote_store_refuses() -> None:
    store = RemoteStore("http://127.0.0.1:9/sparql")
    blank = ox.Quad(ox.BlankNode(), ox.NamedNode(EX + "p"), ox.Literal("x"), G1)
    with pytest.raises(InputError, match="blank nodes"):
        store.apply(Delta(add=[blank]))
    default = ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal("x"))
    with pytest.raises(InputError, match="named graph"):
        store.apply(Delta(add=[default]))
    assert list(store.quads(subject=ox.BlankNode())) == []  # no request: cannot match


@pytest.fixture
def empty(virtuoso: Virtuoso) -> Virtuoso:
    virtuoso.reset()
    return virtuoso


def test_virtuoso_system_graphs_stay_out(empty: Virtuoso) -> None:
    """Virtuoso's own default graph is every graph it has, its system graphs included."""
    store = empty.store()
    answer = store.http.post(
        empty.query_url,
        [("query", "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")],
        "application/sparql-results+json",
    )
    assert b"openlinksw.com/schemas/virtrdf#" in answer.body  # there, unfiltered
    assert store.graphs() == [] and store.count() == 0


def test_virtuoso_keeps_numbers_as_values(empty: Virtuoso) -> None:
    """Documented difference: Virtuoso stores numbers and booleans as values, so a
    non-canonical lexical form comes back canonical (Oxigraph keeps it as written)."""
    store = empty.store()
    s, p = ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p")
    written = [
        ox.Literal("0.80", datatype=ox.NamedNode(XSD + "decimal")),
        ox.Literal("007", datatype=ox.NamedNode(XSD + "integer")),
        ox.Literal("1", datatype=ox.NamedNode(XSD + "boolean")),
    ]
    store.apply(Delta(add=[ox.Quad(s, p, o, G1) for o in written]))
    assert {q.object.value for q in store.quads()} == {"0.8", "7", "true"}


def test_digest_authentication(empty: Virtuoso) -> None:
    good = empty.store()
    good.apply(Delta(add=quads(2)))
    for _ in range(3):  # the nonce is reused with a counter: no new challenge each time
        good.apply(Delta(add=quads(2)))
    wrong = empty.store(password="not-the-password")
    with pytest.raises(StoreError, match=r"HTTP 401.*CLAIMGRAPH_STORE_PASSWORD"):
        wrong.apply(Delta(add=quads(1)))
    anonymous = RemoteStore(empty.query_url)  # the open endpoint: reads only
    assert anonymous.count() == 2
    with pytest.raises(StoreError):
        anonymous.apply(Delta(add=quads(1)))
    assert good.count() == 2


def test_small_pages(empty: Virtuoso) -> None:
    store = empty.store(page_size=7)
    data = quads(50) + quads(30, G2)
    store.apply(Delta(add=data))
    assert set(store.quads()) == set(data)
    assert store.graphs() == [G1, G2]
