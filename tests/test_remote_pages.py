"""The browsing pages over each store: the embedded one, and ClaimGraph over a real Virtuoso
(tests/virtuoso.py), both holding the shipped case file. The same pages, the same content."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.validation import Validator
from tests.pages_helpers import html, validation_report
from tests.virtuoso import Virtuoso

ROOT = Path(__file__).resolve().parents[1]
CLAIM = "/id/claim/zpmc-cranes-have-unexplained-communications-equipment"
NATIONAL_SECURITY = "/id/claim/china-made-cranes-pose-national-security-risk"
TANG = "https://claimgraph.org/id/actor/tang-qingyun"
TOPIC = "https://claimgraph.org/vocab/topic#cellular-modems"


class Clients(dict[str, FlaskClient]):
    """A test client per store, each over its own ClaimGraph seeded as `make serve` seeds it,
    made on first use."""

    def __init__(self, request: pytest.FixtureRequest, validator: Validator) -> None:
        super().__init__()
        self.request, self.validator = request, validator
        self.graphs: list[ClaimGraph] = []

    def __missing__(self, store: str) -> FlaskClient:
        remote: dict[str, Any] = {}
        if store == "virtuoso":
            server: Virtuoso = self.request.getfixturevalue("virtuoso")
            server.reset()
            remote = server.settings()
        settings = Settings(seed=False, page_refresh_wait=60.0, propagation_delay=0.0, **remote)
        graph = ClaimGraph(settings, validator=self.validator)
        graph.seed()
        self.graphs.append(graph)
        app = create_app(settings, graph=graph)
        # the derived graph is there before any test compares the stores
        runner = app.extensions["claimgraph.propagation"]
        runner.ensure()
        assert runner.wait(graph.generation, 120), f"no propagation analysis on {store}"
        client = self[store] = app.test_client()
        return client

    def close(self) -> None:
        for graph in self.graphs:
            graph.close()
        if "virtuoso" in self:
            self.request.getfixturevalue("virtuoso").reset()


@pytest.fixture(scope="module")
def clients(request: pytest.FixtureRequest, validator: Validator) -> Iterator[Clients]:
    made = Clients(request, validator)
    yield made
    made.close()


@pytest.fixture(params=["memory", "virtuoso"])
def client(request: pytest.FixtureRequest, clients: Clients) -> FlaskClient:
    return clients[request.param]


def test_home(client: FlaskClient) -> None:
    body = html(client, "/")
    assert "Most contested claims" in body
    assert 'href="/id/claim/china-made-cranes-pose-national-security-risk"' in body
    assert "Recent statements" in body and "<time>2024-04-07</time>" in body
    status = client.get("/status.json").get_json()
    assert status["classes"]["claims"] > 10 and status["triples"] > 1000


def test_claims_list_and_filters(client: FlaskClient) -> None:
    body = html(client, "/claims?q=modem")
    assert 'value="modem"' in body and 'href="/id/claim/zpmc-installs-modems-at-factory"' in body
    everything = client.get("/claims.json?per_page=200").get_json()["claims"]
    for params in ({"topic": TOPIC}, {"speaker": TANG}, {"speaker": TANG, "stance": "denies"}):
        found = client.get("/claims.json", query_string={**params, "per_page": "200"})
        claims = found.get_json()["claims"]
        assert 0 < len(claims) < len(everything), params
        assert any(c["iri"].endswith("zpmc-installs-modems-at-factory") for c in claims)
    assert (
        client.get(
            "/claims.json", query_string={"speaker": TANG, "stance": "questions"}
        ).get_json()["claims"]
        == []
    )


def test_claim_page_shows_quotes_and_speakers(client: FlaskClient) -> None:
    body = html(client, CLAIM)
    assert '<h1 lang="en">Cranes made by ZPMC' in body
    assert "communications equipment that doesn’t appear to support normal operations" in body
    for speaker in ("congressional-committee", "wall-street-journal", "cnn", "fox-business"):
        assert f'href="/id/actor/{speaker}"' in body
    assert "Reports:" in body or "Reported by:" in body


def test_actor_page(client: FlaskClient) -> None:
    body = html(client, "/id/actor/tang-qingyun")
    assert '<h1 lang="en">Tang Qingyun</h1>' in body and 'lang="zh">唐青赟' in body
    assert 'href="/id/actor/zpmc-design-research-institute"' in body
    assert "Statements by stance" in body


def test_validation_page(client: FlaskClient) -> None:
    assert validation_report(client)["report"]["conforms"] is True
    body = html(client, "/validation")
    assert "it conforms" in body and "Warning: cgsh:SourceShape" in body


def test_query_page(client: FlaskClient) -> None:
    query = (ROOT / "queries" / "05-contested-claims.rq").read_text(encoding="utf-8")
    body = html(client, "/sparql?" + urllib.parse.urlencode({"query": query}))
    assert '<td><a href="/id/claim/china-made-cranes-pose-national-security-risk">' in body


@pytest.mark.parametrize("path", ["/", CLAIM, "/id/actor/tang-qingyun", "/claims?speaker=" + TANG])
def test_the_same_links_on_both_stores(clients: Clients, path: str) -> None:
    """Every resource a page links to, and every quote it shows, is the same over Virtuoso."""

    def content(store: str) -> tuple[set[str], set[str]]:
        body = html(clients[store], path)
        return set(re.findall(r'href="(/id/[^"]+)"', body)), set(re.findall(r"“[^”<]+”", body))

    assert content("virtuoso") == content("memory")


@pytest.mark.parametrize("path", ["/claims.json?per_page=200", "/status.json"])
def test_the_same_data_on_both_stores(clients: Clients, path: str) -> None:
    """Whole-graph reads (the claims index, counts) are not cut short by the server's cap on
    a query's results."""
    assert clients["virtuoso"].get(path).get_json() == clients["memory"].get(path).get_json()


def test_the_same_validation_report_on_both_stores(clients: Clients) -> None:
    """The whole-graph validation reads every quad, not a capped result (the generations and
    times of the reports differ between the stores; their contents do not)."""

    def content(store: str) -> dict[str, object]:
        rep = validation_report(clients[store])["report"]
        return {k: v for k, v in rep.items() if k not in ("generation", "computed")}

    assert content("virtuoso") == content("memory")


def test_how_it_spread_over_both_stores(clients: Clients) -> None:
    """The propagation analysis runs over a remote store too: its derived graph is written
    to the server, and the claim page tells the same story from it."""
    sections = {}
    for store in ("memory", "virtuoso"):
        body = html(clients[store], NATIONAL_SECURITY)
        start = body.index('<section aria-labelledby="h-spread"')
        sections[store] = body[start : body.index("</section>", start)]
    assert "1 origin, repeated by" in sections["virtuoso"]
    assert "Congressional committee" in sections["virtuoso"]
    assert sections["virtuoso"] == sections["memory"]
