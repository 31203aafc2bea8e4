"""Publishing ClaimReview markup from the graph (Google's and ClaimsKG's form)."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox
from markupsafe import Markup

from claimgraph.claimreview.importing import _ANY_URI, _url_text
from claimgraph.claimreview.reading import Value
from claimgraph.claimreview.terms import CLAIMSKG_VALUES, OWL_SAME_AS, RDF_TYPE, SCHEMA, XSD, _s
from claimgraph.core import ClaimGraph
from claimgraph.describe import best_literal
from claimgraph.iris import CG, STANCE, VERDICT, web_url
from claimgraph.sparqlterms import iri, term

SCHEMA_TYPE_OF = {
    f"{CG}Person": "Person",
    f"{CG}MediaOutlet": "NewsMediaOrganization",
    f"{CG}GovernmentBody": "GovernmentOrganization",
    f"{CG}Organization": "Organization",
    f"{CG}NewsArticle": "NewsArticle",
    f"{CG}Report": "Report",
    f"{CG}WebPage": "WebPage",
    f"{CG}SocialMediaPosting": "SocialMediaPosting",
    f"{CG}Photograph": "Photograph",
    f"{CG}Letter": "Message",
    f"{CG}ExecutiveOrder": "Legislation",
}
_TYPE_ORDER = list(SCHEMA_TYPE_OF)  # most specific first


class _Props:
    """The properties of one node across all graphs (the union view readers see)."""

    def __init__(self, cg: ClaimGraph, node: ox.NamedNode) -> None:
        self.node = node
        self.values: dict[str, list[Value]] = {}
        for q in cg.store.quads(node, None, None, None):
            lst = self.values.setdefault(q.predicate.value, [])
            if q.object not in lst:
                lst.append(q.object)  # type: ignore[arg-type]

    def all(self, iri: str) -> list[Value]:
        return self.values.get(iri, [])

    def one(self, iri: str) -> Value | None:
        v = self.all(iri)
        return v[0] if v else None

    def text(self, iri: str) -> str | None:
        lits = [v for v in self.all(iri) if isinstance(v, ox.Literal)]
        best = best_literal(lits)
        return best.value if best is not None else None

    def schema_type(self, default: str | None) -> str | None:
        types = {v.value for v in self.all(RDF_TYPE.value) if isinstance(v, ox.NamedNode)}
        for t in _TYPE_ORDER:
            if t in types:
                return SCHEMA_TYPE_OF[t]
        kept = sorted(t[len(SCHEMA) :] for t in types if t.startswith(SCHEMA))
        return kept[0] if kept else default


def _set_id(out: dict[str, Any], node: ox.NamedNode) -> None:
    """``@id`` only for an http(s) IRI: markup is read by crawlers that may follow it."""
    iri = web_url(node.value)
    if iri:
        out["@id"] = iri


def _json_value(v: Value) -> Any:
    if isinstance(v, ox.Literal):
        dt = v.datatype.value
        if dt in (f"{XSD}integer", f"{XSD}int", f"{XSD}long", f"{XSD}nonNegativeInteger"):
            try:
                return int(v.value)
            except ValueError:
                return v.value
        if dt in (f"{XSD}decimal", f"{XSD}double", f"{XSD}float"):
            try:
                return float(v.value)
            except ValueError:
                return v.value
        return v.value
    return v.value


def _actor_markup(cg: ClaimGraph, node: Value | None) -> dict[str, Any] | None:
    if not isinstance(node, ox.NamedNode):
        return None
    p = _Props(cg, node)
    out: dict[str, Any] = {}
    kind = p.schema_type(None)
    if kind:
        out["@type"] = kind
    _set_id(out, node)
    name = p.text(f"{SCHEMA}name")
    if name:
        out["name"] = name
    for prop in ("url", "image"):
        url = _url_text(p.one(SCHEMA + prop))
        if url:
            out[prop] = url
    title = p.one(f"{SCHEMA}jobTitle")
    if title is not None:
        out["jobTitle"] = _json_value(title)
    same = [u for v in p.all(f"{SCHEMA}sameAs") + p.all(OWL_SAME_AS) if (u := _url_text(v))]
    if same:
        out["sameAs"] = same[0] if len(same) == 1 else same
    return out


def _source_markup(cg: ClaimGraph, node: ox.NamedNode, *, container: bool = True) -> dict[str, Any]:
    """A source as a ``CreativeWork``, with the work it is part of (one level up)."""
    p = _Props(cg, node)
    out: dict[str, Any] = {"@type": p.schema_type("CreativeWork")}
    _set_id(out, node)
    url = _url_text(p.one(f"{SCHEMA}url"))
    if url:
        out["url"] = url
    title = p.text(f"{CG}title")
    if title:
        out["name"] = title
    date = p.one(f"{CG}datePublished")
    if date is not None:
        out["datePublished"] = date.value
    for prop, key in ((f"{CG}author", "author"), (f"{CG}publisher", "publisher")):
        actor = _actor_markup(cg, p.one(prop))
        if actor:
            out[key] = actor
    for prop in ("startOffset", "endOffset", "transcript"):
        v = p.one(SCHEMA + prop)
        if isinstance(v, ox.Literal) and v.datatype == _ANY_URI:
            v = ox.Literal(link) if (link := _url_text(v)) else None  # a link: http(s) only
        if v is not None:
            out[prop] = _json_value(v)
    part_of = p.one(f"{CG}partOfSource")
    if container and isinstance(part_of, ox.NamedNode):
        out["isPartOf"] = _source_markup(cg, part_of, container=False)
    return out


def _claim_markup(cg: ClaimGraph, claim: ox.NamedNode) -> dict[str, Any]:
    """The reviewed claim: its author and date from the first statement asserting it (else the
    first statement about it), its appearances from the sources of its statements."""
    out: dict[str, Any] = {"@type": "Claim"}
    _set_id(out, claim)
    result = cg.store.query(
        f"""SELECT ?speaker ?stance ?date ?source WHERE {{
            ?st {iri(CG + "claim")} {term(claim)} ; {iri(CG + "speaker")} ?speaker ;
                {iri(CG + "stance")} ?stance ; {iri(CG + "date")} ?date ;
                {iri(CG + "source")} ?source .
        }} ORDER BY STR(?date) ?st LIMIT 200"""
    )
    assert isinstance(result, ox.QuerySolutions)
    rows = [(r["speaker"], r["stance"], r["date"], r["source"]) for r in result]
    if not rows:
        return out
    asserts = f"{STANCE}asserts"
    first = next((r for r in rows if r[1] is not None and r[1].value == asserts), rows[0])
    author = _actor_markup(cg, first[0])
    if author:
        out["author"] = author
    if first[2] is not None:
        out["datePublished"] = first[2].value
    sources = list(dict.fromkeys(r[3] for r in rows if isinstance(r[3], ox.NamedNode)))
    works = [_source_markup(cg, src) for src in sources]
    if works:
        out["appearance"] = works
    if isinstance(first[3], ox.NamedNode):
        out["firstAppearance"] = _source_markup(cg, first[3])
    return out


def review_markup(cg: ClaimGraph, review: str) -> dict[str, Any] | None:
    """The ClaimReview JSON-LD of a review in the store, or ``None`` if it is not a review."""
    try:
        node = ox.NamedNode(review)
    except ValueError:  # e.g. a URL slug with characters IRIs exclude: no such review
        return None
    p = _Props(cg, node)
    if _s("ClaimReview") not in p.all(RDF_TYPE.value):
        return None
    claim = p.one(f"{SCHEMA}itemReviewed")
    out: dict[str, Any] = {"@context": "https://schema.org", "@type": "ClaimReview"}
    _set_id(out, node)
    url = _url_text(p.one(f"{SCHEMA}url")) or web_url(review)
    if url:
        out["url"] = url
    text = p.text(f"{SCHEMA}claimReviewed")
    if text is None and isinstance(claim, ox.NamedNode):
        text = _Props(cg, claim).text(f"{CG}text")
    if text:
        out["claimReviewed"] = text
    date = p.one(f"{SCHEMA}datePublished")
    if date is not None:
        out["datePublished"] = date.value
    for prop in ("headline", "name", "inLanguage", "reviewBody"):
        kept = p.text(SCHEMA + prop)
        if kept:
            out[prop] = kept
    author = _actor_markup(cg, p.one(f"{SCHEMA}author"))
    if author:
        out["author"] = author
    ratings = []
    rating = p.one(f"{SCHEMA}reviewRating")
    if isinstance(rating, ox.NamedNode):
        rp = _Props(cg, rating)
        r: dict[str, Any] = {"@type": "Rating"}
        _set_id(r, rating)
        for prop in ("alternateName", "ratingValue", "bestRating", "worstRating"):
            v = rp.one(SCHEMA + prop)
            if v is not None:
                r[prop] = _json_value(v)
        image = _url_text(rp.one(f"{SCHEMA}image"))
        if image:
            r["image"] = image
        explanation = rp.one(f"{SCHEMA}ratingExplanation")
        if explanation is not None:
            r["ratingExplanation"] = _json_value(explanation)
        rater = _actor_markup(cg, rp.one(f"{SCHEMA}author"))
        if rater:
            r["author"] = rater
        ratings.append(r)
    verdict = p.one(f"{CG}normalizedVerdict")
    if isinstance(verdict, ox.NamedNode) and verdict.value.startswith(str(VERDICT)):
        name = verdict.value[len(str(VERDICT)) :]
        normalized: dict[str, Any] = {
            "@type": "Rating",
            "@id": verdict.value,
            "alternateName": name,
        }
        if name in CLAIMSKG_VALUES:
            normalized |= {"ratingValue": CLAIMSKG_VALUES[name], "bestRating": 3, "worstRating": 1}
        normalized["author"] = {"@type": "Organization", "name": "ClaimGraph", "url": cg.iris.base}
        ratings.append(normalized)
    if ratings:
        out["reviewRating"] = ratings[0] if len(ratings) == 1 else ratings
    if isinstance(claim, ox.NamedNode):
        out["itemReviewed"] = _claim_markup(cg, claim)
    return out


def reviews_of(cg: ClaimGraph, claim: str) -> list[str]:
    found = {
        q.subject.value
        for q in cg.store.quads(None, _s("itemReviewed"), ox.NamedNode(claim), None)
        if isinstance(q.subject, ox.NamedNode)
    }
    return sorted(found)


def script_json(data: Any) -> Markup:
    """JSON for a ``<script type="application/ld+json">``: ``</`` is written ``<\\/`` and
    ``<!--`` as ``\\u003c!--``, so no text in the data can end the script element early."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return Markup(text)  # escaped for the script context just above


def page_markup(cg: ClaimGraph, iri: str) -> Markup | None:
    """The markup a resource page embeds: its own for a review, its reviews' for a claim."""
    own = review_markup(cg, iri)
    items = [own] if own else [m for r in reviews_of(cg, iri) if (m := review_markup(cg, r))]
    if not items:
        return None
    return script_json(items[0] if len(items) == 1 else items)
