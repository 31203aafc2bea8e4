"""Tests of the shipped ZPMC case file (data/zpmc.trig) against its seed article and the shapes.

The case file is journalism encoded as data: these tests check that every excerpt and quote is
verbatim from the article, that statements are complete, that a few facts are encoded as the
article gives them, and that the data conforms to the SHACL shapes.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from rdflib import RDF, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV
from rdflib.term import BNode, Node

from claimgraph.iris import CG, SCHEMA
from claimgraph.validation import Validator
from tests.conftest import SEED_ARTICLE, SEED_ARTICLE_SETTING

REPO = Path(__file__).resolve().parents[1]
ARTICLE = SEED_ARTICLE
CASE_FILE = REPO / "data" / "zpmc.trig"

ACTOR = Namespace("https://claimgraph.org/id/actor/")
SOURCE = Namespace("https://claimgraph.org/id/source/")
STANCE = Namespace("https://claimgraph.org/vocab/stance#")
ZPMC_GRAPH = URIRef("https://claimgraph.org/graph/zpmc")
# A plain IRI, not rdflib's XSD namespace object, which pytest's collection trips over.
XSD_DATETIME = URIRef("http://www.w3.org/2001/XMLSchema#dateTime")

ACTOR_CLASSES = (CG.Actor, CG.Person, CG.Organization, CG.GovernmentBody, CG.MediaOutlet)
SOURCE_CLASSES = (
    CG.Source,
    CG.NewsArticle,
    CG.Report,
    CG.Letter,
    CG.PressRelease,
    CG.Photograph,
    CG.WebPage,
    CG.SocialMediaPosting,
    CG.ExecutiveOrder,
)
STATEMENT_PROPERTIES = (CG.speaker, CG.claim, CG.stance, CG.date, CG.source)

# Typographic and straight quotation marks are one mark each for comparison: the article mixes
# them, and a curator's editor may too.
_QUOTE_MARKS = str.maketrans({"“": '"', "”": '"', "„": '"', "″": '"', "‘": "'", "’": "'"})


def normalise(text: str) -> str:
    """Collapse whitespace and unify quotation marks; nothing else is forgiven."""
    return " ".join(text.translate(_QUOTE_MARKS).split())


def short(node: Node) -> str:
    return re.sub(r"^.*/id/", "", str(node))


def instances(graph: Graph, classes: tuple[URIRef, ...]) -> set[Node]:
    return {s for cls in classes for s in graph.subjects(RDF.type, cls)}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = Dataset()
    ds.parse(CASE_FILE, format="trig")
    return ds


@pytest.fixture(scope="module")
def graph(dataset: Dataset) -> Graph:
    """The case file's named graph, copied into a plain in-memory graph."""
    g = Graph()
    for s, p, o in dataset.graph(ZPMC_GRAPH):
        g.add((s, p, o))
    return g


@pytest.fixture(scope="module")
def article() -> str:
    if ARTICLE is None:
        pytest.skip(
            f"the seed article's full text is not in the repository: set {SEED_ARTICLE_SETTING} "
            "to its file to check the case file against it"
        )
    return normalise(ARTICLE.read_text(encoding="utf-8"))


# --- Form -------------------------------------------------------------------------------


def test_everything_is_in_the_zpmc_graph(dataset: Dataset) -> None:
    assert len(dataset.graph(ZPMC_GRAPH)) > 0
    outside = {str(g.identifier): len(g) for g in dataset.graphs() if g.identifier != ZPMC_GRAPH}
    assert not any(outside.values()), f"triples outside graph:zpmc: {outside}"


def test_no_blank_nodes(graph: Graph) -> None:
    blank = [t for t in graph if any(isinstance(term, BNode) for term in t)]
    assert blank == [], f"blank nodes in {blank[:3]}"


def test_graph_describes_itself(graph: Graph) -> None:
    assert (ZPMC_GRAPH, RDF.type, PROV.Entity) in graph
    for prop in (
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.license,
        DCTERMS.creator,
        PROV.wasAttributedTo,
    ):
        assert graph.value(ZPMC_GRAPH, prop) is not None, f"graph:zpmc has no {prop}"
    assert graph.value(ZPMC_GRAPH, PROV.wasDerivedFrom) == SOURCE["zpmc-rebuttal-article"]
    generated = graph.value(ZPMC_GRAPH, PROV.generatedAtTime)
    assert isinstance(generated, Literal) and generated.datatype == XSD_DATETIME
    curators = graph.value(ZPMC_GRAPH, DCTERMS.creator)
    assert str(graph.value(curators, SCHEMA.name)) == "ClaimGraph curators"


def test_no_verdicts(graph: Graph) -> None:
    # The article is not a fact-check: nothing in the case file may pose as one.
    assert list(graph.subjects(RDF.type, SCHEMA.ClaimReview)) == []
    assert list(graph.subjects(RDF.type, SCHEMA.Rating)) == []


# --- Fidelity to the article ---------------------------------------------------------------


@pytest.mark.parametrize("prop", [CG.excerpt, CG.quote], ids=["excerpt", "quote"])
def test_text_is_verbatim_from_the_article(graph: Graph, article: str, prop: URIRef) -> None:
    missing = [
        f"{short(subject)}: {text}"
        for subject, text in graph.subject_objects(prop)
        if normalise(str(text)) not in article
    ]
    assert missing == [], "not found in the article:\n" + "\n".join(missing)


def test_every_statement_is_complete(graph: Graph) -> None:
    statements = set(graph.subjects(RDF.type, CG.Statement))
    problems = []
    for statement in sorted(statements):
        for prop in (*STATEMENT_PROPERTIES, CG.excerpt):
            count = len(list(graph.objects(statement, prop)))
            if count != 1:
                problems.append(f"{short(statement)} has {count} {prop.fragment}")
    assert problems == [], "\n".join(problems)


def test_every_claim_is_stated(graph: Graph) -> None:
    unstated = [
        short(claim)
        for claim in graph.subjects(RDF.type, CG.Claim)
        if (None, CG.claim, claim) not in graph
    ]
    assert unstated == [], f"claims no statement is about: {unstated}"


def test_reporting_chains_stay_on_the_claim(graph: Graph) -> None:
    problems = []
    for statement, reporter in graph.subject_objects(CG.reportedBy):
        if (reporter, RDF.type, CG.Statement) not in graph:
            problems.append(f"{short(statement)} reported by non-statement {short(reporter)}")
        elif graph.value(reporter, CG.claim) != graph.value(statement, CG.claim):
            problems.append(f"{short(statement)} reported by {short(reporter)} on another claim")
    assert problems == [], "\n".join(problems)


def test_reports_in_a_chain_are_by_their_reporters(graph: Graph) -> None:
    # A denial or an assertion is not a report: a chain link is the reporter relaying.
    problems = []
    for statement, reporter in graph.subject_objects(CG.reportedBy):
        if graph.value(reporter, CG.stance) != STANCE.reports:
            problems.append(f"{short(statement)} reported by non-report {short(reporter)}")
        if graph.value(reporter, CG.speaker) == graph.value(statement, CG.speaker):
            problems.append(f"{short(statement)} reported by its own speaker in {short(reporter)}")
    assert problems == [], "\n".join(problems)


def test_assessments_are_the_article_authors(graph: Graph) -> None:
    # The case file's rule: an evidence assessment is made in the article by Xinhua or Zichen
    # Wang, never by the author of the evidence nor by ClaimGraph.
    authors = {ACTOR["xinhua-news-agency"], ACTOR["zichen-wang"]}
    others = [
        f"{short(a)}: {short(by)}"
        for a, by in graph.subject_objects(CG.assessedBy)
        if by not in authors
    ]
    assert others == [], "assessed by someone other than the article's authors:\n" + "\n".join(
        others
    )


def test_named_actors_appear_in_the_article(graph: Graph, article: str) -> None:
    curators = set(graph.objects(ZPMC_GRAPH, DCTERMS.creator))
    text = article.casefold()
    absent = []
    for actor in instances(graph, ACTOR_CLASSES) - curators:
        description = str(graph.value(actor, DCTERMS.description) or "")
        if "unnamed in the source" in description.casefold():
            continue
        names = [normalise(str(name)).casefold() for name in graph.objects(actor, SCHEMA.name)]
        if not any(name in text for name in names):
            absent.append(f"{short(actor)}: {names}")
    assert absent == [], "named actors whose names are not in the article:\n" + "\n".join(absent)


@pytest.mark.parametrize(
    ("kind", "classes", "minimum"),
    [
        ("actors", ACTOR_CLASSES, 15),
        ("claims", (CG.Claim,), 15),
        ("statements", (CG.Statement,), 30),
        ("sources", SOURCE_CLASSES, 12),
        ("evidence items", (CG.Evidence,), 6),
        ("assessments", (CG.EvidenceAssessment,), 6),
    ],
)
def test_counts(graph: Graph, kind: str, classes: tuple[URIRef, ...], minimum: int) -> None:
    found = len(instances(graph, classes))
    assert found >= minimum, f"{found} {kind}, expected at least {minimum}"


# --- Spot checks: facts as the article gives them --------------------------------------------


def test_liu_pengyu_entirely_paranoia_reported_by_the_journal(graph: Graph) -> None:
    statements = [
        s
        for s in graph.subjects(CG.speaker, ACTOR["liu-pengyu"])
        if graph.value(s, CG.quote) == Literal("entirely paranoia", lang="en")
    ]
    assert len(statements) == 1, "no single Liu Pengyu statement quoting 'entirely paranoia'"
    reporters = list(graph.objects(statements[0], CG.reportedBy))
    assert any(graph.value(r, CG.speaker) == ACTOR["wall-street-journal"] for r in reporters), (
        "Liu Pengyu's statement is not reported by a Wall Street Journal statement"
    )


def test_tang_qingyun_has_his_chinese_name(graph: Graph) -> None:
    assert (ACTOR["tang-qingyun"], SCHEMA.name, Literal("唐青赟", lang="zh")) in graph
    assert (ACTOR["tang-qingyun"], SCHEMA.name, Literal("Tang Qingyun", lang="en")) in graph


def test_xinhua_report_has_both_titles(graph: Graph) -> None:
    titles = {t.language: str(t) for t in graph.objects(SOURCE["xinhua-report"], CG.title)}
    assert titles.get("zh") == "新闻调查丨美炮制“中国起重机威胁论”完全站不住脚"
    assert titles.get("en") == (
        'News Investigation | The U.S.\' Fabricated "Chinese Crane Threat Theory" '
        "Completely Lacks Foundation"
    )


def test_translation_is_zichen_wangs_of_the_xinhua_report(graph: Graph) -> None:
    translation = SOURCE["xinhua-report-english-translation"]
    assert graph.value(translation, CG.translationOf) == SOURCE["xinhua-report"]
    assert (translation, CG.translatedBy, ACTOR["zichen-wang"]) in graph
    assert graph.value(translation, CG.partOfSource) == SOURCE["zpmc-rebuttal-article"]


def test_xinhua_relayed_statements_keep_their_chain(graph: Graph) -> None:
    for person in ("tang-qingyun", "guan-tongxian"):
        statements = list(graph.subjects(CG.speaker, ACTOR[person]))
        assert statements, f"no statements by {person}"
        for statement in statements:
            assert (
                graph.value(statement, CG.quoteSource)
                == (SOURCE["xinhua-report-english-translation"])
            ), f"{short(statement)} does not name the translation"
            reporters = list(graph.objects(statement, CG.reportedBy))
            assert any(
                graph.value(r, CG.speaker) == ACTOR["xinhua-news-agency"] for r in reporters
            ), f"{short(statement)} is not reported by Xinhua"


def test_both_dates_of_zpmcs_pictured_statements_are_kept(graph: Graph) -> None:
    pictured = [
        s
        for s in graph.subjects(CG.publisher, ACTOR["zpmc"])
        if (s, RDF.type, CG.PressRelease) in graph
    ]
    dates = {graph.value(s, CG.datePublished).toPython(): s for s in pictured}
    # "March 9, 2023", as given.
    assert dt.date(2023, 3, 9) in dates
    assert graph.value(dates[dt.date(2023, 3, 9)], CG.dateApproximate) is None
    # "March 10", year not printed: inferred, and flagged as such.
    march_10 = [d for d in dates if (d.month, d.day) == (3, 10)]
    assert len(march_10) == 1
    source = dates[march_10[0]]
    assert graph.value(source, CG.dateApproximate) == Literal(True)
    assert "March 10" in str(graph.value(source, CG.dateNote))


# --- Shapes ----------------------------------------------------------------------------------


def test_conforms_to_the_shapes(graph: Graph, validator: Validator) -> None:
    """Validated the way every write is (the product's validator), in full."""
    report = validator.validate_graph(graph)
    assert report.conforms, report.text()
