"""Source, evidence, statement, review and assessment pages: the generic linked-data
description (every property, what links here) in the browsing layout, with what a reader
needs next for each kind — a statement's whole reporting chain, the statements a source
carries, the assessments of a piece of evidence, a review's ClaimReview markup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import render_template

from claimgraph import prose, sparqlterms
from claimgraph.claimreview import page_markup
from claimgraph.describe import Labeller, Term, section
from claimgraph.linkeddata import alternates, page_labels
from claimgraph.pages.common import Labels, Row, claimgraph, select, values

LIMIT = 200


@dataclass
class Extra:
    """One extra section: a heading, column names and rows of terms."""

    heading: str
    columns: list[str]
    rows: list[list[Term | None]] = field(default_factory=list)


def _table(heading: str, columns: list[str], rows: list[Row], keys: list[str]) -> Extra:
    iris = {v.value for r in rows for v in r.values() if isinstance(v, ox.NamedNode)}
    labels = Labels(claimgraph(), iris)
    return Extra(
        heading,
        columns,
        [[labels.term(r[k]) if k in r else None for k in keys] for r in rows],
    )


def _statement(iri: str) -> list[Extra]:
    cg = claimgraph()
    s = sparqlterms.iri(iri)
    # the path alone first (with the subject bound it is a short walk), then the steps' details
    steps = select(
        cg,
        f"""SELECT DISTINCT ?step ?where WHERE {{
          {{ {s} cg:reportedBy+ ?step BIND("reported by" AS ?where) }}
          UNION {{ {s} (^cg:reportedBy)+ ?step BIND("reports" AS ?where) }} }} LIMIT 50""",
    )
    if not steps:
        return []
    where = {r["step"].value: r["where"] for r in steps}
    rows = select(
        cg,
        f"""SELECT ?step ?speaker ?stance ?date WHERE {{ VALUES ?step {{ {values(where)} }}
          ?step cg:speaker ?speaker ; cg:stance ?stance ; cg:date ?date .
        }} ORDER BY STR(?date) LIMIT 200""",
    )
    for r in rows:
        r["where"] = where[r["step"].value]
    return [
        _table(
            "Reporting chain",
            ["", "statement", "speaker"],
            rows,
            ["where", "step", "speaker"],
        )
    ]


def _source(iri: str) -> list[Extra]:
    s = sparqlterms.iri(iri)
    rows = select(
        claimgraph(),
        f"""SELECT ?st ?speaker ?stance ?claim ?date WHERE {{
          {{ ?st cg:source {s} }} UNION {{ ?st cg:quoteSource {s} }}
          ?st cg:speaker ?speaker ; cg:stance ?stance ; cg:claim ?claim ; cg:date ?date .
        }} ORDER BY STR(?date) ?st LIMIT {LIMIT}""",
    )
    translations = select(
        claimgraph(),
        f"""SELECT ?dir ?other ?lang ?by WHERE {{
          {{ {s} cg:translationOf ?other BIND("of" AS ?dir) }}
          UNION {{ ?other cg:translationOf {s} BIND("to" AS ?dir) }}
          OPTIONAL {{ ?other cg:language ?lang }}
          OPTIONAL {{ ?t cg:translationOf ?o ; cg:translatedBy ?by
                      FILTER(?t = ?other || ?t = {s}) FILTER(?o = ?other || ?o = {s}) }}
        }} LIMIT {LIMIT}""",
    )
    for r in translations:
        if "lang" in r:
            r["lang"] = ox.Literal(prose.language_name(r["lang"].value))
    return [
        _table(
            "Translation of",
            ["original", "its language", "translated by"],
            [r for r in translations if r["dir"].value == "of"],
            ["other", "lang", "by"],
        ),
        _table(
            "Translations",
            ["translation", "language", "translated by"],
            [r for r in translations if r["dir"].value == "to"],
            ["other", "lang", "by"],
        ),
        _table(
            "Statements in this source",
            ["statement", "speaker", "claim"],
            rows,
            ["st", "speaker", "claim"],
        ),
    ]


def _evidence(iri: str) -> list[Extra]:
    e = sparqlterms.iri(iri)
    rows = select(
        claimgraph(),
        f"""SELECT ?a ?claim ?direction ?by ?why WHERE {{
          ?a cg:evidence {e} ; cg:assessedClaim ?claim ; cg:direction ?direction .
          OPTIONAL {{ ?a cg:assessedBy ?by }} OPTIONAL {{ ?a cg:rationale ?why }}
        }} ORDER BY ?claim LIMIT {LIMIT}""",
    )
    return [
        _table(
            "What it bears on",
            ["claim", "direction", "assessed by", "rationale", "assessment"],
            rows,
            ["claim", "direction", "by", "why", "a"],
        )
    ]


EXTRAS: dict[str, Callable[[str], list[Extra]]] = {
    "statement": _statement,
    "source": _source,
    "evidence": _evidence,
}


def renderer(kind: str) -> Callable[[str, str, list[ox.Triple]], str]:
    def render(path: str, iri: str, triples: list[ox.Triple]) -> str:
        cg = claimgraph()
        labeller = Labeller(cg.iris, triples, page_labels())
        main = section(ox.NamedNode(iri), triples, labeller)
        extras = EXTRAS[kind](iri) if kind in EXTRAS else []
        return render_template(
            "pages/resource.html",
            kind=kind,
            s=main,
            extras=[x for x in extras if x.rows],
            alternates=alternates(path),
            claimreview=page_markup(cg, iri),
        )

    return render
