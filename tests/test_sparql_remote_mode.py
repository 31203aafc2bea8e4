"""The endpoint over a store that cannot be snapshotted (a remote SPARQL server): queries run
on the store itself, FROM only names graphs the store holds, and the checks still apply.

A stand-in store (the embedded one without ``snapshot``) plays the remote server, so this runs
without Virtuoso."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, PREFIXES, TOKEN

UPDATE = {**AUTH, "Content-Type": "application/sparql-update"}
CLAIMS = (
    "SELECT (COUNT(*) AS ?n) {dataset} WHERE {{ ?c a <https://claimgraph.org/ontology#Claim> }}"
)


class NoSnapshots(EmbeddedStore):
    """Queried in-process, as the endpoint queries a remote store."""

    snapshot: Any = None


@pytest.fixture(scope="module")
def client(validator: Validator) -> Iterator[FlaskClient]:
    settings = Settings(write_token=TOKEN)
    graph = ClaimGraph(settings, store=NoSnapshots(None), validator=validator)
    graph.seed()
    app = create_app(settings, graph=graph)
    assert not app.extensions["claimgraph.sparql"].isolated
    yield app.test_client()
    app.extensions["claimgraph.sparql"].close()
    graph.close()


def count(client: FlaskClient, query: str) -> int:
    reply = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/csv"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return int(reply.get_data(as_text=True).split()[1])


def test_queries_run_on_the_store(client: FlaskClient) -> None:
    reply = client.get(
        "/sparql",
        query_string={"query": PREFIXES + "SELECT ?c WHERE { ?c a cg:Claim } LIMIT 2"},
    )
    assert len(json.loads(reply.data)["results"]["bindings"]) == 2
    turtle = client.get(
        "/sparql",
        query_string={"query": "CONSTRUCT WHERE { ?s a ?o } LIMIT 3"},
        headers={"Accept": "text/turtle"},
    )
    assert turtle.status_code == 200 and turtle.content_type.startswith("text/turtle")


def test_from_names_only_graphs_in_the_store(client: FlaskClient) -> None:
    assert count(client, CLAIMS.format(dataset="")) > 20
    assert count(client, CLAIMS.format(dataset="FROM <https://claimgraph.org/graph/zpmc>")) > 20
    assert count(client, CLAIMS.format(dataset="FROM <https://claimgraph.org/graph/vocab>")) == 0
    assert count(client, CLAIMS.format(dataset="FROM <file:///etc/hostname>")) == 0


def test_checks_still_apply(client: FlaskClient) -> None:
    for query in (
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
        'DEFINE get:soft "replace" SELECT * FROM <http://example.org/x> WHERE { ?s ?p ?o }',
        "SELECT (bif:file_to_string('/etc/passwd') AS ?x) WHERE { }",
    ):
        reply = client.get("/sparql", query_string={"query": query})
        assert reply.status_code == 400, query


def test_updates(client: FlaskClient) -> None:
    graph = "https://example.org/graph/remote-mode"
    insert = (
        f"PREFIX cg: <https://claimgraph.org/ontology#> INSERT DATA {{ GRAPH <{graph}> {{ "
        '<https://example.org/id/claim/r> a cg:Claim ; cg:text "Remote"@en } }'
    )
    assert client.post("/update", data=insert, headers=UPDATE).status_code == 200
    edit = (
        f"PREFIX cg: <https://claimgraph.org/ontology#> WITH <{graph}> "
        'DELETE { ?c cg:text ?t } INSERT { ?c cg:text "Edited"@en } WHERE { ?c cg:text ?t }'
    )
    reply = client.post("/update", data=edit, headers=UPDATE)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    query = f'ASK {{ GRAPH <{graph}> {{ ?c ?p "Edited"@en }} }}'
    assert json.loads(client.get("/sparql", query_string={"query": query}).data)["boolean"]
    both = insert.replace("/r>", "/r2>") + " ;\n" + edit
    refused = client.post("/update", data=both, headers=UPDATE)
    assert refused.status_code == 400 and b"separate requests" in refused.data
