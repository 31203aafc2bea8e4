"""Several ClaimGraph instances over one Virtuoso (tests/virtuoso.py), each with its own
RemoteStore, as several `claimgraph serve` processes behind a load balancer: writes that are
valid alone but break a shape together, committed at the same moment by two instances; and
each instance's pages following the other's writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

import claimgraph.core
import claimgraph.prefetch
import claimgraph.store.shared
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import WRITE_ATTEMPTS, ClaimGraph
from claimgraph.errors import StoreError, ValidationFailed, WriteConflict
from claimgraph.formats import by_name
from claimgraph.pages import claims as claims_page
from claimgraph.rdfio import parse
from claimgraph.store import Delta, Store
from claimgraph.validation import Report, Validator
from tests.pages_helpers import BASE, html
from tests.sparql_helpers import AUTH, TOKEN
from tests.virtuoso import Virtuoso

CG = "https://claimgraph.org/ontology#"
TANG = ox.NamedNode(BASE + "id/actor/tang-qingyun")  # has no cg:country; takes at most one
GRAPH = ox.NamedNode(BASE + "graph/instances-test")
BIZARRE = BASE + "id/claim/crane-equipment-story-bizarre-and-sensational"
DENIAL = f"""
@prefix cg: <{CG}> .
@prefix stance: <https://claimgraph.org/vocab/stance#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{BASE}id/source/instances-test> a cg:NewsArticle ; cg:title "A later article"@en ;
    cg:publisher <{TANG.value}> ; cg:datePublished "2025-05-02"^^xsd:date ;
    cg:language "en"^^xsd:language .
<{BASE}id/statement/instances-test> a cg:Statement ; cg:speaker <{TANG.value}> ;
    cg:claim <{BIZARRE}> ; cg:stance stance:denies ; cg:date "2025-05-01"^^xsd:date ;
    cg:source <{BASE}id/source/instances-test> ; cg:excerpt "Not bizarre at all."@en .
"""


UPDATE = {**AUTH, "Content-Type": "application/sparql-update"}


def country(code: str) -> Delta:
    return Delta(add=[ox.Quad(TANG, ox.NamedNode(CG + "country"), ox.Literal(code), GRAPH)])


@pytest.fixture(scope="module")
def seeded(virtuoso: Virtuoso, validator: Validator) -> Iterator[Virtuoso]:
    """The shipped data on the session's Virtuoso, once for the module."""
    virtuoso.reset()
    graph = ClaimGraph(Settings(seed=False, **virtuoso.settings()), validator=validator)
    graph.seed()
    graph.close()
    yield virtuoso
    virtuoso.reset()


@pytest.fixture
def instances(seeded: Virtuoso, validator: Validator) -> Iterator[tuple[ClaimGraph, ClaimGraph]]:
    """Two instances over the same server; the graph they write to is emptied after the test."""
    settings = Settings(seed=False, page_refresh_wait=60.0, store_refresh=0.2, **seeded.settings())
    a, b = (ClaimGraph(settings, validator=validator) for _ in range(2))
    yield a, b
    a.store.apply(Delta(drop_graphs=[GRAPH]))
    a.close()
    b.close()


class Paused:
    """A validator that, the first time it validates, waits for the other instance to have
    validated too: both then commit writes checked against the state before either."""

    def __init__(self, validator: Validator, both: threading.Barrier) -> None:
        self.validator, self.both = validator, both
        self.calls = 0

    def validate_delta(self, store: object, delta: Delta, **kwargs: Any) -> Report:
        report = self.validator.validate_delta(store, delta, **kwargs)  # type: ignore[arg-type]
        self.calls += 1
        if self.calls == 1:
            self.both.wait(timeout=30)
        return report


def test_writes_valid_alone_but_not_together_one_lands(
    instances: tuple[ClaimGraph, ClaimGraph], validator: Validator
) -> None:
    both = threading.Barrier(2)
    outcomes: dict[str, Report | BaseException] = {}

    def write(graph: ClaimGraph, code: str) -> None:
        graph.validator = Paused(validator, both)  # type: ignore[assignment]
        try:
            outcomes[code] = graph.write(country(code))
        except BaseException as err:  # the test inspects it
            outcomes[code] = err

    threads = [
        threading.Thread(target=write, args=(graph, code))
        for graph, code in zip(instances, ("CN", "US"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    landed = [code for code, outcome in outcomes.items() if isinstance(outcome, Report)]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, ValidationFailed)]
    assert len(landed) == 1 and len(refused) == 1, outcomes
    assert "cg:country" in refused[0].report.text() and refused[0].http_status == 422
    loser = next(g for g, c in zip(instances, ("CN", "US"), strict=True) if c not in landed)
    assert loser.validator.calls == 2  # type: ignore[attr-defined]  # validated again, after
    store = instances[0].store
    stored = [q.object for q in store.quads(TANG, ox.NamedNode(CG + "country"))]
    assert stored == [ox.Literal(landed[0])]
    assert validator.validate_store(store).conforms


def test_a_write_built_from_reads_of_an_older_state_is_refused(
    instances: tuple[ClaimGraph, ClaimGraph],
) -> None:
    """A writer that read the store under the write lock (SPARQL Update's WHERE, an import)
    cannot have its delta re-validated: built from what it read, it is refused (409)."""
    a, b = instances
    with b.write_lock:  # b reads, and builds its write from what it read
        a.write(country("CN"))
        with pytest.raises(WriteConflict, match="send the request again") as info:
            b.write(Delta(add=[ox.Quad(TANG, ox.NamedNode(CG + "note"), ox.Literal("x"), GRAPH)]))
    assert info.value.http_status == 409
    assert list(a.store.quads(graph=GRAPH)) == [country("CN").add[0]]


def test_a_write_that_keeps_losing_gives_up(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = instances
    monkeypatch.setattr(a.store, "apply_at", lambda delta, generation, **_: None)
    bases: list[int] = []
    write_base = a.store.write_base  # type: ignore[attr-defined]
    monkeypatch.setattr(a.store, "write_base", lambda: bases.append(write_base()) or bases[-1])
    with pytest.raises(WriteConflict, match="kept writing to the store first"):
        a.write(country("CN"))
    assert len(bases) == WRITE_ATTEMPTS - 1  # (the first is read as the write lock is taken)


def test_an_instance_shows_another_instances_write_after_the_refresh_interval(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages are cached per write generation; over a remote store that is the store's, so B's
    caches follow A's writes, which B never saw, once B reads the generation again. (The
    instances' clock is the test's: the interval passes when the test says.)"""
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(claimgraph.core, "time", SimpleNamespace(monotonic=lambda: clock.now))
    a, b = instances
    client = create_app(b.settings, graph=b).test_client()
    assert "<time>2025-05-01</time>" not in html(client, "/")
    denies = client.get("/claims.json", query_string={"stance": "denies", "per_page": "200"})
    assert BIZARRE not in {c["iri"] for c in denies.get_json()["claims"]}
    seen = b.generation
    a.write(Delta(add=parse(DENIAL.encode(), by_name("turtle"), graph=GRAPH, iris=a.iris)))
    assert a.generation > seen
    assert b.generation == seen  # within the interval: B shows what it last read
    assert "<time>2025-05-01</time>" not in html(client, "/")
    clock.now += b.settings.store_refresh
    assert b.generation == a.generation > seen
    assert "<time>2025-05-01</time>" in html(client, "/")
    denies = client.get("/claims.json", query_string={"stance": "denies", "per_page": "200"})
    assert BIZARRE in {c["iri"] for c in denies.get_json()["claims"]}


def test_an_update_whose_where_read_an_older_state_is_a_409(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP: B evaluates a SPARQL Update's WHERE, A writes before B commits."""
    a, b = instances
    b_commit = b.store.apply_at  # type: ignore[attr-defined]

    def a_writes_first(delta: Delta, generation: int, **kwargs: Any) -> int | None:
        a.write(country("CN"))
        return b_commit(delta, generation, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(b.store, "apply_at", a_writes_first)
    client = create_app(b.settings.replace(write_token=TOKEN), graph=b).test_client()
    update = (
        f"INSERT {{ GRAPH <{GRAPH.value}> {{ ?a <{CG}note> 'x' }} }} "
        f"WHERE {{ BIND(<{TANG.value}> AS ?a) ?a a ?type }}"
    )
    reply = client.post("/update", data=update, headers={**UPDATE, "Accept": "application/json"})
    assert reply.status_code == 409, reply.get_data(as_text=True)
    assert "send the request again" in reply.get_json()["message"]
    assert list(a.store.quads(graph=GRAPH)) == [country("CN").add[0]]


def test_a_held_write_that_fails_lets_go_of_the_store(
    instances: tuple[ClaimGraph, ClaimGraph],
) -> None:
    """A write too large for one conditional update holds the store; Virtuoso refuses its data
    (it cannot store xsd:duration): the hold is let go of, nothing of the data is there, and
    the other instance writes without waiting."""
    a, b = instances
    before = b.store.generation()  # type: ignore[attr-defined]
    p = ox.NamedNode("https://example.org/p")
    duration = ox.Literal("P1D", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#duration"))
    big = [
        ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), p, ox.Literal(f"v {i}"), GRAPH)
        for i in range(300)
    ]
    big.append(ox.Quad(ox.NamedNode("https://example.org/d"), p, duration, GRAPH))
    with pytest.raises(StoreError, match="HTTP 400: Virtuoso"):
        a.write(Delta(add=big))
    assert b.store.generation() == before + 2  # type: ignore[attr-defined]  # held, let go
    assert b.store._state().held is None  # type: ignore[attr-defined]
    assert b.store.count(GRAPH) == 0
    b.write(country("CN"))
    assert list(a.store.quads(graph=GRAPH)) == [country("CN").add[0]]


def test_the_registry_graph_cannot_be_written_over_http(
    instances: tuple[ClaimGraph, ClaimGraph],
) -> None:
    """Through SPARQL Update and the Graph Store protocol: a forged pending write would hold
    every instance's writes, a dropped generation would start again from 0."""
    a, b = instances
    a.write(country("CN"))
    generation = b.store.generation()  # type: ignore[attr-defined]
    client = create_app(b.settings.replace(write_token=TOKEN), graph=b).test_client()
    registry = "<urn:claimgraph:graphs>"
    value = f"<urn:claimgraph:generation> <urn:claimgraph:value> {generation}"
    pending = f"<urn:claimgraph:write/{generation}> <urn:claimgraph:pending> 100000"
    for update in [
        f"DELETE DATA {{ GRAPH {registry} {{ {value} }} }}",
        f"INSERT DATA {{ GRAPH {registry} {{ {pending} }} }}",
        f"DROP GRAPH {registry}",
        f"COPY <{GRAPH.value}> TO {registry}",
    ]:
        reply = client.post(
            "/update", data=update, headers={**UPDATE, "Accept": "application/json"}
        )
        assert reply.status_code == 400, (update, reply.get_data(as_text=True))
        assert "is reserved" in reply.get_json()["message"]
    for method in ("PUT", "POST", "DELETE"):
        reply = client.open(
            "/graph-store",
            method=method,
            query_string={"graph": "urn:claimgraph:graphs"},
            data=f"{value} .",
            headers={**AUTH, "Content-Type": "application/n-triples", "Accept": "application/json"},
        )
        assert reply.status_code == 400 and "is reserved" in reply.get_json()["message"], method
    assert b.store.generation() == generation  # type: ignore[attr-defined]
    assert b.store._state().held is None  # type: ignore[attr-defined]


def test_a_graph_read_over_a_remote_store_reads_no_generation(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Graph Store answers from a remote store carry no ETag: the generation is not read."""
    a, b = instances
    a.write(country("CN"))
    client = create_app(b.settings, graph=b).test_client()
    monkeypatch.setattr(b, "settings", b.settings.replace(store_refresh=0.0))

    def unread() -> int:
        raise AssertionError("the generation was read")

    monkeypatch.setattr(b.store, "generation", unread)
    reply = client.get(
        "/graph-store", query_string={"graph": GRAPH.value}, headers={"Accept": "text/turtle"}
    )
    assert reply.status_code == 200 and "ETag" not in reply.headers


def test_an_instances_own_write_is_followed_by_its_claims_index_without_a_rebuild(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write's listeners run before its generation is published, even where the store's
    generation is read again meanwhile: a request made then reads the index before the write,
    and the next one updates it from what the write touched."""
    a, _ = instances
    monkeypatch.setattr(a, "settings", a.settings.replace(store_refresh=0.0))  # read each time
    client = create_app(a.settings, graph=a).test_client()

    def denied() -> set[str]:
        reply = client.get("/claims.json", query_string={"stance": "denies", "per_page": "200"})
        assert reply.status_code == 200
        return {c["iri"] for c in reply.get_json()["claims"]}

    assert BIZARRE not in denied()
    calls: list[str] = []
    for name in ("build", "updated"):
        original = getattr(claims_page.ClaimIndex, name)

        def counted(*args: object, _name: str = name, _original: object = original) -> object:
            calls.append(_name)
            return _original(*args)  # type: ignore[operator]

        monkeypatch.setattr(claims_page.ClaimIndex, name, counted)
    before = a.generation
    during: list[tuple[int, int, bool]] = []

    def meanwhile(generation: int, delta: Delta) -> None:
        during.append((generation, a.generation, BIZARRE in denied()))

    a.write_listeners.insert(0, meanwhile)
    a.write(Delta(add=parse(DENIAL.encode(), by_name("turtle"), graph=GRAPH, iris=a.iris)))
    assert during == [(before + 1, before, False)]
    assert a.generation == before + 1 and BIZARRE in denied()
    assert calls == ["updated"]


class Reads:
    """The queries one instance sends to the store, and its claims index's builds/updates."""

    def __init__(self, graph: ClaimGraph, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        self.calls: list[str] = []
        original_read = graph.store._read  # type: ignore[attr-defined]

        def read(sparql: str, *args: object, **kwargs: object) -> object:
            self.sent.append(sparql)
            return original_read(sparql, *args, **kwargs)

        monkeypatch.setattr(graph.store, "_read", read)
        for name in ("build", "updated"):
            original = getattr(claims_page.ClaimIndex, name)

            def counted(*args: object, _name: str = name, _original: object = original) -> object:
                self.calls.append(_name)
                return _original(*args)  # type: ignore[operator]

            monkeypatch.setattr(claims_page.ClaimIndex, name, counted)

    def clear(self) -> None:
        self.sent.clear()
        self.calls.clear()


def denials(client: FlaskClient) -> set[str]:
    reply = client.get("/claims.json", query_string={"stance": "denies", "per_page": "200"})
    assert reply.status_code == 200
    return {c["iri"] for c in reply.get_json()["claims"]}


def test_another_instances_write_is_followed_from_its_record_without_a_rebuild(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """B reads what A's write changed from the registry (one small read) and updates its
    claims index from it: no whole-store read."""
    a, b = instances
    monkeypatch.setattr(b, "settings", b.settings.replace(store_refresh=0.0))
    client = create_app(b.settings, graph=b).test_client()
    assert BIZARRE not in denials(client)  # B's index, built
    reads = Reads(b, monkeypatch)
    a.write(Delta(add=parse(DENIAL.encode(), by_name("turtle"), graph=GRAPH, iris=a.iris)))
    assert BIZARRE in denials(client)
    assert reads.calls == ["updated"]
    records = [q for q in reads.sent if "<urn:claimgraph:touched>" in q]
    assert len(records) == 1
    # every other read names the resources it reads (VALUES), or is of the registry
    unscoped = [q for q in reads.sent if "VALUES" not in q and "<urn:claimgraph:" not in q]
    assert not unscoped
    assert len(reads.sent) <= 16  # the generation, the record, the index's reads by VALUES


def test_a_write_not_recorded_makes_the_other_instance_rebuild(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write too large for one conditional operation records nothing: B starts over."""
    a, b = instances
    monkeypatch.setattr(b, "settings", b.settings.replace(store_refresh=0.0))
    client = create_app(b.settings, graph=b).test_client()
    assert BIZARRE not in denials(client)
    reads = Reads(b, monkeypatch)
    monkeypatch.setattr(claimgraph.store.shared, "SINGLE_OPERATION_LIMIT", 2)
    a.write(Delta(add=parse(DENIAL.encode(), by_name("turtle"), graph=GRAPH, iris=a.iris)))
    assert BIZARRE in denials(client)
    assert reads.calls == ["build"]


SKOS = "http://www.w3.org/2004/02/skos/core#"
NEW_TOPIC = ox.NamedNode("https://claimgraph.org/vocab/topic#instances-test")


def new_topic() -> Delta:
    """A new concept of the topic scheme: it makes a term."""
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    scheme = ox.NamedNode("https://claimgraph.org/vocab/topic")
    return Delta(
        add=[
            ox.Quad(NEW_TOPIC, rdf_type, ox.NamedNode(f"{SKOS}Concept"), GRAPH),
            ox.Quad(
                NEW_TOPIC,
                ox.NamedNode(f"{SKOS}prefLabel"),
                ox.Literal("test", language="en"),
                GRAPH,
            ),
            ox.Quad(NEW_TOPIC, ox.NamedNode(f"{SKOS}inScheme"), scheme, GRAPH),
        ]
    )


class TermReads:
    """How often one instance reads the term quads from its store."""

    def __init__(self, graph: ClaimGraph, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = claimgraph.prefetch.term_quads

        def counted(store: Store) -> list[ox.Quad]:
            self.count += store is graph.store
            return original(store)

        monkeypatch.setattr(claimgraph.prefetch, "term_quads", counted)


@pytest.fixture
def following(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> tuple[ClaimGraph, ClaimGraph, TermReads]:
    """A and B, B reading the store's generation each time it is asked and holding the term
    quads of the current generation; the term reads counted from then on."""
    a, b = instances
    monkeypatch.setattr(b, "settings", b.settings.replace(store_refresh=0.0))
    b.term_quads()
    return a, b, TermReads(b, monkeypatch)


def test_another_instances_writes_that_leave_the_terms_alone_keep_them(
    following: tuple[ClaimGraph, ClaimGraph, TermReads], monkeypatch: pytest.MonkeyPatch
) -> None:
    """B follows A's ordinary writes from their records, in the one small read it makes to
    follow them: its term quads are kept, not read again."""
    a, b, term_reads = following
    terms = b.term_quads()
    reads = Reads(b, monkeypatch)
    a.write(Delta(add=parse(DENIAL.encode(), by_name("turtle"), graph=GRAPH, iris=a.iris)))
    a.write(country("CN"))
    assert b.term_quads() is terms and b.generation == a.generation
    assert term_reads.count == 0
    records = [q for q in reads.sent if "<urn:claimgraph:terms>" in q]
    assert len(records) == 1  # and the generation, read each time B is asked for it
    assert all("<urn:claimgraph:generation>" in q for q in reads.sent if q not in records)
    # B's resource page, over the kept term quads, shows A's write
    client = create_app(b.settings, graph=b).test_client()
    page = html(client, "/id/statement/instances-test")
    assert "Not bizarre at all." in page and term_reads.count == 0
    assert set(terms) == set(claimgraph.prefetch.term_quads(b.store))  # what a read gives


def test_another_instances_write_that_makes_or_changes_a_term_is_read_again(
    following: tuple[ClaimGraph, ClaimGraph, TermReads],
) -> None:
    """A write that makes a new concept, then one that labels an existing one: B reads the
    term quads again after each, and finds the change."""
    a, b, term_reads = following
    a.write(new_topic())
    assert any(q.subject == NEW_TOPIC for q in b.term_quads())
    assert term_reads.count == 1
    terms = b.term_quads()
    assert term_reads.count == 1  # kept for the generation
    denies = ox.NamedNode("https://claimgraph.org/vocab/stance#denies")
    label = ox.Quad(
        denies, ox.NamedNode(f"{SKOS}altLabel"), ox.Literal("rejects", language="en"), GRAPH
    )
    a.write(Delta(add=[label]))
    assert label in b.term_quads() and label not in terms
    assert term_reads.count == 2


def test_another_instances_write_without_a_record_makes_the_terms_read_again(
    following: tuple[ClaimGraph, ClaimGraph, TermReads], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write too large for one conditional operation records nothing, nor do writes
    further back than the records followed: B cannot tell whether the terms changed."""
    a, b, term_reads = following
    with monkeypatch.context() as m:
        m.setattr(claimgraph.store.shared, "SINGLE_OPERATION_LIMIT", 1)
        a.write(country("CN"))
    b.term_quads()
    assert term_reads.count == 1
    monkeypatch.setattr(claimgraph.store.shared, "FOLLOWED_RECORDS", 1)
    a.write(Delta(add=parse(DENIAL.encode(), by_name("turtle"), graph=GRAPH, iris=a.iris)))
    a.write(Delta(add=[ox.Quad(TANG, ox.NamedNode(CG + "note"), ox.Literal("x"), GRAPH)]))
    b.term_quads()  # two writes missed, one record followed
    assert term_reads.count == 2


def test_a_write_after_another_instances_follows_the_term_quads_to_its_base(
    instances: tuple[ClaimGraph, ClaimGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """B has not yet looked at the store since A wrote: its own write, validated against the
    store as it is now, follows A's write from its record rather than reading the term quads
    again."""
    a, b = instances
    monkeypatch.setattr(b, "settings", b.settings.replace(store_refresh=3600.0))
    b.term_quads()
    seen = b.generation
    term_reads = TermReads(b, monkeypatch)
    a.write(country("CN"))
    assert b.generation == seen  # not followed yet
    b.write(Delta(add=[ox.Quad(TANG, ox.NamedNode(CG + "note"), ox.Literal("y"), GRAPH)]))
    assert term_reads.count == 0
    assert b.generation == seen + 2
    # and a write that changes a term, made by A in between, makes B's next write read them
    a.write(new_topic())
    b.write(Delta(add=[ox.Quad(TANG, ox.NamedNode(CG + "note"), ox.Literal("z"), GRAPH)]))
    assert term_reads.count == 1
