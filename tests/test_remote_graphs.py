"""`claimgraph graphs` over a real Virtuoso (tests/virtuoso.py): graphs loaded into the server
directly, not through ClaimGraph, are listed as unregistered, registered (validated, one write
that bumps the write generation) and unregistered again (their data stays)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result

from claimgraph.app import create_app
from claimgraph.cli import main
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import InputError
from claimgraph.store import REGISTRY
from claimgraph.store.shared import RemoteStore
from claimgraph.validation import Validator
from tests.test_cli import BAD_STATEMENT
from tests.test_writes import BASE, PREFIXES
from tests.virtuoso import Virtuoso

LOADED = "http://example.org/loaded/"  # the graphs these tests load into the server directly
CASE, PEOPLE, BROKEN, BLANK = (ox.NamedNode(LOADED + n) for n in ("case", "people", "bad", "bn"))
ALICE = "https://claimgraph.org/id/actor/alice"
SPEAKERS = "SELECT ?s WHERE { ?s <https://claimgraph.org/ontology#speaker> ?a }"

# BASE split in two graphs: the people and sources, and the claim and statement about them.
PEOPLE_TTL = (
    PREFIXES
    + """
actor:alice a cg:Person ; schema:name "Alice Example"@en .
source:paper a cg:NewsArticle ; cg:title "A paper"@en ; cg:publisher actor:alice ;
    cg:datePublished "2024-03-08"^^xsd:date ; cg:language "en"^^xsd:language .
"""
)
CASE_TTL = (
    PREFIXES
    + """
claim:sky-green a cg:Claim ; cg:text "The sky is green."@en .
statement:alice-sky a cg:Statement ; cg:speaker actor:alice ; cg:claim claim:sky-green ;
    cg:stance stance:asserts ; cg:date "2024-03-07"^^xsd:date ; cg:source source:paper ;
    cg:excerpt "The sky is green, said Alice."@en .
"""
)


def raw_update(server: Virtuoso, sparql: str) -> None:
    """An update sent straight to Virtuoso's authenticated endpoint, as any client of the
    server's would send it: ClaimGraph plays no part."""
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, server.update_url, "dba", server.password)
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(passwords))
    body = urllib.parse.urlencode({"update": sparql}).encode()
    with opener.open(urllib.request.Request(server.update_url, data=body), timeout=30) as answer:
        assert answer.status == 200


def raw_select(server: Virtuoso, sparql: str) -> list[dict[str, str]]:
    """A query straight to Virtuoso's open endpoint (its own dataset: every graph it has)."""
    url = server.query_url + "?" + urllib.parse.urlencode({"query": sparql})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        rows = json.load(answer)["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def load_directly(server: Virtuoso, graph: ox.NamedNode, turtle: str) -> int:
    triples = list(ox.parse(turtle.encode(), ox.RdfFormat.TURTLE))
    body = "\n".join(f"{t} ." for t in triples)
    raw_update(server, f"INSERT DATA {{ GRAPH {graph} {{\n{body}\n}} }}")
    return len(triples)


@pytest.fixture
def server(virtuoso: Virtuoso) -> Iterator[Virtuoso]:
    virtuoso.reset()
    yield virtuoso
    virtuoso.reset()  # (drops the registered graphs)
    for g in (CASE, PEOPLE, BROKEN, BLANK):
        raw_update(virtuoso, f"DROP SILENT GRAPH {g}")


def cli(server: Virtuoso, *args: str) -> Result:
    env = {
        "CLAIMGRAPH_SEED": "false",
        "CLAIMGRAPH_STORE_UPDATE_URL": server.update_url,
        "CLAIMGRAPH_STORE_USER": "dba",
        "CLAIMGRAPH_STORE_PASSWORD": server.password,
    }
    return CliRunner(env=env).invoke(main, [*args, "--store", server.store_url])


def listed(server: Virtuoso, *flags: str) -> dict[str, int]:
    result = cli(server, "graphs", "list", *flags)
    assert result.exit_code == 0, result.output
    rows = (line.split("\t") for line in result.stdout.splitlines())
    return {g: int(n) for g, n in rows}


@pytest.fixture
def other(server: Virtuoso, validator: Validator) -> Iterator[ClaimGraph]:
    """Another instance over the same server, opened before any registration: it reads the
    store's write generation at every request."""
    settings = Settings(seed=False, store_refresh=0.0, page_refresh_wait=60.0, **server.settings())
    graph = ClaimGraph(settings, validator=validator)
    yield graph
    graph.close()


def speakers(graph: ClaimGraph) -> list[str]:
    result = graph.store.query(SPEAKERS)
    assert isinstance(result, ox.QuerySolutions)
    return [row["s"].value for row in result]


def test_a_graph_loaded_directly_is_listed_as_unregistered(server: Virtuoso) -> None:
    n = load_directly(server, CASE, BASE)
    on_server = {r["g"] for r in raw_select(server, "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }")}
    system = {"http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#"}
    assert system < on_server  # the server's own graphs are there, unfiltered
    assert listed(server, "--unregistered") == {CASE.value: n}  # and left out
    assert CASE.value not in listed(server)
    result = cli(server, "graphs", "list", "--unregistered", "--json")
    assert json.loads(result.stdout) == {"graphs": {CASE.value: n}, "complete": True}


def test_the_unregistered_list_is_bounded(server: Virtuoso) -> None:
    for g in (CASE, PEOPLE, BROKEN):
        load_directly(server, g, PEOPLE_TTL)
    result = cli(server, "graphs", "list", "--unregistered", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2 and "the first 2 found" in result.stderr
    store = server.store(page_size=1)  # long reads a page at a time
    assert store.unregistered_graphs() == ([BROKEN, CASE, PEOPLE], True)
    assert store.unregistered_graphs(limit=1)[1] is False


def test_the_endpoints_own_description_is_a_system_graph(server: Virtuoso) -> None:
    """Virtuoso names the graph describing its endpoint after the host of its ini, and its
    WebDAV graph likewise: found by what the first says of itself, not by a fixed name."""
    store = server.store()
    described = raw_select(
        server,
        "SELECT ?g { GRAPH ?g { ?g a <http://www.w3.org/ns/sparql-service-description#Service> } }",
    )
    (description,) = (ox.NamedNode(r["g"]) for r in described)
    dav = ox.NamedNode(description.value.removesuffix("sparql") + "DAV/")
    assert {description, dav} <= store.system_graphs()
    load_directly(server, dav, PEOPLE_TTL)
    try:
        assert store.unregistered_graphs() == ([], True)
        result = cli(server, "graphs", "register", description.value)
        assert result.exit_code == 2 and "system" in result.stderr
    finally:
        raw_update(server, f"DROP SILENT GRAPH {dav}")


def test_register_makes_the_graph_visible_and_bumps_the_generation(
    server: Virtuoso, other: ClaimGraph
) -> None:
    n = load_directly(server, CASE, BASE)
    client = create_app(other.settings, graph=other).test_client()
    assert client.get("/id/actor/alice", headers={"Accept": "text/turtle"}).status_code == 404
    assert speakers(other) == []
    before = other.generation

    result = cli(server, "graphs", "register", CASE.value)
    assert result.exit_code == 0, result.output
    assert f"registered {CASE.value} ({n} triples)" in result.stdout
    assert f"write generation {before + 1}" in result.stdout
    assert other.generation == before + 1  # another instance sees the store change
    assert speakers(other) == ["https://claimgraph.org/id/statement/alice-sky"]
    page = client.get("/id/actor/alice", headers={"Accept": "text/turtle"})
    assert page.status_code == 200
    assert ox.Literal("Alice Example", language="en") in {
        t.object for t in ox.parse(page.data, ox.RdfFormat.TURTLE)
    }
    assert listed(server) == {CASE.value: n} and listed(server, "--unregistered") == {}

    again = cli(server, "graphs", "register", CASE.value)
    assert again.exit_code == 0, again.output
    assert "registered already: nothing to do" in again.stdout
    assert other.generation == before + 1  # nothing written


def test_a_graph_that_breaks_the_shapes_is_refused(server: Virtuoso, other: ClaimGraph) -> None:
    load_directly(server, BROKEN, BASE + BAD_STATEMENT)
    before = other.generation
    result = cli(server, "graphs", "register", BROKEN.value)
    assert result.exit_code == 1, result.output  # as `load` and `validate`: the shapes
    assert "statement/no-date" in result.stderr and "cg:date" in result.stderr
    assert other.generation == before and listed(server) == {}
    assert BROKEN.value in listed(server, "--unregistered")
    # the operator's call: registered as it is, and then the store does not conform
    forced = cli(server, "graphs", "register", "--no-validate", BROKEN.value)
    assert forced.exit_code == 0, forced.output
    assert BROKEN.value in listed(server)
    assert cli(server, "validate").exit_code == 1


def test_graphs_are_validated_together_with_what_claimgraph_sees(server: Virtuoso) -> None:
    """A statement whose speaker is in another graph: refused alone, registered once that
    graph is; and that graph cannot be unregistered while the statement needs it."""
    load_directly(server, CASE, CASE_TTL)
    load_directly(server, PEOPLE, PEOPLE_TTL)
    alone = cli(server, "graphs", "register", CASE.value)
    assert alone.exit_code == 1 and "cg:speaker" in alone.stderr
    both = cli(server, "graphs", "register", CASE.value, PEOPLE.value)
    assert both.exit_code == 0, both.output
    assert set(listed(server)) == {CASE.value, PEOPLE.value}
    refused = cli(server, "graphs", "unregister", PEOPLE.value)
    assert refused.exit_code == 1 and "cg:speaker" in refused.stderr
    assert set(listed(server)) == {CASE.value, PEOPLE.value}
    done = cli(server, "graphs", "unregister", CASE.value, PEOPLE.value)
    assert done.exit_code == 0, done.output
    assert listed(server) == {}


def test_unregister_hides_the_graph_and_keeps_its_data(server: Virtuoso, other: ClaimGraph) -> None:
    n = load_directly(server, CASE, BASE)
    assert cli(server, "graphs", "register", CASE.value).exit_code == 0
    registered = other.generation
    assert speakers(other)

    result = cli(server, "graphs", "unregister", CASE.value)
    assert result.exit_code == 0, result.output
    assert f"unregistered {CASE.value} ({n} triples, still on the server)" in result.stdout
    assert other.generation == registered + 1
    assert speakers(other) == []
    client = create_app(other.settings, graph=other).test_client()
    assert client.get("/id/actor/alice", headers={"Accept": "text/turtle"}).status_code == 404
    count = raw_select(server, f"SELECT (COUNT(*) AS ?n) {{ GRAPH {CASE} {{ ?s ?p ?o }} }}")
    assert int(count[0]["n"]) == n  # the data is still on the server
    assert listed(server, "--unregistered") == {CASE.value: n}

    again = cli(server, "graphs", "unregister", CASE.value)
    assert again.exit_code == 0 and "is not registered: nothing to do" in again.stdout
    assert other.generation == registered + 1


@pytest.mark.parametrize(
    ("iri", "message", "unregistered"),
    [
        ("not an IRI", "not an absolute IRI", 2),
        ("relative/graph", "not an absolute IRI", 2),
        ("<http://example.org/g>", "not an absolute IRI", 2),
        (REGISTRY.value, "ClaimGraph's registry itself", 2),
        ("http://www.openlinksw.com/schemas/virtrdf#", "system", 0),
        (LOADED + "nothing", "holds no data", 0),
        (BLANK.value, "blank nodes", 0),
    ],
)
def test_what_cannot_be_registered_changes_nothing(
    server: Virtuoso, other: ClaimGraph, iri: str, message: str, unregistered: int
) -> None:
    load_directly(server, CASE, BASE)
    raw_update(  # (INSERT DATA takes no blank nodes on Virtuoso; a template does)
        server, f"INSERT {{ GRAPH {BLANK} {{ _:a <http://example.org/p> 'x' }} }} WHERE {{}}"
    )
    before = other.generation
    result = cli(server, "graphs", "register", CASE.value, iri)  # one good, one not
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert listed(server) == {} and other.generation == before
    # unregistering it: the same error, or nothing to do (it is not registered)
    result = cli(server, "graphs", "unregister", iri)
    assert result.exit_code == unregistered, result.output
    assert other.generation == before


def test_the_store_refuses_to_register_the_registry_before_sending() -> None:
    store = RemoteStore("http://127.0.0.1:9/sparql")  # nobody listens: nothing may be sent
    for at in (store.register_at, store.unregister_at):
        with pytest.raises(InputError, match="registry itself"):
            at([REGISTRY], 3)


def test_a_registration_at_an_old_generation_changes_nothing(server: Virtuoso) -> None:
    load_directly(server, CASE, BASE)
    first, second = server.store(), server.store()
    base = first.write_base()
    assert first.register_at([CASE], base) == base + 1
    assert second.unregister_at([CASE], base) is None  # the first wrote since
    assert second.graphs() == [CASE] and second.generation() == base + 1
    assert second.unregister_at([CASE], second.write_base()) == base + 2
    assert first.graphs() == []


def test_a_registration_another_instance_wrote_before_is_checked_again(
    server: Virtuoso, other: ClaimGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another instance writes between this one's validation and its conditional update:
    nothing lands, and the registration is validated again against the new state and sent."""
    load_directly(server, CASE, BASE)
    shared = other.store
    assert isinstance(shared, RemoteStore)
    sent: list[int] = []
    real = shared.register_at

    def register_at(graphs: list[ox.NamedNode], generation: int) -> int | None:
        if not sent:  # meanwhile, another instance registers the people
            load_directly(server, PEOPLE, PEOPLE_TTL)
            assert cli(server, "graphs", "register", PEOPLE.value).exit_code == 0
        sent.append(generation)
        return real(graphs, generation)

    monkeypatch.setattr(shared, "register_at", register_at)
    result = other.register_graphs([CASE])
    assert result.changed == [CASE] and result.generation == sent[0] + 2
    assert sent == [sent[0], sent[0] + 1]
    assert shared.graphs() == sorted([CASE, PEOPLE], key=lambda g: g.value)
