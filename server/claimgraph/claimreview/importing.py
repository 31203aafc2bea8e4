"""Mapping ClaimReview markup into the ClaimGraph model, as one validated write."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox

from claimgraph.claimreview.reading import Value, _Doc, read_markup
from claimgraph.claimreview.terms import DCTERMS, PROV, RDF_TYPE, XSD, _cg, _s
from claimgraph.claimreview.verdicts import verdict_for
from claimgraph.core import ClaimGraph
from claimgraph.errors import InputError
from claimgraph.iris import STANCE, VERDICT, disambiguated_slug, name_key, slugify, web_url
from claimgraph.store import Delta
from claimgraph.validation import Report

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
