"""Property-based fuzzing of every input the service parses: SPARQL queries and updates with
their protocol parameters, RDF bodies in every accepted format to the Graph Store, ClaimReview
JSON-LD imports, resource paths, and the filters of the claims list.

Two properties, on every request: the service never answers 5xx (an unexpected exception is
a bug, not a refusal), and a refused request (4xx) leaves the store exactly as it was. Inputs
are random text and bytes, and mutations of valid documents (slices deleted, duplicated,
tokens of the input's grammar inserted or repeated), which get much further into the parsers.

Most examples go through the Flask test client (fast); one smaller run goes through a real
loopback server. The Hypothesis profile (``HYPOTHESIS_PROFILE``, registered in conftest.py)
sets the budget: ``ci`` (the default) is derandomized and small, ``fuzz`` is a deep run.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from claimgraph.app import create_app
from claimgraph.claimreview import import_markup
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.formats import RDF_FORMATS, RdfFormat
from claimgraph.pages.claims import FILTERS
from claimgraph.validation import Validator
from tests.conftest import FIXTURES, ROOT
from tests.live_server import serve
from tests.sparql_helpers import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "https://claimgraph.org/"
FUZZ_GRAPH = "https://example.org/graph/fuzz"
ZPMC_GRAPH = BASE + "graph/zpmc"
QUERIES = sorted((ROOT / "queries").glob("*.rq")) + sorted((ROOT / "bench/queries").glob("*.rq"))
CLAIMREVIEWS = [
    *sorted((FIXTURES / "claimreview").glob("*.jsonld")),
    FIXTURES / "claimreview" / "eg-0324.jsonld",
]
BUDGET = settings.default.max_examples  # of the loaded profile


# -- the service under test ---------------------------------------------------------------------
def _fingerprint(graph: ClaimGraph) -> tuple[int, int, str]:
    """Write generation, quad count and a hash of the sorted quads: cheap on a small store."""
    quads = sorted(str(q) for q in graph.store.quads())
    return graph.generation, len(quads), hashlib.sha256("\n".join(quads).encode()).hexdigest()


@dataclass
class Service:
    app: Flask
    graph: ClaimGraph

    def fingerprint(self) -> tuple[int, int, str]:
        return _fingerprint(self.graph)


@dataclass(frozen=True)
class Call:
    """One HTTP request, as sent by either the test client or a real HTTP client."""

    method: str
    path: str  # already percent-encoded
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        query = urllib.parse.urlencode(self.params)
        return self.path + ("?" + query if query else "")

    @property
    def writes(self) -> bool:
        """Whether the request may change the store: it carries the write token."""
        return "Authorization" in self.headers

    def __repr__(self) -> str:  # what a failure shows: the input, shortened
        body = self.body if self.body is None or len(self.body) < 600 else self.body[:600] + b"..."
        return f"Call({self.method} {self.url[:600]!r}, body={body!r}, headers={self.headers!r})"


def _service(validator: Validator) -> Service:
    # No propagation analysis: its own background writes would change the store between a
    # request and the check of what the request changed (tests/test_propagation.py covers it).
    settings = Settings(
        seed=False,
        write_token=TOKEN,
        query_workers=1,
        query_timeout=2.0,
        page_refresh_wait=60.0,
        propagation=False,
    )
    graph = ClaimGraph(settings, validator=validator)
    graph.seed()
    files = [FIXTURES / "claimreview" / "eg-0324.jsonld"]
    import_markup(graph, [(str(f), f.read_bytes()) for f in files], language="en")
    app = create_app(settings, graph=graph)
    # An unhandled exception reaches the test with its traceback (and Hypothesis tells distinct
    # ones apart) instead of becoming an anonymous 500.
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return Service(app, graph)


@pytest.fixture(scope="module")
def reader(validator: Validator) -> Iterator[Service]:
    """One service for the read-only properties (they send no write token)."""
    svc = _service(validator)
    yield svc
    svc.app.extensions["claimgraph.sparql"].close()
    svc.graph.close()


@pytest.fixture
def writer(validator: Validator) -> Iterator[Service]:
    """A fresh service for each writing property: a write that lands changes the store."""
    svc = _service(validator)
    yield svc
    svc.app.extensions["claimgraph.sparql"].close()
    svc.graph.close()


def check(call: Call, status: int, body: bytes, before: Any, after: Any) -> None:
    """The two properties of every request. A query stopped at the time limit is answered 503
    by design (the bound on every query): a mutation can well ask for all paths of any length
    between any two nodes."""
    timed_out = status == 503 and b"CLAIMGRAPH_QUERY_TIMEOUT" in body
    assert status < 500 or timed_out, (
        f"{call!r}\n→ HTTP {status}: {body[:3000].decode(errors='replace')}"
    )
    if status >= 400 or not call.writes:
        assert after == before, f"{call!r}\n→ HTTP {status} but the store changed"


def send(svc: Service, call: Call) -> None:
    before = svc.fingerprint()
    client = svc.app.test_client()
    response = client.open(
        call.path,
        method=call.method,
        query_string=urllib.parse.urlencode(call.params),
        data=call.body,
        headers=call.headers,
    )
    body = response.get_data()
    check(call, response.status_code, body, before, svc.fingerprint())


# -- generic mutation ---------------------------------------------------------------------------
# Text without surrogates (they cannot be sent as UTF-8), and header values HTTP can carry.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
HEADER = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@st.composite
def mutated(draw: st.DrawFn, text: str, tokens: tuple[str, ...]) -> str:
    """``text`` with a few edits: slices deleted or duplicated, grammar tokens inserted, a
    token repeated many times (nesting, long runs), random characters spliced in."""
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 200)))
        edit = draw(st.sampled_from(("delete", "duplicate", "token", "repeat", "random")))
        if edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif edit == "token":
            text = text[:i] + draw(st.sampled_from(tokens)) + text[i:]
        elif edit == "repeat":
            times = draw(st.sampled_from((2, 10, 100, 1000, 5000)))
            text = text[:i] + draw(st.sampled_from(tokens)) * times + text[i:]
        else:
            text = text[:i] + draw(TEXT) + text[j:]
    return text


def _encoded(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Text as UTF-8, or now and then as bytes that are not UTF-8 at all."""
    return st.one_of(
        text.map(str.encode),
        st.tuples(text, st.binary(min_size=1, max_size=8)).map(
            lambda tb: tb[0].encode("utf-8")[: len(tb[0]) // 2] + b"\xff\xfe" + tb[1]
        ),
    )


# -- SPARQL -------------------------------------------------------------------------------------
SPARQL_TOKENS = (
    "{", "}", "(", ")", "[", "]", "!", "^", "|", "/", "*", "+", "?", "?x", "$y", "<", ">",
    "<https://claimgraph.org/id/claim/x>", "<http://127.0.0.1:1/>", '"', "'", '"""', "'''",
    "\\", "\\u00", "\\U0010FFFF", "#", "\n", ".", ";", ",", "@en", "^^", "_:b", "[]", "a",
    " FILTER(", " OPTIONAL {", " UNION ", " MINUS {", " SERVICE <http://127.0.0.1:1/> {",
    " GRAPH ?g {", " VALUES ?x {", " BIND(", " AS ?z)", " SELECT * {", " CONSTRUCT ",
    " DESCRIBE ", " ASK ", " FROM <https://claimgraph.org/graph/zpmc> ", " FROM NAMED ",
    " LIMIT 99999999999999999999", " OFFSET -1", " ORDER BY ", " GROUP BY ", " HAVING(",
    " PREFIX p: <http://p/> ", " BASE <rel> ", "p:", ":", "1e999", "-0.0", "\x00", "\u202e",
    "REGEX(?x, \"(a*)*b\")", "STRLEN(", "CONCAT(", "COUNT(*)", "SUM(", "NOT EXISTS {",
    " INSERT DATA { ", " DELETE WHERE { ", " ; ", " LOAD <http://127.0.0.1:1/> ", "*/",
)  # fmt: skip
QUERY_TEXTS = [p.read_text(encoding="utf-8") for p in QUERIES] + [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
    "ASK { ?s a <https://claimgraph.org/ontology#Claim> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 5",
    "DESCRIBE <https://claimgraph.org/id/actor/zpmc>",
    "SELECT ?o WHERE { <https://claimgraph.org/id/actor/zpmc> (!(<http://p/>|^<http://q/>))* ?o }",
]
UPDATE_TEXTS = [
    f"PREFIX cg: <https://claimgraph.org/ontology#>\nINSERT DATA {{ GRAPH <{FUZZ_GRAPH}> {{\n"
    '  <https://example.org/id/claim/fuzz> a cg:Claim ; cg:text "A claim."@en .\n} }',
    f"DELETE DATA {{ GRAPH <{FUZZ_GRAPH}> {{ <https://example.org/a> <https://example.org/b> 1 }}"
    " }",
    f"DELETE WHERE {{ GRAPH <{ZPMC_GRAPH}> {{ ?s <http://schema.org/name> ?o }} }}",
    "PREFIX cg: <https://claimgraph.org/ontology#>\n"
    f'WITH <{ZPMC_GRAPH}> DELETE {{ ?c cg:text ?t }} INSERT {{ ?c cg:text "x"@en }} '
    "WHERE { ?c cg:text ?t } ",
    f"CLEAR GRAPH <{ZPMC_GRAPH}>",
    f"DROP SILENT GRAPH <{FUZZ_GRAPH}>; CREATE GRAPH <{FUZZ_GRAPH}>",
    f"LOAD <http://127.0.0.1:1/data.ttl> INTO GRAPH <{FUZZ_GRAPH}>",
    f"COPY <{ZPMC_GRAPH}> TO <{FUZZ_GRAPH}>",
    f"ADD DEFAULT TO <{FUZZ_GRAPH}>",
]
ACCEPTS = (
    "application/sparql-results+json", "application/sparql-results+xml", "text/csv",
    "text/tab-separated-values", "text/turtle", "application/n-triples", "application/ld+json",
    "application/rdf+xml", "text/html", "*/*", "image/png", "text/*;q=0.1, */*;q=0",
    "application/json;q=abc", "",
)  # fmt: skip
GRAPH_PARAM = st.one_of(
    st.sampled_from((ZPMC_GRAPH, FUZZ_GRAPH, BASE + "graph/vocabularies", "urn:x")), HEADER
)


def _sparql_call(
    endpoint: str, name: str, text: str, how: str, params: list[tuple[str, str]], accept: str
) -> Call:
    headers = {"Accept": accept} if accept else {}
    if how == "get":
        return Call("GET", endpoint, ((name, text), *params), headers=headers)
    if how == "form":
        body = urllib.parse.urlencode([(name, text), *params]).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return Call("POST", endpoint, (), body, {**headers, **form})
    direct = "application/sparql-query" if name == "query" else "application/sparql-update"
    return Call("POST", endpoint, tuple(params), text.encode(), {**headers, "Content-Type": direct})


@st.composite
def query_calls(draw: st.DrawFn) -> Call:
    text = draw(
        st.one_of(
            st.sampled_from(QUERY_TEXTS).flatmap(lambda q: mutated(q, SPARQL_TOKENS)),
            TEXT,
            st.sampled_from(QUERY_TEXTS),
        )
    )
    params = draw(
        st.lists(
            st.tuples(
                st.sampled_from(("default-graph-uri", "named-graph-uri", "format", "timeout")),
                GRAPH_PARAM,
            ),
            max_size=3,
        )
    )
    how = draw(st.sampled_from(("get", "form", "direct")))
    accept = draw(st.one_of(st.sampled_from(ACCEPTS), HEADER))
    return _sparql_call("/sparql", "query", text, how, params, accept)


@st.composite
def update_calls(draw: st.DrawFn) -> Call:
    text = draw(
        st.one_of(
            st.sampled_from(UPDATE_TEXTS).flatmap(lambda u: mutated(u, SPARQL_TOKENS)),
            TEXT,
            st.sampled_from(UPDATE_TEXTS),
        )
    )
    params = draw(
        st.lists(
            st.tuples(st.sampled_from(("using-graph-uri", "using-named-graph-uri")), GRAPH_PARAM),
            max_size=2,
        )
    )
    endpoint, how = draw(
        st.sampled_from((("/update", "form"), ("/update", "direct"), ("/sparql", "form")))
    )
    call = _sparql_call(endpoint, "update", text, how, params, draw(st.sampled_from(ACCEPTS)))
    auth = draw(st.sampled_from((AUTH, AUTH, AUTH, {}, {"Authorization": "Bearer wrong"})))
    return Call(call.method, call.path, call.params, call.body, {**call.headers, **auth})


# -- RDF bodies ---------------------------------------------------------------------------------
RDF_TOKENS = (
    "<", ">", "<https://example.org/x>", "<rel>", "_:", "_:b", "[", "]", "(", ")", "{", "}",
    '"', "'", '"""', "\\", "\\u0000", "\\U0010FFFF", "\\U00110000", "^^", "@", "@en", ".", ";",
    ",", "#", "a", "true", "1.0e", "<<", ">>", "<<(", ")>>", "~", "@prefix p: <x:> .",
    "@base <http://b/> .", "PREFIX", "GRAPH", "GRAPH <https://claimgraph.org/graph/zpmc> {",
    "\x00", "\ufeff", "\r", "\n",
)  # fmt: skip
XML_TOKENS = (
    "<", ">", "</", "/>", "<rdf:Description>", "</rdf:Description>", "<rdf:Description",
    ' rdf:about="', ' rdf:resource="', ' rdf:nodeID="b"', ' rdf:parseType="Collection"',
    ' rdf:parseType="Literal"', ' rdf:parseType="Resource"', ' xml:lang="', ' xml:base="',
    ' rdf:datatype="', '"', "'", "&amp;", "&#0;", "&#x110000;", "&e;", "<![CDATA[", "]]>",
    '<!DOCTYPE rdf:RDF [<!ENTITY e "eeeeeeeeee">]>', "<!--", "-->", "<?xml", "?>",
    "<rdf:li>", "rdf:_1", "<a:b xmlns:a='x:'>", "\x00",
)  # fmt: skip
JSON_TOKENS = (
    "{", "}", "[", "]", ":", ",", '"', "\\", "\\u0000", "\\ud800", "null", "true", "1e999",
    '"@context"', '"@id"', '"@type"', '"@graph"', '"@value"', '"@language"', '"@list"',
    '"@set"', '"@reverse"', '"@base"', '"@vocab"', '"@index"', '"@nest"', '"@included"',
    '"@json"', '"@direction"', '"http://127.0.0.1:1/context.jsonld"', '"https://schema.org"',
    '"_:b"', '"x:y"', "\x00",
)  # fmt: skip
TOKENS = {"jsonld": JSON_TOKENS, "rdfxml": XML_TOKENS}


def _valid_documents() -> dict[str, str]:
    """A small valid case (tests/fixtures/valid/minimal.trig) in every accepted format, its
    graph renamed to the one the fuzzer writes to."""
    quads = ox.parse(path=FIXTURES / "valid" / "minimal.trig")
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    target = ox.NamedNode(FUZZ_GRAPH)
    docs = {}
    for fmt in RDF_FORMATS:
        data = [ox.Quad(t.subject, t.predicate, t.object, target) for t in triples]
        if fmt.datasets:
            docs[fmt.name] = ox.serialize(data, format=fmt.ox).decode()
        else:
            docs[fmt.name] = ox.serialize(triples, format=fmt.ox).decode()
    return docs


DOCUMENTS = _valid_documents()


def rdf_bodies(fmt: RdfFormat) -> st.SearchStrategy[bytes]:
    tokens = TOKENS.get(fmt.name, RDF_TOKENS)
    return st.one_of(
        _encoded(mutated(DOCUMENTS[fmt.name], tokens)),
        st.binary(max_size=500),
        st.just(DOCUMENTS[fmt.name].encode()),
    )


@st.composite
def graph_store_calls(draw: st.DrawFn) -> Call:
    fmt = draw(st.sampled_from(RDF_FORMATS))
    body = draw(rdf_bodies(fmt))
    content_type = draw(
        st.one_of(
            st.sampled_from(fmt.media_types),
            st.sampled_from(fmt.media_types).map(lambda t: t + "; charset=latin-1"),
            HEADER,
        )
    )
    method = draw(st.sampled_from(("PUT", "POST")))
    target = draw(
        st.one_of(
            st.just([("graph", FUZZ_GRAPH)]),
            st.just([("graph", ZPMC_GRAPH)]),
            st.just([("default", "")]),
            st.just([]),
            st.lists(st.tuples(st.sampled_from(("graph", "default")), GRAPH_PARAM), max_size=2),
        )
    )
    headers = {**AUTH, "Content-Type": content_type}
    return Call(method, "/graph-store", tuple(target), body, headers)


# -- ClaimReview --------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
CLAIMREVIEW_TEXTS = [p.read_text(encoding="utf-8") for p in CLAIMREVIEWS]


@st.composite
def json_mutated(draw: st.DrawFn, text: str) -> str:
    """A ClaimReview document with one value somewhere in its tree replaced, or one key
    removed: the structure stays JSON, so the importer's checks are what is exercised."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    node: Any = doc
    for _ in range(draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or draw(st.booleans()):
                break
            node = node[key]
        elif isinstance(node, list) and node:
            child = node[draw(st.integers(0, len(node) - 1))]
            if not isinstance(child, dict | list):
                break
            node = child
    if isinstance(node, dict):
        key = draw(st.one_of(st.sampled_from(sorted(node) or ["@type"]), TEXT))
        if draw(st.booleans()) and key in node:
            del node[key]
        else:
            node[key] = draw(JSON_VALUES)
    elif isinstance(node, list):
        node.append(draw(JSON_VALUES))
    return json.dumps(doc, ensure_ascii=draw(st.booleans()))


@st.composite
def claimreview_calls(draw: st.DrawFn) -> Call:
    body = draw(
        st.one_of(
            st.sampled_from(CLAIMREVIEW_TEXTS).flatmap(json_mutated).map(str.encode),
            _encoded(st.sampled_from(CLAIMREVIEW_TEXTS).flatmap(lambda t: mutated(t, JSON_TOKENS))),
            st.binary(max_size=300),
            JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        )
    )
    params = draw(
        st.lists(
            st.tuples(
                st.sampled_from(("graph", "language")),
                st.one_of(st.sampled_from(("en", "zh-Hant", FUZZ_GRAPH, ZPMC_GRAPH)), HEADER),
            ),
            max_size=2,
        )
    )
    content_type = draw(st.sampled_from(("application/ld+json", "application/json", "")))
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    return Call("POST", "/import/claimreview", tuple(params), body, headers)


# -- paths and page filters ---------------------------------------------------------------------
SLUGS = ("zpmc", "zpmc-installs-modems-at-factory", "stance", "topic", "verdict", "zpmc")
SUFFIXES = ("", ".ttl", ".jsonld", ".json", ".nt", ".nq", ".rdf", ".csv", ".html", ".", ".x")
PREFIXES = (
    "/id/claim/", "/id/actor/", "/id/statement/", "/id/review/", "/id/x/", "/id/%2F/",
    "/vocab/", "/graph/", "/.well-known/genid/", "/claimreview/", "/ontology/", "/dumps/",
    "/dumps/graph/",
)  # fmt: skip


@st.composite
def path_calls(draw: st.DrawFn) -> Call:
    prefix = draw(st.sampled_from(PREFIXES))
    name = draw(
        st.one_of(
            st.sampled_from(SLUGS),
            st.sampled_from(SLUGS).flatmap(lambda s: mutated(s, SPARQL_TOKENS)),
            TEXT,
        )
    )
    suffix = draw(st.sampled_from(SUFFIXES))
    safe = draw(st.sampled_from(("", "/:@!$&'()*+,;=")))
    path = prefix + urllib.parse.quote(name + suffix, safe=safe)
    accept = draw(st.one_of(st.sampled_from(ACCEPTS), HEADER))
    method = draw(st.sampled_from(("GET", "GET", "HEAD", "POST", "OPTIONS")))
    return Call(method, path, (), None, {"Accept": accept} if accept else {})


CLAIM_PARAM_VALUES = {
    "q": ("modem", "蓝", "%", "\\"),
    "topic": (BASE + "vocab/topic#cybersecurity", "urn:x", "not an iri"),
    "speaker": (BASE + "id/actor/zpmc", "<x>", "http://x/>"),
    "stance": ("denies", "asserts", "-x"),
    "verdict": ("FALSE", "TRUE", "x y"),
    "from": ("2023", "2024-03", "2024-02-30", "0000-00-00", "99999"),
    "to": ("2024", "2023-13", "2024-03-01"),
    "lang": ("en", "zh-Hant", "en-", "x" * 9),
    "sort": ("statements", "recent", "oldest", "text", "bogus"),
    "page": ("1", "2", "0", "-1", "99999999999999999999", "1e3", "1.5"),
    "per_page": ("1", "200", "201", "0", "-5", "99999999999999999999"),
}


@st.composite
def claims_calls(draw: st.DrawFn) -> Call:
    assert set(FILTERS) <= set(CLAIM_PARAM_VALUES), "a filter of the claims list is not fuzzed"
    params = []
    for name in draw(st.lists(st.sampled_from(sorted(CLAIM_PARAM_VALUES)), max_size=6)):
        value = draw(st.one_of(st.sampled_from(CLAIM_PARAM_VALUES[name]), TEXT))
        params.append((name, value))
    path = draw(st.sampled_from(("/claims", "/claims.json", "/claims.csv", "/claims.xml")))
    accept = draw(st.sampled_from(ACCEPTS))
    return Call("GET", path, tuple(params), None, {"Accept": accept} if accept else {})


# -- the properties, through the test client ----------------------------------------------------
@given(query_calls())
def test_sparql_queries_never_fail_or_write(reader: Service, call: Call) -> None:
    send(reader, call)


@given(path_calls())
def test_resource_paths_never_fail_or_write(reader: Service, call: Call) -> None:
    send(reader, call)


@given(claims_calls())
def test_claims_filters_never_fail_or_write(reader: Service, call: Call) -> None:
    send(reader, call)


@given(update_calls())
def test_updates_never_fail_and_refusals_change_nothing(writer: Service, call: Call) -> None:
    send(writer, call)


@given(graph_store_calls())
def test_graph_store_writes_never_fail_and_refusals_change_nothing(
    writer: Service, call: Call
) -> None:
    send(writer, call)


@given(claimreview_calls())
def test_claimreview_imports_never_fail_and_refusals_change_nothing(
    writer: Service, call: Call
) -> None:
    send(writer, call)


# -- a smaller run through a real server on loopback --------------------------------------------
ANY_CALL = st.one_of(
    query_calls(), update_calls(), graph_store_calls(), claimreview_calls(), path_calls(),
    claims_calls(),
)  # fmt: skip


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[tuple[str, Service]]:
    svc = _service(validator)
    svc.app.config["PROPAGATE_EXCEPTIONS"] = False  # waitress answers 500, as in production
    try:
        with serve(svc.app, threads=4) as url:
            yield url, svc
    finally:
        svc.app.extensions["claimgraph.sparql"].close()
        svc.graph.close()


def _over_http(base: str) -> Callable[[Call], tuple[int, bytes]]:
    host, port = urllib.parse.urlsplit(base).netloc.split(":")

    def request(call: Call) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request(call.method, call.url, body=call.body, headers=call.headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    return request


@settings(max_examples=max(10, BUDGET // 3))
@given(ANY_CALL)
def test_over_real_http_never_fails_and_refusals_change_nothing(
    live: tuple[str, Service], call: Call
) -> None:
    base, svc = live
    before = svc.fingerprint()
    status, body = _over_http(base)(call)
    check(call, status, body, before, svc.fingerprint())


def test_the_fuzzed_documents_are_valid_to_start_from(writer: Service) -> None:
    """The mutations start from documents the service accepts: else they test only refusals."""
    client = writer.app.test_client()
    for fmt in RDF_FORMATS:
        url = "/graph-store?" + urllib.parse.urlencode({"graph": FUZZ_GRAPH})
        headers = {**AUTH, "Content-Type": fmt.media_type}
        reply = client.put(url, data=DOCUMENTS[fmt.name].encode(), headers=headers)
        assert reply.status_code in (200, 201), (fmt.name, reply.get_data(as_text=True))
    for text in UPDATE_TEXTS[:2]:
        reply = client.post("/update", data={"update": text}, headers=AUTH)
        assert reply.status_code in (200, 204), (text, reply.get_data(as_text=True))
    for text in QUERY_TEXTS:
        reply = client.post("/sparql", data={"query": text}, headers={"Accept": "text/csv"})
        assert reply.status_code == 200, (text, reply.get_data(as_text=True))
    for name in ("claim-form.jsonld", "array.jsonld"):
        markup = (FIXTURES / "claimreview" / name).read_bytes()
        reply = client.post("/import/claimreview", data=markup, headers=AUTH)
        assert reply.status_code == 200, (name, reply.get_data(as_text=True))
