"""Statement, source, evidence and review pages, the validation page, the query page's
examples, and the claim's SVG neighbourhood."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from markupsafe import Markup

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.pages.svg import Node, neighbourhood_svg
from claimgraph.validation import Validator
from tests.live_server import seeded_with_reviews
from tests.pages_helpers import html, validation_report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def test_statement_page_shows_reporting_chain(client: FlaskClient) -> None:
    body = html(
        client, "/id/statement/congressional-committee-unexplained-communications-equipment"
    )
    assert '<p class="kind">Statement</p>' in body
    assert "Reporting chain" in body and 'href="/id/actor/cnn"' in body


def test_source_page_lists_its_statements(client: FlaskClient) -> None:
    body = html(client, "/id/source/zpmc-rebuttal-article")
    assert "Statements in this source" in body and 'href="/id/actor/zichen-wang"' in body


def test_evidence_page_lists_assessments(client: FlaskClient) -> None:
    body = html(client, "/id/evidence/port-operator-december-letter")
    assert "What it bears on" in body
    assert 'href="/id/claim/us-ports-were-unaware-of-modems"' in body
    assert 'href="/vocab/direction#refutes"' in body


def test_review_page_embeds_its_claimreview(validator: Validator) -> None:
    cg = seeded_with_reviews(validator)
    client = create_app(cg.settings, graph=cg).test_client()
    reviews = client.get(
        "/sparql",
        query_string={
            "query": "SELECT ?r WHERE { ?r a <http://schema.org/ClaimReview> } LIMIT 1",
            "format": "json",
        },
    ).get_json()["results"]["bindings"]
    path = "/" + reviews[0]["r"]["value"].removeprefix(cg.iris.base)
    body = html(client, path)
    assert '<p class="kind">Review</p>' in body
    assert '<script type="application/ld+json">' in body
    cg.close()


def test_validation_page_groups_by_severity_and_shape(client: FlaskClient) -> None:
    assert validation_report(client)["report"]["conforms"] is True
    body = html(client, "/validation")
    assert "it conforms" in body and "Warning: cgsh:SourceShape" in body


def test_query_page_offers_examples_and_links_results(client: FlaskClient) -> None:
    body = html(client, "/sparql")
    assert body.count('data-example="') == len(list((ROOT / "queries").glob("*.rq")))
    query = (ROOT / "queries" / "05-contested-claims.rq").read_text(encoding="utf-8")
    body = html(client, "/sparql?" + urllib.parse.urlencode({"query": query}))
    assert '<td><a href="/id/claim/china-made-cranes-pose-national-security-risk">' in body
    assert "format=csv" in body and "Link to this query" in body


def test_query_page_links_iris_not_literals_that_look_like_urls(client: FlaskClient) -> None:
    query = (
        'SELECT ?x WHERE { VALUES ?x { "https://example.org/x" "<b>https://example.org/y</b>" '
        "<https://claimgraph.org/id/claim/zpmc-installs-modems-at-factory> } }"
    )
    body = html(client, "/sparql?" + urllib.parse.urlencode({"query": query}))
    assert '<td><a href="/id/claim/zpmc-installs-modems-at-factory">' in body
    assert "<td>https://example.org/x</td>" in body
    assert "<td>&lt;b&gt;https://example.org/y&lt;/b&gt;</td>" in body
    assert 'href="https://example.org/' not in body


def test_svg_escapes_labels_and_links_only_given_hrefs() -> None:
    svg = neighbourhood_svg(
        Node("claim", "<b>centre</b>", None),
        [Node("speaker", '<script>x</script>"', "/id/actor/a"), Node("source", "s", None)],
    )
    assert isinstance(svg, Markup)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert svg.count("<a ") == 1 and 'href="/id/actor/a"' in svg
