"""The actor page: the HTML representation of ``/id/actor/<slug>`` — names in every language,
affiliations with roles and dates, statements grouped by stance, the claims involved, and
whom the actor reported or was reported by, and the claims about the actor (``cg:about``, or
``schema:about``, which it specialises)."""

from __future__ import annotations

import pyoxigraph as ox
from flask import render_template, url_for

from claimgraph import sparqlterms
from claimgraph.describe import Term
from claimgraph.iris import SCHEMA
from claimgraph.linkeddata import alternates
from claimgraph.pages.common import Labels, claimgraph, description, literal, select

STATEMENT_LIMIT = 300
ABOUT_LIMIT = 300
# names of the properties the page lists that the ontology does not label
READABLE = {
    "http://purl.org/dc/terms/description": "description",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": "kind",
    "http://www.w3.org/2002/07/owl#sameAs": "same as",
}


def render(path: str, iri: str, triples: list[ox.Triple]) -> str:
    cg = claimgraph()
    a = sparqlterms.iri(iri)
    own = select(
        cg,
        f"""SELECT ?p ?o WHERE {{ VALUES ?p {{ schema:name schema:alternateName
          dcterms:description cg:country owl:sameAs rdf:type cg:parentOrganization }}
          {a} ?p ?o }} LIMIT 200""",
    )
    affiliations = select(
        cg,
        f"""SELECT ?af ?org ?role ?start ?end WHERE {{
          ?af cg:member {a} ; cg:organization ?org .
          OPTIONAL {{ ?af cg:role ?role }} OPTIONAL {{ ?af cg:startDate ?start }}
          OPTIONAL {{ ?af cg:endDate ?end }} }} LIMIT 100""",
    )
    members = select(
        cg,
        f"""SELECT ?af ?member ?role WHERE {{ ?af cg:organization {a} ; cg:member ?member .
          OPTIONAL {{ ?af cg:role ?role FILTER(LANGMATCHES(LANG(?role), "en")) }} }} LIMIT 100""",
    )
    statements = select(
        cg,
        f"""SELECT ?s ?claim ?stance ?date WHERE {{
          ?s cg:speaker {a} ; cg:claim ?claim ; cg:stance ?stance ; cg:date ?date .
        }} ORDER BY STR(?date) ?s LIMIT {STATEMENT_LIMIT}""",
    )
    reporting = select(
        cg,
        f"""SELECT ?dir ?mine ?other ?who WHERE {{ ?mine cg:speaker {a} .
          {{ ?mine cg:reportedBy ?other BIND("by" AS ?dir) }}
          UNION {{ ?other cg:reportedBy ?mine BIND("of" AS ?dir) }}
          ?other cg:speaker ?who }} LIMIT 200""",
    )
    about = select(
        cg,
        f"""SELECT DISTINCT ?claim WHERE {{
          {{ ?claim cg:about {a} }} UNION {{ ?claim schema:about {a} }}
          ?claim a cg:Claim }} ORDER BY ?claim LIMIT {ABOUT_LIMIT}""",
    )
    iris = {iri}
    for group in (own, affiliations, members, statements, reporting, about):
        for r in group:
            iris.update(v.value for v in r.values() if isinstance(v, ox.NamedNode))
    labels = Labels(cg, iris)

    names = [literal(r["o"]) for r in own if r["p"].value == f"{SCHEMA}name"]
    names.sort(key=lambda t: (t.lang != "en", t.lang or ""))
    other_names = [literal(r["o"]) for r in own if r["p"].value == f"{SCHEMA}alternateName"]
    details = [
        (Term(READABLE.get(r["p"].value) or labels.text(r["p"].value)), labels.term(r["o"]))
        for r in own
        if r["p"].value not in (f"{SCHEMA}name", f"{SCHEMA}alternateName")
    ]
    affs: dict[str, dict[str, object]] = {}
    for r in affiliations:
        entry = affs.setdefault(
            r["af"].value,
            {
                "link": labels.term(r["af"]),
                "org": labels.term(r["org"]),
                "roles": [],
                "start": r["start"].value if "start" in r else None,
                "end": r["end"].value if "end" in r else None,
            },
        )
        roles = entry["roles"]
        assert isinstance(roles, list)
        if "role" in r and all(t.text != r["role"].value for t in roles):
            roles.append(literal(r["role"]))
    by_stance: dict[str, list[dict[str, object]]] = {}
    claims: dict[str, Term] = {}
    for r in statements:
        stance = labels.text(r["stance"].value)
        by_stance.setdefault(stance, []).append(
            {"date": r["date"].value, "claim": labels.term(r["claim"]), "link": labels.term(r["s"])}
        )
        claims.setdefault(r["claim"].value, labels.term(r["claim"]))
    title = names[0] if names else labels.term(ox.NamedNode(iri))
    return render_template(
        "pages/actor.html",
        iri=iri,
        title=title,
        names=names,
        other_names=other_names,
        details=details,
        affiliations=list(affs.values()),
        members=[
            (labels.term(r["member"]), literal(r["role"]) if "role" in r else None) for r in members
        ],
        by_stance=sorted(by_stance.items()),
        claims=sorted(claims.values(), key=lambda t: t.text),
        about=sorted((labels.term(r["claim"]) for r in about), key=lambda t: t.text),
        about_truncated=len(about) >= ABOUT_LIMIT,
        reported_by=[
            (labels.term(r["who"]), labels.term(r["other"]), labels.term(r["mine"]))
            for r in reporting
            if r["dir"].value == "by"
        ],
        reports=[
            (labels.term(r["who"]), labels.term(r["other"]), labels.term(r["mine"]))
            for r in reporting
            if r["dir"].value == "of"
        ],
        truncated=len(statements) >= STATEMENT_LIMIT,
        claims_link=url_for("pages.claims", speaker=iri),
        alternates=alternates(path),
        everything=description(iri, triples),
    )
