"""schema.org ``ClaimReview`` in and out.

**Out**: the fact-check markup Google and ClaimsKG read, derived from the graph — the review,
its rating as the fact-checker gave it plus a second rating authored by ClaimGraph carrying the
normalized verdict (as ClaimsKG publishes it), and the claim with its author, date, appearances
and first appearance taken from the statements about it. Claim and review pages embed it.

**In**: ClaimReview JSON-LD (one object, an array, or ``@graph``; the schema.org context as
``https://schema.org`` in its ``http``/``https`` and slash forms, or inline with ``@vocab``) is
mapped into the ClaimGraph model and written as one validated, atomic ``Delta``:

====================  ===========================================================================
markup                ClaimGraph
====================  ===========================================================================
ClaimReview           ``schema:ClaimReview`` at ``id/review/<key>`` (url, date, claimReviewed,
                      reviewBody kept)
reviewRating          ``schema:Rating`` at ``id/rating/<key>``, values exactly as given
(derived)             ``cg:normalizedVerdict`` by ``VERDICT_LABELS`` and ``verdict_for``
claimReviewed         ``cg:Claim`` at ``id/claim/<key>`` with ``cg:text``
author (review)       the fact-checker, an actor at ``id/actor/<name>`` (``_actor_iri``)
itemReviewed.author   the claimant, an actor
appearance / the      a ``cg:Source`` each (``id/source/<url>``), and a ``cg:Statement`` at
reviewed work         ``id/statement/<key>-<n>``: the claimant asserts the claim there
isPartOf, transcript  the work a clip is cut from, a ``cg:Source`` (``cg:partOfSource``);
                      ``schema:transcript`` (a link or the text) on the source that gives it
====================  ===========================================================================

``<key>`` comes from the review's URL, so importing the same markup twice adds nothing, and
importing a corrected version replaces what the earlier one said. Actors and URL-keyed sources
are shared: an existing one is linked, never modified. JSON-LD contexts are never fetched: the
schema.org context is read from ``contexts/`` and any other remote context is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, request
from markupsafe import Markup

from claimgraph import depth
from claimgraph.auth import check_write_token
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.describe import best_literal
from claimgraph.errors import InputError, NotFound, PayloadTooLarge
from claimgraph.iris import CG, STANCE, VERDICT, disambiguated_slug, name_key, slugify, web_url
from claimgraph.sparqlterms import iri, term
from claimgraph.store import Delta
from claimgraph.validation import Report

bp = Blueprint("claimreview", __name__)

CONTEXT_FILE = Path(__file__).resolve().parent / "contexts" / "schemaorgcontext-30.0.jsonld"
# The ways markup names schema.org's context; all are answered from CONTEXT_FILE.
SCHEMA_CONTEXTS = frozenset(
    f"{scheme}://schema.org{path}"
    for scheme in ("http", "https")
    for path in ("", "/", "/docs/jsonldcontext.json", "/docs/jsonldcontext.jsonld")
)
SCHEMA = "http://schema.org/"
SCHEMA_HTTPS = "https://schema.org/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
DCTERMS = "http://purl.org/dc/terms/"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"

# ClaimsKG's normalized ratings: the value of the second reviewRating in the markup we publish.
CLAIMSKG_VALUES = {"FALSE": 1, "MIXTURE": 2, "TRUE": 3}


def _s(name: str) -> ox.NamedNode:
    return ox.NamedNode(SCHEMA + name)


def _cg(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{CG}{name}")


# -- the verdict mapping table ----------------------------------------------------------------

# Fact-checkers' rating labels → the normalized verdict (ClaimsKG's four classes). Labels are
# compared after ``normalize_label``: case, surrounding space, trailing "!", ":" or "." and
# hyphens do not matter. "Mostly true", "mostly false" and their kin are MIXTURE, as ClaimsKG
# counts them; ratings that say nothing about truth (satire, unproven, Flip-O-Meter) are OTHER.
# A label not in the table gets no normalized verdict and a warning: never a guess.
VERDICT_LABELS: dict[str, str] = {
    **dict.fromkeys(
        [
            "true", "correct", "accurate", "verified", "truth", "geppetto checkmark",
            "vrai", "verdadero", "verdadeiro", "wahr", "richtig",
        ],
        "TRUE",
    ),
    **dict.fromkeys(
        [
            "false", "pants on fire", "incorrect", "inaccurate", "wrong", "fake", "hoax",
            "fiction", "fabricated", "baseless", "four pinocchios",
            "faux", "falso", "falsch",
        ],
        "FALSE",
    ),
    **dict.fromkeys(
        [
            "half true", "half truth", "mostly true", "mostly false", "barely true",
            "mostly correct", "mixture", "mixed", "partly true", "partly false",
            "partially true", "partially false", "partly correct", "not quite", "misleading",
            "exaggerated", "exaggeration", "one pinocchio", "two pinocchios",
            "three pinocchios", "mixture of true and false information", "plutôt vrai",
            "plutôt faux", "trompeur", "engañoso", "irreführend",
        ],
        "MIXTURE",
    ),
    **dict.fromkeys(
        [
            "unproven", "unverified", "unverifiable", "unsupported", "no evidence",
            "satire", "labeled satire", "outdated", "research in progress", "explainer",
            "no flip", "half flip", "full flop",
        ],
        "OTHER",
    ),
}  # fmt: skip


def normalize_label(label: str) -> str:
    text = label.strip().casefold().rstrip("!:.").replace("-", " ").replace("_", " ")
    return " ".join(text.split())


def verdict_for_label(label: str) -> str | None:
    return VERDICT_LABELS.get(normalize_label(label))


def _number(lit: ox.Literal | None) -> float | None:
    if lit is None:
        return None
    try:
        return float(lit.value)
    except ValueError:
        return None


@dataclass
class Verdict:
    """What a rating normalizes to (``None``: no normalized verdict) and why."""

    verdict: str | None
    warnings: list[str] = field(default_factory=list)


def verdict_for(
    label: str | None,
    value: ox.Literal | None,
    best: ox.Literal | None,
    worst: ox.Literal | None,
    *,
    where: str = "the rating",
) -> Verdict:
    """The normalized verdict of a rating, by these rules (README, "ClaimReview import"):

    1. A label (``alternateName``) in ``VERDICT_LABELS`` gives its verdict.
    2. A number on a known scale gives TRUE at ``bestRating`` and FALSE at ``worstRating``, and
       nothing in between (a 2 of 6 is not MIXTURE on every scale). When only one bound is
       given, the other is schema.org's default (worst 1, best 5).
    3. Label and number that give different verdicts give none, with a warning; the original
       values are kept either way.
    4. A rating with a number but no label and no scale (or an impossible one) cannot be read:
       ``InputError`` (the import is refused). Anything else unreadable gets no verdict.
    """
    warnings: list[str] = []
    by_label = verdict_for_label(label) if label else None
    if label and by_label is None:
        warnings.append(
            f"{where}: the label {label!r} is not in the verdict mapping table; "
            "no normalized verdict from it"
        )
    by_number: str | None = None
    v = _number(value)
    if value is not None and v is None and not label:
        # A textual ratingValue is a label by another name.
        by_label = verdict_for_label(value.value)
        if by_label is None:
            warnings.append(f"{where}: ratingValue {value.value!r} is not a known label")
    elif v is not None:
        hi: float | None = None
        lo: float | None = None
        if best is not None or worst is not None:
            hi = _number(best) if best is not None else 5.0
            lo = _number(worst) if worst is not None else 1.0
        readable = hi is not None and lo is not None and lo < hi and lo <= v <= hi
        if not readable:
            scale = (
                f"bestRating {best.value if best is not None else '-'}, "
                f"worstRating {worst.value if worst is not None else '-'}"
            )
            if not label:
                raise InputError(
                    f"{where}: unknown rating scale: ratingValue {value.value} "  # type: ignore[union-attr]
                    f"({scale}) and no alternateName; give the scale (bestRating, worstRating) "
                    "or the textual rating"
                )
            warnings.append(
                f"{where}: ratingValue {value.value} is not on a readable scale ({scale}); "  # type: ignore[union-attr]
                "kept as given, the verdict comes from the label"
            )
        elif v == hi:
            by_number = "TRUE"
        elif v == lo:
            by_number = "FALSE"
    if by_label and by_number and by_label != by_number:
        warnings.append(
            f"{where}: the label {label!r} ({by_label}) and the value "
            f"{value.value if value is not None else ''} of "
            f"{best.value if best is not None else 5} ({by_number}) disagree; both are kept "
            "and no normalized verdict is derived"
        )
        return Verdict(None, warnings)
    verdict = by_label or by_number
    if verdict is None and not warnings:
        warnings.append(f"{where}: says nothing a verdict can be derived from")
    elif by_number and not by_label and label:
        warnings.append(f"{where}: verdict {by_number} derived from the number alone")
    return Verdict(verdict, warnings)


# -- reading markup ---------------------------------------------------------------------------


@functools.cache
def schema_context() -> Any:
    """The vendored schema.org context (release 30.0): read once per process, never fetched."""
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]


# Each reference to schema.org's context becomes its 160 kB inline copy, which the JSON-LD
# processor reads again each time (15 ms): a reference that repeats the context already in
# force is dropped, and a document may hold at most this many others.
MAX_SCHEMA_CONTEXTS = 100


def _is_schema_ref(ctx: Any) -> bool:
    if isinstance(ctx, list) and len(ctx) == 1:
        ctx = ctx[0]
    return isinstance(ctx, str) and ctx in SCHEMA_CONTEXTS


class _Contexts:
    """Replaces context references by local copies, counting schema.org's."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.schema_copies = 0

    def local(self, ctx: Any) -> Any:
        if isinstance(ctx, str):
            if ctx in SCHEMA_CONTEXTS:
                self.schema_copies += 1
                if self.schema_copies > MAX_SCHEMA_CONTEXTS:
                    raise InputError(
                        f"{self.source}: more than {MAX_SCHEMA_CONTEXTS} @context references to "
                        "schema.org inside other contexts; name it once, at the top"
                    )
                return schema_context()
            raise InputError(
                f"{self.source}: the JSON-LD context {ctx!r} would have to be fetched from the "
                "network, which ClaimGraph never does; only schema.org's context "
                "(https://schema.org) is known locally — inline any other context in the document"
            )
        if isinstance(ctx, list):
            return [self.local(c) for c in ctx]
        if isinstance(ctx, dict):
            if "@import" in ctx:
                raise InputError(f"{self.source}: @import of a remote context is not supported")
            return {k: self.walk(v, schema=False) for k, v in ctx.items()}
        return ctx

    def walk(self, node: Any, *, schema: bool) -> Any:
        """``node`` with its contexts made local; ``schema``: schema.org's alone is in force."""
        if isinstance(node, list):
            return [self.walk(n, schema=schema) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        if "@context" in node:
            ctx = node["@context"]
            if not (schema and _is_schema_ref(ctx)):  # else: it changes nothing, leave it out
                out["@context"] = self.local(ctx)
                schema = _is_schema_ref(ctx)
        for k, v in node.items():
            if k != "@context":
                out[k] = self.walk(v, schema=schema)
        return out


def _with_local_contexts(doc: Any, source: str) -> Any:
    """The document with every context local. Top-level objects that each name schema.org's
    context become one ``@graph`` under it (the same triples, one context to process)."""
    if (
        isinstance(doc, list)
        and doc
        and all(isinstance(d, dict) and _is_schema_ref(d.get("@context")) for d in doc)
    ):
        doc = {"@context": "https://schema.org", "@graph": doc}
    return _Contexts(source).walk(doc, schema=False)


def _http_schema(term: Any) -> Any:
    """``https://schema.org/x`` as ``http://schema.org/x``: the form our data (and ClaimsKG) use."""
    if isinstance(term, ox.NamedNode) and term.value.startswith(SCHEMA_HTTPS):
        return ox.NamedNode(SCHEMA + term.value[len(SCHEMA_HTTPS) :])
    if isinstance(term, ox.Literal) and term.datatype.value.startswith(SCHEMA_HTTPS):
        dt = SCHEMA + term.datatype.value[len(SCHEMA_HTTPS) :]
        return ox.Literal(term.value, datatype=ox.NamedNode(dt))
    return term


def read_markup(
    data: bytes | str, source: str = "<input>", max_depth: int = Settings.max_data_depth
) -> list[ox.Triple]:
    """Parse ClaimReview JSON-LD offline into triples (schema.org terms in ``http:`` form);
    refused when nested deeper than ``max_depth``."""
    raw = data.encode() if isinstance(data, str) else data
    depth.check_json(raw, max_depth, source)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"{source}:{err.lineno}:{err.colno}: not JSON: {err.msg}") from err
    except UnicodeDecodeError as err:
        raise InputError(f"{source}: not UTF-8 text ({err.reason})") from err
    if not isinstance(doc, dict | list):
        raise InputError(f"{source}: not a JSON-LD document (a JSON object or array)")
    doc = _with_local_contexts(doc, source)
    try:
        quads = list(ox.parse(json.dumps(doc).encode(), format=ox.RdfFormat.JSON_LD))
    except SyntaxError as err:
        raise InputError(f"{source}: not valid JSON-LD: {err.msg or err}") from err
    return [
        ox.Triple(_http_schema(q.subject), _http_schema(q.predicate), _http_schema(q.object))
        for q in quads
    ]


Node = ox.NamedNode | ox.BlankNode
Value = ox.NamedNode | ox.BlankNode | ox.Literal


class _Doc:
    """The parsed markup, indexed by subject; properties are looked up by schema.org name."""

    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self.props: dict[Any, dict[str, list[Value]]] = {}
        for t in triples:
            if isinstance(t.object, ox.Triple):
                continue
            self.props.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)

    def all(self, node: Any, name: str) -> list[Value]:
        return list(dict.fromkeys(self.props.get(node, {}).get(SCHEMA + name, [])))

    def one(self, node: Any, name: str) -> Value | None:
        values = self.all(node, name)
        return values[0] if values else None

    def types(self, node: Any) -> list[str]:
        return [
            t.value[len(SCHEMA) :]
            for t in self.props.get(node, {}).get(RDF_TYPE.value, [])
            if isinstance(t, ox.NamedNode) and t.value.startswith(SCHEMA)
        ]

    def literal(self, node: Any, *names: str) -> ox.Literal | None:
        for name in names:
            for v in self.all(node, name):
                if isinstance(v, ox.Literal) and v.value.strip():
                    return v
        return None

    def of_type(self, name: str) -> list[Any]:
        want = ox.NamedNode(SCHEMA + name)
        return [n for n, props in self.props.items() if want in props.get(RDF_TYPE.value, [])]


# -- mapping markup to the model --------------------------------------------------------------

ACTOR_TYPES = {
    "Person": "Person",
    "Organization": "Organization",
    "Corporation": "Organization",
    "NGO": "Organization",
    "EducationalOrganization": "Organization",
    "PoliticalParty": "Organization",
    "NewsMediaOrganization": "MediaOutlet",
    "GovernmentOrganization": "GovernmentBody",
}
SOURCE_TYPES = {
    "NewsArticle": "NewsArticle",
    "ReportageNewsArticle": "NewsArticle",
    "AnalysisNewsArticle": "NewsArticle",
    "Report": "Report",
    "WebPage": "WebPage",
    "SocialMediaPosting": "SocialMediaPosting",
    "BlogPosting": "SocialMediaPosting",
    "DiscussionForumPosting": "SocialMediaPosting",
    "Photograph": "Photograph",
}
_GENERIC_TYPES = {"CreativeWork", "Thing", "Claim"}
_ACTOR_NAMES = (_s("name"), _s("alternateName"))
_ANY_URI = ox.NamedNode(XSD + "anyURI")
_DATE = re.compile(r"^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?(T.*)?$")
_BCP47 = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def _date(lit: Value | None) -> ox.Literal | None:
    """A markup date as ClaimGraph's date literal, at the precision given (time dropped)."""
    if not isinstance(lit, ox.Literal):
        return None
    m = _DATE.match(lit.value.strip())
    if not m:
        return None
    if m.group(5):
        text, dt = f"{m.group(1)}-{m.group(3)}-{m.group(5)}", "date"
    elif m.group(3):
        text, dt = f"{m.group(1)}-{m.group(3)}", "gYearMonth"
    else:
        text, dt = m.group(1), "gYear"
    return ox.Literal(text, datatype=ox.NamedNode(XSD + dt))


def _after(a: ox.Literal, b: ox.Literal | None) -> bool:
    """Whether date ``a`` is after date ``b``, compared at the precision both give."""
    if b is None:
        return False
    n = min(len(a.value), len(b.value))
    return a.value[:n] > b.value[:n]


def _review_date(lit: Value | None) -> ox.Literal | None:
    """A review's date kept as given when its datatype is one the shapes accept."""
    if not isinstance(lit, ox.Literal) or not _DATE.match(lit.value.strip()):
        return None
    if lit.datatype.value == f"{XSD}string":
        return ox.Literal(lit.value.strip(), datatype=_s("Date"))
    return lit


def _url_text(v: Value | None) -> str | None:
    """The http(s) URL an IRI or a literal gives, else ``None`` (in markup read and written)."""
    if isinstance(v, ox.NamedNode):
        return web_url(v.value)
    if isinstance(v, ox.Literal):
        return web_url(v.value.strip())
    return None


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def url_key(url: str) -> str:
    """A readable, stable slug for a URL: host, last path segment and a short hash."""
    parts = urlsplit(url)
    segments = [p for p in parts.path.split("/") if p]
    last = segments[-1] if segments else ""
    # A percent-encoded word of another script ("%E6%96%B0…") reads as itself; an ASCII segment
    # is slugged as given, so the keys of ASCII URLs stay what they have always been.
    decoded = unquote(last, errors="replace")
    if not decoded.isascii() and "\ufffd" not in decoded:
        last = decoded
    readable = slugify(f"{_host(url)} {last}")[:60].strip("-")
    digest = hashlib.sha1(url.strip().encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


def _text(lit: ox.Literal, lang: str) -> ox.Literal:
    """Text as a language-tagged literal (its own tag if it has one)."""
    return ox.Literal(lit.value.strip(), language=lit.language or lang)


@dataclass
class ImportResult:
    reviews: list[str]
    added: int
    removed: int
    warnings: list[str]
    report: Report | None

    def to_json(self) -> dict[str, Any]:
        return {
            "reviews": self.reviews,
            "added": self.added,
            "removed": self.removed,
            "warnings": self.warnings,
            "validation": [r.line() for r in self.report.results] if self.report else [],
        }


class _Importer:
    """Builds the quads of one import batch (all files of one command or request)."""

    def __init__(self, cg: ClaimGraph, graph: str | None, language: str | None) -> None:
        self.cg = cg
        self.iris = cg.iris
        try:
            self.graph = ox.NamedNode(graph or cg.iris.graph("claimreview"))
        except ValueError as err:
            raise InputError(f"graph {graph!r} is not an absolute IRI ({err})") from None
        if language is not None and not _BCP47.match(language):
            raise InputError(f"language {language!r} is not a BCP 47 tag such as en or zh-Hans")
        self.language = language
        self.owned: dict[ox.NamedNode, list[ox.Triple]] = {}  # replaced on re-import
        self.shared: dict[ox.NamedNode, list[ox.Triple]] = {}  # added only if new
        self.links: list[ox.Triple] = []  # plain additions (graph provenance)
        self.warnings: list[str] = []
        self.reviews: list[str] = []

    # Each node's triples go to exactly one of owned/shared, keyed by subject.
    def _own(self, node: ox.NamedNode, p: ox.NamedNode, o: Value) -> None:
        self.owned.setdefault(node, []).append(ox.Triple(node, p, o))

    def _share(self, node: ox.NamedNode, triples: list[tuple[ox.NamedNode, Value]]) -> None:
        if node in self.shared or node in self.owned:
            return  # the first description of a shared node in a batch wins
        self.shared[node] = [ox.Triple(node, p, o) for p, o in triples]

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # -- actors --------------------------------------------------------------------------------
    def actor(self, doc: _Doc, node: Value | None, lang: str, where: str) -> ox.NamedNode | None:
        if node is None:
            return None
        name: ox.Literal | None
        url: str | None = None
        kind = "Actor"
        extra: list[tuple[ox.NamedNode, Value]] = []
        if isinstance(node, ox.Literal):
            if not node.value.strip():
                return None
            name = node
        else:
            name = doc.literal(node, "name")
            url = _url_text(doc.one(node, "url"))
            kinds = [ACTOR_TYPES[t] for t in doc.types(node) if t in ACTOR_TYPES]
            kind = kinds[0] if kinds else "Actor"
            for prop in ("url", "sameAs", "image"):
                for v in doc.all(node, prop):
                    if _url_text(v):
                        extra.append((_s(prop), ox.NamedNode(_url_text(v) or "")))
            for prop in ("jobTitle", "description"):
                lit = doc.literal(node, prop)
                if lit is not None:
                    extra.append((_s(prop), lit))
        if name is None:
            if url is None:
                self.warn(f"{where} has neither a name nor a URL; left out")
                return None
            name = ox.Literal(_host(url))
            self.warn(f"{where} has no name; it is named after its URL's host, {_host(url)!r}")
        iri = self._actor_iri(name.value)
        triples: list[tuple[ox.NamedNode, Value]] = [
            (RDF_TYPE, _cg(kind)),
            (_s("name"), _text(name, lang)),
            *extra,
        ]
        self._share(iri, triples)
        return iri

    def _actor_iri(self, name: str) -> ox.NamedNode:
        """The actor a name stands for: ``id/actor/<slug>`` unless an actor there (in the store
        or earlier in this batch) has names and this is not one of them; then the slug with the
        name's hash (``disambiguated_slug``). Two different names never share one actor."""
        plain = ox.NamedNode(self.iris.resource("actor", name))
        names = [t.object for t in self.shared.get(plain, []) if t.predicate in _ACTOR_NAMES] + [
            q.object for p in _ACTOR_NAMES for q in self.cg.store.quads(plain, p, None, None)
        ]
        keys = {name_key(v.value) for v in names if isinstance(v, ox.Literal)}
        if not keys or name_key(name) in keys:
            return plain
        return ox.NamedNode(self.iris.resource("actor", disambiguated_slug(name)))

    # -- sources and statements ----------------------------------------------------------------
    def source(
        self, doc: _Doc, node: Value, key: str, n: int, lang: str, *, whole: bool = False
    ) -> tuple[ox.NamedNode, ox.Literal | None, ox.NamedNode | None]:
        """The source for one appearance: (its IRI, its date, its author). The work it is part
        of (a ``Clip``'s video: ``isPartOf``) is a source too (``whole``), one level up."""
        if isinstance(node, ox.Literal):
            url = _url_text(node)
            props: Any = None
        else:
            props = node
            # A bare {"@id": …} names the document by its address; a described node's @id is
            # just an identifier (ClaimGraph's own, in markup it published).
            url = _url_text(doc.one(node, "url")) or (
                _url_text(node) if node not in doc.props else None
            )
        iri = ox.NamedNode(
            self.iris.resource(
                "source",
                url_key(url) if url else f"{key}-appearance-{n}{'-whole' if whole else ''}",
            )
        )
        triples: list[tuple[ox.NamedNode, Value]] = []
        date: ox.Literal | None = None
        author_iri: ox.NamedNode | None = None
        types = doc.types(props) if props is not None else []
        mapped = [SOURCE_TYPES[t] for t in types if t in SOURCE_TYPES]
        triples.append((RDF_TYPE, _cg(mapped[0] if mapped else "Source")))
        if not mapped:
            triples += [(RDF_TYPE, _s(t)) for t in types if t not in _GENERIC_TYPES]
        if url:
            triples.append((_s("url"), ox.Literal(url, datatype=ox.NamedNode(XSD + "anyURI"))))
        if props is not None:
            title = doc.literal(props, "headline", "name")
            if title is not None:
                triples.append((_cg("title"), _text(title, lang)))
            raw_date = doc.one(props, "datePublished") or doc.one(props, "dateCreated")
            date = _date(raw_date)
            if raw_date is not None and date is None:
                self.warn(f"source {iri.value}: date {raw_date} is not a date; left out")
            if date is not None:
                triples.append((_cg("datePublished"), date))
            language = doc.literal(props, "inLanguage")
            if language is not None and _BCP47.match(language.value):
                triples.append(
                    (
                        _cg("language"),
                        ox.Literal(language.value, datatype=ox.NamedNode(XSD + "language")),
                    )
                )
            author = doc.one(props, "author") or doc.one(props, "creator")
            author_iri = self.actor(doc, author, lang, f"the author of source {iri.value}")
            if author_iri is not None:
                triples.append((_cg("author"), author_iri))
            publisher = self.actor(
                doc, doc.one(props, "publisher"), lang, f"the publisher of source {iri.value}"
            )
            if publisher is not None:
                triples.append((_cg("publisher"), publisher))
            for prop in ("startOffset", "endOffset"):
                v = doc.one(props, prop)
                if isinstance(v, ox.Literal):
                    triples.append((_s(prop), v))
            # schema:transcript is Text: a link to the transcript, or the transcript itself.
            transcript = doc.literal(props, "transcript") or doc.one(props, "transcript")
            link = _url_text(transcript)
            if link:
                triples.append((_s("transcript"), ox.Literal(link, datatype=_ANY_URI)))
            elif isinstance(transcript, ox.Literal):
                triples.append((_s("transcript"), _text(transcript, lang)))
            part_of = doc.one(props, "isPartOf")
            if not whole and part_of is not None and (_url_text(part_of) or part_of in doc.props):
                container, _, _ = self.source(doc, part_of, key, n, lang, whole=True)
                if container != iri:
                    triples.append((_cg("partOfSource"), container))
        if url:
            self._share(iri, triples)
        else:
            for p, o in triples:
                self._own(iri, p, o)
        return iri, date, author_iri

    # -- one review ----------------------------------------------------------------------------
    def review(self, doc: _Doc, r: Any, source: str) -> None:
        url = _url_text(doc.one(r, "url"))
        where = f"{source}: ClaimReview {url or '(no url)'}"
        item = doc.one(r, "itemReviewed")
        item_types = doc.types(item) if item is not None else []
        is_claim = "Claim" in item_types
        claim_text = doc.literal(r, "claimReviewed")
        if claim_text is None and item is not None and is_claim:
            claim_text = doc.literal(item, "text", "name")
        if claim_text is None:
            raise InputError(
                f"{where}: no claim text (claimReviewed, or the text of a Claim in "
                "itemReviewed): there is nothing to attach the review to"
            )
        lang = self._language(doc, r, item, claim_text, where)
        authors = doc.all(r, "author")
        if not authors:
            raise InputError(
                f"{where}: no author: a ClaimReview needs the fact-checker who wrote it "
                "(author with a name or url)"
            )
        if len(authors) > 1:
            self.warn(f"{where}: {len(authors)} authors; the first is recorded")
        checker = self.actor(doc, authors[0], lang, f"{where}: the author")
        if checker is None:
            raise InputError(f"{where}: the author has neither a name nor a URL")

        date = _review_date(doc.one(r, "datePublished"))
        key = url_key(url) if url else self._fallback_key(claim_text, checker, date)
        review = ox.NamedNode(self.iris.resource("review", key))
        claim = ox.NamedNode(self.iris.resource("claim", key))
        self.reviews.append(review.value)

        self._own(review, RDF_TYPE, _s("ClaimReview"))
        self._own(review, _s("itemReviewed"), claim)
        self._own(review, _s("author"), checker)
        self._own(review, _s("claimReviewed"), claim_text)
        if url:
            self._own(review, _s("url"), ox.NamedNode(url))
        else:
            self.warn(f"{where}: no url; the review is keyed by its claim, author and date")
        if date is not None:
            self._own(review, _s("datePublished"), date)
        elif doc.one(r, "datePublished") is not None:
            self.warn(
                f"{where}: datePublished {doc.one(r, 'datePublished')} is not a date; left out"
            )
        for prop in ("headline", "name", "inLanguage", "reviewBody"):
            lit = doc.literal(r, prop)
            if lit is not None:
                self._own(review, _s(prop), lit)

        self._rating(doc, r, review, key, lang, where)
        self._own(claim, RDF_TYPE, _cg("Claim"))
        self._own(claim, _cg("text"), _text(claim_text, lang))

        # Who made the claim, where and when: a statement per appearance.
        if item is None:
            self.warn(f"{where}: no itemReviewed: the claim is recorded without who made it")
            appearances: list[Value] = []
            claimant = None
            claim_date = None
        elif is_claim:
            appearances = [*doc.all(item, "firstAppearance"), *doc.all(item, "appearance")]
            claimant = doc.one(item, "author")
            claim_date = _date(doc.one(item, "datePublished") or doc.one(item, "dateCreated"))
        else:
            appearances = [item]
            claimant = None  # the work's own author, read with the source
            claim_date = None
        claimant_iri = self.actor(doc, claimant, lang, f"{where}: the claimant")
        seen: set[ox.NamedNode] = set()
        for n, node in enumerate(dict.fromkeys(appearances)):
            src, src_date, src_author = self.source(doc, node, key, n, lang)
            if src in seen:
                continue  # the same document named twice (firstAppearance and appearance)
            seen.add(src)
            # The claimant speaks in each appearance; a work reviewed itself is its author's.
            speaker = claimant_iri or src_author
            late = claim_date is not None and _after(claim_date, src_date)
            when = src_date if claim_date is None or late else claim_date
            if late:
                self.warn(f"{where}: the claim is dated after its appearance {src.value}")
            if speaker is None or when is None:
                missing = " and ".join(
                    x for x, v in (("who made it", speaker), ("when", when)) if v is None
                )
                self.warn(f"{where}: appearance {src.value} does not say {missing}; no statement")
                continue
            st = ox.NamedNode(self.iris.resource("statement", f"{key}-{n}"))
            for p, o in (
                (RDF_TYPE, _cg("Statement")),
                (_cg("speaker"), speaker),
                (_cg("claim"), claim),
                (_cg("stance"), ox.NamedNode(f"{STANCE}asserts")),
                (_cg("date"), when),
                (_cg("source"), src),
            ):
                self._own(st, p, o)
        if item is not None and not appearances:
            self.warn(f"{where}: the claim has no appearance: no statement records who made it")
        if url:
            self.links.append(
                ox.Triple(self.graph, ox.NamedNode(f"{PROV}wasDerivedFrom"), ox.NamedNode(url))
            )

    def _language(self, doc: _Doc, r: Any, item: Any, text: ox.Literal, where: str) -> str:
        if text.language:
            return text.language
        for node in (r, item):
            lit = doc.literal(node, "inLanguage") if node is not None else None
            if lit is not None and _BCP47.match(lit.value):
                return lit.value
        if self.language:
            return self.language
        self.warn(
            f"{where}: no language given (inLanguage, or --language / ?language=); "
            "text is tagged 'und' (undetermined)"
        )
        return "und"

    def _fallback_key(
        self, text: ox.Literal, checker: ox.NamedNode, date: ox.Literal | None
    ) -> str:
        seed = "\n".join((text.value, checker.value, date.value if date else ""))
        return (
            f"{slugify(text.value)[:50].strip('-')}-{hashlib.sha1(seed.encode()).hexdigest()[:8]}"
        )

    def _rating(
        self, doc: _Doc, r: Any, review: ox.NamedNode, key: str, lang: str, where: str
    ) -> None:
        ratings = [
            v
            for v in doc.all(r, "reviewRating")
            # The rating ClaimGraph itself adds to the markup it publishes is derived: skip it.
            if not (isinstance(v, ox.NamedNode) and v.value.startswith(str(VERDICT)))
        ]
        if not ratings:
            self.warn(f"{where}: no reviewRating: the review is recorded without a verdict")
            return
        if len(ratings) > 1:
            self.warn(f"{where}: {len(ratings)} reviewRatings; the first is recorded")
        node = ratings[0]
        rating = ox.NamedNode(self.iris.resource("rating", key))
        if isinstance(node, ox.Literal):
            label: ox.Literal | None = node
            value = best = worst = None
            self.warn(f"{where}: reviewRating is plain text; recorded as the rating's label")
        else:
            label = doc.literal(node, "alternateName")
            value = doc.one(node, "ratingValue")
            best, worst = doc.one(node, "bestRating"), doc.one(node, "worstRating")
            if label is None and doc.literal(node, "name") is not None:
                label = doc.literal(node, "name")
                self.warn(f"{where}: the rating's label is taken from its name (no alternateName)")
        value = value if isinstance(value, ox.Literal) else None
        best = best if isinstance(best, ox.Literal) else None
        worst = worst if isinstance(worst, ox.Literal) else None
        if label is None and value is None:
            self.warn(f"{where}: the reviewRating has neither a label nor a value; left out")
            return
        verdict = verdict_for(
            label.value if label is not None else None, value, best, worst, where=f"{where}: rating"
        )
        self.warnings += verdict.warnings
        self._own(review, _s("reviewRating"), rating)
        self._own(rating, RDF_TYPE, _s("Rating"))
        if label is not None:
            self._own(rating, _s("alternateName"), label)
        for prop, v in (("ratingValue", value), ("bestRating", best), ("worstRating", worst)):
            if v is not None:
                self._own(rating, _s(prop), v)
        if not isinstance(node, ox.Literal):
            image = _url_text(doc.one(node, "image"))
            if image:
                self._own(rating, _s("image"), ox.NamedNode(image))
            explanation = doc.literal(node, "ratingExplanation")
            if explanation is not None:
                self._own(rating, _s("ratingExplanation"), explanation)
            rater = self.actor(doc, doc.one(node, "author"), lang, f"{where}: the rating's author")
            if rater is not None:
                self._own(rating, _s("author"), rater)
        if verdict.verdict is not None:
            self._own(review, _cg("normalizedVerdict"), ox.NamedNode(f"{VERDICT}{verdict.verdict}"))

    # -- the delta -----------------------------------------------------------------------------
    def delta(self) -> tuple[Delta, int, int]:
        store, g = self.cg.store, self.graph
        add: dict[ox.Quad, None] = {}
        remove: list[ox.Quad] = []
        for node, triples in self.owned.items():
            new = {ox.Quad(t.subject, t.predicate, t.object, g) for t in triples}
            old = set(store.quads(node, None, None, g))
            remove += sorted(old - new, key=str)
            add.update(dict.fromkeys(sorted(new - old, key=str)))
        for node, triples in self.shared.items():
            if next(iter(store.quads(node, None, None, None)), None) is None:
                add.update(
                    dict.fromkeys(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
                )
        links = [ox.Quad(t.subject, t.predicate, t.object, g) for t in self.links]
        if not store.has_graph(g):
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            links += [
                ox.Quad(g, RDF_TYPE, ox.NamedNode(f"{PROV}Entity"), g),
                ox.Quad(
                    g,
                    ox.NamedNode(f"{DCTERMS}title"),
                    ox.Literal("ClaimReview markup imported into ClaimGraph", language="en"),
                    g,
                ),
                ox.Quad(
                    g,
                    ox.NamedNode(f"{PROV}generatedAtTime"),
                    ox.Literal(now, datatype=ox.NamedNode(XSD + "dateTime")),
                    g,
                ),
            ]
        for q in links:
            if next(iter(store.quads(q.subject, q.predicate, q.object, g)), None) is None:  # type: ignore[arg-type]
                add[q] = None
        return Delta(add=list(add), remove=remove), len(add), len(remove)


def import_markup(
    cg: ClaimGraph,
    documents: Iterable[tuple[str, bytes | str]],
    *,
    graph: str | None = None,
    language: str | None = None,
) -> ImportResult:
    """Import ClaimReview documents as one validated, atomic write (all of them or nothing).

    ``documents`` are (name for messages, JSON-LD text). Raises ``InputError`` for markup that
    cannot be read and ``ValidationFailed`` when the mapped data violates the shapes.
    """
    limit = cg.settings.max_data_depth
    docs = [(source, _Doc(read_markup(data, source, limit))) for source, data in documents]
    # The delta depends on what the store holds (existing actors, earlier versions): hold the
    # write lock from reading the store to committing.
    with cg.write_lock:
        importer = _Importer(cg, graph, language)
        for source, doc in docs:
            reviews = doc.of_type("ClaimReview")
            if not reviews:
                raise InputError(
                    f"{source}: no schema.org ClaimReview in it (is the @context schema.org's "
                    'and the @type "ClaimReview"?)'
                )
            for r in reviews:
                importer.review(doc, r, source)
        delta, added, removed = importer.delta()
        report = cg.write(delta) if delta else None
    return ImportResult(importer.reviews, added, removed, importer.warnings, report)


# -- publishing markup ------------------------------------------------------------------------

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


# -- HTTP --------------------------------------------------------------------------------------


def _claimgraph() -> ClaimGraph:
    graph: ClaimGraph = current_app.extensions["claimgraph"]
    return graph


@bp.post("/import/claimreview")
def import_claimreview() -> tuple[Response, int]:
    """Import ClaimReview JSON-LD from the request body (``Authorization: Bearer <token>``)."""
    cg = _claimgraph()
    settings: Settings = current_app.extensions.get("claimgraph.settings", cg.settings)
    check_write_token(settings.write_token, request.headers.get("Authorization"))
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the markup is larger than the limit of {limit} bytes")
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise PayloadTooLarge(f"the markup is larger than the limit of {limit} bytes")
    result = import_markup(
        cg,
        [("request body", data)],
        graph=request.args.get("graph") or None,
        language=request.args.get("language") or None,
    )
    return jsonify(result.to_json()), 200


@bp.get("/claimreview/<name>")
def claimreview(name: str) -> Response:
    """The ClaimReview markup of review ``<base>id/review/<slug>`` (``.jsonld`` optional)."""
    cg = _claimgraph()
    slug = name.removesuffix(".jsonld").removesuffix(".json")
    iri = f"{cg.iris.base}id/review/{slug}"
    markup = review_markup(cg, iri)
    if markup is None:
        raise NotFound(f"no ClaimReview <{iri}>")
    body = json.dumps(markup, ensure_ascii=False, indent=2)
    return Response(body, content_type="application/ld+json")
