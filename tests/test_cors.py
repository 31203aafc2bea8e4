"""CORS over real HTTP: every read answers any origin, preflights included; writes (which need
the token in Authorization) are allowed cross-origin only from configured origins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, Live, http, live_server

ORIGIN = "https://reader.example"
WRITER = "https://editor.example"
READS = [
    "id/claim/zpmc-installs-modems-at-factory",
    "id/claim/zpmc-installs-modems-at-factory.jsonld",
    "ontology",
    "ontology.ttl",
    "vocab/stance",
    "graph/zpmc",
    ".well-known/void",
    "dumps/claimgraph.nq",
    "dumps/claimgraph.trig.gz",
    "dumps/graph/zpmc.trig",
    "claims.json",
    "validation.json",
    "status.json",
    "graph-store?graph=https://claimgraph.org/graph/zpmc",
    "sparql?query=ASK%7B%7D",
    "sparql",  # the service description
]
TURTLE_DOC = '<https://example.org/id/claim/c> <https://example.org/p> "x" .'


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator) as server:
        yield server


@pytest.fixture(scope="module")
def live_writers(validator: Validator) -> Iterator[Live]:
    with live_server(validator, cors_write_origins=f"{WRITER} https://other.example") as server:
        yield server


def preflight(live: Live, path: str, origin: str, method: str, headers: str = "") -> dict[str, str]:
    request = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request["Access-Control-Request-Headers"] = headers
    reply = http("OPTIONS", live.url + path, headers=request)
    assert reply.status == 200, (path, reply.text)
    return {k.lower(): v for k, v in reply.headers.items()}


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_every_read_is_open_to_any_origin(live: Live, path: str, method: str) -> None:
    reply = http(
        method, live.url + path, headers={"Origin": ORIGIN, "Accept": "text/turtle, */*;q=0.5"}
    )
    assert reply.status == 200, (path, reply.text)
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    exposed = reply.headers["Access-Control-Expose-Headers"]
    assert "ETag" in exposed and "Link" in exposed and "X-ClaimGraph-Truncated" in exposed
    allowed = preflight(live, path.split("?")[0], ORIGIN, "GET", "accept, if-none-match, range")
    assert allowed["access-control-allow-origin"] == "*"
    assert "GET" in allowed["access-control-allow-methods"]
    assert set(allowed["access-control-allow-headers"].split(", ")) == {
        "accept",
        "if-none-match",
        "range",
    }


def test_queries_may_be_posted_cross_origin(live: Live) -> None:
    allowed = preflight(live, "sparql", ORIGIN, "POST", "content-type")
    assert "POST" in allowed["access-control-allow-methods"]
    assert allowed["access-control-allow-headers"] == "content-type"
    reply = http(
        "POST",
        live.sparql,
        data="ASK {}",
        headers={"Origin": ORIGIN, "Content-Type": "application/sparql-query"},
    )
    assert reply.status == 200 and reply.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("graph-store", "PUT"),
        ("graph-store", "DELETE"),
        ("graph-store", "POST"),
        ("update", "POST"),
        ("sparql", "POST"),
        ("import/claimreview", "POST"),
    ],
)
def test_writes_are_not_allowed_cross_origin_by_default(live: Live, path: str, method: str) -> None:
    allowed = preflight(live, path, ORIGIN, method, "authorization, content-type")
    # A browser sends the request only if the method and every header it asked for are allowed.
    refused_method = method not in allowed.get("access-control-allow-methods", "")
    refused_token = "authorization" not in allowed.get("access-control-allow-headers", "")
    assert refused_method or refused_token
    assert refused_token  # the token can never be sent, whatever the method


def test_configured_origins_may_write(live_writers: Live) -> None:
    allowed = preflight(live_writers, "graph-store", WRITER, "PUT", "authorization, content-type")
    assert allowed["access-control-allow-origin"] == WRITER
    assert "PUT" in allowed["access-control-allow-methods"]
    assert allowed["access-control-allow-headers"] == "authorization, content-type"
    assert "origin" in allowed["vary"].lower()
    graph = "https://example.org/graph/cors-write"
    write = http(
        "PUT",
        live_writers.url + "graph-store",
        params={"graph": graph},
        data=TURTLE_DOC,
        headers={**AUTH, "Origin": WRITER, "Content-Type": "text/turtle"},
    )
    assert write.status == 201, write.text
    assert write.headers["Access-Control-Allow-Origin"] == WRITER
    assert "Origin" in write.headers["Vary"]


def test_other_origins_still_only_read(live_writers: Live) -> None:
    allowed = preflight(live_writers, "graph-store", ORIGIN, "PUT", "authorization")
    assert "authorization" not in allowed.get("access-control-allow-headers", "")
    assert "PUT" not in allowed.get("access-control-allow-methods", "")
    read = http(
        "GET",
        live_writers.url + "graph-store",
        params={"graph": "https://claimgraph.org/graph/zpmc"},
        headers={"Origin": ORIGIN},
    )
    assert read.status == 200 and read.headers["Access-Control-Allow-Origin"] == "*"
    # Without an Origin (not a browser), no list of the writing origins is given away.
    plain = http("GET", live_writers.url + "graph-store?default")
    assert plain.headers.get_all("Access-Control-Allow-Origin") == ["*"]


def test_errors_are_readable_cross_origin(live: Live) -> None:
    # A script on another origin can read why its request failed.
    for reply in (
        http("GET", live.url + "id/claim/no-such-claim", headers={"Origin": ORIGIN}),
        http("GET", live.sparql, params={"query": "SELECT"}, headers={"Origin": ORIGIN}),
    ):
        assert reply.status in (400, 404)
        assert reply.headers["Access-Control-Allow-Origin"] == "*"
