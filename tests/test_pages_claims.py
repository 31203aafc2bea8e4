"""The claims list: search, filters, sort, pagination, and its JSON and CSV twins."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient

from server.app import create_app
from server.config import Settings
from server.core import ClaimGraph
from tests.pages_helpers import html

TOPIC = "https://claimgraph.org/vocab/topic#cellular-modems"
TANG = "https://claimgraph.org/id/actor/tang-qingyun"


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
