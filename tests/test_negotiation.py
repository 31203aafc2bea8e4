"""Content negotiation is a pure function; every interesting header is a row here."""

from __future__ import annotations

import pytest

from claimgraph.negotiation import negotiate

RDF = ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]


@pytest.mark.parametrize(
    ("accept", "offers", "expected"),
    [
        (None, RDF, "text/turtle"),
        ("", RDF, "text/turtle"),
        ("*/*", RDF, "text/turtle"),
        ("application/ld+json", RDF, "application/ld+json"),
        ("application/ld+json;q=0.5, text/turtle;q=0.9", RDF, "text/turtle"),
        ("application/rdf+xml, */*;q=0.1", RDF, "application/rdf+xml"),
        ("application/*", RDF, "application/ld+json"),
        ("text/*;q=0.2, application/n-triples", RDF, "application/n-triples"),
        ("text/html", RDF, None),
        ("text/turtle;q=0", RDF, None),
        ("image/png, text/turtle; charset=utf-8", RDF, "text/turtle"),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ["text/html", *RDF],
            "text/html",
        ),
        ("garbage;;;", RDF, None),
    ],
)
def test_negotiate(accept: str | None, offers: list[str], expected: str | None) -> None:
    assert negotiate(accept, offers) == expected
