"""The validation page never validates the whole graph in a request: it serves the last report,
says which write generation it is of and when it was made, and a burst of writes costs one
validation in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.iris import CG
from claimgraph.pages import validation as page
from claimgraph.store import Delta, Store
from claimgraph.validation import Report, Validator
from tests.pages_helpers import html


class Counted:
    """Wraps ``Validator.validate_store``: counts the calls and the threads they ran in."""

    def __init__(self, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[threading.Thread] = []
        original = validator.validate_store

        def validate_store(store: Store) -> Report:
            self.threads.append(threading.current_thread())
            return original(store)

        monkeypatch.setattr(validator, "validate_store", validate_store)

    @property
    def calls(self) -> int:
        return len(self.threads)


@pytest.fixture
def counted(validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Counted:
    monkeypatch.setattr(page, "DELAY", 2.0)
    return Counted(validator, monkeypatch)


@pytest.fixture
def client(settings: Settings, graph: ClaimGraph) -> Iterator[FlaskClient]:
    yield create_app(settings, graph=graph).test_client()


def report(client: FlaskClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/validation.json").get_json()
    return doc


def until(test: Callable[[], bool], seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not test():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def claim(n: int) -> Delta:
    iri = ox.NamedNode(f"https://claimgraph.org/id/claim/c{n}")
    return Delta(
        add=[
            ox.Quad(
                iri,
                ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode(f"{CG}Claim"),
                ox.NamedNode("https://claimgraph.org/graph/test"),
            ),
            ox.Quad(
                iri,
                ox.NamedNode(f"{CG}text"),
                ox.Literal(f"claim {n}", language="en"),
                ox.NamedNode("https://claimgraph.org/graph/test"),
            ),
        ]
    )


def test_the_first_view_says_the_report_is_being_computed(
    client: FlaskClient, graph: ClaimGraph, counted: Counted
) -> None:
    body = html(client, "/validation")
    assert "The report is being computed" in body
    doc = report(client)
    assert doc["report"] is None and doc["computing"] is True
    until(lambda: report(client)["report"] is not None)
    assert counted.calls == 1
    assert threading.current_thread() not in counted.threads  # never in the request's thread
    doc = report(client)
    assert doc["report"]["generation"] == graph.generation and doc["report"]["current"]
    assert doc["report"]["conforms"] is True
    assert doc["report"]["computed"].endswith("Z")
    body = html(client, "/validation")
    assert f"Report of write generation {graph.generation}, computed" in body
    assert "It is current." in body and "it conforms" in body


def test_after_writes_the_old_report_is_served_then_one_new_one(
    client: FlaskClient, graph: ClaimGraph, counted: Counted
) -> None:
    until(lambda: report(client)["report"] is not None)
    old = graph.generation
    # writes and views in a row, within the delay: they cost one validation, not three
    start = time.monotonic()
    for n in range(3):
        graph.write(claim(n))
        body = html(client, "/validation")
        assert f"Report of write generation {old}," in body
        assert f"it is at generation {graph.generation}" in body
        assert "a new report is being computed" in body
    assert graph.generation == old + 3
    assert time.monotonic() - start < page.DELAY, "the writes took longer than the delay"
    until(lambda: report(client)["report"]["generation"] == old + 3)
    assert counted.calls == 2
    assert threading.current_thread() not in counted.threads
    # views of a current report start nothing
    for _ in range(3):
        assert report(client)["report"]["current"] is True
    time.sleep(0.5)
    assert counted.calls == 2 and report(client)["computing"] is False


def test_what_is_kept_of_a_report_is_bounded(
    settings: Settings, seeded: ClaimGraph, counted: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "PER_GROUP", 1)
    client = create_app(settings, graph=seeded).test_client()
    report(client)
    until(lambda: report(client)["report"] is not None)
    groups = report(client)["report"]["groups"]
    assert all(len(g["results"]) == min(1, g["count"]) for g in groups)
    assert any(g["count"] > 1 for g in groups)  # more were found than kept
    body = html(client, "/validation")
    assert "Warning: cgsh:SourceShape" in body and "The first 1 of" in body
