"""The actor page: the HTML representation of /id/actor/<slug>."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from tests.pages_helpers import html


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def test_actor_names_in_all_languages_and_affiliation(client: FlaskClient) -> None:
    body = html(client, "/id/actor/tang-qingyun")
    assert '<h1 lang="en">Tang Qingyun</h1>' in body
    assert 'lang="zh">唐青赟' in body
    assert "Affiliations" in body and 'href="/id/actor/zpmc-design-research-institute"' in body
    assert "Statements by stance" in body and 'href="/id/claim/' in body
    assert 'href="/claims?speaker=https://claimgraph.org/id/actor/tang-qingyun"' in body


def test_actor_reporting_links(client: FlaskClient) -> None:
    body = html(client, "/id/actor/congressional-committee")
    assert "Reported by" in body and 'href="/id/actor/wall-street-journal' in body


def test_organisation_lists_members(client: FlaskClient) -> None:
    body = html(client, "/id/actor/zpmc-design-research-institute")
    assert "Members" in body and 'href="/id/actor/tang-qingyun"' in body


def test_other_kinds_keep_the_generic_linked_data_page(client: FlaskClient) -> None:
    body = html(client, "/id/evidence/port-operator-december-letter")
    assert 'class="resource"' in body
