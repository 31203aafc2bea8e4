"""The claims list: search, filters, sort, pagination, and its JSON and CSV twins."""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.formats import by_name
from claimgraph.iris import CG, PREFIXES, SCHEMA, STANCE, VERDICT
from claimgraph.iris import TOPIC as TOPIC_NS
from claimgraph.pages import claims as claims_page
from claimgraph.rdfio import parse
from claimgraph.store import Delta
from tests.pages_helpers import BASE, html
from tests.sparql_helpers import AUTH, TOKEN

TOPIC = "https://claimgraph.org/vocab/topic#cellular-modems"
TANG = "https://claimgraph.org/id/actor/tang-qingyun"
MINIMAL = Path(__file__).parent / "fixtures" / "valid" / "minimal.trig"
BIZARRE = BASE + "id/claim/crane-equipment-story-bizarre-and-sensational"
FACTORY = BASE + "id/claim/cranes-leave-factory-with-modems"  # in MINIMAL, reviewed FALSE
CRITIC = BASE + "id/actor/test-critic"
STATEMENT = BASE + "id/statement/test-critic-denies"
REVIEW = BASE + "id/review/checkers-united-factory-modems"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
UPDATE = {**AUTH, "Content-Type": "application/sparql-update"}
DENIAL = f"""
@prefix cg: <https://claimgraph.org/ontology#> .
@prefix schema: <http://schema.org/> .
@prefix stance: <https://claimgraph.org/vocab/stance#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{CRITIC}> a cg:Person ; schema:name "Test Critic"@en .
<{BASE}id/source/test-critique> a cg:NewsArticle ; cg:title "A critique"@en ;
    cg:publisher <{CRITIC}> ; cg:datePublished "2025-05-02"^^xsd:date ;
    cg:language "en"^^xsd:language .
<{STATEMENT}> a cg:Statement ; cg:speaker <{CRITIC}> ;
    cg:claim <{BIZARRE}> ; cg:stance stance:denies ; cg:date "2025-05-01"^^xsd:date ;
    cg:source <{BASE}id/source/test-critique> ; cg:excerpt "Nothing bizarre about it."@en .
"""


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def claims(client: FlaskClient, **params: str) -> list[dict[str, object]]:
    reply = client.get("/claims.json", query_string=params)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    data: list[dict[str, object]] = reply.get_json()["claims"]
    return data


def test_list_and_search(client: FlaskClient) -> None:
    everything = claims(client, per_page="200")
    modem = claims(client, q="MODEM")
    assert 0 < len(modem) < len(everything)
    assert all("modem" in str(c["text"]).lower() for c in modem)
    body = html(client, "/claims?q=modem")
    assert 'value="modem"' in body and 'href="/id/claim/zpmc-installs-modems-at-factory"' in body


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"topic": TOPIC}, "zpmc-installs-modems-at-factory"),
        ({"speaker": TANG}, "zpmc-installs-modems-at-factory"),
        ({"speaker": TANG, "stance": "denies"}, "zpmc-installs-modems-at-factory"),
        ({"stance": "denies", "from": "2024-04", "to": "2024-04"}, None),
        ({"lang": "en"}, None),
    ],
)
def test_filters(client: FlaskClient, params: dict[str, str], expect: str | None) -> None:
    found = claims(client, per_page="200", **params)
    everything = claims(client, per_page="200")
    assert found and len(found) <= len(everything)
    if expect:
        assert any(str(c["iri"]).endswith(expect) for c in found)


def test_filters_narrow(client: FlaskClient) -> None:
    assert claims(client, speaker=TANG, stance="questions") == []
    assert claims(client, **{"from": "2030"}) == []
    assert claims(client, lang="xx") == []


def test_bad_filters_are_400(client: FlaskClient) -> None:
    for params in (
        {"from": "soon"},
        {"sort": "random"},
        {"page": "x"},
        {"speaker": "not an iri"},
        {"stance": "x> } #"},
    ):
        assert client.get("/claims", query_string=params).status_code == 400
    assert client.get("/claims.xml").status_code == 404


def test_pagination(client: FlaskClient) -> None:
    first = client.get("/claims.json?per_page=5").get_json()
    second = client.get(first["next"]).get_json()
    assert len(first["claims"]) == 5 and first["prev"] is None
    assert {c["iri"] for c in first["claims"]}.isdisjoint({c["iri"] for c in second["claims"]})
    assert second["page"] == 2 and second["prev"] is not None
    body = html(client, "/claims?per_page=5&page=2")
    assert 'rel="prev" href="/claims?per_page=5"' in body
    assert 'rel="next" href="/claims?page=3&amp;per_page=5"' in body
    assert '<ol class="claims" start="6">' in body


def test_sort(client: FlaskClient) -> None:
    by_text = [c["text"] for c in claims(client, sort="text", per_page="200")]
    assert by_text == sorted(by_text)
    by_count = [c["statements"] for c in claims(client, per_page="200")]
    assert by_count == sorted(by_count, reverse=True)  # type: ignore[type-var]


def test_csv_twin_and_alternate_links(client: FlaskClient) -> None:
    reply = client.get("/claims.csv", query_string={"q": "modem"})
    assert reply.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert rows and len(rows) == len(claims(client, q="modem"))
    page = client.get("/claims?q=modem")
    assert (
        '</claims.json?q=modem>; rel="alternate"; type="application/json"' in page.headers["Link"]
    )
    assert 'href="/claims.csv?q=modem"' in page.get_data(as_text=True)


# -- the index follows writes ---------------------------------------------------------------


def iris(client: FlaskClient, **params: str) -> set[str]:
    return {str(c["iri"]) for c in claims(client, per_page="200", **params)}


def denial(cg: ClaimGraph) -> list[ox.Quad]:
    return parse(
        DENIAL.encode(), by_name("turtle"), graph=ox.NamedNode(BASE + "graph/t"), iris=cg.iris
    )


def about(cg: ClaimGraph, *subjects: str) -> list[ox.Quad]:
    return [q for s in subjects for q in cg.store.quads(ox.NamedNode(s), None, None)]


def swap(cg: ClaimGraph, subject: str, predicate: str, old: str, new: str) -> Delta:
    """Replaces an object of ``subject`` (terms as prefixed names), in the graph that holds it."""

    def iri(name: str) -> ox.NamedNode:
        if "://" in name:
            return ox.NamedNode(name)
        prefix, local = name.split(":")
        return ox.NamedNode(PREFIXES[prefix] + local)

    (was,) = cg.store.quads(ox.NamedNode(subject), iri(predicate), iri(old))
    return Delta(remove=[was], add=[ox.Quad(was.subject, was.predicate, iri(new), was.graph_name)])


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Counts the calls of ``ClaimIndex.<name>`` (still doing what it does)."""
    calls: list[int] = []
    original = getattr(claims_page.ClaimIndex, name)

    def counted(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(claims_page.ClaimIndex, name, counted)
    return calls


def test_filters_follow_writes_without_a_rebuild(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = create_app(settings, graph=seeded).test_client()
    assert BIZARRE not in iris(client, stance="denies")
    builds, updates = count_calls(monkeypatch, "build"), count_calls(monkeypatch, "updated")

    quads = denial(seeded)
    seeded.write(Delta(add=quads))
    assert BIZARRE in iris(client, stance="denies")
    assert iris(client, **{"from": "2025"}) == {BIZARRE}
    assert iris(client, speaker=CRITIC, stance="denies", to="2025-05") == {BIZARRE}
    assert f'<option value="{CRITIC}">Test Critic</option>' in html(client, "/claims")
    assert iris(client, speaker=CRITIC, stance="asserts") == set()
    assert iris(client, speaker=CRITIC, **{"from": "2026"}) == set()
    assert claims(client, sort="recent")[0]["iri"] == BIZARRE

    seeded.load([MINIMAL])  # a new claim, with a topic, Chinese text and a FALSE verdict
    assert iris(client, verdict="FALSE") == {FACTORY}
    assert FACTORY in iris(client, topic=TOPIC) & iris(client, lang="zh")
    assert iris(client, q="HARBOR CRANE WORKS CRANES") == {FACTORY}

    seeded.write(Delta(remove=quads))
    assert BIZARRE not in iris(client, stance="denies")
    assert iris(client, **{"from": "2025"}) == set()
    seeded.write(Delta(remove=about(seeded, REVIEW)))
    assert iris(client, verdict="FALSE") == set()
    assert (len(builds), len(updates)) == (0, 4)


def index_of(app: Flask) -> claims_page.ClaimIndex:
    with app.test_request_context():
        return claims_page.index()


def rebuilt(app: Flask, cg: ClaimGraph) -> claims_page.ClaimIndex:
    with app.app_context():
        return claims_page.ClaimIndex.build(cg)


def rename(cg: ClaimGraph, who: str, old: ox.Literal, new: ox.Literal) -> Delta:
    """Replaces the name ``old`` of ``who`` with ``new``, in the graph that holds it."""
    (was,) = cg.store.quads(ox.NamedNode(who), ox.NamedNode(SCHEMA + "name"), old)
    return Delta(remove=[was], add=[ox.Quad(was.subject, was.predicate, new, was.graph_name)])


def without_claim(cg: ClaimGraph, claim: str) -> Delta:
    """The removal of ``claim`` with what is about it (statements, evidence, assessments), and
    of what those say in turn, so that what is left validates."""
    gone, todo = set(), [claim]
    while todo:
        node = todo.pop()
        gone.add(node)
        for q in cg.store.quads(None, None, ox.NamedNode(node)):
            if isinstance(q.subject, ox.NamedNode) and q.subject.value not in gone:
                todo.append(q.subject.value)
    return Delta(remove=about(cg, *gone))


def sparql_update(client: FlaskClient, update: str) -> None:
    reply = client.post("/update", data=update, headers=UPDATE)
    assert reply.status_code == 200, reply.get_data(as_text=True)


def test_incremental_update_equals_full_rebuild(
    settings: Settings,
    seeded: ClaimGraph,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    app = create_app(dataclasses.replace(settings, write_token=TOKEN), graph=seeded)
    client = app.test_client()
    request.addfinalizer(app.extensions["claimgraph.sparql"].close)
    before = index_of(app)
    updates = count_calls(monkeypatch, "updated")
    quads = denial(seeded)
    english = ox.Literal("Test Critic", language="en")
    renamed = ox.Literal("A Renamed Critic", language="en")
    steps: list[tuple[Callable[[], object], Callable[[claims_page.ClaimIndex], bool]]] = [
        (lambda: seeded.write(Delta(add=quads)), lambda i: CRITIC in i.entries[BIZARRE].speakers),
        (lambda: seeded.load([MINIMAL]), lambda i: FACTORY in i.entries),
        (
            lambda: seeded.write(
                Delta(
                    add=[
                        ox.Quad(
                            ox.NamedNode(BIZARRE),
                            ox.NamedNode(CG + "text"),
                            ox.Literal("奇怪的故事", language="zh"),
                            ox.NamedNode(BASE + "graph/t"),
                        )
                    ]
                )
            ),
            lambda i: i.entries[BIZARRE].langs == ("en", "zh"),
        ),
        (
            lambda: seeded.write(
                swap(seeded, STATEMENT, "cg:stance", "stance:denies", "stance:questions")
            ),
            lambda i: STANCE + "denies" not in i.entries[BIZARRE].stances,
        ),
        (
            lambda: seeded.write(
                swap(seeded, REVIEW, "cg:normalizedVerdict", "verdict:FALSE", "verdict:MIXTURE")
            ),
            lambda i: i.entries[FACTORY].verdicts == (VERDICT + "MIXTURE",),
        ),
        (  # a statement moves to another claim
            lambda: seeded.write(swap(seeded, STATEMENT, "cg:claim", BIZARRE, FACTORY)),
            lambda i: (
                CRITIC in i.entries[FACTORY].speakers and CRITIC not in i.entries[BIZARRE].speakers
            ),
        ),
        (  # a review moves to another claim
            lambda: seeded.write(swap(seeded, REVIEW, "schema:itemReviewed", FACTORY, BIZARRE)),
            lambda i: (
                i.entries[BIZARRE].verdicts == (VERDICT + "MIXTURE",)
                and not i.entries[FACTORY].verdicts
            ),
        ),
        (  # a speaker renamed
            lambda: seeded.write(rename(seeded, CRITIC, english, renamed)),
            lambda i: (CRITIC, "A Renamed Critic") in i.choices()["speaker"],
        ),
        (  # … and left without an English name
            lambda: seeded.write(
                rename(seeded, CRITIC, renamed, ox.Literal("Kritiker", language="de"))
            ),
            lambda i: CRITIC not in i.names and CRITIC in i.entries[FACTORY].speakers,
        ),
        (  # a topic changed
            lambda: seeded.write(swap(seeded, FACTORY, "cg:topic", TOPIC, "topic:espionage")),
            lambda i: (
                i.entries[FACTORY].topics
                == (TOPIC_NS + "crane-manufacturing", TOPIC_NS + "espionage")
            ),
        ),
        (  # a SPARQL Update over HTTP: its delta is read under the write lock
            lambda: sparql_update(
                client,
                f"""PREFIX cg: <{CG}> PREFIX stance: <{STANCE}>
                DELETE {{ GRAPH ?g {{ ?s cg:stance ?x }} }}
                INSERT {{ GRAPH ?g {{ ?s cg:stance stance:asserts }} }}
                WHERE {{ VALUES ?s {{ <{STATEMENT}> }} GRAPH ?g {{ ?s cg:stance ?x }} }}""",
            ),
            lambda i: (CRITIC, STANCE + "asserts", "2025-05-01") in i.entries[FACTORY].said,
        ),
        (  # a claim deleted, with its statements, evidence and assessment
            lambda: seeded.write(without_claim(seeded, FACTORY)),
            lambda i: FACTORY not in i.entries and ("speaker", CRITIC) not in i.tally,
        ),
        (
            lambda: seeded.write(
                Delta(remove=about(seeded, REVIEW, BASE + "id/rating/checkers-united-mostly-false"))
            ),
            lambda i: not i.entries[BIZARRE].verdicts,
        ),
    ]
    for number, (step, check) in enumerate(steps, 1):
        kept = dict(before.entries)
        step()
        fresh = index_of(app)
        assert before.entries == kept  # pages still reading the previous index see no change
        assert check(fresh), number
        scratch = rebuilt(app, seeded)
        assert fresh.entries == scratch.entries and fresh.names == scratch.names, number
        assert fresh.tally == scratch.tally and fresh.choices() == scratch.choices(), number
        for sort in claims_page.SORTS:
            assert fresh.ordered(sort) == scratch.ordered(sort), (number, sort)
        before = fresh
    assert len(updates) == len(steps)


def test_big_dropped_or_unseen_writes_rebuild_the_index(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = create_app(settings, graph=seeded).test_client()
    iris(client)
    builds, updates = count_calls(monkeypatch, "build"), count_calls(monkeypatch, "updated")
    monkeypatch.setattr(claims_page, "MAX_TOUCHED", 20)
    seeded.load([MINIMAL])  # more quads than the bound
    assert iris(client, verdict="FALSE") == {FACTORY}
    assert (len(builds), len(updates)) == (1, 0)
    seeded.load([MINIMAL], replace=True)  # drops its graph first
    assert iris(client, verdict="FALSE") == {FACTORY}
    assert (len(builds), len(updates)) == (2, 0)
    seeded.generation += 1  # a write by another instance sharing the store
    iris(client)
    assert (len(builds), len(updates)) == (3, 0)
    seeded.write(Delta(add=denial(seeded)))  # small, seen: followed
    assert BIZARRE in iris(client, stance="denies")
    assert (len(builds), len(updates)) == (3, 1)


def test_a_request_during_a_write_serves_the_index_before_it(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listeners run before the new generation is published: a request made meanwhile
    reads the previous index, and the next one after the write updates it (no rebuild)."""
    app = create_app(settings, graph=seeded)
    client = app.test_client()
    previous = index_of(app)
    builds, updates = count_calls(monkeypatch, "build"), count_calls(monkeypatch, "updated")
    during: list[claims_page.ClaimIndex] = []

    def request_meanwhile(generation: int, delta: Delta) -> None:
        during.append(index_of(app))
        assert BIZARRE not in iris(client, stance="denies")

    seeded.write_listeners.insert(0, request_meanwhile)
    seeded.write(Delta(add=denial(seeded)))
    assert during == [previous]
    assert BIZARRE in iris(client, stance="denies")
    assert (len(builds), len(updates)) == (0, 1)


def test_a_failing_listener_neither_fails_the_write_nor_stops_the_others(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = create_app(settings, graph=seeded).test_client()
    iris(client)
    builds, updates = count_calls(monkeypatch, "build"), count_calls(monkeypatch, "updated")

    def broken(generation: int, delta: Delta) -> None:
        raise RuntimeError("a cache of something else")

    seeded.write_listeners.insert(0, broken)
    seeded.write(Delta(add=denial(seeded)))  # stored, and said so
    assert BIZARRE in iris(client, stance="denies")
    assert (len(builds), len(updates)) == (0, 1)  # the claims index followed it all the same

    def unreadable(delta: Delta) -> frozenset[str] | None:
        raise RuntimeError("cannot tell what it touched")

    monkeypatch.setattr(claims_page, "touched_by", unreadable)
    seeded.load([MINIMAL])
    assert iris(client, verdict="FALSE") == {FACTORY}  # rebuilt from the store
    assert (len(builds), len(updates)) == (1, 1)


def test_a_failed_update_serves_the_previous_index_then_rebuilds(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(dataclasses.replace(settings, page_refresh_wait=0.0), graph=seeded)
    client = app.test_client()
    iris(client)
    gate, original = threading.Event(), claims_page.ClaimIndex.build

    def failing(*args: Any) -> Any:
        raise TimeoutError("the store did not answer in time")

    def held(cg: ClaimGraph) -> claims_page.ClaimIndex:
        assert gate.wait(30)
        return original(cg)

    monkeypatch.setattr(claims_page.ClaimIndex, "updated", failing)
    monkeypatch.setattr(claims_page.ClaimIndex, "build", held)
    seeded.write(Delta(add=denial(seeded)))
    assert BIZARRE not in iris(client, stance="denies")  # 200, the index before the write
    gate.set()
    join_refreshes()
    assert BIZARRE in iris(client, stance="denies")


def join_refreshes() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("summary:"):
            thread.join(30)


def test_a_big_update_runs_in_the_background(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = create_app(settings, graph=seeded).test_client()
    iris(client)
    monkeypatch.setattr(claims_page, "CHUNK", 10)
    where: list[str] = []
    original = claims_page.ClaimIndex.updated

    def updated(index: claims_page.ClaimIndex, cg: ClaimGraph, touched: set[str]) -> Any:
        where.append(threading.current_thread().name)
        return original(index, cg, touched)

    monkeypatch.setattr(claims_page.ClaimIndex, "updated", updated)
    seeded.write(Delta(add=denial(seeded)))  # 4 resources: in the request
    assert BIZARRE in iris(client, stance="denies")
    seeded.load([MINIMAL])  # more than a chunk of them: in the background
    assert iris(client, verdict="FALSE") == {FACTORY}  # waited for (page_refresh_wait)
    assert where == [threading.current_thread().name, "summary:claims:index"]


def test_filtered_views_kept_are_bounded(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = index_of(create_app(settings, graph=seeded))
    total = len(index.entries)
    monkeypatch.setattr(claims_page, "MEMO_ENTRIES", total + 1, raising=False)
    views = [claims_page.Query(lang="en"), claims_page.Query(q="e")]
    views += [claims_page.Query(q=f"{letter}") for letter in "aiou"]
    for query in views:
        found = index.find(query)
        assert index.find(query) is found  # kept for paging
        kept = index._matches.values()
        assert sum(map(len, kept)) <= max(total + 1, len(found))
    assert len(index._matches) < len(views)


def test_apps_over_one_graph_do_not_pile_up_listeners(
    settings: Settings, seeded: ClaimGraph
) -> None:
    for _ in range(5):
        create_app(settings, graph=seeded)
    gc.collect()
    app = create_app(settings, graph=seeded)
    # one for the claims index, one for the query workers' copies: the latest app's only
    assert len(seeded.write_listeners) == 2
    claims_page.init_app(app, seeded)  # again: not twice
    assert len(seeded.write_listeners) == 2


def test_a_read_cut_at_the_row_bound_is_logged(
    settings: Settings,
    seeded: ClaimGraph,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(settings, graph=seeded)
    rebuilt(app, seeded)
    assert "bound" not in caplog.text
    monkeypatch.setattr(claims_page, "MAX_ROWS", 3)
    rebuilt(app, seeded)
    assert "stopped at its bound of 3 rows" in caplog.text


def test_blank_node_claims_are_left_out(settings: Settings, seeded: ClaimGraph) -> None:
    graph = ox.NamedNode(BASE + "graph/t")
    seeded.store.apply(
        Delta(
            add=[
                ox.Quad(
                    ox.BlankNode("b1"), ox.NamedNode(RDF_TYPE), ox.NamedNode(CG + "Claim"), graph
                ),
                ox.Quad(
                    ox.BlankNode("b1"), ox.NamedNode(CG + "text"), ox.Literal("Anonymous"), graph
                ),
            ]
        )
    )
    index = rebuilt(create_app(settings, graph=seeded), seeded)
    assert index.entries and all(iri.startswith("https://") for iri in index.entries)


def test_the_filter_form_lands_on_a_url_without_empty_fields(client: FlaskClient) -> None:
    # what the form submits: every field, most of them empty
    form = {"q": "", "topic": "", "speaker": "", "stance": "denies", "verdict": "", "from": ""}
    reply = client.get("/claims", query_string=form)
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/claims?stance=denies"
    assert client.get("/claims?q=&lang=").headers["Location"] == "/claims"
    assert client.get("/claims?stance=denies").status_code == 200  # a clean URL stays


def test_a_bad_filter_shows_the_form_with_the_error(client: FlaskClient) -> None:
    reply = client.get("/claims?from=soon&stance=denies", headers={"Accept": "text/html"})
    assert reply.status_code == 400
    body = reply.get_data(as_text=True)
    assert 'role="alert"' in body and "from must be a date" in body
    assert '<form class="filters"' in body and 'value="soon"' in body  # to correct it there
    assert '<option value="denies" selected>' in body


def test_the_list_downloads_are_named_by_content(client: FlaskClient) -> None:
    for fmt in ("csv", "json"):
        reply = client.get(f"/claims.{fmt}")
        assert reply.headers["Content-Disposition"] == f'inline; filename="claims.{fmt}"'
