"""The pages' stylesheet and layout against the vocabularies they show: a colour for every
stance of the scheme, a font for the CJK text of the case, a favicon."""

from __future__ import annotations

import re

import pytest
import rdflib
from flask.testing import FlaskClient
from rdflib.namespace import SKOS

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.iris import STANCE
from tests.conftest import ROOT
from tests.pages_helpers import html

CSS = (ROOT / "server" / "claimgraph" / "static" / "claimgraph.css").read_text(encoding="utf-8")
SCHEME = rdflib.URIRef(str(STANCE).rstrip("#"))


def stances() -> list[str]:
    vocab = rdflib.Graph().parse(ROOT / "ontology" / "vocab.ttl")
    return sorted(str(c).removeprefix(str(STANCE)) for c in vocab.subjects(SKOS.inScheme, SCHEME))


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def test_every_stance_has_a_colour() -> None:
    """The claim page marks a statement ``stance-<local name>``; a stance added to the scheme
    without a colour fails here."""
    found = stances()
    assert {"asserts", "denies", "acknowledges", "declinesToComment"} <= set(found)
    for stance in found:
        rule = re.search(rf"\.stance-{stance}\s*\{{([^}}]*)\}}", CSS)
        assert rule and "--tone:" in rule.group(1), f"no colour for the stance {stance}"


def test_the_claim_page_uses_the_stance_classes(client: FlaskClient) -> None:
    body = html(client, "/id/claim/zpmc-installs-modems-at-factory")
    used = set(re.findall(r'class="statement stance-([A-Za-z]+)"', body))
    assert used and used <= set(stances())


def test_a_cjk_font_follows_the_latin_ones() -> None:
    body = re.search(r"body \{ font: ([^;]+);", CSS)
    assert body is not None
    faces = body.group(1)
    assert "Noto Sans CJK SC" in faces and faces.rstrip().endswith("sans-serif")


def test_a_favicon_is_linked_and_served(client: FlaskClient) -> None:
    body = html(client, "/")
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in body
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.content_type.startswith("image/svg+xml")
    assert client.get("/sparql", headers={"Accept": "text/html"}).get_data(True).count("favicon")
