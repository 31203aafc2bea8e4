"""The query page at /sparql in a browser's terms: the plain form, its share and download links,
and what the downloads are called."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.security import CONTENT_SECURITY_POLICY, YASGUI_STYLE
from tests.conftest import ROOT
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


def test_only_the_query_page_allows_the_editors_one_style(client: FlaskClient) -> None:
    """YASGUI's column resizer adds one fixed <style>: its hash is allowed on the query page's
    HTML only, never inline script, eval or other inline style."""
    page = client.get("/sparql", headers=HTML).headers["Content-Security-Policy"]
    assert f"style-src 'self' {YASGUI_STYLE};" in page
    assert "unsafe" not in page and "script-src 'self';" in page
    for path, accept in (("/", "text/html"), ("/sparql?query=ASK{}", "application/json")):
        policy = client.get(path, headers={"Accept": accept}).headers["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY, path


def test_the_editor_is_vendored_with_its_licence(client: FlaskClient) -> None:
    body = client.get("/sparql", headers=HTML).get_data(as_text=True)
    for asset in ("/static/yasgui/yasgui.min.js", "/static/yasgui/yasgui.min.css"):
        assert f'"{asset}"' in body
        assert client.get(asset).status_code == 200
    licence = ROOT / "server" / "claimgraph" / "static" / "yasgui" / "LICENSE"
    assert "MIT" in licence.read_text(encoding="utf-8")
    scripts = re.findall(r'<script src="([^"]+)"', body) + re.findall(
        r'<link rel="stylesheet" href="([^"]+)"', body
    )
    assert scripts and all(src.startswith("/static/") for src in scripts)  # served here, no CDN
