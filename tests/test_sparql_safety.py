"""The endpoint never fetches on a client's behalf, and every query is bounded.

Static checks are tested on their own (tricky spellings of SERVICE and LOAD); the rest runs
against a real server on loopback, with a short timeout, and would fail on a naive endpoint
built on rdflib's SPARQL engine (it fetches SERVICE, FROM and LOAD targets and has no timeout).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from claimgraph.errors import QueryEngineError, QueryRefused
from claimgraph.sparql import safety
from claimgraph.sparql.safety import Limits, check, tokenize
from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, FORM, Listener, Live, form, http, live_server

ALLOWED = "http://allowed.example/sparql"
LIMITS = Limits(max_length=10_000, max_depth=20, service_allowlist=frozenset({ALLOWED}))


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator, query_timeout=2.0) as server:
        yield server


@pytest.fixture
def listener() -> Iterator[Listener]:
    ear = Listener()
    yield ear
    ear.close()


# -- static checks ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://evil.example/> { ?s ?p ?o } }",
        "select * where { service <http://evil.example/> { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE SILENT <http://evil.example/> { ?s ?p ?o } }",
        "SELECT * WHERE {SERVICE<http://evil.example/>{?s ?p ?o}}",
        "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
        "PREFIX e: <http://evil.example/> SELECT * WHERE { SERVICE e:sparql { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <http://evil.example/> {} } }",
        "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://evil.example/> {} } } }",
        "SELECT * WHERE { # comment\n SERVICE <http://evil.example/> {} }",
        "SELECT * WHERE { \\u0053ERVICE <http://evil.example/> {} }",  # escape in the keyword
        "SELECT * WHERE { SERVICE <http://allowed.example/sparql?x> {} }",  # not exactly listed
        "BASE <http://evil.example/> SELECT * WHERE { SERVICE <sparql> {} }",
    ],
)
def test_service_is_refused(query: str) -> None:
    with pytest.raises(QueryRefused, match="SERVICE"):
        check(query, LIMITS)


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * WHERE { ?s ?p "SERVICE <http://evil.example/> { }" }',
        "SELECT * WHERE { ?s ?p '''SERVICE\nLOAD''' }",
        "SELECT ?service WHERE { ?service ?p ?o }",
        "PREFIX service: <http://x/> SELECT * WHERE { ?s service:load ?o }",
        "SELECT * WHERE { ?s <http://example.org/SERVICE> ?o } # SERVICE <http://evil/>",
        'SELECT * WHERE { ?s ?p "x"@service }',
        "SELECT * WHERE { _:service ?p ?o }",
        f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}",
        "PREFIX a: <http://allowed.example/> SELECT * WHERE { SERVICE a:sparql { } }",
    ],
)
def test_look_alikes_and_allow_listed_endpoints_pass(query: str) -> None:
    check(query, LIMITS)


def test_allow_listed_endpoints_are_reported() -> None:
    analysis = check(f"SELECT * WHERE {{ SERVICE <{ALLOWED}> {{ }} }}", LIMITS)
    assert analysis.services == [ALLOWED]


@pytest.mark.parametrize(
    "update",
    [
        "LOAD <file:///etc/passwd>",
        "load <http://evil.example/data.ttl> INTO GRAPH <http://g>",
        "INSERT DATA { GRAPH <http://g> { <http://s> <http://p> 1 } } ; LOAD SILENT <file:///x>",
    ],
)
def test_load_is_refused(update: str) -> None:
    with pytest.raises(QueryRefused, match="LOAD"):
        check(update, LIMITS, "update")


def test_service_in_an_update_is_refused_even_when_allowed() -> None:
    with pytest.raises(QueryRefused, match="Update"):
        check(f"DELETE WHERE {{ SERVICE <{ALLOWED}> {{ ?s ?p ?o }} }}", LIMITS, "update")


def test_length_and_depth_are_capped() -> None:
    with pytest.raises(QueryRefused, match="characters"):
        check("SELECT * WHERE { }" + " " * 10_000, LIMITS)
    with pytest.raises(QueryRefused, match="levels deep"):
        check("SELECT * WHERE " + "{" * 21 + "}" * 21, LIMITS)
    check("SELECT * WHERE " + "{" * 19 + "}" * 19, LIMITS)


def test_tokens_know_strings_iris_and_comments() -> None:
    tokens = tokenize('SELECT ?x WHERE { ?x <http://a#b> "s#{" } # {')
    kinds = [(t.kind, t.text) for t in tokens]
    assert ("iri", "<http://a#b>") in kinds and ("string", '"s#{"') in kinds
    assert [t.text for t in tokens if t.kind == "punct"] == ["{", "}"]


def test_query_form_and_dataset() -> None:
    a = check("PREFIX x: <http://x/> CONSTRUCT WHERE { ?s ?p ?o }", LIMITS)
    assert a.form == "CONSTRUCT" and not a.has_dataset
    assert check("SELECT * FROM <http://g> WHERE { }", LIMITS).has_dataset
    assert check("INSERT DATA { }", LIMITS, "update").form == "UPDATE"


def test_regex_is_linear_by_design() -> None:
    assert "linear time" in (safety.__doc__ or "")


# -- against a real server --------------------------------------------------------------------
def test_service_makes_no_request(live: Live, listener: Listener) -> None:
    query = f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"
    for method in ("GET", "POST"):
        if method == "GET":
            reply = http("GET", live.sparql, params={"query": query})
        else:
            reply = http("POST", live.sparql, data=form({"query": query}), headers=FORM)
        assert reply.status == 400
        assert "SERVICE" in reply.text and "allow" in reply.text
    time.sleep(0.3)
    assert listener.connections == 0


def test_query_workers_cannot_reach_the_network(live: Live, listener: Listener) -> None:
    """Defence in depth: even a SERVICE that got past the checks finds no network."""
    from claimgraph.sparql.worker import Job

    svc = live.service
    http("GET", live.sparql, params={"query": "ASK {}"})  # the workers are up
    if not svc.executor.stats.network_isolated:
        pytest.skip("this OS does not let the workers drop their network")
    job = Job(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}")
    with pytest.raises(QueryEngineError, match="query failed"):
        svc.executor.run(job, timeout=5)
    time.sleep(0.3)
    assert listener.connections == 0


def test_from_a_file_reads_nothing(live: Live) -> None:
    for clause in ("FROM <file:///etc/hostname>", "FROM NAMED <file:///etc/hostname>"):
        where = "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }"
        query = f"SELECT ?s ?p ?o ?g {clause} WHERE {{ {where} }}"
        reply = http("GET", live.sparql, params={"query": query}, headers={"Accept": "text/csv"})
        assert reply.status == 200
        assert reply.text.strip().splitlines() == ["s,p,o,g"]


def test_from_a_graph_in_the_store_restricts_the_dataset(live: Live) -> None:
    vocab = "https://claimgraph.org/graph/vocab"
    claims = "SELECT (COUNT(*) AS ?n) FROM <{g}> WHERE {{ ?c a <{cg}Claim> }}".replace(
        "{cg}", "https://claimgraph.org/ontology#"
    )
    only_vocab = http(
        "GET", live.sparql, params={"query": claims.format(g=vocab)}, headers={"Accept": "text/csv"}
    )
    assert only_vocab.text.splitlines()[1] == "0"
    zpmc = http(
        "GET",
        live.sparql,
        params={"query": claims.format(g="https://claimgraph.org/graph/zpmc")},
        headers={"Accept": "text/csv"},
    )
    assert int(zpmc.text.splitlines()[1]) > 20


def test_load_is_refused_over_http(live: Live, listener: Listener) -> None:
    for target in ("file:///etc/hostname", listener.url):
        reply = http(
            "POST",
            live.url + "update",
            data=f"LOAD <{target}> INTO GRAPH <https://example.org/loaded>",
            headers={**AUTH, "Content-Type": "application/sparql-update"},
        )
        assert reply.status == 400 and "LOAD" in reply.text
    assert listener.connections == 0
    assert not live.graph.store.has_graph(ox.NamedNode("https://example.org/loaded"))


def test_catastrophic_regex_returns_at_once(live: Live) -> None:
    subject = "a" * 5000 + "!"
    query = (
        f'SELECT ?m ?r WHERE {{ BIND(REGEX("{subject}", "^(a+)+$") AS ?m) '
        f'BIND(REPLACE("{subject}", "(a|aa)+$", "x") AS ?r) }}'
    )
    started = time.monotonic()
    reply = http("GET", live.sparql, params={"query": query}, headers={"Accept": "text/csv"})
    assert reply.status == 200 and reply.text.splitlines()[1].startswith("false,")
    assert time.monotonic() - started < 1.5


def test_deep_nesting_and_long_queries_are_400(live: Live) -> None:
    deep = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    reply = http(
        "POST", live.sparql, data=deep, headers={"Content-Type": "application/sparql-query"}
    )
    assert reply.status == 400 and "nests" in reply.text
    long = "SELECT * WHERE { }" + "#" * 200_000
    reply = http(
        "POST", live.sparql, data=long, headers={"Content-Type": "application/sparql-query"}
    )
    assert reply.status == 400 and "characters" in reply.text


def test_a_runaway_query_is_stopped_and_the_server_keeps_answering(live: Live) -> None:
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    pids_before = set(live.service.executor.pids())
    result: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        result["reply"] = http("GET", live.sparql, params={"query": cartesian})
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    # Meanwhile, other requests are answered.
    for _ in range(3):
        quick = http("GET", live.sparql, params={"query": "ASK { ?s ?p ?o }"}, timeout=5)
        assert quick.status == 200 and b"true" in quick.body
    thread.join(timeout=20)
    reply = result["reply"]
    assert reply.status == 503  # type: ignore[attr-defined]
    assert "longer than 2 s" in reply.text  # type: ignore[attr-defined]
    assert 1.8 < result["seconds"] < 6  # type: ignore[operator]
    # The worker that ran it was killed and replaced.
    pids_after = set(live.service.executor.pids())
    assert pids_before - pids_after and len(pids_after) == len(pids_before)
    assert live.service.executor.stats.killed >= 1
    after = http("GET", live.sparql, params={"query": "ASK { ?s ?p ?o }"})
    assert after.status == 200
