"""The service over the remote store: the same endpoint, pages and validated writes, with a
real Virtuoso behind them instead of the embedded store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from SPARQLWrapper import JSON, SPARQLWrapper

from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, PREFIXES, Live, form, http, live_server
from tests.virtuoso import Virtuoso

STATEMENTS = PREFIXES + "SELECT (COUNT(*) AS ?n) WHERE { ?s a cg:Statement }"


@pytest.fixture(scope="module")
def live(virtuoso: Virtuoso, validator: Validator) -> Iterator[Live]:
    virtuoso.reset()
    with live_server(validator, **virtuoso.settings()) as server:
        yield server
    virtuoso.reset()


def statements(live: Live) -> int:
    reply = http("GET", live.sparql, params={"query": STATEMENTS}, headers={"Accept": "text/csv"})
    assert reply.status == 200, reply.text
    return int(reply.text.split()[1])


def test_sparqlwrapper_reads_the_case_file_from_virtuoso(live: Live) -> None:
    client = SPARQLWrapper(live.sparql)
    client.setQuery(
        PREFIXES
        + 'SELECT ?zh WHERE { ?a schema:name "Tang Qingyun"@en, ?zh FILTER(lang(?zh) = "zh") }'
    )
    client.setReturnFormat(JSON)
    rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index,call-overload]
    assert [r["zh"]["value"] for r in rows] == ["唐青赟"]


def test_a_resource_dereferences_from_virtuoso(live: Live) -> None:
    reply = http("GET", live.url + "id/actor/tang-qingyun", headers={"Accept": "text/turtle"})
    assert reply.status == 200
    quads = list(ox.parse(reply.body, ox.RdfFormat.TURTLE))
    assert any(q.object == ox.Literal("唐青赟", language="zh") for q in quads)


def test_validated_update_lands_on_virtuoso_and_a_violating_one_changes_nothing(
    live: Live,
) -> None:
    before = statements(live)
    bad = (
        PREFIXES
        + """INSERT DATA { GRAPH <https://claimgraph.org/graph/remote-test> {
        <https://claimgraph.org/id/statement/no-date> a cg:Statement ;
            cg:speaker <https://claimgraph.org/id/actor/tang-qingyun> } }"""
    )
    reply = http(
        "POST",
        live.url + "update",
        data=form({"update": bad}),
        headers={
            **AUTH,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    assert reply.status == 422, reply.text
    assert json.loads(reply.body)["conforms"] is False
    assert statements(live) == before
    good = (
        PREFIXES
        + """INSERT DATA { GRAPH <https://claimgraph.org/graph/remote-test> {
        <https://claimgraph.org/id/actor/remote-tester> a cg:Person ;
            schema:name "Remote Tester"@en } }"""
    )
    reply = http(
        "POST",
        live.url + "update",
        data=form({"update": good}),
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status in (200, 204), reply.text
    got = http(
        "GET",
        live.url + "graph-store",
        params={"graph": "https://claimgraph.org/graph/remote-test"},
        headers={"Accept": "application/n-triples"},
    )
    assert got.status == 200 and "Remote Tester" in got.text
