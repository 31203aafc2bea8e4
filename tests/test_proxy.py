"""Behind a reverse proxy, over real HTTP: X-Forwarded-* headers count only from trusted
proxies, and the service description, VoID and Location headers name the public address."""

from __future__ import annotations

import pytest
import rdflib

from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, Live, http, live_server

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DATASET = rdflib.URIRef("https://claimgraph.org/.well-known/void#dataset")
FORWARDED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "kg.example.org",
    "X-Forwarded-Prefix": "/claims",
}
TURTLE_DOC = '<https://example.org/id/claim/p> <https://example.org/p> "x" .'


def addresses(live: Live, headers: dict[str, str]) -> tuple[str, str, str]:
    """(the SD's endpoint, VoID's endpoint, a created graph's Location) as this request sees."""
    sd = http("GET", live.sparql, headers={**headers, "Accept": "text/turtle"})
    described = rdflib.Graph().parse(data=sd.body, format="turtle")
    (endpoint,) = set(described.objects(None, SD.endpoint))
    void = http("GET", live.url + ".well-known/void", headers={**headers, "Accept": "text/turtle"})
    void_endpoint = (
        rdflib.Graph().parse(data=void.body, format="turtle").value(DATASET, VOID.sparqlEndpoint)
    )
    created = http(
        "POST",
        live.url + "graph-store",
        data=TURTLE_DOC,
        headers={**headers, **AUTH, "Content-Type": "text/turtle"},
    )
    assert created.status == 201, created.text
    return str(endpoint), str(void_endpoint), created.headers["Location"]


@pytest.mark.parametrize("hops", [0, 1])
def test_forwarded_headers_count_only_from_trusted_proxies(validator: Validator, hops: int) -> None:
    with live_server(validator, trusted_proxies=hops) as live:
        sd, void, location = addresses(live, FORWARDED)
    if hops:
        assert sd == void == "https://kg.example.org/claims/sparql"
        assert location.startswith("https://kg.example.org/claims/graph-store?graph=")
    else:  # nobody trusted: the headers change nothing
        assert sd == void == live.sparql
        assert location.startswith(f"{live.url}graph-store?graph=")


def test_a_configured_public_url_wins(validator: Validator) -> None:
    public = "https://data.example.net/kg/"
    with live_server(validator, public_url=public, trusted_proxies=1) as live:
        for headers in ({}, FORWARDED):
            sd, void, location = addresses(live, headers)
            assert sd == void == f"{public}sparql"
            assert location.startswith(f"{public}graph-store?graph=https://claimgraph.org/graph/")


@pytest.mark.parametrize("bad", ["kg.example.org", "ftp://kg.example.org/", "https://x/?a=b"])
def test_a_public_url_must_be_an_http_url(validator: Validator, bad: str) -> None:
    from claimgraph.errors import InputError

    with (
        pytest.raises(InputError, match="CLAIMGRAPH_PUBLIC_URL"),
        live_server(validator, public_url=bad),
    ):
        pass
