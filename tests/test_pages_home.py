"""The home page replaces the status page at /; /status.json stays."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store import Delta
from tests.pages_helpers import html


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def test_home_shows_counts_contested_recent_and_ways_in(client: FlaskClient) -> None:
    body = html(client, "/")
    assert "Most contested claims" in body
    assert 'href="/id/claim/china-made-cranes-pose-national-security-risk"' in body
    assert "Recent statements" in body and "<time>2024-04-07</time>" in body
    assert "What the graph holds" in body
    for href in ('href="/sparql"', 'href="/.well-known/void"', 'href="/dumps/claimgraph.trig"'):
        assert href in body
    assert 'role="search"' in body and 'action="/claims"' in body
    assert client.get("/status.json").get_json()["classes"]["claims"] > 0


def test_home_aggregates_are_cached_per_generation(settings: Settings, seeded: ClaimGraph) -> None:
    app = create_app(settings, graph=seeded)
    client = app.test_client()
    html(client, "/")
    cache = app.extensions["claimgraph.cache"]
    assert cache.generation_of("home:contested") == seeded.generation
    # a write bumps the generation: the next request recomputes
    g = ox.NamedNode("https://claimgraph.org/graph/x")
    seeded.write(
        Delta(
            add=[
                ox.Quad(
                    g,
                    ox.NamedNode("http://purl.org/dc/terms/title"),
                    ox.Literal("x", language="en"),
                    g,
                )
            ]
        )
    )
    html(client, "/")
    assert cache.generation_of("home:contested") == seeded.generation
