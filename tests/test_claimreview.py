"""ClaimReview in and out: the verdict mapping table, every markup shape the importer accepts
or refuses, idempotence, the markup published on pages, and the round trip."""

from __future__ import annotations

import io
import json
import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from claimgraph.app import create_app
from claimgraph.claimreview import (
    SCHEMA_CONTEXTS,
    VERDICT_LABELS,
    import_markup,
    normalize_label,
    read_markup,
    review_markup,
    url_key,
    verdict_for,
)
from claimgraph.cli import main
from claimgraph.core import ClaimGraph
from claimgraph.errors import InputError
from claimgraph.formats import by_name
from claimgraph.iris import CG, SCHEMA, VERDICT
from tests.conftest import FIXTURES
from tests.live_server import fetch, serve

EG_0324 = FIXTURES / "claimreview" / "eg-0324.jsonld"
VARIANTS = FIXTURES / "claimreview"
TOKEN = "test-token"

# Google's fact-check markup: what every published ClaimReview must carry.
GOOGLE_REVIEW = ("claimReviewed", "reviewRating", "url", "author", "datePublished", "itemReviewed")
GOOGLE_CLAIM = ("author", "datePublished", "appearance", "firstAppearance")


def dump(cg: ClaimGraph) -> bytes:
    out = io.BytesIO()
    cg.store.dump(out, by_name("nquads"))
    return out.getvalue()


def lit(value: str, dt: str = "http://www.w3.org/2001/XMLSchema#integer") -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(dt))


def objects(cg: ClaimGraph, subject: str, predicate: str) -> list[Any]:
    return [q.object for q in cg.store.quads(ox.NamedNode(subject), ox.NamedNode(predicate), None)]


def verdict_of(cg: ClaimGraph, review: str) -> str | None:
    found = objects(cg, review, f"{CG}normalizedVerdict")
    return found[0].value.removeprefix(str(VERDICT)) if found else None


def check_google(markup: dict[str, Any]) -> None:
    """Every property Google requires or recommends for fact-check markup is there."""
    assert markup["@type"] == "ClaimReview"
    for prop in GOOGLE_REVIEW:
        assert markup.get(prop), prop
    ratings = markup["reviewRating"]
    ratings = ratings if isinstance(ratings, list) else [ratings]
    assert all(r.get("alternateName") for r in ratings)
    assert markup["author"].get("name")
    claim = markup["itemReviewed"]
    assert claim["@type"] == "Claim"
    for prop in GOOGLE_CLAIM:
        assert claim.get(prop), prop


# -- the verdict mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "verdict"),
    [
        ("True", "TRUE"),
        ("Pants on Fire!", "FALSE"),
        ("pants-on-fire", "FALSE"),
        ("  FALSE ", "FALSE"),
        ("Mostly True", "MIXTURE"),
        ("Half-True", "MIXTURE"),
        ("Misleading", "MIXTURE"),
        ("Four Pinocchios", "FALSE"),
        ("Unproven", "OTHER"),
        ("Satire", "OTHER"),
        ("Vrai", "TRUE"),
        ("Four and a half lighthouses", None),
    ],
)
def test_verdict_mapping_table(label: str, verdict: str | None) -> None:
    assert verdict_for(label, None, None, None).verdict == verdict


def test_mapping_table_keys_are_normalized_and_values_are_the_scheme() -> None:
    assert all(normalize_label(k) == k for k in VERDICT_LABELS)
    assert set(VERDICT_LABELS.values()) == {"TRUE", "FALSE", "MIXTURE", "OTHER"}


@pytest.mark.parametrize(
    ("value", "best", "worst", "verdict"),
    [
        ("5", "5", "1", "TRUE"),
        ("1", "5", "1", "FALSE"),
        ("3", "5", "1", None),  # the middle of a scale is not MIXTURE on every scale
        ("6", "6", None, "TRUE"),  # worstRating defaults to 1 (schema.org)
        ("1", None, "1", "FALSE"),  # bestRating defaults to 5
    ],
)
def test_numbers_decide_only_at_the_ends_of_the_scale(
    value: str, best: str | None, worst: str | None, verdict: str | None
) -> None:
    result = verdict_for(
        None, lit(value), lit(best) if best else None, lit(worst) if worst else None
    )
    assert result.verdict == verdict


def test_label_and_number_disagreeing_give_no_verdict() -> None:
    result = verdict_for("True", lit("1"), lit("6"), None)
    assert result.verdict is None
    assert any("disagree" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("value", "best", "worst"),
    [("3", None, None), ("7", "5", "1"), ("2", "5", "5"), ("2", "many", "1")],
)
def test_a_number_on_an_unknown_scale_without_a_label_is_refused(
    value: str, best: str | None, worst: str | None
) -> None:
    with pytest.raises(InputError, match="unknown rating scale"):
        verdict_for(None, lit(value), lit(best) if best else None, lit(worst) if worst else None)


def test_a_known_label_survives_a_broken_scale() -> None:
    result = verdict_for("False", lit("9"), lit("5"), lit("1"))
    assert result.verdict == "FALSE"
    assert any("not on a readable scale" in w for w in result.warnings)


# -- reading markup offline ---------------------------------------------------------------------


@pytest.mark.parametrize("context", sorted(SCHEMA_CONTEXTS))
def test_every_schema_org_context_form_is_read_locally(context: str) -> None:
    doc = {"@context": context, "@type": "ClaimReview", "claimReviewed": "x"}
    triples = read_markup(json.dumps(doc))
    assert any(t.object == ox.NamedNode(f"{SCHEMA}ClaimReview") for t in triples)


def test_remote_contexts_are_refused_without_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the importer tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(InputError, match="never does"):
        read_markup((VARIANTS / "remote-context.jsonld").read_bytes(), "remote-context.jsonld")
    # A remote context nested in an inline one is refused too (by the parser: no loader).
    nested = {
        "@context": [{"@vocab": "http://schema.org/"}, {"x": {"@context": "https://e.org/c"}}]
    }
    with pytest.raises(InputError):
        read_markup(json.dumps(nested))


# -- importing ----------------------------------------------------------------------------------

ACCEPTED = {
    # file: (reviews, normalized verdicts, statements per review)
    "claim-form.jsonld": (1, ["FALSE"], 2),
    "array.jsonld": (2, ["MIXTURE", "TRUE"], 1),
    "graph.jsonld": (1, ["MIXTURE"], 1),
    "vocab-https.jsonld": (1, ["FALSE"], 1),
    "no-rating.jsonld": (1, [None], 0),
    "video-clip.jsonld": (1, ["MIXTURE"], 1),
    "video-part.jsonld": (1, ["FALSE"], 1),
    "unknown-label.jsonld": (1, [None], 0),
    "number-only.jsonld": (1, ["TRUE"], 0),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_shapes_import_and_are_idempotent(graph: ClaimGraph, name: str) -> None:
    n_reviews, verdicts, _ = ACCEPTED[name]
    result = import_markup(graph, [(name, (VARIANTS / name).read_bytes())])
    assert len(result.reviews) == n_reviews
    assert result.added > 0
    assert result.report is None or result.report.conforms
    assert sorted(verdict_of(graph, r) or "" for r in result.reviews) == sorted(
        v or "" for v in verdicts
    )
    for review in result.reviews:
        assert objects(graph, review, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type") == [
            ox.NamedNode(f"{SCHEMA}ClaimReview")
        ]
    before = dump(graph)
    again = import_markup(graph, [(name, (VARIANTS / name).read_bytes())])
    assert (again.added, again.removed) == (0, 0)
    assert dump(graph) == before


def test_statements_record_who_made_the_claim_where_and_when(graph: ClaimGraph) -> None:
    result = import_markup(graph, [("c", (VARIANTS / "claim-form.jsonld").read_bytes())])
    claim = objects(graph, result.reviews[0], f"{SCHEMA}itemReviewed")[0]
    rows = graph.store.query(
        f"""SELECT ?name ?date ?url WHERE {{
            ?st <{CG}claim> {claim} ; <{CG}speaker>/<{SCHEMA}name> ?name ; <{CG}date> ?date ;
                <{CG}source>/<{SCHEMA}url> ?url }} ORDER BY ?url"""
    )
    got = [(r["name"].value, r["date"].value, r["url"].value) for r in rows]  # type: ignore[union-attr]
    assert got == [
        ("Pat Poster", "2024-03-20", "https://news.example.com/cranes-remote-control"),
        ("Pat Poster", "2024-03-20", "https://social.example.net/@patposter/1"),
    ]
    text = objects(graph, claim.value, f"{CG}text")[0]
    assert text.language == "en"


def test_a_video_clip_keeps_its_offsets(graph: ClaimGraph) -> None:
    import_markup(graph, [("v", (VARIANTS / "video-clip.jsonld").read_bytes())])
    rows = list(
        graph.store.query(
            f"SELECT ?s ?start ?end WHERE {{ ?s a <{SCHEMA}Clip> ; a <{CG}Source> ; "
            f"<{SCHEMA}startOffset> ?start ; <{SCHEMA}endOffset> ?end }}"
        )
    )
    assert [(r["start"].value, r["end"].value) for r in rows] == [("720", "785")]  # type: ignore[union-attr, index]


def test_a_clip_keeps_its_video_transcript_and_the_review_body(graph: ClaimGraph) -> None:
    """The video a clip is part of (its URL), the video's transcript link and the review's
    body are kept in the graph, and published again as they were given."""
    original = json.loads((VARIANTS / "video-part.jsonld").read_text())
    video = original["itemReviewed"]["appearance"]["isPartOf"]
    result = import_markup(graph, [("v", json.dumps(original))])
    assert result.report is not None and result.report.conforms
    (review,) = result.reviews
    rows = list(
        graph.store.query(
            f"""SELECT ?start ?url ?transcript WHERE {{
                ?clip a <{SCHEMA}Clip> ; <{SCHEMA}startOffset> ?start ;
                      <{CG}partOfSource> ?video .
                ?video a <{SCHEMA}VideoObject> , <{CG}Source> ; <{SCHEMA}url> ?url ;
                       <{SCHEMA}transcript> ?transcript }}"""
        )
    )
    got = [(r["start"].value, r["url"].value, r["transcript"].value) for r in rows]  # type: ignore[union-attr, index]
    assert got == [("2470", video["url"], video["transcript"])]
    (body,) = objects(graph, review, f"{SCHEMA}reviewBody")
    assert body.value == original["reviewBody"]

    markup = review_markup(graph, review)
    assert markup is not None
    assert markup["reviewBody"] == original["reviewBody"]
    (clip,) = markup["itemReviewed"]["appearance"]
    assert clip["@type"] == "Clip"
    assert (clip["startOffset"], clip["endOffset"]) == (2470, 2515)
    part = clip["isPartOf"]
    assert part["@type"] == "VideoObject"
    assert {k: part[k] for k in ("url", "transcript", "name", "datePublished")} == {
        k: video[k] for k in ("url", "transcript", "name", "datePublished")
    }
    # importing what was published changes nothing: the kept fields survive the round trip
    before = dump(graph)
    again = import_markup(graph, [("export", json.dumps(markup))])
    assert (again.added, again.removed) == (0, 0)
    assert dump(graph) == before


def test_a_transcript_given_as_text_is_kept_with_its_language(graph: ClaimGraph) -> None:
    doc = json.loads((VARIANTS / "video-part.jsonld").read_text())
    doc["itemReviewed"]["appearance"]["isPartOf"]["transcript"] = "Mayor: every camera..."
    result = import_markup(graph, [("v", json.dumps(doc))])
    assert result.report is not None and result.report.conforms
    (video,) = {q.subject for q in graph.store.quads(None, ox.NamedNode(f"{SCHEMA}transcript"))}
    (text,) = objects(graph, video.value, f"{SCHEMA}transcript")
    assert (text.value, text.language) == ("Mayor: every camera...", "en")
    markup = review_markup(graph, result.reviews[0])
    assert markup is not None
    (clip,) = markup["itemReviewed"]["appearance"]
    assert clip["isPartOf"]["transcript"] == "Mayor: every camera..."


def test_eg_0324_keeps_what_the_source_says(graph: ClaimGraph) -> None:
    result = import_markup(graph, [("eg-0324", EG_0324.read_bytes())])
    assert result.report is not None and result.report.conforms
    (review,) = result.reviews
    # The disagreeing rating is kept as given, and no verdict is invented from it.
    rating = objects(graph, review, f"{SCHEMA}reviewRating")[0].value
    assert objects(graph, rating, f"{SCHEMA}alternateName") == [ox.Literal("True")]
    assert objects(graph, rating, f"{SCHEMA}ratingValue") == [lit("1")]
    assert objects(graph, rating, f"{SCHEMA}bestRating") == [lit("6")]
    assert verdict_of(graph, review) is None
    assert any("disagree" in w for w in result.warnings)
    # The misspelt claimant is not corrected.
    names = graph.store.query(f"SELECT ?n WHERE {{ ?st <{CG}speaker>/<{SCHEMA}name> ?n }}")
    assert [r["n"].value for r in names] == ["Rich Perry"]  # type: ignore[union-attr, index]
    # The author with only a URL is named after it, and says so.
    assert any("no name" in w for w in result.warnings)


REFUSED = {
    "malformed.jsonld": r"malformed.jsonld:5:3: not JSON",
    "no-claim-text.jsonld": "no claim text",
    "unknown-scale.jsonld": "unknown rating scale",
    "remote-context.jsonld": "never does",
    "not-claimreview.jsonld": "no schema.org ClaimReview",
    "no-author.jsonld": "no author",
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unreadable_markup_is_refused_and_changes_nothing(graph: ClaimGraph, name: str) -> None:
    before = dump(graph)
    good = ("claim-form.jsonld", (VARIANTS / "claim-form.jsonld").read_bytes())
    with pytest.raises(InputError, match=REFUSED[name]):
        # One import is all or nothing: the good file before the bad one is not written.
        import_markup(graph, [good, (name, (VARIANTS / name).read_bytes())])
    assert dump(graph) == before


def test_a_corrected_review_replaces_the_earlier_one(graph: ClaimGraph) -> None:
    doc = json.loads((VARIANTS / "claim-form.jsonld").read_text())
    first = import_markup(graph, [("v1", json.dumps(doc))])
    doc["reviewRating"] = {"@type": "Rating", "alternateName": "Mostly False"}
    second = import_markup(graph, [("v2", json.dumps(doc))])
    assert second.reviews == first.reviews
    assert second.removed > 0
    (review,) = second.reviews
    rating = objects(graph, review, f"{SCHEMA}reviewRating")[0].value
    assert objects(graph, rating, f"{SCHEMA}alternateName") == [ox.Literal("Mostly False")]
    assert objects(graph, rating, f"{SCHEMA}ratingValue") == []
    assert verdict_of(graph, review) == "MIXTURE"


def test_language_option_tags_untagged_text(graph: ClaimGraph) -> None:
    result = import_markup(graph, [("eg", EG_0324.read_bytes())], language="en")
    claim = objects(graph, result.reviews[0], f"{SCHEMA}itemReviewed")[0].value
    assert objects(graph, claim, f"{CG}text")[0].language == "en"
    assert not any("'und'" in w for w in result.warnings)
    with pytest.raises(InputError, match="BCP 47"):
        import_markup(graph, [("eg", EG_0324.read_bytes())], language="English!")


# -- names in any script -----------------------------------------------------------------------


def review_by(checker: str, url: str) -> str:
    """claim-form.jsonld as published by ``checker`` at ``url``."""
    doc = json.loads((VARIANTS / "claim-form.jsonld").read_text())
    doc["url"] = url
    doc["author"] = {"@type": "Organization", "name": checker}
    return json.dumps(doc, ensure_ascii=False)


def author_of(cg: ClaimGraph, review: str) -> str:
    (author,) = objects(cg, review, f"{SCHEMA}author")
    return str(author.value)


def names_of(cg: ClaimGraph, actor: str) -> list[str]:
    return sorted(v.value for v in objects(cg, actor, f"{SCHEMA}name"))


def test_fact_checkers_with_non_latin_names_are_two_actors(graph: ClaimGraph) -> None:
    result = import_markup(
        graph,
        [
            ("a", review_by("新华社", "https://fc.example.cn/1")),
            ("b", review_by("Проверка фактов", "https://fc.example.ru/1")),
        ],
    )
    assert result.report is not None and result.report.conforms
    xinhua, checker = (author_of(graph, r) for r in result.reviews)
    assert xinhua == f"{graph.iris.base}id/actor/新华社"
    assert checker == f"{graph.iris.base}id/actor/проверка-фактов"
    assert names_of(graph, xinhua) == ["新华社"]
    assert names_of(graph, checker) == ["Проверка фактов"]


def test_different_names_with_one_slug_are_different_actors(graph: ClaimGraph) -> None:
    first = import_markup(graph, [("a", review_by("Example Fact-Check", "https://a.example/1"))])
    # another name with the same slug, in the same batch as its own second mention
    second = import_markup(
        graph,
        [
            ("b", review_by("Example Fact Check", "https://b.example/1")),
            ("c", review_by("Example Fact Check", "https://b.example/2")),
        ],
    )
    one = author_of(graph, first.reviews[0])
    other, same = (author_of(graph, r) for r in second.reviews)
    assert one == f"{graph.iris.base}id/actor/example-fact-check"
    assert other == same != one
    assert other.startswith(f"{one}-")
    assert names_of(graph, one) == ["Example Fact-Check"]
    assert names_of(graph, other) == ["Example Fact Check"]
    # the same name, in another case, is the same actor; minting is deterministic
    again = import_markup(graph, [("d", review_by("EXAMPLE FACT-CHECK", "https://a.example/2"))])
    assert author_of(graph, again.reviews[0]) == one
    before = dump(graph)
    assert (
        import_markup(graph, [("b", review_by("Example Fact Check", "https://b.example/1"))]).added
        == 0
    )
    assert dump(graph) == before


def test_a_non_latin_iri_dereferences_in_every_format(graph: ClaimGraph) -> None:
    result = import_markup(graph, [("a", review_by("新华社", "https://fc.example.cn/1"))])
    iri = author_of(graph, result.reviews[0])
    path = "/" + iri.removeprefix(graph.iris.base)
    assert path == "/id/actor/新华社"
    client = create_app(graph.settings, graph=graph).test_client()
    for suffix, accept in (("", "text/html"), ("", "text/turtle"), (".jsonld", "*/*")):
        resp = client.get(quote(path) + suffix, headers={"Accept": accept})
        assert resp.status_code == 200, (suffix, accept)
        # a WSGI server sends only latin-1 header values: the IRI travels percent-encoded
        assert all(value.isascii() for _, value in resp.headers.items())
        links = re.findall(r"<([^>]+)>", resp.headers["Link"])
        assert links and all(unquote(link).startswith(path + ".") for link in links)
        if accept == "text/turtle":
            names = {
                q.object.value
                for q in ox.parse(resp.data, format=ox.RdfFormat.TURTLE)
                if q.subject == ox.NamedNode(iri) and q.predicate.value == f"{SCHEMA}name"
            }
            assert names == {"新华社"}
        else:
            assert "新华社" in resp.get_data(as_text=True)


def test_a_non_latin_iri_dereferences_over_http(graph: ClaimGraph) -> None:
    result = import_markup(graph, [("a", review_by("Проверка фактов", "https://fc.example.ru/1"))])
    path = "/" + author_of(graph, result.reviews[0]).removeprefix(graph.iris.base)
    with serve(create_app(graph.settings, graph=graph)) as url:
        reply = fetch(url + quote(path), {"Accept": "text/html"})
    assert reply.status == 200
    assert "Проверка фактов" in reply.text()
    assert unquote(reply.headers["Content-Location"]) == path + ".html"


def test_url_keys_read_percent_encoded_words_and_keep_ascii_keys() -> None:
    assert url_key("https://fc.example/%E6%96%B0%E5%8D%8E%E7%A4%BE").startswith(
        "fc-example-新华社-"
    )
    assert url_key("https://fc.example/проверка").startswith("fc-example-проверка-")
    # ASCII URLs keep the keys they always had, escapes and all
    assert url_key("https://fc.example/a%20b").startswith("fc-example-a-20b-")


# -- publishing and the round trip --------------------------------------------------------------


def test_published_markup_has_what_google_requires(graph: ClaimGraph) -> None:
    result = import_markup(graph, [("c", (VARIANTS / "claim-form.jsonld").read_bytes())])
    markup = review_markup(graph, result.reviews[0])
    assert markup is not None
    check_google(markup)
    original, normalized = markup["reviewRating"]
    assert original["alternateName"] == "False"
    # ClaimsKG's second rating, authored by ClaimGraph, with the normalized verdict.
    assert normalized["@id"] == f"{VERDICT}FALSE"
    assert normalized["alternateName"] == "FALSE"
    assert normalized["author"]["name"] == "ClaimGraph"
    claim = markup["itemReviewed"]
    assert claim["author"]["name"] == "Pat Poster"
    assert claim["firstAppearance"]["url"] == "https://social.example.net/@patposter/1"
    assert len(claim["appearance"]) == 2


def test_round_trip_eg_0324(graph: ClaimGraph) -> None:
    """import → export ClaimReview → the same review; importing the export adds nothing."""
    original = json.loads(EG_0324.read_text())
    result = import_markup(graph, [("eg", EG_0324.read_bytes())])
    markup = review_markup(graph, result.reviews[0])
    assert markup is not None
    assert markup["url"] == original["url"]
    assert markup["claimReviewed"] == original["claimReviewed"]
    assert markup["datePublished"] == original["datePublished"]
    assert markup["author"]["url"] == original["author"]["url"]
    rating = markup["reviewRating"]
    for key in ("alternateName", "ratingValue", "bestRating", "image"):
        assert rating[key] == original["reviewRating"][key]
    claim = markup["itemReviewed"]
    assert claim["author"]["name"] == original["itemReviewed"]["author"]["name"] == "Rich Perry"
    assert claim["datePublished"] == original["itemReviewed"]["datePublished"]
    assert claim["firstAppearance"]["name"] == original["itemReviewed"]["name"]
    before = dump(graph)
    again = import_markup(graph, [("export", json.dumps(markup))])
    assert again.reviews == result.reviews
    assert (again.added, again.removed) == (0, 0)
    assert dump(graph) == before


def test_markup_in_pages_escapes_script_ends(graph: ClaimGraph) -> None:
    doc = json.loads((VARIANTS / "claim-form.jsonld").read_text())
    doc["claimReviewed"] = "Cranes </script><script>alert(1)</script> <!-- are spies"
    result = import_markup(graph, [("x", json.dumps(doc))])
    client = create_app(graph.settings, graph=graph).test_client()
    path = result.reviews[0].removeprefix(graph.iris.base.rstrip("/"))
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    (script,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert "</" not in script and "<!--" not in script
    assert json.loads(script)["claimReviewed"] == doc["claimReviewed"]
    # Outside the JSON the text is HTML-escaped like any data.
    rest = page.replace(script, "")
    assert "<script>alert(1)" not in rest and "&lt;script&gt;alert(1)" in rest


# -- HTTP and CLI ------------------------------------------------------------------------------


def test_http_import_needs_the_token(graph: ClaimGraph) -> None:
    app = create_app(graph.settings.replace(write_token=TOKEN), graph=graph)
    client = app.test_client()
    body = (VARIANTS / "claim-form.jsonld").read_bytes()
    assert client.post("/import/claimreview", data=body).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert client.post("/import/claimreview", data=body, headers=bad).status_code == 403
    ok = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/ld+json",
        "Accept": "application/json",
    }
    resp = client.post("/import/claimreview?language=en", data=body, headers=ok)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert len(data["reviews"]) == 1 and data["added"] > 0
    again = client.post("/import/claimreview", data=body, headers=ok).get_json()
    assert again["added"] == 0
    bad_json = client.post("/import/claimreview", data=b"{", headers=ok)
    assert bad_json.status_code == 400
    assert "not JSON" in bad_json.get_json()["message"]
    slug = data["reviews"][0].rsplit("/", 1)[1]
    markup = client.get(f"/claimreview/{slug}")
    assert markup.status_code == 200
    assert markup.headers["Content-Type"].startswith("application/ld+json")
    check_google(json.loads(markup.data))
    assert client.get("/claimreview/no-such-review").status_code == 404


def test_a_graph_that_is_not_an_iri_is_refused_and_changes_nothing(graph: ClaimGraph) -> None:
    """Found by fuzzing: ``?graph=en`` (a language where the graph goes) crashed with 500."""
    client = create_app(graph.settings.replace(write_token=TOKEN), graph=graph).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    body = (VARIANTS / "claim-form.jsonld").read_bytes()
    before = dump(graph)
    for name in ("en", "not an iri", "<https://example.org/g>"):
        resp = client.post(
            "/import/claimreview", query_string={"graph": name}, data=body, headers=auth
        )
        assert resp.status_code == 400, resp.get_data(as_text=True)
        message = resp.get_json()["message"]
        assert "not an absolute IRI" in message and name in message
    assert dump(graph) == before


def test_a_review_slug_that_makes_no_iri_is_not_found(graph: ClaimGraph) -> None:
    """Found by fuzzing: a private-use character in /claimreview/<slug> (not allowed in an
    IRI) crashed with 500 instead of 404."""
    client = create_app(graph.settings, graph=graph).test_client()
    for slug in ("%F4%89%B5%8F", "a%20b", "%7Bx%7D.jsonld"):
        resp = client.get(f"/claimreview/{slug}", headers={"Accept": "application/json"})
        assert resp.status_code == 404, (slug, resp.get_data(as_text=True))
        assert "no ClaimReview" in resp.get_json()["message"]


def test_cli_import_claimreview(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CLAIMGRAPH_SEED": "false"}
    store = ["--store", f"oxigraph:{tmp_path / 'store'}"]
    ok = runner.invoke(main, ["import-claimreview", str(EG_0324), *store], env=env)
    assert ok.exit_code == 0, ok.output
    assert "imported 1 review(s)" in ok.output
    bad = runner.invoke(
        main, ["import-claimreview", str(VARIANTS / "malformed.jsonld"), *store], env=env
    )
    assert bad.exit_code == 2
    assert "not JSON" in bad.output
    missing = runner.invoke(main, ["import-claimreview", str(tmp_path / "nope.jsonld"), *store])
    assert missing.exit_code == 2


def test_markup_that_violates_the_shapes_is_refused(graph: ClaimGraph, tmp_path: Path) -> None:
    """Readable markup whose mapping breaks a shape (a source published in the future): 422
    over HTTP, exit 1 from the CLI, nothing written."""
    doc = json.loads((VARIANTS / "claim-form.jsonld").read_text())
    doc["itemReviewed"]["appearance"][1]["datePublished"] = "2999-01-01"
    before = dump(graph)
    client = create_app(graph.settings.replace(write_token=TOKEN), graph=graph).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = client.post("/import/claimreview", data=json.dumps(doc), headers=auth)
    assert resp.status_code == 422
    assert dump(graph) == before
    path = tmp_path / "future.jsonld"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(
        main,
        ["import-claimreview", str(path), "--store", f"oxigraph:{tmp_path / 'store'}"],
        env={"CLAIMGRAPH_SEED": "false"},
    )
    assert result.exit_code == 1, result.output
