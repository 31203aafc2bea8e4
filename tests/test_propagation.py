"""The propagation analysis: its answers on the ZPMC case, its counts on generated data against
a brute-force computation in SPARQL, and the derived graph it keeps: regenerated after a write,
never in the curated graphs, refused to users, served as linked data, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from flask import Flask

from bench.generate import generate
from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import InputError
from claimgraph.iris import CG
from claimgraph.propagation.analysis import Analysis, analyse, read_facts
from claimgraph.propagation.derived import Names, Runner, delta, triples, units
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.validation import Validator
from tests.sparql_helpers import TOKEN, http, live_server

BASE = "https://claimgraph.org/"
CLAIM = f"{BASE}id/claim/china-made-cranes-pose-national-security-risk"
ACTOR = f"{BASE}id/actor/"
ASSERTS = "https://claimgraph.org/vocab/stance#asserts"
DENIES = "https://claimgraph.org/vocab/stance#denies"
SPREADERS = {
    f"{ACTOR}{a}" for a in ("wall-street-journal", "cnn", "fox-business", "business-insider")
}
COMMITTEE = f"{ACTOR}congressional-committee"
XINHUA_REBUTTAL = f"{BASE}id/statement/xinhua-headline-crane-threat-lacks-foundation"
WAIT = 120.0


@pytest.fixture(scope="module")
def case(validator: Validator) -> Iterator[tuple[ClaimGraph, Analysis]]:
    cg = ClaimGraph(Settings(seed=False, propagation=False), validator=validator)
    cg.seed()
    yield cg, analyse(read_facts(cg.store))
    cg.close()


def speaker(cg: ClaimGraph, statement: str) -> str:
    (q,) = cg.store.quads(ox.NamedNode(statement), ox.NamedNode(f"{CG}speaker"), None, None)
    return q.object.value


# -- the case ------------------------------------------------------------------------------------


def test_the_accusation_has_one_origin_the_probe(case: tuple[ClaimGraph, Analysis]) -> None:
    _, analysis = case
    asserts = analysis.claims[CLAIM].stances[ASSERTS]
    assert asserts.speakers == [COMMITTEE]
    assert len(asserts.origins) == 1 and len(asserts.sources) == 1
    # everyone who repeated it added no origin of their own, and the Journal was among them
    assert asserts.repeats and f"{ACTOR}wall-street-journal" in asserts.repeated_by
    assert set(asserts.repeated_by) <= SPREADERS
    for report in asserts.repeats:
        assert analysis.statements[report].origins == asserts.origins


def test_the_probe_was_repeated_by_the_journal_and_three_outlets(
    case: tuple[ClaimGraph, Analysis],
) -> None:
    cg, analysis = case
    probe = [s for s in analysis.statements.values() if speaker(cg, s.iri) == COMMITTEE]
    relayed_by = {speaker(cg, e) for s in probe for e in s.echoes}
    assert relayed_by == SPREADERS
    for hop in analysis.hops:
        if speaker(cg, hop.reported) == COMMITTEE:
            assert hop.lag is not None and 0 <= hop.lag[0] <= hop.lag[1] <= 31


def test_xinhuas_rebuttal_was_carried_by_no_us_outlet(case: tuple[ClaimGraph, Analysis]) -> None:
    cg, analysis = case
    claim = analysis.claims[CLAIM]
    assert XINHUA_REBUTTAL in claim.stances[DENIES].origins
    assert XINHUA_REBUTTAL in claim.uncarried
    assert analysis.statements[XINHUA_REBUTTAL].echoes == []
    # the outlets that spread the claim are among its reporters; none is an echo of Xinhua's
    assert f"{ACTOR}wall-street-journal" in claim.reporters
    us = {
        q.subject.value
        for q in cg.store.quads(None, ox.NamedNode(f"{CG}country"), ox.Literal("US"), None)
    }
    carriers = {speaker(cg, e) for e in analysis.statements[XINHUA_REBUTTAL].echoes}
    assert not carriers & us


def test_a_report_leads_back_to_its_origin(case: tuple[ClaimGraph, Analysis]) -> None:
    _, analysis = case
    for st in analysis.statements.values():
        if st.first_hand:
            assert st.origins == [st.iri] and st.depth == 0
        else:
            assert st.origins and all(analysis.statements[o].first_hand for o in st.origins)
            assert st.depth is not None and st.depth >= 1


# -- generated data against a brute force in SPARQL ----------------------------------------------

FIRST_HAND = "FILTER NOT EXISTS { ?x cg:reportedBy ?o }"


def sparql_counts(store: EmbeddedStore, query: str) -> dict[tuple[str, ...], int]:
    result = store.query("PREFIX cg: <https://claimgraph.org/ontology#>\n" + query)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return {
        tuple(row[n].value for n in names[:-1]): int(row[names[-1]].value)  # type: ignore[union-attr]
        for row in result
    }


@pytest.mark.parametrize("seed", [1, 7])
def test_counts_on_generated_data_match_a_brute_force(seed: int) -> None:
    store = EmbeddedStore(None)
    store.bulk_load(generate(1500, seed=seed))
    analysis = analyse(read_facts(store))
    origins = sparql_counts(
        store,
        f"SELECT ?c ?st (COUNT(DISTINCT ?o) AS ?n) "
        f"WHERE {{ ?o cg:claim ?c ; cg:stance ?st . {FIRST_HAND} }} GROUP BY ?c ?st",
    )
    speakers = sparql_counts(
        store,
        f"SELECT ?c ?st (COUNT(DISTINCT ?sp) AS ?n) "
        f"WHERE {{ ?o cg:claim ?c ; cg:stance ?st ; cg:speaker ?sp . {FIRST_HAND} }} "
        "GROUP BY ?c ?st",
    )
    repeats = sparql_counts(
        store,
        f"SELECT ?c ?st (COUNT(DISTINCT ?r) AS ?n) WHERE {{ ?o cg:claim ?c ; cg:stance ?st . "
        f"{FIRST_HAND} ?o cg:reportedBy+ ?r }} GROUP BY ?c ?st",
    )
    echoes = sparql_counts(
        store, "SELECT ?s (COUNT(DISTINCT ?r) AS ?n) WHERE { ?s cg:reportedBy+ ?r } GROUP BY ?s"
    )
    statements = sparql_counts(
        store,
        "SELECT ?c ?st (COUNT(?s) AS ?n) WHERE { ?s cg:claim ?c ; cg:stance ?st } GROUP BY ?c ?st",
    )
    hops = sparql_counts(store, "SELECT (COUNT(*) AS ?n) WHERE { ?a cg:reportedBy ?b }")
    assert sum(repeats.values()) > 0, "the generated data has reporting chains"
    got = {(c.claim, s.stance): s for c in analysis.claims.values() for s in c.stances.values()}
    assert set(got) == set(statements)
    for key, s in got.items():
        assert s.statements == statements[key]
        assert len(s.origins) == origins.get(key, 0), key
        assert len(s.speakers) == speakers.get(key, 0), key
        assert len(s.repeats) == repeats.get(key, 0), key
    for st in analysis.statements.values():
        assert len(st.echoes) == echoes.get((st.iri,), 0), st.iri
    assert len(analysis.hops) == hops[()]


# -- the derived graph ---------------------------------------------------------------------------


def started(validator: Validator) -> tuple[Flask, ClaimGraph, Runner]:
    """The case, an app over it, and its runner once the first analysis is written."""
    settings = Settings(seed=False, propagation=True, propagation_delay=0.0, write_token=TOKEN)
    cg = ClaimGraph(settings, validator=validator)
    cg.seed()
    app = create_app(settings, graph=cg)
    runner = app.extensions["claimgraph.propagation"]
    runner.ensure()
    assert runner.wait(cg.generation, WAIT)
    return app, cg, runner


def stopped(app: Flask, cg: ClaimGraph) -> None:
    app.extensions["claimgraph.sparql"].close()
    cg.close()


@pytest.fixture
def app_graph(validator: Validator) -> Iterator[tuple[Flask, ClaimGraph, Runner]]:
    app, cg, runner = started(validator)
    yield app, cg, runner
    stopped(app, cg)


def whole_analysis(cg: ClaimGraph, names: Names) -> set[ox.Quad]:
    """The derived graph as analysing the store afresh gives it (without the activity)."""
    analysis = analyse(read_facts(cg.store, skip=[names.graph]))
    g = names.graph
    return {ox.Quad(t.subject, t.predicate, t.object, g) for t in triples(analysis, names)}


def alias(name: str) -> ox.Quad:
    """A write propagation does not read: another name of CNN."""
    return ox.Quad(
        ox.NamedNode(f"{ACTOR}cnn"),
        ox.NamedNode("http://schema.org/alternateName"),
        ox.Literal(name, language="en"),
        ox.NamedNode(f"{BASE}graph/zpmc"),
    )


def derived(cg: ClaimGraph) -> set[ox.Quad]:
    return set(cg.store.quads(None, None, None, Names(cg.iris.base).graph))


def test_the_derived_graph_conforms_and_stays_apart(
    app_graph: tuple[object, ClaimGraph, Runner],
) -> None:
    _, cg, runner = app_graph
    names = Names(cg.iris.base)
    quads = derived(cg)
    assert quads
    # every derived resource says what made it; nothing of it is in another graph
    subjects = {q.subject for q in quads} - {names.analysis}
    generated = {q.subject for q in quads if q.predicate.value.endswith("wasGeneratedBy")}
    assert subjects == generated
    for q in cg.store.quads(None, None, None, None):
        if q.graph_name != names.graph:
            assert q.subject not in subjects and q.predicate.value not in {
                f"{CG}origin",
                f"{CG}echoCount",
                f"{CG}propagationOf",
            }
    # and it conforms to the shapes, as a write of it would have to
    report = cg.validator.validate_store(cg.store)
    assert not [r for r in report.results if r.severity == "Violation"], report.text()
    assert runner.runs == 1  # its own write started no second analysis


def test_derived_triples_follow_a_write(app_graph: tuple[object, ClaimGraph, Runner]) -> None:
    _, cg, runner = app_graph
    runs = runner.runs
    node = lambda s: ox.NamedNode(f"{BASE}{s}")  # noqa: E731
    g = ox.NamedNode(f"{BASE}graph/zpmc")
    new = node("id/statement/reuters-reports-committee-national-security")
    origin = node("id/statement/congressional-committee-cranes-national-security-threat")
    cg.write(
        Delta(
            add=[
                ox.Quad(
                    new,
                    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                    ox.NamedNode(f"{CG}Statement"),
                    g,
                ),
                ox.Quad(new, ox.NamedNode(f"{CG}speaker"), node("id/actor/cnn"), g),
                ox.Quad(new, ox.NamedNode(f"{CG}claim"), ox.NamedNode(CLAIM), g),
                ox.Quad(
                    new,
                    ox.NamedNode(f"{CG}stance"),
                    ox.NamedNode("https://claimgraph.org/vocab/stance#reports"),
                    g,
                ),
                ox.Quad(
                    new,
                    ox.NamedNode(f"{CG}date"),
                    ox.Literal(
                        "2024-03-08", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
                    ),
                    g,
                ),
                ox.Quad(new, ox.NamedNode(f"{CG}source"), node("id/source/cnn-report-2024-03"), g),
                ox.Quad(
                    new,
                    ox.NamedNode(f"{CG}excerpt"),
                    ox.Literal("CNN relays the probe.", language="en"),
                    g,
                ),
                ox.Quad(origin, ox.NamedNode(f"{CG}reportedBy"), new, g),
            ]
        )
    )
    written = cg.generation
    assert runner.wait(written, WAIT)
    names = Names(cg.iris.base)
    echo = names.echo(origin.value, new.value)
    assert ox.Quad(echo, ox.NamedNode(f"{CG}hopTo"), new, names.graph) in derived(cg)
    lag = list(cg.store.quads(echo, ox.NamedNode(f"{CG}minLagDays"), None, names.graph))
    assert [q.object.value for q in lag] == ["0"]  # "2024-03" to 2024-03-08: 0 to 7 days
    stamp = next(cg.store.quads(names.analysis, ox.NamedNode(f"{CG}writeGeneration"), None, None))
    assert int(stamp.object.value) == written
    assert runner.runs == runs + 1  # one analysis for the write, none for its own
    assert cg.generation == written + 1 and runner.done == cg.generation


def test_nothing_to_change_writes_nothing(app_graph: tuple[object, ClaimGraph, Runner]) -> None:
    _, cg, runner = app_graph
    before, generation = derived(cg), cg.generation
    # a write propagation does not read (an actor's name) leaves the derived graph as it was
    cg.write(Delta(add=[alias("Cable News Network")]))
    assert runner.wait(generation + 1, WAIT)
    assert derived(cg) == before and cg.generation == generation + 1


def test_after_writes_the_derived_graph_is_what_a_whole_analysis_gives(
    app_graph: tuple[object, ClaimGraph, Runner], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its first run, the runner rewrites only the resources whose digest changed, and
    reads back only those: the graph must still be exactly what analysing afresh gives."""
    _, cg, runner = app_graph
    names = Names(cg.iris.base)
    reads: list[ox.NamedNode | None] = []  # the subjects the derived graph is read by
    quads = cg.store.quads

    def counted(s=None, p=None, o=None, g=None):  # type: ignore[no-untyped-def]
        if g == names.graph:
            reads.append(s)
        return quads(s, p, o, g)

    monkeypatch.setattr(cg.store, "quads", counted)

    def settle() -> None:
        assert runner.wait(cg.generation, WAIT)
        expected = whole_analysis(cg, names)
        held = {q for q in quads(None, None, None, names.graph) if q.subject != names.analysis}
        assert held == expected

    generated = list(generate(300, seed=4))
    cg.write(Delta(add=generated))
    settle()
    assert None not in reads and 0 < len(reads) < 1000  # the changed resources only
    links = [q for q in generated if q.predicate.value == f"{CG}reportedBy"]
    assert len(links) >= 3
    reads.clear()
    cg.write(Delta(remove=links[:3]))  # chains cut: echoes, origins and counts change
    settle()
    assert None not in reads and 0 < len(reads) < 100
    reads.clear()
    cg.write(Delta(add=links[:2]))  # and mended again
    settle()
    assert None not in reads and 0 < len(reads) < 100


def test_a_large_derived_write_goes_in_parts(
    validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``SWAP_MIN_QUADS`` (here 10) the derived graph is written in parts, by the bulk
    loader, not one transaction: the same graph, one write generation."""
    monkeypatch.setattr("claimgraph.core.SWAP_MIN_QUADS", 10)
    monkeypatch.setattr("claimgraph.store.embedded.BULK_SLICE", 50)
    parts: list[Delta] = []
    apply_in_parts = EmbeddedStore.apply_in_parts

    def spy(store: EmbeddedStore, change: Delta) -> None:
        parts.append(change)
        apply_in_parts(store, change)

    monkeypatch.setattr(EmbeddedStore, "apply_in_parts", spy)
    app, cg, _ = started(validator)
    names = Names(cg.iris.base)
    expected = whole_analysis(cg, names)
    held = {q for q in derived(cg) if q.subject != names.analysis}
    assert len(parts) == 1 and len(parts[0].add) > 50 and held == expected
    # one write generation: the analysis of generation n is the write that made n + 1
    stamp = next(cg.store.quads(names.analysis, ox.NamedNode(f"{CG}writeGeneration"), None, None))
    assert int(stamp.object.value) == cg.generation - 1
    stopped(app, cg)


def test_under_steady_writes_an_analysis_rests_before_the_next(
    validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("claimgraph.propagation.derived.REST", 1e6)  # so: MAX_REST, 30 s
    app, cg, runner = started(validator)
    runs = runner.runs
    cg.write(Delta(add=[alias("CNN International")]))
    assert not runner.wait(cg.generation, 1.0) and runner.runs == runs  # resting
    stopped(app, cg)  # wakes it: no analysis, no 30 s wait
    assert runner.runs == runs


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { GRAPH <https://claimgraph.org/graph/derived/propagation> "
        "{ <https://claimgraph.org/id/x> <https://claimgraph.org/ontology#echoCount> 1 } }",
        "DROP GRAPH <https://claimgraph.org/graph/derived/propagation>",
        "DELETE WHERE { GRAPH <https://claimgraph.org/graph/derived/propagation> { ?s ?p ?o } }",
    ],
    ids=["insert", "drop", "delete"],
)
def test_a_user_write_to_the_derived_graph_is_refused(validator: Validator, update: str) -> None:
    with live_server(validator, propagation=True, propagation_delay=0.0) as live:
        runner = live.app.extensions["claimgraph.propagation"]
        runner.ensure()
        assert runner.wait(live.graph.generation, WAIT)
        before, generation = derived(live.graph), live.graph.generation
        reply = http(
            "POST",
            live.url + "update",
            data=update.encode(),
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {TOKEN}",
            },
        )
        assert reply.status == 400, reply.text
        assert "derived" in reply.text and "reserved" in reply.text
        assert derived(live.graph) == before and live.graph.generation == generation
        put = http(
            "PUT",
            live.url
            + "graph-store?graph=https%3A%2F%2Fclaimgraph.org%2Fgraph%2Fderived%2Fpropagation",
            data=b"<https://claimgraph.org/id/x> <https://claimgraph.org/ontology#echoCount> 1 .",
            headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {TOKEN}"},
        )
        assert put.status == 400, put.text
        assert derived(live.graph) == before


def test_the_core_refuses_a_derived_write_that_is_not_the_systems(graph: ClaimGraph) -> None:
    target = Names(graph.iris.base).graph
    quad = ox.Quad(
        ox.NamedNode(f"{BASE}id/x"), ox.NamedNode(f"{CG}echoCount"), ox.Literal("1"), target
    )
    with pytest.raises(InputError, match="reserved"):
        graph.write(Delta(add=[quad]))
    assert not graph.store.has_graph(target)


# -- on the web ----------------------------------------------------------------------------------


def test_propagation_is_dereferenceable_and_has_twins(
    app_graph: tuple[object, ClaimGraph, Runner],
) -> None:
    app, _, _ = app_graph
    client = app.test_client()  # type: ignore[attr-defined]
    slug = CLAIM.rsplit("/", 1)[1]
    ttl = client.get(f"/id/claim/{slug}/propagation.ttl")
    assert ttl.status_code == 200 and b"ClaimPropagation" in ttl.data
    assert (
        client.get(
            f"/id/claim/{slug}/propagation/asserts", headers={"Accept": "text/turtle"}
        ).status_code
        == 200
    )
    assert client.get(f"/id/claim/{slug}/propagation.html").status_code == 200
    assert client.get("/graph/derived/propagation.ttl").status_code == 200
    assert client.get("/id/analysis/propagation.ttl").status_code == 200
    assert client.get(f"/id/claim/{slug}/nothing").status_code == 404

    doc = json.loads(client.get(f"/propagation/claim/{slug}.json").data)
    assert doc["claim"] == CLAIM and doc["generation"] <= doc["graphGeneration"]
    asserting = [o for o in doc["origins"] if o["stance"] == ASSERTS]
    assert [o["speaker"] for o in asserting] == [COMMITTEE]
    assert XINHUA_REBUTTAL in [r["statement"] for r in doc["uncarriedRebuttals"]]
    stance = next(s for s in doc["stances"] if s["forStance"] == ASSERTS)
    assert stance["originCount"] == 1 and stance["firstStatement"]["speaker"] == COMMITTEE
    assert {e["reportSpeaker"] for e in doc["echoes"]} >= {f"{ACTOR}wall-street-journal"}

    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/propagation/claim/{slug}.csv").data.decode()))
    )
    assert {r["row"] for r in rows} == {"origin", "echo", "uncarried-rebuttal"}
    statement = client.get(
        "/propagation/statement/congressional-committee-cranes-national-security-threat.json"
    )
    sdoc = json.loads(statement.data)
    assert sdoc["firstHand"] is True and sdoc["echoes"]
    assert client.get("/propagation/claim/no-such-claim.json").status_code == 404
    assert client.get(f"/propagation/claim/{slug}.xml").status_code == 404


def test_dumps_carry_the_derived_graph(app_graph: tuple[object, ClaimGraph, Runner]) -> None:
    app, _, _ = app_graph
    dump = app.test_client().get("/dumps/claimgraph.nq")  # type: ignore[attr-defined]
    assert dump.status_code == 200
    assert b"<https://claimgraph.org/graph/derived/propagation> ." in dump.data


def test_closing_the_graph_ends_the_analysis_first(
    validator: Validator, caplog: pytest.LogCaptureFixture
) -> None:
    """A graph closed right after a write: the analysis it started stops before the store
    closes, instead of reading a closed store in the background."""
    settings = Settings(seed=False, propagation=True, propagation_delay=0.2)
    cg = ClaimGraph(settings, validator=validator)
    runner: Runner = create_app(settings, graph=cg).extensions["claimgraph.propagation"]
    cg.seed()  # writes: the analysis is wanted, and waits its delay
    thread = runner._thread
    assert thread is not None
    cg.close()
    thread.join(timeout=WAIT)
    assert not thread.is_alive()
    assert not [r for r in caplog.records if r.name.startswith("claimgraph.propagation")]


def test_derived_data_of_generated_cases_conforms(validator: Validator) -> None:
    """System writes skip validation (see ``ClaimGraph.write``): what the analysis derives must
    conform on its own, here on generated data as on the case."""
    cg = ClaimGraph(Settings(seed=False, propagation=False), validator=validator)
    cg.seed()
    cg.write(Delta(add=list(generate(300, seed=3))))
    names = Names(cg.iris.base)
    change = delta(
        cg, names, units(analyse(read_facts(cg.store, skip=[names.graph])), names), cg.generation
    )
    assert change.add
    report = validator.validate_delta(cg.store, change)
    assert report.conforms, report.text()
    cg.close()
