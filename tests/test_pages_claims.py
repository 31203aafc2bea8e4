"""The claims list: search, filters, sort, pagination, and its JSON and CSV twins."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.config import Settings
from server.core import ClaimGraph
from server.formats import by_name
from server.iris import PREFIXES
from server.pages import claims as claims_page
from server.rdfio import parse
from server.store import Delta
from tests.pages_helpers import BASE, html

TOPIC = "https://claimgraph.org/vocab/topic#cellular-modems"
TANG = "https://claimgraph.org/id/actor/tang-qingyun"
MINIMAL = Path(__file__).parent / "fixtures" / "valid" / "minimal.trig"
BIZARRE = BASE + "id/claim/crane-equipment-story-bizarre-and-sensational"
FACTORY = BASE + "id/claim/cranes-leave-factory-with-modems"  # in MINIMAL, reviewed FALSE
CRITIC = BASE + "id/actor/test-critic"
STATEMENT = BASE + "id/statement/test-critic-denies"
REVIEW = BASE + "id/review/checkers-united-factory-modems"
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


def test_incremental_update_equals_full_rebuild(
    settings: Settings, seeded: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(settings, graph=seeded)
    before = index_of(app)
    updates = count_calls(monkeypatch, "updated")
    quads = denial(seeded)
    steps = [
        lambda: seeded.write(Delta(add=quads)),
        lambda: seeded.load([MINIMAL]),
        lambda: seeded.write(
            Delta(
                add=[
                    ox.Quad(
                        ox.NamedNode(BIZARRE),
                        ox.NamedNode("https://claimgraph.org/ontology#text"),
                        ox.Literal("奇怪的故事", language="zh"),
                        ox.NamedNode(BASE + "graph/t"),
                    )
                ]
            )
        ),
        lambda: seeded.write(
            swap(seeded, STATEMENT, "cg:stance", "stance:denies", "stance:questions")
        ),
        lambda: seeded.write(
            swap(seeded, REVIEW, "cg:normalizedVerdict", "verdict:FALSE", "verdict:MIXTURE")
        ),
        lambda: seeded.write(Delta(remove=about(seeded, STATEMENT))),
        lambda: seeded.write(
            Delta(remove=about(seeded, REVIEW, BASE + "id/rating/checkers-united-mostly-false"))
        ),
    ]
    for step in steps:
        kept = dict(before.entries)
        step()
        fresh = index_of(app)
        assert before.entries == kept  # pages still reading the previous index see no change
        scratch = rebuilt(app, seeded)
        assert fresh.entries == scratch.entries and fresh.names == scratch.names
        assert fresh.tally == scratch.tally and fresh.choices() == scratch.choices()
        for sort in claims_page.SORTS:
            assert fresh.ordered(sort) == scratch.ordered(sort)
        before = fresh
    assert len(updates) == len(steps)
    assert FACTORY in before.entries and not before.entries[FACTORY].verdicts
    assert (CRITIC, "Test Critic") not in before.choices()["speaker"]  # no statement left
    assert before.entries[BIZARRE].langs == ("en", "zh")


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
