"""The endpoint never fetches on a client's behalf, and every query is bounded.

Static checks are tested on their own (tricky spellings of SERVICE and LOAD); the rest runs
against a real server on loopback, with a short timeout, and would fail on a naive endpoint
built on rdflib's SPARQL engine (it fetches SERVICE, FROM and LOAD targets and has no timeout).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis.strategies as st
import pyoxigraph as ox
import pytest
from hypothesis import given, settings

from claimgraph.errors import QueryEngineError, QueryRefused
from claimgraph.sparql import safety
from claimgraph.sparql.safety import Limits, check, tokenize
from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, DIRECT, FORM, UPDATE, Listener, Live, form, http, live_server

ALLOWED = "http://allowed.example/sparql"
LIMITS = Limits(max_length=10_000, max_depth=20, service_allowlist=frozenset({ALLOWED}))
ROOT = Path(__file__).resolve().parents[1]
# Characters and pieces that matter to SPARQL's tokens, for generated texts.
SPARQLISH = "aZé_:.-?$@<>'\"\\#{}()[]!^|&+*/=,;019eu \n\t\u00b7"
PIECES = [
    "SELECT",
    "SERVICE",
    "LOAD",
    "INSERT DATA",
    "VALUES",
    "<http://x/>",
    "'''",
    '"""',
    "\\u0053",
    "x:",
    "_:",
    "?v",
    "@en-GB",
    "1e5",
    "#",
    "\n",
    " ",
    "{",
    "}",
    "(",
    ")",
    "!",
    "&&",
    "a-",
    "a.",
]


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


# -- linear time, whatever the text ---------------------------------------------------------
# Repetitions of every kind of token and of their prefixes, unterminated ones included: each
# once made a backtracking or rescanning pattern read the rest of the text again, or could.
ADVERSARIAL = [
    "a-",
    "a.",
    "a:",
    "a.-",
    "a1-",
    "é-",
    "x:a.",
    ":a.",
    "a:a.",
    "x:\\",
    "x:\\.",
    "x:%",
    "x:a\\",
    "_:",
    "_:a.",
    "_:a-",
    "?",
    "?a",
    "$a-",
    "@",
    "@a",
    "@a-",
    "<",
    "<a",
    "<a ",
    "<=",
    "#",
    "'",
    "'a",
    "'\\",
    '"',
    '"a',
    '"\\',
    "'''",
    "'''a'",
    "'''\\'",
    '"""a"',
    "\\u",
    "\\u0053",
    "1",
    "1e",
    "1.",
    ".1e",
    "1e+",
    "!",
    "-",
    "+",
    "^",
    "|",
    "&&",
    "{",
    "(",
    "[",
    "}",
    ")",
]


def _check_seconds(text: str, runs: int = 1, what: str = "query") -> float:
    """The shortest of ``runs`` runs of the check (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        with contextlib.suppress(QueryRefused):
            check(text, Limits(max_length=len(text)), what)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("shape", ADVERSARIAL)
def test_the_check_takes_linear_time_on_adversarial_text(shape: str) -> None:
    """Not a benchmark: 100 kB of ``a-a-a…`` took 100 s (quadratic); now 8 times the text
    takes about 8 times as long (well under 64), and 100 kB well under 2 s."""
    small, large = 12_500, 100_000
    texts = [("SELECT * WHERE { " + shape * (n // len(shape) + 1))[:n] for n in (small, large)]
    seconds = [_check_seconds(texts[0], runs=3), _check_seconds(texts[1], runs=3)]
    assert seconds[1] < 2.0
    # quadratic would be 64; 40 leaves room for a machine busy enough to slow CPU time itself
    # (31 was seen with the whole suite beside other work on 2 cores)
    assert seconds[1] / max(seconds[0], 0.005) < 40  # below 5 ms, the clock's noise


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(), st.text(alphabet=list(SPARQLISH)), st.lists(st.sampled_from(PIECES)).map("".join)
    )
)
def test_lex_tiles_any_text_and_check_refuses_or_accepts(text: str) -> None:
    pieces = list(safety.lex(text))
    bounds = [0, *(end for _, _, end in pieces)]
    assert [start for _, start, _ in pieces] == bounds[:-1] and bounds[-1] == len(text)
    assert all(start < end for _, start, end in pieces)
    tokens = tokenize(text)
    assert [(t.kind, t.start, t.end) for t in tokens] == [
        p for p in pieces if p[0] not in ("ws", "comment")
    ]
    assert all(t.text == text[t.start : t.end] for t in tokens)
    for what in ("query", "update"):
        try:
            check(text, Limits(max_length=len(text)), what)
        except QueryRefused as refused:
            assert str(refused)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("a-b", ["word", "punct", "word"]),  # a name without a colon is words and operators
        ("a-b:c", ["pname"]),
        ("x:a.b. ?y", ["pname", "punct", "var"]),  # no dot at the end of a name
        ("_:b.c.", ["bnode", "punct"]),
        ("'''a'' '''", ["string"]),
        ("'a\\'b' \"\"", ["string", "string"]),
        ("'''a' }", ["error"]),  # a long string never closed, to the end; not '' then 'a'
        ('"a\n"', ["error", "error"]),  # a short string ends at its line
        ("<a b>", ["punct", "word", "word", "punct"]),
        ("1e+5 .5 1.", ["number", "number", "number"]),
        ("@en-GB", ["langtag"]),
    ],
)
def test_tokens(text: str, kinds: list[str]) -> None:
    assert [t.kind for t in tokenize(text)] == kinds


@pytest.mark.parametrize("text", ["SELECT * { ?s ?p 'x }", 'ASK { FILTER("a\nb") }', "ASK {'''"])
def test_a_string_without_its_closing_quote_is_refused(text: str) -> None:
    with pytest.raises(QueryRefused, match=r"without its closing .* at line 1, column"):
        check(text, LIMITS)


# -- nesting and chains that would overflow the engine's stack ---------------------------------
P = "<http://example.org/p>"
TOO_DEEP = {
    "not": "ASK { FILTER(" + "!" * 10_000 + "true) }",
    "not-in-update": "DELETE { ?s ?p ?o } WHERE { FILTER(" + "!" * 10_000 + "true) }",
    "not-and-minus": "ASK { FILTER(" + "! -" * 60 + "1) }",
}
TOO_LONG = {
    "plus": "ASK { FILTER(1" + "+1" * 10_000 + ") }",
    "and": "ASK { FILTER(true" + " && true" * 10_000 + ") }",
    "or": "ASK { FILTER(false" + " || true" * 10_000 + ") }",
    "path": "ASK { ?s " + "/".join([P] * 10_000) + " ?o }",
    "alternative-path": "ASK { ?s " + "|".join([P] * 10_000) + " ?o }",
    "union": "ASK { {}" + " UNION {}" * 10_000 + " }",
    "optional": "ASK { ?s ?p ?o" + " OPTIONAL { ?s ?p ?o }" * 3000 + " }",
    "groups": "ASK { " + "{}" * 10_000 + " }",
    "bind": "ASK { " + "".join(f"BIND(1 AS ?x{i}) " for i in range(3000)) + "}",
    "projection": "SELECT " + "".join(f"(1 AS ?x{i}) " for i in range(3000)) + "{}",
    "triple-patterns": "DELETE WHERE { "
    + "".join(f"?s{i} {P} ?o{i} . " for i in range(10_000))
    + "}",
    "nested-and-long": "ASK { "
    + "{ ?s ?p ?o " * 90
    + "FILTER(1"
    + "+1" * 950
    + ")"
    + " }" * 90
    + " }",
}


@pytest.mark.parametrize("text", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_deep_unary_chains_are_refused(text: str) -> None:
    with pytest.raises(
        QueryRefused,
        match=r"nests \d+ levels deep at line 1, column \d+.*at most 100 \(CLAIMGRAPH_MAX_QUERY_D",
    ):
        check(text, Limits(max_length=len(text)), "update" if "DELETE" in text else "query")


@pytest.mark.parametrize("text", TOO_LONG.values(), ids=TOO_LONG.keys())
def test_long_chains_are_refused(text: str) -> None:
    with pytest.raises(
        QueryRefused, match=r"chains \d+ operators .* at most 1000 \(CLAIMGRAPH_MAX_QUERY_CHAIN\)"
    ):
        check(text, Limits(max_length=len(text)), "update" if "DELETE" in text else "query")


def test_flat_data_templates_and_lists_are_not_chains() -> None:
    limits = Limits(max_length=10_000_000)
    triples = "".join(f"<http://example.org/s{i}> {P} {i} . " for i in range(20_000))
    check(f"INSERT DATA {{ GRAPH <http://g> {{ {triples} }} }}", limits, "update")
    check(f"INSERT {{ {triples} }} WHERE {{ }}", limits, "update")
    check(f"CONSTRUCT {{ {triples} }} WHERE {{ }}", limits)
    check("SELECT * { VALUES (?a ?b) { " + "(1 2) " * 20_000 + "} }", limits)
    check("ASK { FILTER(1 IN (" + ", ".join(["1"] * 20_000) + ")) }", limits)
    check(f"INSERT DATA {{ <http://s> {P} (" + " 1" * 20_000 + ") }", limits, "update")
    graphs = "".join(f"GRAPH <http://g/{i}> {{ <http://s> {P} -{i} }} " for i in range(5000))
    check(f"INSERT DATA {{ {graphs} }}", limits, "update")
    check(f"DELETE {{ {graphs} }} INSERT {{ {graphs} }} WHERE {{ }}", limits, "update")


def test_the_shipped_queries_are_far_from_the_limits() -> None:
    for path in sorted((ROOT / "queries").glob("*.rq")):
        check(path.read_text(), Limits(max_depth=10, max_chain=100))


# Just within the limits, on a thread of default size as a waitress request or a query worker
# runs it (the worst constructs found: nested EXISTS or calls around a long chain).
AT_THE_LIMITS = [
    "ASK { " + "FILTER EXISTS { " * 97 + "FILTER(1" + "+1" * 780 + ")" + " }" * 97 + " }",
    "ASK { FILTER(" + "STR(" * 96 + "1" + "+1" * 880 + ")" * 96 + ") }",
    "ASK { "
    + "FILTER EXISTS { " * 97
    + "{ SELECT "
    + "".join(f"(1 AS ?x{i})" for i in range(780))
    + " {} }"
    + " }" * 97
    + " }",
    "ASK { " + "FILTER EXISTS { " * 98 + "{}" + " UNION {}" * 390 + " }" * 98 + " }",
    "ASK { ?s " + "/".join([P] * 890) + " ?o FILTER(" + "!" * 95 + "true) }",
]
_RUN_ON_A_THREAD = """
import sys, threading, pyoxigraph
text = sys.stdin.read()
def run():
    print(bool(pyoxigraph.Store().query(text)))
thread = threading.Thread(target=run)
thread.start()
thread.join()
"""


@pytest.mark.parametrize("query", AT_THE_LIMITS)
def test_what_the_limits_let_through_does_not_overflow_the_engine(query: str) -> None:
    check(query, Limits())
    run = subprocess.run(
        [sys.executable, "-c", _RUN_ON_A_THREAD],
        input=query,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-500:]
    assert run.stdout.strip() in ("True", "False")


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


def test_hostile_shapes_are_refused_at_once_and_the_server_keeps_answering(live: Live) -> None:
    """The 100 kB ``a-a-a…`` that took 100 s of the server's CPU, and the chain of ``!`` that
    killed the query worker (a 500), are 400s in well under 2 s; no worker dies."""
    pids = set(live.service.executor.pids())
    hostile = [
        ("sparql", DIRECT, ("SELECT * WHERE { " + "a-" * 50_000)[:99_000], "chains"),
        ("sparql", DIRECT, TOO_DEEP["not"], "nests"),
        ("update", {**UPDATE, **AUTH}, TOO_DEEP["not-in-update"], "nests"),
        ("update", {**UPDATE, **AUTH}, TOO_LONG["triple-patterns"], "chains"),
    ]
    for route, headers, body, says in hostile:
        started = time.monotonic()
        reply = http("POST", live.url + route, data=body, headers=headers)
        assert reply.status == 400 and says in reply.text, reply.text
        assert time.monotonic() - started < 2.0
        ask = http("GET", live.sparql, params={"query": "ASK { ?s ?p ?o }"})
        assert ask.status == 200 and b"true" in ask.body
    assert set(live.service.executor.pids()) == pids
