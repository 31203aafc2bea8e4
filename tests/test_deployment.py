"""The deployment of docs/deployment.md, for real: two `claimgraph serve` processes over one
Virtuoso (tests/virtuoso.py) behind a loopback reverse proxy that alternates between them.
Writes through the proxy land once; reads through either instance agree once the refresh
interval has passed; the trusted-proxy settings make both name the public address."""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.validation import Validator
from tests.live_server import Reply, fetch, reverse_proxy
from tests.sparql_helpers import AUTH, TOKEN
from tests.test_serve import free_port, serve_process
from tests.virtuoso import Virtuoso

PUBLIC = "kg.example.org"
REFRESH = 0.3  # CLAIMGRAPH_STORE_REFRESH of both instances
GRAPH = "https://claimgraph.org/graph/deployment-test"
SD_ENDPOINT = rdflib.URIRef("http://www.w3.org/ns/sparql-service-description#endpoint")


def note(i: int) -> str:
    label = "<http://www.w3.org/2000/01/rdf-schema#label>"
    return f'<https://claimgraph.org/id/topic-note/{i}> {label} "note {i}"@en .'


@pytest.fixture(scope="module")
def deployment(virtuoso: Virtuoso, validator: Validator) -> Iterator[tuple[str, list[str]]]:
    """(the proxy's URL, the two instances' URLs). Seeded once, before the instances start;
    one instance names its public address by CLAIMGRAPH_PUBLIC_URL, the other learns it from
    the proxy's headers: both trust one proxy hop."""
    virtuoso.reset()
    seeding = ClaimGraph(Settings(seed=False, **virtuoso.settings()), validator=validator)
    seeding.seed()
    seeding.close()
    exe = Path(sys.executable).with_name("claimgraph")
    common = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMGRAPH_")} | {
        "CLAIMGRAPH_STORE": virtuoso.store_url,
        "CLAIMGRAPH_STORE_UPDATE_URL": virtuoso.update_url,
        "CLAIMGRAPH_STORE_USER": "dba",
        "CLAIMGRAPH_STORE_PASSWORD": virtuoso.password,
        "CLAIMGRAPH_SEED": "false",
        "CLAIMGRAPH_WRITE_TOKEN": TOKEN,
        "CLAIMGRAPH_STORE_REFRESH": str(REFRESH),
        "CLAIMGRAPH_TRUSTED_PROXIES": "1",
    }
    own = [{"CLAIMGRAPH_PUBLIC_URL": f"https://{PUBLIC}/"}, {}]
    with ExitStack() as stack:
        urls = []
        for extra in own:
            port = free_port()
            command = [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "4"]
            url = stack.enter_context(serve_process(command, port, env=common | extra))
            urls.append(url.rstrip("/"))
        proxy = stack.enter_context(reverse_proxy(urls, PUBLIC))
        yield proxy, urls
    virtuoso.reset()


def generation(virtuoso: Virtuoso) -> int:
    return virtuoso.store().generation()


def post(url: str, turtle: str, graph: str = GRAPH) -> Reply:
    target = f"{url}/graph-store?graph={urllib.parse.quote(graph, safe='')}"
    headers = {**AUTH, "Content-Type": "text/turtle"}
    return fetch(target, headers, method="POST", data=turtle.encode())


def select(url: str, sparql: str) -> list[dict[str, str]]:
    reply = fetch(
        f"{url}/sparql?query={urllib.parse.quote(sparql)}",
        {"Accept": "application/sparql-results+json"},
    )
    assert reply.status == 200, reply.body[:300]
    rows = json.loads(reply.body)["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def test_writes_through_the_proxy_land_once(
    virtuoso: Virtuoso, deployment: tuple[str, list[str]]
) -> None:
    proxy, urls = deployment
    before = generation(virtuoso)
    answered = []
    for i in range(4):
        reply = post(proxy, note(i))
        assert reply.status in (200, 201), reply.body[:300]  # 201: the graph was created
        answered.append(reply.headers["X-Upstream"])
    assert set(answered) == set(urls)  # each instance took writes
    assert generation(virtuoso) == before + 4  # one write generation each, no more
    store = virtuoso.store()
    assert store.count(ox.NamedNode(GRAPH)) == 4
    rows = store._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")
    assert rows[0]["n"].value == "4"  # type: ignore[union-attr]


def test_reads_through_either_instance_agree_after_the_refresh(
    deployment: tuple[str, list[str]],
) -> None:
    _, urls = deployment
    labels = f"SELECT ?l WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?l }} }} ORDER BY ?l"
    # Each instance reads once, then the other writes: both must show it after the refresh.
    seen = [select(url, labels) for url in urls]
    assert seen[0] == seen[1]
    reply = post(urls[0], note(100))
    assert reply.status == 200
    time.sleep(REFRESH * 2)
    after = [select(url, labels) for url in urls]
    assert after[0] == after[1] and {"l": "note 100"} in after[1]
    # the claims index and the dumps of both instances too
    pages = [fetch(f"{url}/claims.json?per_page=200").body for url in urls]
    assert json.loads(pages[0])["claims"] == json.loads(pages[1])["claims"]
    dumps = []
    for url in urls:
        body = fetch(f"{url}/dumps/claimgraph.nq.gz").body
        dumps.append(set(ox.parse(gzip.decompress(body), ox.RdfFormat.N_QUADS)))
    assert dumps[0] == dumps[1] and len(dumps[0]) > 1000


def test_both_instances_name_the_public_address(deployment: tuple[str, list[str]]) -> None:
    proxy, urls = deployment
    endpoints = {}
    for _ in range(2):  # the proxy alternates: once through each instance
        reply = fetch(f"{proxy}/sparql", {"Accept": "text/turtle"})
        assert reply.status == 200
        described = rdflib.Graph().parse(data=reply.body, format="turtle")
        endpoints[reply.headers["X-Upstream"]] = {
            str(o) for o in described.objects(None, SD_ENDPOINT)
        }
    assert endpoints == {url: {f"https://{PUBLIC}/sparql"} for url in urls}
    locations = {}
    for i in range(2):
        reply = post(proxy, note(200 + i), f"{GRAPH}-{i}")
        assert reply.status == 201, reply.body[:300]
        locations[reply.headers["X-Upstream"]] = reply.headers["Location"]
    assert set(locations) == set(urls)
    assert all(loc.startswith(f"https://{PUBLIC}/graph-store?graph=") for loc in locations.values())
    # Asked directly (no proxy headers), the instance without CLAIMGRAPH_PUBLIC_URL names
    # the address it was asked at; the other keeps its configured one.
    direct = [fetch(f"{url}/sparql", {"Accept": "text/turtle"}).body for url in urls]
    named = [
        {str(o) for o in rdflib.Graph().parse(data=d, format="turtle").objects(None, SD_ENDPOINT)}
        for d in direct
    ]
    assert named == [{f"https://{PUBLIC}/sparql"}, {f"{urls[1]}/sparql"}]
