"""The query page at /sparql in a browser's terms: the plain form, its share and download links,
and what the downloads are called."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from tests.pages_helpers import HTML

ASK = "ASK { ?s ?p ?o }"
SELECT = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2"


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def test_a_query_shows_share_and_download_links(client: FlaskClient) -> None:
    body = client.get("/sparql", query_string={"query": SELECT}, headers=HTML).get_data(True)
    assert "Link to this query" in body and "format=csv" in body and "<table>" in body
    assert '<main id="main">' in body and 'href="#main"' in body  # the site's layout


def test_a_query_error_hides_share_and_download_links(client: FlaskClient) -> None:
    reply = client.get("/sparql", query_string={"query": "SELECT nonsense"}, headers=HTML)
    assert reply.status_code == 400
    body = reply.get_data(as_text=True)
    assert 'class="error" role="alert"' in body
    assert "Link to this query" not in body and "format=csv" not in body


@pytest.mark.parametrize(
    ("query", "fmt", "name"),
    [
        (SELECT, "csv", "results.csv"),
        (SELECT, "tsv", "results.tsv"),
        (SELECT, "json", "results.json"),
        (ASK, "xml", "results.xml"),
        ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "turtle", "results.ttl"),
    ],
)
def test_downloads_are_named_by_content(
    client: FlaskClient, query: str, fmt: str, name: str
) -> None:
    reply = client.get("/sparql", query_string={"query": query, "format": fmt})
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == f'inline; filename="{name}"'


def test_a_protocol_client_gets_no_file_name(client: FlaskClient) -> None:
    reply = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "text/csv"})
    assert reply.status_code == 200 and "Content-Disposition" not in reply.headers
