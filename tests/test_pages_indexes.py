"""Resources read as prose, the index pages of each kind with their facets and twins, the
search across kinds, and the actor page's claims about the actor."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import time
from html import unescape
from typing import Any

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.iris import PREFIXES
from claimgraph.prose import date_text
from claimgraph.validation import Validator
from tests.live_server import seeded_with_reviews
from tests.pages_helpers import BASE, html
from tests.sparql_helpers import AUTH, TOKEN

PROLOGUE = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
ESPIONAGE = "https://claimgraph.org/vocab/topic#espionage"
DENIES = "https://claimgraph.org/vocab/stance#denies"
COUNTED = {
    "actors": "cg:Actor",
    "sources": "cg:Source",
    "evidence": "cg:Evidence",
    "statements": "cg:Statement",
}


@pytest.fixture
def client(settings: Settings, seeded: ClaimGraph) -> FlaskClient:
    return create_app(settings, graph=seeded).test_client()


def sparql(cg: ClaimGraph, query: str) -> list[dict[str, Any]]:
    result = cg.store.query(PROLOGUE + query)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def heading(body: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S)
    assert found is not None
    return found.group(1)


def test_dates_keep_their_precision() -> None:
    assert date_text("2023") == "2023"
    assert date_text("2023-03") == "March 2023"
    assert date_text("2024-03-07") == "7 March 2024"
    assert date_text("2024-03-07T10:00:00Z") == "7 March 2024"
    assert date_text("around 2020") == "around 2020"


def test_statement_pages_are_headed_in_words(client: FlaskClient) -> None:
    body = html(client, "/id/statement/wsj-reports-cranes-national-security-threat")
    assert heading(body) == (
        "The Wall Street Journal reports, 7 March 2024: "
        "“could be a national-security threat at America’s ports.”"
    )
    # a month-only date, no quote: the claim's text
    body = html(
        client, "/id/statement/congressional-committee-unexplained-communications-equipment"
    )
    assert heading(body).startswith(
        "Congressional committee investigating ZPMC cranes asserts, March 2024: Cranes"
    )
    # the reporting chain names each step in words, never by its slug
    chain = body[body.index("Reporting chain") :]
    assert "The Wall Street Journal reports, 7 March 2024" in chain
    assert ">statement:" not in body


def test_untitled_sources_are_headed_by_publisher_kind_and_date(client: FlaskClient) -> None:
    assert heading(html(client, "/id/source/wsj-story-2023-03")) == (
        "The Wall Street Journal news article, March 2023"
    )
    assert heading(html(client, "/id/source/wsj-fourth-story")) == (
        "The Wall Street Journal news article, 2024"
    )
    assert heading(html(client, "/id/source/biden-executive-order-cranes")) == (
        "Executive order by Joe Biden, 2024"
    )
    # and so are the links to them, on a statement's page
    body = html(client, "/id/statement/officials-zpmc-cranes-trojan-horse")
    assert ">The Wall Street Journal news article, March 2023</a>" in body
    assert ">source:" not in body


def test_an_original_and_its_translation_are_told_apart(client: FlaskClient) -> None:
    original = html(client, "/id/source/xinhua-report")
    assert '<h1 lang="zh">新闻调查丨美炮制“中国起重机威胁论”完全站不住脚</h1>' in original
    listed = original[original.index("<h2>Translations</h2>") :]
    assert 'href="/id/source/xinhua-report-english-translation"' in listed
    assert "(English translation)</a>" in listed
    translation = html(client, "/id/source/xinhua-report-english-translation")
    assert heading(translation).endswith("Completely Lacks Foundation (English translation)")
    of = translation[translation.index("<h2>Translation of</h2>") :]
    assert 'href="/id/source/xinhua-report"' in of and "Chinese" in of


def test_assessments_and_affiliations_read_as_prose(client: FlaskClient) -> None:
    assert heading(html(client, "/id/affiliation/guan-tongxian-zpmc")) == (
        "Guan Tongxian, former president at Shanghai Zhenhua Heavy Industries Company Limited"
    )
    text = heading(html(client, "/id/assessment/aapa-statement-refutes-cargo-tracking"))
    assert text.startswith("Statement by the American Association of Port Authorities")
    assert " refutes “The Chinese can track" in text
    assert text.endswith("(assessed by Xinhua News Agency)")


def test_a_description_carries_who_reported_a_statement_and_when(client: FlaskClient) -> None:
    reply = client.get(
        "/id/statement/congressional-committee-unexplained-communications-equipment.nt"
    )
    assert reply.status_code == 200
    triples = reply.get_data(as_text=True)
    wsj = f"<{BASE}id/statement/wsj-reports-unexplained-communications-equipment>"
    assert (
        f"{wsj} <https://claimgraph.org/ontology#speaker> <{BASE}id/actor/wall-street-journal>"
        in triples
    )
    assert f'{wsj} <https://claimgraph.org/ontology#date> "2024-03-07"' in triples


@pytest.mark.parametrize("kind", sorted(COUNTED))
def test_index_totals_match_the_graph(client: FlaskClient, seeded: ClaimGraph, kind: str) -> None:
    [row] = sparql(
        seeded,
        "SELECT (COUNT(DISTINCT ?x) AS ?n) "
        f"WHERE {{ ?c rdfs:subClassOf* {COUNTED[kind]} . ?x a ?c }}",
    )
    doc = client.get(f"/{kind}.json", query_string={"per_page": 500}).get_json()
    assert doc["total"] == doc["matched"] == int(row["n"]) > 0
    assert len(doc[kind]) == doc["total"]
    assert len({item["iri"] for item in doc[kind]}) == doc["total"]
    # the home page's count links to the list
    home = html(client, "/")
    assert f'<a href="/{kind}">{row["n"]}</a>' in home


def test_statement_facets_count_what_the_graph_holds(
    client: FlaskClient, seeded: ClaimGraph
) -> None:
    doc = client.get("/statements.json").get_json()
    by_stance = {
        r["stance"]: int(r["n"])
        for r in sparql(
            seeded,
            "SELECT ?stance (COUNT(DISTINCT ?s) AS ?n) "
            "WHERE { ?s a cg:Statement ; cg:stance ?stance } GROUP BY ?stance",
        )
    }
    assert {v["value"]: v["count"] for v in doc["facets"]["stance"]} == by_stance
    # choosing a value: the total of the view is its count, and the facets narrow with it
    view = client.get(
        "/statements.json", query_string={"stance": DENIES, "per_page": 500}
    ).get_json()
    assert view["matched"] == len(view["statements"]) == by_stance[DENIES]
    assert {v["value"]: v["count"] for v in view["facets"]["stance"]} == {DENIES: by_stance[DENIES]}
    speakers = {
        r["who"]
        for r in sparql(
            seeded, f"SELECT ?who WHERE {{ ?s cg:stance <{DENIES}> ; cg:speaker ?who }}"
        )
    }
    assert {v["value"] for v in view["facets"]["speaker"]} == speakers
    assert all(s["speaker"]["iri"] in speakers for s in view["statements"])
    assert all(" denies" in s["text"] for s in view["statements"])


def test_evidence_on_the_spying_claims(client: FlaskClient, seeded: ClaimGraph) -> None:
    expected = {
        r["e"]
        for r in sparql(
            seeded,
            f"""SELECT DISTINCT ?e WHERE {{ ?claim cg:topic <{ESPIONAGE}> .
              {{ ?e cito:supports|cito:refutes ?claim }}
              UNION {{ ?a cg:evidence ?e ; cg:assessedClaim ?claim }} }}""",
        )
    }
    assert expected
    doc = client.get("/evidence.json", query_string={"topic": ESPIONAGE}).get_json()
    assert {e["iri"] for e in doc["evidence"]} == expected
    body = html(client, "/evidence?topic=https://claimgraph.org/vocab/topic%23espionage")
    assert f"<strong>{len(expected)}</strong> of" in body
    assert 'refutes <a href="/id/claim/' in body
    # the facet links of the whole list lead there
    assert 'href="/evidence?topic=https://claimgraph.org/vocab/topic%23espionage"' in html(
        client, "/evidence"
    )


def test_twins_are_the_same_page(client: FlaskClient) -> None:
    args = {"q": "wall street", "per_page": 3}
    page = client.get("/sources", query_string=args, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert (
        '</sources.json?q=wall+street&per_page=3>; rel="alternate"; type="application/json"'
        in page.headers["Link"]
    )
    doc = client.get("/sources.json", query_string=args).get_json()
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/sources.csv", query_string=args).get_data(as_text=True))
        )
    )
    assert [r["iri"] for r in rows] == [s["iri"] for s in doc["sources"]]
    assert len(rows) == 3 and doc["matched"] > 3 and doc["next"].startswith("/sources.json?")
    nxt = client.get(doc["next"]).get_json()
    assert not {s["iri"] for s in nxt["sources"]} & {s["iri"] for s in doc["sources"]}
    body = page.get_data(as_text=True)
    assert all(f'href="{BASE.rstrip("/")}' not in body for _ in [0])
    for s in doc["sources"]:
        assert s["iri"].removeprefix(BASE) in body


def test_topics_link_to_their_claims(client: FlaskClient, seeded: ClaimGraph) -> None:
    [row] = sparql(
        seeded, f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c cg:topic <{ESPIONAGE}> }}"
    )
    doc = client.get("/topics.json").get_json()
    assert {t["iri"]: t["claims"] for t in doc["topics"]}[ESPIONAGE] == int(row["n"])
    assert 'href="/claims?topic=https://claimgraph.org/vocab/topic%23espionage"' in html(
        client, "/topics"
    )


@pytest.mark.parametrize(
    ("q", "kind", "iri"),
    [
        ("起重机", "sources", f"{BASE}id/source/xinhua-report"),
        ("唐青赟", "actors", f"{BASE}id/actor/tang-qingyun"),
        ("振华重工", "actors", f"{BASE}id/actor/zpmc"),
        ("trojan horse", "statements", f"{BASE}id/statement/officials-zpmc-cranes-trojan-horse"),
    ],
)
def test_search_across_kinds(client: FlaskClient, q: str, kind: str, iri: str) -> None:
    doc = client.get("/search.json", query_string={"q": q}).get_json()
    groups = {g["kind"]: g for g in doc["groups"]}
    assert iri in [i["iri"] for i in groups[kind]["items"]]
    assert doc["total"] == sum(g["count"] for g in doc["groups"])
    body = html(client, f"/search?q={q}")
    assert f'href="/{iri.removeprefix(BASE)}"' in body
    assert f"{groups[kind]['count']}</span></h2>" in body


def test_search_counts_match_the_lists(client: FlaskClient) -> None:
    doc = client.get("/search.json", query_string={"q": "modem"}).get_json()
    groups = {g["kind"]: g["count"] for g in doc["groups"]}
    assert groups["claims"] > 0 and groups["statements"] > 0
    assert (
        client.get("/statements.json", query_string={"q": "modem"}).get_json()["matched"]
        == groups["statements"]
    )
    assert (
        len(
            client.get("/claims.json", query_string={"q": "modem", "per_page": 200}).get_json()[
                "claims"
            ]
        )
        == groups["claims"]
    )
    assert client.get("/search.json", query_string={"q": "zzzz-nothing"}).get_json()["total"] == 0


def test_bad_list_parameters_are_refused(client: FlaskClient) -> None:
    for path, args, word in [
        ("/actors", {"page": "two"}, "page"),
        ("/statements.json", {"q": "x" * 3000}, "q"),
        ("/search.json", {"q": "x" * 300}, "q"),
        ("/search.json", {"q": "x", "per_kind": "many"}, "per_kind"),
    ]:
        reply = client.get(path, query_string=args, headers={"Accept": "application/json"})
        assert reply.status_code == 400, path
        assert word in reply.get_json()["message"]
    assert client.get("/actors.xml").status_code == 404


def test_actor_page_lists_the_claims_about_the_actor(
    client: FlaskClient, seeded: ClaimGraph
) -> None:
    about = {
        r["c"]
        for r in sparql(
            seeded,
            f"SELECT ?c WHERE {{ ?c cg:about <{BASE}id/actor/zpmc> ; a cg:Claim }}",
        )
    }
    assert len(about) > 5
    body = html(client, "/id/actor/zpmc")
    section = body[body.index('id="h-about"') : body.index('id="h-claims"')]
    assert set(re.findall(r'href="/(id/claim/[^"]+)"', section)) == {
        c.removeprefix(BASE) for c in about
    }
    # ZPMC made no statement: its page still says what is claimed about it
    assert "No statements recorded" in body
    doc = client.get("/actors.json", query_string={"q": "ZPMC"}).get_json()
    assert {a["iri"]: a["claims_about"] for a in doc["actors"]}[f"{BASE}id/actor/zpmc"] == len(
        about
    )


def test_indexes_follow_writes(settings: Settings, seeded: ClaimGraph) -> None:
    client = create_app(
        dataclasses.replace(settings, write_token=TOKEN), graph=seeded
    ).test_client()
    before = client.get("/statements.json").get_json()["total"]
    critic = f"{BASE}id/actor/index-test-critic"
    reply = client.post(
        "/update",
        data=f"""PREFIX cg: <https://claimgraph.org/ontology#>
        PREFIX schema: <http://schema.org/>
        PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
        INSERT DATA {{ GRAPH <{BASE}graph/index-test> {{
          <{critic}> a cg:Person ; schema:name "Index Critic"@en , "索引评论家"@zh .
          <{BASE}id/statement/index-test> a cg:Statement ; cg:speaker <{critic}> ;
            cg:claim <{BASE}id/claim/crane-equipment-story-bizarre-and-sensational> ;
            cg:stance <https://claimgraph.org/vocab/stance#denies> ;
            cg:date "2024"^^xsd:gYear ; cg:quote "Nothing bizarre here."@en ;
            cg:excerpt "Nothing bizarre here, said the critic."@en ;
            cg:source <{BASE}id/source/wsj-fourth-story> }} }}""",
        headers={**AUTH, "Content-Type": "application/sparql-update"},
    )
    assert reply.status_code in (200, 204), reply.get_data(as_text=True)
    end = time.monotonic() + 30
    while client.get("/statements.json").get_json()["total"] != before + 1:
        assert time.monotonic() < end, "the statements index did not follow the write"
        time.sleep(0.05)
    found = client.get("/search.json", query_string={"q": "索引评论"}).get_json()
    assert [i["iri"] for g in found["groups"] if g["kind"] == "actors" for i in g["items"]] == [
        critic
    ]
    doc = client.get("/statements.json", query_string={"speaker": critic}).get_json()
    assert [s["text"] for s in doc["statements"]] == [
        "Index Critic denies, 2024: “Nothing bizarre here.”"
    ]


KINDS = [
    "claim",
    "actor",
    "statement",
    "source",
    "evidence",
    "assessment",
    "affiliation",
    "review",
    "rating",
]
SLUG = re.compile(rf"^({'|'.join(KINDS)}|graph):|^{re.escape(BASE)}")


def test_no_page_names_a_resource_by_its_iri(validator: Validator) -> None:
    """Every resource's page, of every kind, headed and linking in words."""
    cg = seeded_with_reviews(validator)
    client = create_app(cg.settings, graph=cg).test_client()
    resources = sparql(
        cg,
        f"""SELECT DISTINCT ?x WHERE {{ ?x ?p ?o
          FILTER(STRSTARTS(STR(?x), "{BASE}id/")) }}""",
    )
    seen = set()
    for r in resources:
        path = "/" + r["x"].removeprefix(BASE)
        seen.add(path.split("/")[2])
        body = html(client, path)
        shown = [heading(body), *re.findall(r"<a [^>]*>([^<]*)</a>", body)]
        named = [t for t in shown if SLUG.match(unescape(t))]
        assert not named, (path, named)
    assert seen == set(KINDS)
    cg.close()
