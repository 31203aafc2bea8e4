"""The remote store's own workings: the settings that open it, the SPARQL it sends, and what
Virtuoso does differently (the shared behaviour is the contract suite in test_store.py)."""

from __future__ import annotations

import threading
import time

import pyoxigraph as ox
import pytest

import claimgraph.store.remote
import claimgraph.store.shared
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph, open_store
from claimgraph.errors import (
    InputError,
    PayloadTooLarge,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from claimgraph.store import Delta
from claimgraph.store.http import Answer
from claimgraph.store.remote import (
    PART_BYTES,
    REGISTRY,
    SINGLE_OPERATION_LIMIT,
    VIRTUOSO_REQUEST_BYTES,
    conditional_operation,
    query_form,
    renewal_operation,
    update_operations,
)
from claimgraph.store.shared import RemoteStore
from claimgraph.validation import Validator
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


def long_quads(n: int, g: ox.NamedNode = G1) -> list[ox.Quad]:
    """``n`` quads of 600-character literals: 20,000 of them are 13 MB of SPARQL."""
    p = ox.NamedNode(EX + "p")
    return [
        ox.Quad(ox.NamedNode(f"{EX}s{i}"), p, ox.Literal(f"{'x' * 600}{i}"), g) for i in range(n)
    ]


def test_virtuoso_gets_no_request_over_its_limit() -> None:
    """Virtuoso refuses a request over 10 MB: a write that needs one is refused before anything
    is sent, unless it may go in parts (derived data), in requests of a bounded size."""
    big = long_quads(20_000)
    (op,) = update_operations(Delta(add=big))  # other servers: one atomic operation
    assert len(op) > VIRTUOSO_REQUEST_BYTES
    with pytest.raises(PayloadTooLarge, match=r"of 1\d\.\d MB, and Virtuoso takes at most 10 MB"):
        update_operations(Delta(add=big), virtuoso=True)
    parts = update_operations(Delta(add=big), virtuoso=True, in_parts=True)
    assert len(parts) >= 3
    assert all(o.startswith("INSERT DATA") and len(o) <= PART_BYTES + 1024 for o in parts)
    sent = [line for o in parts for line in o.splitlines() if line.endswith(" .")]
    assert len(sent) == len(big) + 1  # every quad once, and the graph's registration
    # with removals too: the additions in parts, after the removals
    replace = update_operations(Delta(add=big, remove=quads(300)), virtuoso=True, in_parts=True)
    assert replace[0].startswith("DELETE DATA") and len(replace) == 1 + len(parts)


def test_what_the_remote_store_refuses() -> None:
    store = RemoteStore("http://127.0.0.1:9/sparql")
    blank = ox.Quad(ox.BlankNode(), ox.NamedNode(EX + "p"), ox.Literal("x"), G1)
    with pytest.raises(InputError, match="blank nodes"):
        store.apply(Delta(add=[blank]))
    default = ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal("x"))
    with pytest.raises(InputError, match="named graph"):
        store.apply(Delta(add=[default]))
    assert list(store.quads(subject=ox.BlankNode())) == []  # no request: cannot match


def test_no_write_touches_the_registry_graph() -> None:
    """A forged pending write would hold every instance's writes; a dropped registry would
    start the generation again from 0. Refused before anything is sent (nobody listens)."""
    store = RemoteStore("http://127.0.0.1:9/sparql")
    pending = ox.Quad(
        ox.NamedNode("urn:claimgraph:write/9"),
        ox.NamedNode("urn:claimgraph:pending"),
        ox.Literal("5", datatype=ox.NamedNode(XSD + "integer")),
        REGISTRY,
    )
    deltas = [
        Delta(add=[pending]),
        Delta(remove=[pending]),
        Delta(drop_graphs=[REGISTRY]),
        Delta(add=quads(SINGLE_OPERATION_LIMIT + 1), drop_graphs=[G1, REGISTRY]),
    ]
    for delta in deltas:
        with pytest.raises(InputError, match="urn:claimgraph:graphs> is reserved"):
            store.apply(delta)
        with pytest.raises(InputError, match="is reserved"):
            store.apply_at(delta, 3)
    with pytest.raises(InputError, match="is reserved"):
        store.bulk_load([pending])


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


# -- the write generation: conditional writes, shared by every instance ------------------------


def test_a_write_at_an_old_generation_changes_nothing(empty: Virtuoso) -> None:
    first, second = empty.store(), empty.store()
    base = first.write_base()
    assert second.write_base() == base
    assert first.apply_at(Delta(add=quads(3)), base) == base + 1
    assert second.apply_at(Delta(add=quads(3, G2)), base) is None  # first wrote since
    assert second.generation() == base + 1 and second.graphs() == [G1]
    assert second.apply_at(Delta(add=quads(3, G2)), second.write_base()) == base + 2
    first.apply(Delta(add=quads(1, G2, "raw")))  # an unconditional write bumps it too
    assert first.generation() == base + 3 and first.count() == 7


def test_writes_record_what_they_changed_for_the_last_writes_only(
    empty: Virtuoso, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write in one conditional operation records the resources it changed, and whether it
    changed the terms when its writer could tell; the record of the write FOLLOWED_RECORDS
    before is pruned by the same operation, so the registry stays bounded; writes without a
    record (an unconditional one, a registration) are missing."""
    for module in (claimgraph.store.remote, claimgraph.store.shared):
        monkeypatch.setattr(module, "FOLLOWED_RECORDS", 3)
    store = empty.store()
    base = store.write_base()
    told = [False, True, None, True, False]
    for i, terms in enumerate(told):
        delta = Delta(add=quads(i + 1, G1, f"w{i}"))
        assert store.apply_at(delta, base + i, terms=terms) == base + i + 1
    store.apply(Delta(add=quads(1, G2)))  # unconditional: no record
    end = base + 6
    recorded = store.records(end - 3, end)
    assert sorted(recorded) == [end - 2, end - 1]  # the last conditional two of three
    assert recorded[end - 1].touched == {f"{EX}s{i}" for i in range(5)}
    assert [recorded[n].terms for n in (end - 2, end - 1)] == [True, False]
    assert store.records(end - 4, end - 3)[end - 3].terms is None  # not told: not known
    assert store.records(base, end) == {}  # wider than the records kept: nothing

    def recorded_by(predicate: str) -> set[int]:
        rows = store._select(
            f"SELECT ?w WHERE {{ GRAPH {REGISTRY} {{ ?w <urn:claimgraph:{predicate}> ?t }} }}"
        )
        numbers = {int(r["w"].value.rsplit("/", 1)[1]) for r in rows}  # type: ignore[union-attr]
        return {n for n in numbers if n > base}

    assert recorded_by("touched") == {base + 3, base + 4, base + 5}  # 1 and 2 pruned
    assert recorded_by("terms") == {base + 4, base + 5}  # and 3 told none


def test_a_conditional_write_removes_and_adds_across_graphs(empty: Virtuoso) -> None:
    """Language-tagged literals in several graphs, removed by the conditional update's template
    (Virtuoso's DELETE DATA of several GRAPH blocks would skip them)."""
    store = empty.store()
    old = quads(5, G1, 'old "q"\n') + quads(5, G2, "old")
    store.apply(Delta(add=old))
    new = quads(3, G2, "new")
    assert store.apply_at(Delta(remove=old, add=new), store.write_base()) is not None
    assert set(store.quads()) == set(new) and store.graphs() == [G1, G2]


def race(stores: list[RemoteStore], deltas: list[Delta], base: int) -> list[int | None]:
    """Each store applies its delta at ``base``, all at the same moment."""
    start = threading.Barrier(len(stores))
    landed: list[int | None] = [None] * len(stores)

    def write(i: int) -> None:
        start.wait()
        landed[i] = stores[i].apply_at(deltas[i], base)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return landed


def test_one_of_concurrent_conditional_writes_applies(empty: Virtuoso) -> None:
    """Writers that all start from the same generation send their update at the same moment:
    exactly one applies. This holds only where the server isolates an update request from a
    concurrent one (Virtuoso: DefaultIsolation = 4, as bench/virtuoso.py sets it; at its
    default, read committed, several apply)."""
    writers = [empty.store() for _ in range(8)]
    for round_ in range(5):
        base = writers[0].write_base()
        tags = [f"r{round_}w{i}" for i in range(len(writers))]
        landed = race(writers, [Delta(add=quads(1, G1, tag)) for tag in tags], base)
        assert [n for n in landed if n is not None] == [base + 1], landed
        winner = tags[landed.index(base + 1)]
        objects = {q.object.value for q in writers[0].quads(graph=G1)}
        assert {f"{tag} 0" for tag in tags} & objects == {f"{winner} 0"}


def test_a_write_in_several_requests_holds_the_store_until_it_is_done(empty: Virtuoso) -> None:
    """A write too large for one conditional operation marks its generation as pending, is
    sent, then lets go; another instance's write waits for it, and takes over once the time
    it claimed is up (its instance stopped half-way)."""
    first, second = empty.store(), empty.store(timeout=0.5)
    base = first.write_base()
    big = quads(SINGLE_OPERATION_LIMIT + 1)
    assert first.apply_at(Delta(add=big), base) == base + 2
    assert second.write_base() == base + 2 and first.count() == len(big)
    assert second.apply_at(Delta(add=quads(1, G2)), base) is None
    # an instance that held the store for 1 s and stopped
    first._update([conditional_operation(base + 2, "stopped", claim=1)], "a stopped write")
    with pytest.raises(StoreError, match="busy with another instance's write"):
        second.write_base()
    time.sleep(1.0)
    assert second.write_base() == base + 3  # taken over
    assert second.apply_at(Delta(add=quads(1, G2)), base + 3) == base + 4
    assert first.write_base() == base + 4  # nothing holds it any more


def test_a_write_over_virtuosos_request_limit(empty: Virtuoso, validator: Validator) -> None:
    """13 MB of SPARQL: a user's write is refused whole with a 413 and nothing sent; ClaimGraph's
    own write of derived data (as the first derived graph at 100,000 statements, 1.66M quads)
    lands in requests under the limit, holding the store meanwhile."""
    store = empty.store(timeout=60)
    base = store.write_base()
    with pytest.raises(PayloadTooLarge, match="nothing was written"):
        store.apply_at(Delta(add=long_quads(20_000)), base)
    assert store.generation() == base and store.count() == 0  # not even a hold
    cg = ClaimGraph(Settings(seed=False, **empty.settings()), validator=validator)
    derived = ox.NamedNode(f"{cg.iris.base}graph/derived/propagation")
    try:
        cg.write(Delta(add=long_quads(20_000, derived)), system=True)
        assert cg.store.count(derived) == 20_000 and cg.store.graphs() == [derived]
        assert cg.store.generation() == base + 2  # its hold, then its release
    finally:
        cg.close()


def test_requests_reuse_a_kept_alive_connection(empty: Virtuoso) -> None:
    store = empty.store()
    store.apply(Delta(add=quads(1)))  # (Virtuoso closes the connection of its Digest challenge)
    opened = store.http.connections
    for _ in range(3):
        store.count()
        store.apply(Delta(add=quads(1)))
    assert store.http.connections == opened  # none opened: the kept one served them all
    store.close()
    assert store.count() == 1 and store.http.connections == opened + 1  # a new one after close


def test_a_release_that_failed_is_sent_again_at_the_next_write(
    empty: Virtuoso, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data of a held write was applied, its release was not: the error says so, other
    instances keep waiting, and the writer's own next write lets go at once."""
    first, second = empty.store(timeout=2.0), empty.store(timeout=0.5)
    base = first.write_base()
    real = first._update
    failed: list[str] = []

    def update(operations: list[str], what: str) -> None:
        if what.startswith("release of the store") and not failed:
            failed.append(what)
            raise StoreUnreachable(f"the SPARQL store at {first.update_url} is not reachable")
        real(operations, what)

    monkeypatch.setattr(first, "_update", update)
    big = quads(SINGLE_OPERATION_LIMIT + 1)
    applied = (
        rf"the write to <{G1.value}> was applied; the release of the store \(generation "
        rf"{base + 1}\) after it failed \(this instance lets go at its next write"
    )
    with pytest.raises(StoreError, match=applied):
        first.apply_at(Delta(add=big), base)
    assert failed and first.count() == len(big)
    with pytest.raises(StoreError, match="busy with another instance's write"):
        second.write_base()
    # its own hold is let go of, not waited for (which would be "busy" after 2 s)
    assert first.write_base() == base + 2
    assert second.write_base() == base + 2


def test_a_write_that_outlasts_its_hold_is_an_error(
    empty: Virtuoso, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance took the store over while a held write was being sent: its release
    lands nowhere, and the write, applied, is not reported as a success."""
    first, second = empty.store(), empty.store()
    base = first.write_base()
    real = first._update

    def update(operations: list[str], what: str) -> None:
        if operations[0].startswith("INSERT DATA"):  # meanwhile, the other instance takes over
            second._update([conditional_operation(base + 1, "another")], "a takeover")
        real(operations, what)

    monkeypatch.setattr(first, "_update", update)
    big = quads(SINGLE_OPERATION_LIMIT + 1)
    with pytest.raises(StoreError, match="was applied, but it outlasted its hold on the store"):
        first.apply_at(Delta(add=big), base)
    assert first.count() == len(big) and first.generation() == base + 2
    monkeypatch.undo()
    assert first.write_base() == base + 2  # nothing holds it, nothing is left to let go


def test_a_write_in_several_requests_renews_its_hold(
    empty: Virtuoso, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Virtuoso a large removal over two graphs is one request per graph: the hold is
    renewed between them, and nothing of it is left once the store is let go of."""
    store = empty.store()
    data = quads(200) + quads(200, G2)
    store.apply(Delta(add=data))
    base = store.write_base()
    sent: list[str] = []
    renewals: list[int] = []
    real = store._update

    def update(operations: list[str], what: str) -> None:
        sent.append(what.split(" ", 1)[0])
        real(operations, what)
        if sent[-1] == "renewal":
            renewals.append(store._state().renewed)

    monkeypatch.setattr(store, "_update", update)
    assert store.apply_at(Delta(remove=data), base) == base + 2
    assert sent == ["hold", "write", "renewal", "write", "release"] and renewals == [1]
    assert store.count() == 0 and store.write_base() == base + 2
    renewed = "<urn:claimgraph:renewed>"
    assert not store._ask(f"GRAPH {REGISTRY} {{ <urn:claimgraph:write/{base + 1}> {renewed} ?k }}")


def test_a_renewed_hold_is_waited_for_again(empty: Virtuoso) -> None:
    """A waiting instance counts the time of a hold from when it last saw it change."""
    owner, waiting = empty.store(), empty.store(timeout=0.5)
    base = owner.write_base()
    owner._update([conditional_operation(base, "slow", claim=1)], "a slow write's hold")
    with pytest.raises(StoreError, match="busy with another instance's write"):
        waiting.write_base()
    time.sleep(1.0)
    owner._update([renewal_operation(base + 1, 1)], "its renewal")
    with pytest.raises(StoreError, match="busy with another instance's write"):
        waiting.write_base()  # renewed: waited for again, not taken over
    time.sleep(1.0)
    assert waiting.write_base() == base + 1  # unchanged for longer than it says: taken over


@pytest.mark.parametrize("lost", ["answer", "request", "check"])
def test_a_conditional_write_whose_answer_is_lost_is_settled(
    empty: Virtuoso, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    """The answer to a conditional update is lost (a timeout; the update applied or not): a
    conditional update that changes nothing follows at the same generation, and the record of
    the next generation says which of the two landed. That is final."""
    store = empty.store()
    base = store.write_base()
    real = store.http.post
    updates: list[str] = []

    def post(
        url: str,
        form: list[tuple[str, str]],
        accept: str,
        timeout: float | None = None,
        *,
        idempotent: bool = True,
    ) -> Answer:
        if form[0][0] == "update":
            updates.append(form[0][1])
            if (lost, len(updates)) in (("request", 1), ("check", 2)):
                raise StoreTimeout("no answer (it never reached the server)")
        answer = real(url, form, accept, timeout, idempotent=idempotent)
        if form[0][0] == "update" and lost in ("answer", "check") and len(updates) == 1:
            raise StoreTimeout("no answer (the server applied it)")
        return answer

    monkeypatch.setattr(store.http, "post", post)
    delta = Delta(add=quads(2))
    if lost == "check":
        with pytest.raises(StoreTimeout, match="may or may not have been applied"):
            store.apply_at(delta, base)
        assert len(updates) == 2
        return
    landed = store.apply_at(delta, base)
    assert len(updates) == 2  # the write, then the check
    assert store.generation() == base + 1
    if lost == "answer":
        assert landed == base + 1 and store.count() == 2
    else:
        assert landed is None and store.count() == 0
