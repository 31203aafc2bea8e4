"""The claim page: the HTML representation of /id/claim/<slug>."""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store import Delta
from tests.pages_helpers import BASE, html

CLAIM = "/id/claim/zpmc-cranes-have-unexplained-communications-equipment"


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def test_claim_page_shows_timeline_chain_and_evidence(client: FlaskClient) -> None:
    body = html(client, CLAIM)
    assert '<h1 lang="en">Cranes made by ZPMC' in body
    assert "Who said what" in body and 'class="timeline"' in body
    assert 'href="/id/actor/congressional-committee"' in body
    assert "Reports:" in body or "Reported by:" in body  # the reporting chain
    assert 'href="/vocab/topic#cellular-modems"' in body
    assert "<svg" in body and "</svg>" in body
    for section in ("Evidence", "Reviews and verdicts", "Related and contradicting claims"):
        assert section in body


def test_claim_page_evidence_for_and_against_with_assessor(client: FlaskClient) -> None:
    body = html(client, "/id/claim/us-ports-were-unaware-of-modems")
    against = body[body.index('class="evidence refutes"') :]
    assert 'href="/id/evidence/port-operator-december-letter"' in against
    assert "assessed by" in against and 'href="/id/actor/xinhua-news-agency"' in against


def test_claim_page_translation_and_contradictions(client: FlaskClient) -> None:
    body = html(client, "/id/claim/zpmc-installs-modems-at-factory")
    assert "translation of" in body or "quoted from" in body
    assert "contradict" in body


def test_claim_page_links_to_data_twins(client: FlaskClient) -> None:
    reply = client.get(CLAIM, headers={"Accept": "text/html"})
    assert f'<{CLAIM}.ttl>; rel="alternate"' in reply.headers["Link"]
    body = reply.get_data(as_text=True)
    assert f'<link rel="alternate" type="text/turtle" href="{CLAIM}.ttl">' in body
    assert client.get(f"{CLAIM}.ttl").status_code == 200


def test_claim_page_embeds_claimreview(settings: Settings, seeded: ClaimGraph) -> None:
    claim = ox.NamedNode(BASE + "id/claim/zpmc-installs-modems-at-factory")
    review = ox.NamedNode(BASE + "id/review/test-review")
    s = "http://schema.org/"
    g = ox.NamedNode(BASE + "graph/test")
    seeded.store.apply(
        Delta(
            add=[
                ox.Quad(review, ox.NamedNode(f"{s}itemReviewed"), claim, g),
                ox.Quad(
                    review,
                    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                    ox.NamedNode(f"{s}ClaimReview"),
                    g,
                ),
            ]
        )
    )
    body = html(create_app(settings, graph=seeded).test_client(), claim.value[len(BASE) - 1 :])
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert m is not None
    assert json.loads(m.group(1))["@type"] == "ClaimReview"
    assert 'href="/id/review/test-review"' in body


def test_claim_text_and_iris_are_escaped(settings: Settings, seeded: ClaimGraph) -> None:
    claim = ox.NamedNode(BASE + "id/claim/evil")
    cg = "https://claimgraph.org/ontology#"
    g = ox.NamedNode(BASE + "graph/evil")
    seeded.store.apply(
        Delta(
            add=[
                ox.Quad(
                    claim,
                    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                    ox.NamedNode(f"{cg}Claim"),
                    g,
                ),
                ox.Quad(
                    claim,
                    ox.NamedNode(f"{cg}text"),
                    ox.Literal("<script>alert(1)</script> & co", language="en"),
                    g,
                ),
                ox.Quad(claim, ox.NamedNode(f"{cg}about"), ox.NamedNode("javascript:alert(2)"), g),
            ]
        )
    )
    client = create_app(settings, graph=seeded).test_client()
    body = html(client, "/id/claim/evil")
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in body
    assert "javascript:alert(2)" in body  # shown as text …
    assert 'href="javascript:' not in body  # … never as a link
    listing = html(client, "/claims?q=alert")
    assert "<script>alert(1)" not in listing and "&lt;script&gt;" in listing


def test_unknown_claim_is_404(client: FlaskClient) -> None:
    assert client.get("/id/claim/no-such-claim", headers={"Accept": "text/html"}).status_code == 404


def test_related_claims_are_listed_once_per_pair(client: FlaskClient) -> None:
    """cg:contradicts is symmetric: a pair the data states both ways is one line, and a
    specific relation hides "related to" for the same claim."""
    body = html(client, "/id/claim/zpmc-installs-modems-at-factory")
    related = body[body.index('id="h-related"') :]
    related = related[: related.index("</section>")]
    links = re.findall(r'<li><span class="rel">([^<]*)</span> <a href="([^"]+)"', related)
    hrefs = [href for _, href in links]
    assert len(links) >= 2 and len(hrefs) == len(set(hrefs)), links
    assert ("contradicts", "/id/claim/zpmc-cranes-have-no-modems-unless-requested") in links
    assert "contradicted by" not in related


def test_topics_are_listed_by_name_whatever_the_store_order(
    settings: Settings, seeded: ClaimGraph
) -> None:
    """A multi-valued property comes back in each store's own order: the page sorts it."""
    claim = ox.NamedNode(BASE + "id/claim/many-topics")
    cg = "https://claimgraph.org/ontology#"
    g = ox.NamedNode(BASE + "graph/topics")
    names = ["delta", "Alpha", "charlie", "bravo", "echo"]
    seeded.store.apply(
        Delta(
            add=[
                ox.Quad(
                    claim,
                    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                    ox.NamedNode(f"{cg}Claim"),
                    g,
                ),
                ox.Quad(claim, ox.NamedNode(f"{cg}text"), ox.Literal("Topics", language="en"), g),
                *(
                    ox.Quad(claim, ox.NamedNode(f"{cg}topic"), ox.NamedNode(f"{BASE}t/{n}"), g)
                    for n in names
                ),
            ]
        )
    )
    body = html(create_app(settings, graph=seeded).test_client(), "/id/claim/many-topics")
    at = [body.index(f"t/{n}") for n in names]  # the first mention: the topics list
    shown = [n for _, n in sorted(zip(at, names, strict=True))]
    assert shown == sorted(names, key=str.casefold)
