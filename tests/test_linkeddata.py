"""Dereferenceable IRIs, against a live server on loopback: every kind of resource in every
format, the suffix beating Accept, the headers of the 200-with-Content-Location pattern, 404 and
406, the ontology and the concept schemes, and the HTML pages (links, lang, embedded markup)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from claimgraph.app import create_app
from claimgraph.claimreview import read_markup
from claimgraph.core import ClaimGraph
from claimgraph.iris import CG, ONTOLOGY, RESOURCE_KINDS, SCHEMA
from claimgraph.linkeddata import REPRESENTATIONS, Representation, choose, split_suffix
from claimgraph.store import Delta
from claimgraph.validation import Validator
from tests.live_server import Reply, fetch, seeded_with_reviews, serve

BASE = "https://claimgraph.org/"
RDF_REPS = [r for r in REPRESENTATIONS if r.rdf is not None]


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[tuple[str, ClaimGraph]]:
    cg = seeded_with_reviews(validator)
    with serve(create_app(cg.settings, graph=cg)) as url:
        yield url, cg
    cg.close()


def one_of_each_kind(cg: ClaimGraph) -> dict[str, str]:
    """An IRI of every kind of data resource in the store, by kind."""
    found = {}
    for kind in RESOURCE_KINDS:
        prefix = f"{BASE}id/{kind}/"
        rows = cg.store.query(
            f'SELECT ?x WHERE {{ ?x ?p ?o FILTER(STRSTARTS(STR(?x), "{prefix}")) }} '
            "ORDER BY ?x LIMIT 1"
        )
        for row in rows:  # type: ignore[union-attr]
            found[kind] = row["x"].value  # type: ignore[index]
    return found


def parse(reply: Reply, rep: Representation) -> list[ox.Quad]:
    assert rep.rdf is not None
    return list(ox.parse(reply.body, format=rep.rdf.ox, base_iri=BASE))


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.langs: dict[str, list[str]] = {}
        self._lang: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
        self._lang.append(a.get("lang"))

    def handle_endtag(self, tag: str) -> None:
        if self._lang:
            self._lang.pop()

    def handle_data(self, data: str) -> None:
        lang = next((x for x in reversed(self._lang) if x), None)
        if lang and data.strip():
            self.langs.setdefault(lang, []).append(data.strip())


def html(reply: Reply) -> _Html:
    p = _Html()
    p.feed(reply.text())
    return p


# -- pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stem", "rep"),
    [
        ("x.ttl", "x", "turtle"),
        ("x.jsonld", "x", "jsonld"),
        ("x.nt", "x", "ntriples"),
        ("x.rdf", "x", "rdfxml"),
        ("x.html", "x", "html"),
        ("x", "x", None),
        ("x.pdf", "x.pdf", None),
        (".ttl", ".ttl", None),
    ],
)
def test_split_suffix(name: str, stem: str, rep: str | None) -> None:
    got_stem, got = split_suffix(name)
    assert (got_stem, got.name if got else None) == (stem, rep)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "turtle"),
        ("*/*", "turtle"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"),
        ("application/ld+json", "jsonld"),
        ("application/json", "jsonld"),
        ("text/turtle;q=0.5, application/ld+json", "jsonld"),
        ("application/n-triples", "ntriples"),
        ("application/rdf+xml", "rdfxml"),
        ("text/*", "turtle"),
    ],
)
def test_choose_by_accept(accept: str | None, expected: str) -> None:
    assert choose(accept, None).name == expected


# -- every resource, every format ------------------------------------------------------------

KINDS = [*RESOURCE_KINDS, "ontology", "scheme", "graph", "alignment"]


def path_and_iri(live: tuple[str, ClaimGraph], kind: str) -> tuple[str, str]:
    _, cg = live
    if kind == "ontology":
        return "/ontology", ONTOLOGY
    if kind == "alignment":
        return "/ontology/alignment", f"{ONTOLOGY}/alignment"
    if kind == "scheme":
        return "/vocab/stance", f"{BASE}vocab/stance"
    if kind == "graph":
        return "/graph/zpmc", f"{BASE}graph/zpmc"
    iri = one_of_each_kind(cg)[kind]
    return "/" + iri.removeprefix(BASE), iri


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rep", REPRESENTATIONS, ids=lambda r: r.name)
def test_every_kind_dereferences_in_every_format(
    live: tuple[str, ClaimGraph], kind: str, rep: Representation
) -> None:
    url, _ = live
    path, iri = path_and_iri(live, kind)
    for reply in (
        fetch(url + path, {"Accept": rep.media_type}),
        fetch(url + path + rep.suffix, {"Accept": "image/png"}),  # the suffix beats Accept
    ):
        assert reply.status == 200, reply.text()
        assert reply.content_type == rep.media_type
        assert reply.headers["Content-Location"] == path + rep.suffix
        if rep.rdf is None:
            assert iri in reply.text() and "<h1" in reply.text()
            continue
        quads = parse(reply, rep)
        assert any(q.subject == ox.NamedNode(iri) for q in quads), iri


def test_negotiated_response_headers(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    path = "/id/claim/zpmc-installs-modems-at-factory"
    reply = fetch(url + path, {"Accept": "text/turtle"})
    assert reply.headers["Vary"] == "Accept"
    links = reply.headers["Link"]
    for rep in REPRESENTATIONS:
        if rep.name != "turtle":
            assert f'<{path}{rep.suffix}>; rel="alternate"; type="{rep.media_type}"' in links
    assert f"<{path}.ttl>" not in links
    # A suffix URL does not vary with Accept.
    assert "Vary" not in fetch(url + path + ".ttl").headers
    # Conditional GET: the ETag changes with the representation, and 304 when it matches.
    etag = reply.headers["ETag"]
    assert etag != fetch(url + path + ".jsonld").headers["ETag"]
    again = fetch(url + path, {"Accept": "text/turtle", "If-None-Match": etag})
    assert again.status == 304


def test_no_accept_header_gets_turtle(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    reply = fetch(url + "/id/actor/zpmc")
    assert reply.status == 200 and reply.content_type == "text/turtle"


def test_json_ld_is_compact_and_parses_offline_with_rdflib(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    reply = fetch(url + "/id/actor/tang-qingyun.jsonld")
    doc = json.loads(reply.body)
    assert isinstance(doc["@context"], dict)  # inline prefixes, nothing to fetch
    assert doc["@graph"][0]["@id"] == "actor:tang-qingyun"
    g = rdflib.Graph().parse(data=reply.body, format="json-ld")
    ttl = rdflib.Graph().parse(data=fetch(url + "/id/actor/tang-qingyun.ttl").body, format="turtle")
    assert isomorphic(g, ttl)


# -- what a description holds ----------------------------------------------------------------


def test_claim_description_has_its_statements_their_speakers_and_names(
    live: tuple[str, ClaimGraph],
) -> None:
    url, _ = live
    reply = fetch(url + "/id/claim/zpmc-installs-modems-at-factory.nt")
    g = rdflib.Graph().parse(data=reply.body, format="nt")
    claim = rdflib.URIRef(f"{BASE}id/claim/zpmc-installs-modems-at-factory")
    statements = set(g.subjects(rdflib.URIRef(f"{CG}claim"), claim))
    assert len(statements) >= 3
    for st in statements:
        speaker = g.value(st, rdflib.URIRef(f"{CG}speaker"))
        assert speaker is not None
        assert g.value(speaker, rdflib.URIRef(f"{SCHEMA}name")) is not None  # a name, no 2nd GET
        assert g.value(st, rdflib.URIRef(f"{CG}stance")) is not None


def test_actor_description_has_affiliations_and_evidence_its_assessments(
    live: tuple[str, ClaimGraph],
) -> None:
    url, cg = live
    g = rdflib.Graph().parse(data=fetch(url + "/id/actor/tang-qingyun.ttl").body, format="turtle")
    actor = rdflib.URIRef(f"{BASE}id/actor/tang-qingyun")
    assert set(g.subjects(rdflib.URIRef(f"{CG}member"), actor))
    evidence = one_of_each_kind(cg)["evidence"]
    g = rdflib.Graph().parse(
        data=fetch(url + "/" + evidence.removeprefix(BASE) + ".ttl").body, format="turtle"
    )
    assert set(g.subjects(rdflib.URIRef(f"{CG}evidence"), rdflib.URIRef(evidence)))


def test_reporting_statements_show_what_they_report(live: tuple[str, ClaimGraph]) -> None:
    url, cg = live
    rows = list(
        cg.store.query(f"SELECT ?orig ?report WHERE {{ ?orig <{CG}reportedBy> ?report }} LIMIT 1")
    )
    report = rows[0]["report"].value  # type: ignore[index, union-attr]
    reply = fetch(url + "/" + report.removeprefix(BASE) + ".nt")
    g = rdflib.Graph().parse(data=reply.body, format="nt")
    assert set(g.subjects(rdflib.URIRef(f"{CG}reportedBy"), rdflib.URIRef(report)))


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rep", REPRESENTATIONS, ids=lambda r: r.name)
def test_unknown_resource_is_404_in_the_negotiated_format(
    live: tuple[str, ClaimGraph], rep: Representation
) -> None:
    url, _ = live
    reply = fetch(url + "/id/claim/no-such-claim", {"Accept": rep.media_type})
    assert reply.status == 404
    assert reply.content_type == rep.media_type
    assert "no-such-claim" in reply.text()
    if rep.rdf is not None:
        assert parse(reply, rep) == []  # a valid document that states nothing


def test_no_acceptable_format_is_406(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    reply = fetch(url + "/id/actor/zpmc", {"Accept": "image/png"})
    assert reply.status == 406
    assert "text/turtle" in reply.text()


def test_iris_outside_the_base_are_not_served(graph: ClaimGraph) -> None:
    """With another canonical base, the claimgraph.org data IRIs are not this server's."""
    other = graph.settings.replace(base_iri="https://example.org/kg/")
    cg = ClaimGraph(other, store=graph.store, validator=graph.validator)
    cg.seed()
    client = create_app(other, graph=cg).test_client()
    assert client.get("/id/claim/zpmc-installs-modems-at-factory").status_code == 404
    assert client.get("/ontology").status_code == 200  # the ontology keeps its namespace
    assert client.get("/elsewhere/claim/x").status_code == 404


def test_the_request_host_is_ignored(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    a = fetch(url + "/id/actor/zpmc.nt", {"Host": "mirror.example.net"})
    b = fetch(url + "/id/actor/zpmc.nt")
    assert a.status == 200 and sorted(a.text().splitlines()) == sorted(b.text().splitlines())


# -- HTML ------------------------------------------------------------------------------------


def test_html_marks_languages_and_links_locally(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    page = html(fetch(url + "/id/actor/tang-qingyun.html"))
    assert "唐青赟" in page.langs.get("zh", [])
    assert "Tang Qingyun" in page.langs.get("en", [])
    assert any(h.startswith("/id/affiliation/") for h in page.hrefs)
    assert not any(h.startswith(BASE + "id/") for h in page.hrefs)  # data IRIs → this server


def test_html_never_links_other_schemes_and_escapes_data(graph: ClaimGraph) -> None:
    s = ox.NamedNode(f"{BASE}id/actor/odd")
    g = ox.NamedNode(f"{BASE}graph/odd")
    quads = [
        ox.Quad(s, ox.NamedNode(f"{SCHEMA}name"), ox.Literal("<b>Odd</b>", language="en"), g),
        ox.Quad(s, ox.NamedNode(f"{SCHEMA}sameAs"), ox.NamedNode("javascript:alert(1)"), g),
        ox.Quad(s, ox.NamedNode(f"{SCHEMA}url"), ox.NamedNode("https://odd.example/?a=1&b=2"), g),
    ]
    graph.store.apply(Delta(add=quads))  # unvalidated on purpose: pages must survive odd data
    client = create_app(graph.settings, graph=graph).test_client()
    body = client.get("/id/actor/odd.html").get_data(as_text=True)
    assert 'href="javascript:' not in body
    assert "javascript:alert(1)" in body  # shown, not linked
    assert "&lt;b&gt;Odd&lt;/b&gt;" in body and "<b>Odd</b>" not in body
    assert 'href="https://odd.example/?a=1&amp;b=2"' in body


def test_claim_and_review_pages_embed_claimreview_markup(live: tuple[str, ClaimGraph]) -> None:
    url, cg = live
    review = one_of_each_kind(cg)["review"]
    claim = next(
        q.object.value
        for q in cg.store.quads(ox.NamedNode(review), None, None)
        if q.predicate.value == f"{SCHEMA}itemReviewed"
    )  # type: ignore[union-attr]
    for iri in (review, claim):
        body = fetch(url + "/" + iri.removeprefix(BASE), {"Accept": "text/html"}).text()
        (script,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
        markup = json.loads(script)
        markup = markup[0] if isinstance(markup, list) else markup
        assert markup["@type"] == "ClaimReview"
        triples = read_markup(script)  # offline: the schema.org context is local
        assert any(t.object == ox.NamedNode(f"{SCHEMA}ClaimReview") for t in triples)
        for prop in ("claimReviewed", "reviewRating", "url", "author", "datePublished"):
            assert prop in markup, prop
        for prop in ("author", "datePublished", "appearance", "firstAppearance"):
            assert prop in markup["itemReviewed"], prop
    # A claim nobody reviewed carries no markup.
    body = fetch(url + "/id/claim/zpmc-installs-modems-at-factory.html").text()
    assert "<script" not in body


def test_ontology_documentation(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    reply = fetch(url + "/ontology", {"Accept": "text/html"})
    body = reply.text()
    page = html(reply)
    for anchor in ('id="Statement"', 'id="speaker"', 'id="Claim"', 'id="normalizedVerdict"'):
        assert anchor in body
    assert "A statement needs exactly one cg:speaker" in body  # the shape that applies
    assert "cg:Statement ∪ cg:Source" in body  # a union domain, read from the ontology
    assert "prov:Entity" in body  # an alignment
    assert "/ontology#Actor" in page.hrefs
    g = rdflib.Graph().parse(data=fetch(url + "/ontology.ttl").body, format="turtle")
    assert (rdflib.URIRef(f"{CG}Statement"), rdflib.RDF.type, rdflib.OWL.Class) in g
    assert (rdflib.URIRef(ONTOLOGY), rdflib.RDF.type, rdflib.OWL.Ontology) in g


def test_concept_scheme_page(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    body = fetch(url + "/vocab/stance.html").text()
    assert 'id="asserts"' in body and 'id="denies"' in body
    assert 'lang="zh"' in body
    g = rdflib.Graph().parse(data=fetch(url + "/vocab/verdict.ttl").body, format="turtle")
    concepts = set(g.subjects(rdflib.SKOS.inScheme, rdflib.URIRef(f"{BASE}vocab/verdict")))
    assert len(concepts) == 4
    assert fetch(url + "/vocab/nothing").status == 404


def test_browsers_get_html_errors_elsewhere_too(live: tuple[str, ClaimGraph]) -> None:
    url, _ = live
    reply = fetch(url + "/dumps/nothing.trig", {"Accept": "text/html"})
    assert reply.status == 404 and reply.content_type == "text/html"
    reply = fetch(url + "/dumps/nothing.trig", {"Accept": "application/json"})
    assert reply.status == 404 and json.loads(reply.body)["error"] == "NotFound"
