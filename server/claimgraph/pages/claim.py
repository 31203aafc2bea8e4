"""The claim page: the HTML representation of ``/id/claim/<slug>`` — texts, a timeline of
statements with their reporting chains, evidence for and against, reviews, related claims,
the neighbourhood as SVG and the ClaimReview JSON-LD of its reviews."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from flask import render_template, url_for

from claimgraph import sparqlterms
from claimgraph.claimreview import page_markup
from claimgraph.describe import Term
from claimgraph.iris import CG, DIRECTION
from claimgraph.linkeddata import alternates
from claimgraph.pages import spread as spread_view
from claimgraph.pages.common import (
    Labels,
    claimgraph,
    description,
    iri_of,
    literal,
    local_name,
    select,
    values,
)
from claimgraph.pages.svg import Node, neighbourhood_svg
from claimgraph.pages.timeaxis import reporting_order
from claimgraph.propagation.derived import Names
from claimgraph.propagation.views import claim_propagation

STATEMENT_LIMIT = 200
NOTHING = sparqlterms.iri("urn:x-none")  # fills a VALUES block that would be empty
# (name of the relation from this claim, name of it towards this claim); symmetric relations
# (owl:SymmetricProperty in the ontology) read the same both ways, so a pair stated in both
# directions is listed once.
RELATED = {
    f"{CG}contradicts": ("contradicts", "contradicts"),
    f"{CG}sameClaimAs": ("same claim as", "same claim as"),
    f"{CG}partOf": ("part of", "has part"),
    f"{CG}relatedClaim": ("related to", "related to"),
}


@dataclass
class StatementView:
    iri: str
    link: Term
    speaker: Term
    stance: Term
    stance_key: str
    date: str
    approximate: bool
    source: Term
    date_note: Term | None = None
    note: Term | None = None
    source_note: list[Term] = field(default_factory=list)  # "translation of …", language
    excerpt: Term | None = None
    quote: Term | None = None
    quote_source: Term | None = None
    reported_by: list[tuple[Term, Term]] = field(default_factory=list)  # (speaker, statement)
    reports: list[tuple[Term, Term]] = field(default_factory=list)


@dataclass
class AssessmentView:
    link: Term
    evidence: Term
    direction: str
    assessor: Term | None
    date: str | None
    confidence: str | None
    rationale: Term | None


def claim_data(iri: str) -> dict[str, Any]:
    """Everything the claim page shows, each part one bounded query."""
    cg = claimgraph()
    c = sparqlterms.iri(iri)
    own = select(
        cg,
        f"SELECT ?p ?o WHERE {{ VALUES ?p {{ cg:text cg:topic cg:about }} {c} ?p ?o }} LIMIT 200",
    )
    stmts = select(
        cg,
        f"""SELECT ?s ?speaker ?stance ?date ?source ?excerpt ?quote ?qs ?approx ?dnote ?note
        WHERE {{
          ?s cg:claim {c} ; cg:speaker ?speaker ; cg:stance ?stance ; cg:date ?date ;
             cg:source ?source .
          OPTIONAL {{ ?s cg:excerpt ?excerpt }} OPTIONAL {{ ?s cg:quote ?quote }}
          OPTIONAL {{ ?s cg:quoteSource ?qs }} OPTIONAL {{ ?s cg:dateApproximate ?approx }}
          OPTIONAL {{ ?s cg:dateNote ?dnote }} OPTIONAL {{ ?s cg:note ?note }}
        }} ORDER BY STR(?date) ?s LIMIT {STATEMENT_LIMIT * 3}""",
    )
    seen: dict[str, dict[str, Any]] = {}
    for r in stmts:
        seen.setdefault(r["s"].value, r)
    stmt_rows = list(seen.values())[:STATEMENT_LIMIT]
    s_values = values(seen) or NOTHING
    chain = select(
        cg,
        f"""SELECT ?s ?dir ?other ?speaker WHERE {{ VALUES ?s {{ {s_values} }}
          {{ ?s cg:reportedBy ?other BIND("by" AS ?dir) }}
          UNION {{ ?other cg:reportedBy ?s BIND("of" AS ?dir) }}
          ?other cg:speaker ?speaker }} LIMIT 1000""",
    )
    sources = {r["source"].value for r in stmt_rows} | {
        r["qs"].value for r in stmt_rows if "qs" in r
    }
    src_values = values(sources) or NOTHING
    src_info = select(
        cg,
        f"""SELECT ?src ?orig ?lang WHERE {{ VALUES ?src {{ {src_values} }}
          OPTIONAL {{ ?src cg:translationOf ?orig }} OPTIONAL {{ ?src cg:language ?lang }}
        }} LIMIT 1000""",
    )
    assessments = select(
        cg,
        f"""SELECT ?a ?e ?dir ?by ?date ?conf ?why WHERE {{
          ?a cg:assessedClaim {c} ; cg:evidence ?e ; cg:direction ?dir .
          OPTIONAL {{ ?a cg:assessedBy ?by }} OPTIONAL {{ ?a cg:assessmentDate ?date }}
          OPTIONAL {{ ?a cg:confidence ?conf }} OPTIONAL {{ ?a cg:rationale ?why }}
        }} ORDER BY ?dir ?a LIMIT 200""",
    )
    reviews = select(
        cg,
        f"""SELECT ?r ?verdict ?author ?date ?rating WHERE {{ ?r schema:itemReviewed {c} .
          OPTIONAL {{ ?r cg:normalizedVerdict ?verdict }} OPTIONAL {{ ?r schema:author ?author }}
          OPTIONAL {{ ?r schema:datePublished ?date }}
          OPTIONAL {{ ?r schema:reviewRating/schema:alternateName ?rating }}
        }} LIMIT 50""",
    )
    related = select(
        cg,
        f"""SELECT ?p ?o ?dir WHERE {{
          VALUES ?p {{ cg:contradicts cg:sameClaimAs cg:partOf cg:relatedClaim }}
          {{ {c} ?p ?o BIND("out" AS ?dir) }} UNION {{ ?o ?p {c} BIND("in" AS ?dir) }}
          FILTER(isIRI(?o)) }} LIMIT 100""",
    )
    spread = claim_propagation(cg, iri, spread_view.ROW_LIMIT)
    wanted = sorted(spread_view.statements_of(spread) - seen.keys()) if spread else []
    # statements of the propagation the first query did not list (a big claim's, or reports
    # filed under another claim): read by IRI, bounded
    more = (
        select(
            cg,
            f"""SELECT ?s ?speaker ?stance ?date ?source ?approx ?dnote ?note WHERE {{
              VALUES ?s {{ {values(wanted[:STATEMENT_LIMIT])} }}
              ?s cg:speaker ?speaker ; cg:stance ?stance ; cg:date ?date ; cg:source ?source .
              OPTIONAL {{ ?s cg:dateApproximate ?approx }} OPTIONAL {{ ?s cg:dateNote ?dnote }}
              OPTIONAL {{ ?s cg:note ?note }} }} LIMIT {STATEMENT_LIMIT * 3}""",
        )
        if wanted
        else []
    )
    return {
        "spread": [spread] if spread else [],
        "spread_statements": more,
        "own": own,
        "statements": stmt_rows,
        "chain": chain,
        "sources": src_info,
        "assessments": assessments,
        "reviews": reviews,
        "related": related,
    }


def render(path: str, iri: str, triples: list[ox.Triple]) -> str:
    cg = claimgraph()
    d = claim_data(iri)
    iris: set[str] = {iri}
    for name, group in d.items():
        for r in group:
            if name == "spread":
                iris.update(spread_view.iris_of(r))
            else:
                iris.update(v.value for v in r.values() if isinstance(v, ox.NamedNode))
    labels = Labels(cg, iris)
    texts = [literal(r["o"]) for r in d["own"] if r["p"].value == f"{CG}text"]
    texts.sort(key=lambda t: (t.lang != "en", t.lang or ""))
    # by name: the store's order of a multi-valued property differs between stores
    topics, about = (
        sorted(
            (labels.term(r["o"]) for r in d["own"] if r["p"].value == f"{CG}{p}"),
            key=lambda t: (t.text.casefold(), t.iri or ""),
        )
        for p in ("topic", "about")
    )

    src_notes: dict[str, list[Term]] = {}
    for r in d["sources"]:
        notes = src_notes.setdefault(r["src"].value, [])
        if "orig" in r:
            notes.append(Term("translation of"))
            notes.append(labels.term(r["orig"]))
        if "lang" in r:
            notes.append(Term(f"language: {r['lang'].value}"))

    statements: list[StatementView] = []
    by_iri: dict[str, StatementView] = {}
    for r in d["statements"]:
        s = r["s"].value
        view = StatementView(
            iri=s,
            link=labels.term(r["s"]),
            speaker=labels.term(r["speaker"]),
            stance=labels.term(r["stance"]),
            stance_key=local_name(r["stance"].value),
            date=r["date"].value,
            approximate="approx" in r and r["approx"].value == "true",
            source=labels.term(r["source"]),
            source_note=src_notes.get(r["source"].value, []),
            excerpt=literal(r["excerpt"]) if "excerpt" in r else None,
            quote=literal(r["quote"]) if "quote" in r else None,
            quote_source=labels.term(r["qs"]) if "qs" in r else None,
            date_note=literal(r["dnote"]) if "dnote" in r else None,
            note=literal(r["note"]) if "note" in r else None,
        )
        statements.append(view)
        by_iri[s] = view
    reported: dict[str, list[str]] = {}  # report → what it reports
    for r in d["chain"]:
        s, other = r["s"].value, r["other"].value
        found = by_iri.get(s)
        if found is not None:
            pair = (labels.term(r["speaker"]), labels.term(r["other"]))
            (found.reported_by if r["dir"].value == "by" else found.reports).append(pair)
            report, what = (other, s) if r["dir"].value == "by" else (s, other)
            reported.setdefault(report, []).append(what)
    # equal (or coarser) dates keep reporting order: what is reported comes before its report
    order = reporting_order({v.iri: v.date for v in statements}, reported)
    statements = [by_iri[s] for s in order]
    spread = None
    if d["spread"]:
        said = {
            r["s"].value: spread_view.Said(
                iri=r["s"].value,
                speaker=r["speaker"].value,
                stance=r["stance"].value,
                date=r["date"].value,
                source=r["source"].value,
                approximate="approx" in r and r["approx"].value == "true",
                date_note=literal(r["dnote"]) if "dnote" in r else None,
                note=literal(r["note"]) if "note" in r else None,
            )
            for r in d["spread_statements"] + d["statements"]
        }
        spread = spread_view.build(
            d["spread"][0], said, lambda x: labels.term(ox.NamedNode(x)), labels.text, cg.iris.href
        )

    evidence: dict[str, list[AssessmentView]] = {"supports": [], "refutes": [], "inconclusive": []}
    for r in d["assessments"]:
        direction = r["dir"].value.removeprefix(str(DIRECTION))
        evidence.setdefault(direction, []).append(
            AssessmentView(
                link=labels.term(r["a"]),
                evidence=labels.term(r["e"]),
                direction=direction,
                assessor=labels.term(r["by"]) if "by" in r else None,
                date=r["date"].value if "date" in r else None,
                confidence=r["conf"].value if "conf" in r else None,
                rationale=literal(r["why"]) if "why" in r else None,
            )
        )
    reviews = [
        {
            "link": labels.term(r["r"]),
            "verdict": labels.term(r["verdict"]) if "verdict" in r else None,
            "author": labels.term(r["author"]) if "author" in r else None,
            "date": r["date"].value if "date" in r else None,
            "rating": literal(r["rating"]) if "rating" in r else None,
        }
        for r in d["reviews"]
    ]
    related = []
    for r in d["related"]:
        out_name, in_name = RELATED[r["p"].value]
        if r["o"].value != iri:
            related.append((out_name if r["dir"].value == "out" else in_name, labels.term(r["o"])))
    related = sorted(set_unique(related), key=lambda x: (x[0], x[1].text))
    # "related to" says less than any other relation to the same claim: keep the specific one
    specific = {t.iri for name, t in related if name != "related to"}
    related = [(n, t) for n, t in related if n != "related to" or t.iri not in specific]

    nodes = [
        Node(
            "speaker",
            labels.text(s.speaker.iri or ""),
            s.speaker.href,
            [(f"stance-{s.stance_key}", s.stance.text)],
        )
        for s in statements
    ]
    nodes += [Node("source", labels.text(s.source.iri or ""), s.source.href) for s in statements]
    nodes += [
        Node("evidence", a.evidence.text, a.evidence.href, [(f"direction-{d}", d)])
        for d, v in evidence.items()
        for a in v
    ]
    nodes += [Node("claim", t.text, t.href) for _, t in related]
    title = texts[0] if texts else labels.term(ox.NamedNode(iri))
    svg = neighbourhood_svg(Node("claim", title.text, None), nodes)
    return render_template(
        "pages/claim.html",
        iri=iri,
        title=title,
        texts=texts,
        topics=topics,
        about=about,
        statements=statements,
        spread=spread,
        spread_twin=_twin(cg.iris.base, iri),
        truncated=len(d["statements"]) >= STATEMENT_LIMIT,
        evidence=evidence,
        reviews=reviews,
        related=related,
        svg=svg,
        claims_by_topic=[
            (t, url_for("pages.claims", topic=t.iri)) for t in topics if t.iri is not None
        ],
        alternates=alternates(path),
        everything=description(iri, triples),
        claimreview=page_markup(cg, iri),
    )


def _twin(base: str, iri: str) -> str:
    """The URL of the claim's propagation as JSON."""
    kind, _, slug = Names(base).local(iri).partition("/")
    return url_for("propagation.propagation_twin", kind=kind, slug=slug, fmt="json")


def set_unique(pairs: list[tuple[str, Term]]) -> list[tuple[str, Term]]:
    seen: set[tuple[str, str | None]] = set()
    out = []
    for name, t in pairs:
        if (name, t.iri) not in seen:
            seen.add((name, t.iri))
            out.append((name, t))
    return out


__all__ = ["claim_data", "iri_of", "render"]
