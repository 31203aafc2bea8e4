"""SPARQL 1.1 Update at /update over real HTTP: the token, one validated all-or-nothing write
per request, and the semantics of each operation over a union default graph."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from claimgraph.formats import by_name
from claimgraph.sparql.update import Workspace
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.validation import Validator
from tests.sparql_helpers import AUTH, FORM, UPDATE, Live, Reply, form, http, live_server

CG = "PREFIX cg: <https://claimgraph.org/ontology#>\n"
EX = "https://example.org/"


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator) as server:
        yield server


def update(live: Live, text: str, *, accept: str = "application/json", **params: str) -> Reply:
    reply = http(
        "POST",
        live.url + "update",
        params=params or None,
        data=text,
        headers={**AUTH, **UPDATE, "Accept": accept},
    )
    return reply


def rows(live: Live, query: str) -> list[dict[str, str]]:
    reply = http("GET", live.sparql, params={"query": query}, headers={"Accept": "text/csv"})
    assert reply.status == 200, reply.text
    return list(csv.DictReader(io.StringIO(reply.text)))


def claim(name: str, text: str = "A claim", graph: str = "g") -> str:
    return (
        f"{CG}INSERT DATA {{ GRAPH <{EX}graph/{graph}> {{ <{EX}id/claim/{name}> a cg:Claim ; "
        f'cg:text "{text}"@en . }} }}'
    )


def texts(live: Live, name: str) -> set[str]:
    found = rows(live, f"{CG}SELECT ?t WHERE {{ <{EX}id/claim/{name}> cg:text ?t }}")
    return {r["t"] for r in found}


def graphs_of(live: Live, name: str) -> set[str]:
    found = rows(live, f"SELECT ?g WHERE {{ GRAPH ?g {{ <{EX}id/claim/{name}> ?p ?o }} }}")
    return {r["g"] for r in found}


def nquads(live: Live) -> bytes:
    out = io.BytesIO()
    live.graph.store.dump(out, by_name("nquads"))
    return out.getvalue()


# -- the token -----------------------------------------------------------------------------------
def test_updates_need_the_token(live: Live) -> None:
    url = live.url + "update"
    body = claim("no-token")
    missing = http("POST", url, data=body, headers=UPDATE)
    assert missing.status == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    malformed = http("POST", url, data=body, headers={**UPDATE, "Authorization": "Basic eDp5"})
    assert malformed.status == 401
    wrong = http("POST", url, data=body, headers={**UPDATE, "Authorization": "Bearer nope"})
    assert wrong.status == 403
    via_sparql = http("POST", live.sparql, data=form({"update": body}), headers=FORM)
    assert via_sparql.status == 401
    assert texts(live, "no-token") == set()


def test_updates_are_off_without_a_configured_token(validator: Validator) -> None:
    with live_server(validator, write_token=None) as off:
        reply = http("POST", off.url + "update", data=claim("off"), headers={**UPDATE, **AUTH})
        assert reply.status == 403 and "CLAIMGRAPH_WRITE_TOKEN" in reply.text


# -- data operations --------------------------------------------------------------------------
def test_insert_data_form_and_direct(live: Live) -> None:
    direct = update(live, claim("direct", "Sent directly"))
    assert direct.status == 200, direct.text
    assert json.loads(direct.body)["added"] == 2
    posted = http(
        "POST",
        live.url + "update",
        data=form({"update": claim("form", "Sent as a form")}),
        headers={**FORM, **AUTH},
    )
    assert posted.status == 200
    charset = http(
        "POST",
        live.url + "update",
        data=claim("charset", "Zeichensatz für Ümlaute").encode("utf-8"),
        headers={**AUTH, "Content-Type": "application/sparql-update; charset=utf-8"},
    )
    assert charset.status == 200
    assert texts(live, "direct") == {"Sent directly"}
    assert texts(live, "form") == {"Sent as a form"}
    assert texts(live, "charset") == {"Zeichensatz für Ümlaute"}


def test_insert_without_a_graph_is_refused(live: Live) -> None:
    reply = update(live, f'{CG}INSERT DATA {{ <{EX}id/claim/nowhere> cg:text "x"@en }}')
    assert reply.status == 400 and "GRAPH" in reply.text


def test_blank_nodes_are_skolemized(live: Live) -> None:
    reply = update(
        live,
        f'{CG}INSERT DATA {{ GRAPH <{EX}graph/bnodes> {{ _:c a cg:Claim ; cg:text "Blank"@en }} }}',
    )
    assert reply.status == 200, reply.text
    found = rows(live, f'{CG}SELECT ?c WHERE {{ ?c cg:text "Blank"@en }}')
    assert len(found) == 1
    assert found[0]["c"].startswith("https://claimgraph.org/.well-known/genid/")


def test_delete_data_without_a_graph_leaves_every_graph(live: Live) -> None:
    assert update(live, claim("twice", "Twice", graph="one")).status == 200
    assert update(live, claim("twice", "Twice", graph="two")).status == 200
    assert graphs_of(live, "twice") == {f"{EX}graph/one", f"{EX}graph/two"}
    reply = update(
        live,
        f'{CG}DELETE DATA {{ <{EX}id/claim/twice> a cg:Claim ; cg:text "Twice"@en }}',
    )
    assert reply.status == 200 and json.loads(reply.body)["removed"] == 4
    assert graphs_of(live, "twice") == set()


def test_delete_insert_where_with_and_using(live: Live) -> None:
    assert update(live, claim("edit", "Old text", graph="edits")).status == 200
    reply = update(
        live,
        f"{CG}WITH <{EX}graph/edits> DELETE {{ ?c cg:text ?t }} "
        f'INSERT {{ ?c cg:text "New text"@en }} '
        f'WHERE {{ ?c cg:text ?t FILTER(?t = "Old text"@en) }}',
    )
    assert reply.status == 200, reply.text
    assert texts(live, "edit") == {"New text"}
    assert graphs_of(live, "edit") == {f"{EX}graph/edits"}
    # USING names the graph the WHERE reads; the template names where the triples go
    reply = update(
        live,
        f"{CG}INSERT {{ GRAPH <{EX}graph/edits-copy> {{ ?c a cg:Claim ; cg:text ?t }} }} "
        f"USING <{EX}graph/edits> WHERE {{ ?c cg:text ?t }}",
    )
    assert reply.status == 200, reply.text
    assert graphs_of(live, "edit") == {f"{EX}graph/edits", f"{EX}graph/edits-copy"}


def test_delete_where(live: Live) -> None:
    assert update(live, claim("doomed", "Doomed", graph="doomed")).status == 200
    reply = update(live, f"DELETE WHERE {{ GRAPH <{EX}graph/doomed> {{ ?s ?p ?o }} }}")
    assert reply.status == 200 and json.loads(reply.body)["removed"] == 2
    assert graphs_of(live, "doomed") == set()


def test_using_graph_uri_parameter(live: Live) -> None:
    assert update(live, claim("param", "Param", graph="param")).status == 200
    text = (
        f"{CG}INSERT {{ GRAPH <{EX}graph/param-out> {{ ?c a cg:Claim ; cg:text ?t }} }} "
        "WHERE { ?c cg:text ?t }"
    )
    reply = update(live, text, **{"using-graph-uri": f"{EX}graph/param"})
    assert reply.status == 200, reply.text
    copied = rows(live, f"SELECT ?s WHERE {{ GRAPH <{EX}graph/param-out> {{ ?s ?p ?o }} }}")
    assert {r["s"] for r in copied} == {f"{EX}id/claim/param"}  # only what the graph held
    conflict = update(
        live,
        f"{CG}WITH <{EX}graph/param> DELETE {{ ?c cg:text ?t }} WHERE {{ ?c cg:text ?t }}",
        **{"using-graph-uri": f"{EX}graph/param"},
    )
    assert conflict.status == 400 and "USING" in conflict.text


def test_template_blank_nodes_are_fresh_per_solution(live: Live) -> None:
    for name in ("a", "b"):
        assert update(live, claim(f"src-{name}", f"Source {name}", graph="fresh-in")).status == 200
    reply = update(
        live,
        f"{CG}INSERT {{ GRAPH <{EX}graph/fresh-out> {{ _:copy a cg:Claim ; cg:text ?t }} }} "
        f"USING <{EX}graph/fresh-in> WHERE {{ ?c cg:text ?t }}",
    )
    assert reply.status == 200, reply.text
    made = rows(live, f"SELECT DISTINCT ?s WHERE {{ GRAPH <{EX}graph/fresh-out> {{ ?s ?p ?o }} }}")
    assert len(made) == 2 and all("/.well-known/genid/" in r["s"] for r in made)


def test_operations_see_the_ones_before_them(live: Live) -> None:
    """`;` separates operations that run in order: the WHERE of the second sees the first."""
    text = (
        claim("seq", "First", graph="seq")
        + f" ;\n{CG}DELETE {{ GRAPH <{EX}graph/seq> {{ ?c cg:text ?t }} }} "
        f'INSERT {{ GRAPH <{EX}graph/seq> {{ ?c cg:text "Second"@en }} }} '
        f"WHERE {{ GRAPH <{EX}graph/seq> {{ ?c cg:text ?t }} }}"
    )
    reply = update(live, text)
    assert reply.status == 200, reply.text
    assert texts(live, "seq") == {"Second"}


# -- graph management ----------------------------------------------------------------------------
def test_graph_operations(live: Live) -> None:
    assert update(live, claim("ops", "Ops", graph="ops-a")).status == 200
    steps = [
        (f"COPY <{EX}graph/ops-a> TO <{EX}graph/ops-b>", {"ops-a", "ops-b"}),
        (f"MOVE GRAPH <{EX}graph/ops-b> TO <{EX}graph/ops-c>", {"ops-a", "ops-c"}),
        (f"ADD <{EX}graph/ops-a> TO <{EX}graph/ops-d>", {"ops-a", "ops-c", "ops-d"}),
        (f"DROP GRAPH <{EX}graph/ops-c>", {"ops-a", "ops-d"}),
        (f"CLEAR GRAPH <{EX}graph/ops-d>", {"ops-a"}),
        (f"CREATE GRAPH <{EX}graph/ops-new>", {"ops-a"}),
    ]
    for text, expected in steps:
        reply = update(live, text)
        assert reply.status == 200, (text, reply.text)
        assert graphs_of(live, "ops") == {f"{EX}graph/{g}" for g in expected}, text
    for text, says in [
        (f"DROP GRAPH <{EX}graph/never>", "no graph"),
        (f"CREATE GRAPH <{EX}graph/ops-a>", "already exists"),
        ("DROP DEFAULT", "union"),
        (f"MOVE DEFAULT TO <{EX}graph/x>", "union"),
        (f"COPY <{EX}graph/ops-a> TO DEFAULT", "union"),
    ]:
        reply = update(live, text)
        assert reply.status == 400 and says in reply.text, (text, reply.text)
    assert update(live, f"DROP SILENT GRAPH <{EX}graph/never>").status == 200


def test_the_registry_graph_cannot_be_written(live: Live) -> None:
    """Whatever the store: on a remote one it holds the registry and the write generation."""
    assert update(live, claim("reg", "Registry", graph="reg")).status == 200
    registry = "<urn:claimgraph:graphs>"
    value = "<urn:claimgraph:generation> <urn:claimgraph:value> 1"
    pending = "<urn:claimgraph:write/9> <urn:claimgraph:pending> 5"
    before = nquads(live)
    for text in [
        f"INSERT DATA {{ GRAPH {registry} {{ {pending} }} }}",
        f"DELETE DATA {{ GRAPH {registry} {{ {value} }} }}",
        f"WITH {registry} INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH <{EX}graph/reg> {{ ?s ?p ?o }} }}",
        f"DROP GRAPH {registry}",
        f"DROP SILENT GRAPH {registry}",
        f"CLEAR GRAPH {registry}",
        f"COPY <{EX}graph/reg> TO {registry}",
        f"MOVE {registry} TO <{EX}graph/elsewhere>",
    ]:
        reply = update(live, text)
        assert reply.status == 400 and "is reserved" in reply.text, (text, reply.text)
    assert nquads(live) == before


# -- all or nothing ----------------------------------------------------------------------------
def test_a_violating_update_changes_nothing(live: Live) -> None:
    before, generation = nquads(live), live.graph.generation
    text = (
        claim("valid-part", "Fine") + f" ;\n{CG}INSERT DATA {{ GRAPH <{EX}graph/g> {{ "
        f'<{EX}id/claim/bad> a cg:Claim ; cg:text "no language" }} }}'
    )
    reply = update(live, text)
    assert reply.status == 422
    report = json.loads(reply.body)
    assert report["conforms"] is False and report["violations"] >= 1
    assert any("bad" in r["focus_node"] for r in report["results"])
    turtle = update(live, text, accept="text/turtle")
    assert turtle.status == 422 and turtle.headers["Content-Type"].startswith("text/turtle")
    shacl = ox.Store()
    shacl.load(turtle.body, ox.RdfFormat.TURTLE)
    assert bool(shacl.query("ASK { ?r <http://www.w3.org/ns/shacl#conforms> false }"))
    assert nquads(live) == before and live.graph.generation == generation
    assert texts(live, "valid-part") == set()


def test_update_errors(live: Live) -> None:
    syntax = update(live, "INSERT DATA {\n  GRAPH <http://g> { <http://s> <http://p> }\n}")
    assert syntax.status == 400 and "2:" in syntax.text
    query = update(live, "SELECT * WHERE { ?s ?p ?o }")
    assert query.status == 400 and "/sparql" in query.text
    get = http("GET", live.url + "update", params={"update": "CLEAR ALL"})
    assert get.status == 405
    empty = http("POST", live.url + "update", data=form({}), headers={**FORM, **AUTH})
    assert empty.status == 400
    large = update(live, claim("large", "x" * 17_000_000))
    assert large.status == 413


# -- the workspace (pure) -----------------------------------------------------------------------
def test_workspace_nets_out_changes() -> None:
    live = EmbeddedStore(None)
    g, h = ox.NamedNode(EX + "g"), ox.NamedNode(EX + "h")
    s, p = ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p")
    one, two = ox.Quad(s, p, ox.Literal("1"), g), ox.Quad(s, p, ox.Literal("2"), g)
    live.apply(Delta(add=[one]))
    ws = Workspace(live)
    ws.remove(one)
    ws.add(one)  # back as it was
    assert not ws
    ws.add(two)
    ws.remove(two)
    assert not ws
    ws.drop(g)
    ws.add(two)
    assert ws.delta() == Delta(add=[two], remove=[], drop_graphs=[g])
    assert set(ws.quads(graph=g)) == {two}
    ws.add(ox.Quad(s, p, ox.Literal("3"), h))
    assert set(ws.graphs()) == {h, g}
    live.close()


def test_syntax_errors_in_later_operations_point_into_the_request(live: Live) -> None:
    # a PREFIX after ";" is valid SPARQL (rdflib sends it); Oxigraph's parser alone refuses it
    text = (
        claim("pos", "Position") + " ;\n" + CG + "INSERT DATA { GRAPH <http://g> { <http://s> } }"
    )
    reply = update(live, text)
    assert reply.status == 400 and "error at 4:" in reply.text, reply.text
    assert texts(live, "pos") == set()


def test_a_large_insert_data_is_one_write(live: Live) -> None:
    """Updates are bounded by the body size, not by the (public) query length limit."""
    padding = "a long text " * 20
    claims = "\n".join(
        f'<{EX}id/claim/bulk-{i}> a cg:Claim ; cg:text "Bulk claim {i}, {padding}"@en .'
        for i in range(400)
    )
    text = f"{CG}INSERT DATA {{ GRAPH <{EX}graph/bulk> {{\n{claims}\n}} }}"
    assert len(text) > live.service.settings.max_query_length
    reply = update(live, text)
    assert reply.status == 200, reply.text
    assert json.loads(reply.body)["added"] == 800


def test_a_large_form_is_accepted(live: Live) -> None:
    text = "# " + "x" * 600_000 + "\n" + claim("big-form", "Sent in a big form")
    reply = http("POST", live.url + "update", data=form({"update": text}), headers={**FORM, **AUTH})
    assert reply.status == 200, reply.text
    assert texts(live, "big-form") == {"Sent in a big form"}
