"""The index pages of actors, sources, evidence, statements and topics, and the search
across every kind: each list with its total, facet counts and paging, and its ``.json`` and
``.csv`` twins, as ``/claims`` has them.

Each kind's index is read from the whole graph once per write generation, in the background
once there is one to serve (``linkeddata.cached``, ``claimgraph.summaries``) — one scan per
property, joined here, each bounded as the claims index's reads are — so a request only
filters, counts and slices lists in memory. A text search is a substring scan of each
entry's lowercased texts (any script: ``起重机`` finds Chinese text): linear in the index,
a few ms per kind at 100k statements."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import Response, abort, render_template, request, url_for

from claimgraph import prose
from claimgraph.core import ClaimGraph
from claimgraph.describe import best_literal, term_labels
from claimgraph.errors import InputError, NotFound
from claimgraph.iris import CG, SCHEMA, TOPIC
from claimgraph.linkeddata import cached
from claimgraph.pages import claims as claims_page
from claimgraph.pages.claims import FORMATS
from claimgraph.pages.claims import _link_header as link_header
from claimgraph.pages.claims import _rows as rows
from claimgraph.pages.common import bp, claimgraph, csv_twin, json_twin, local_name, paging

PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_ARG = 2000  # characters of one parameter (an IRI, a search)
FACET_VALUES = 30  # values shown per facet, most frequent first
MEMO_SIZE = 32  # filtered views whose matches are kept per index
SEARCH_SHOWN = 10  # results per kind on the search page
CLAIM_TEXT_CHARS = 120


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of an index: what the list shows, and what its search and facets read."""

    iri: str
    text: str  # shown and sorted on
    lang: str | None
    haystack: str  # every text of the entry, lowercased
    facets: tuple[tuple[str, str], ...]  # (facet, value), each once
    data: tuple[tuple[str, Any], ...]  # the columns of the twins, in order
    notes: tuple[tuple[str, str, str], ...] = ()  # (words, IRI, its text): links under it
    order: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "facets", tuple(dict.fromkeys(self.facets)))

    def value(self, column: str) -> Any:
        return dict(self.data).get(column)


class Index:
    """One kind's entries in display order, the names of facet values, and memoised views.

    Built once per write generation (in the background), with what makes a view cheap: the
    positions of the entries having each facet value, and every entry's texts in one string
    (a search is then ``str.find`` over it, not a test per entry)."""

    def __init__(self, items: list[Item], names: dict[str, str]) -> None:
        self.items = items
        self.names = names  # facet value → what the reader sees
        self._having: dict[tuple[str, str], list[int]] = defaultdict(list)
        for n, item in enumerate(items):
            for pair in item.facets:
                self._having[pair].append(n)
        self._text = "\0".join(i.haystack.replace("\0", " ") for i in items)
        self._starts = list(
            itertools.accumulate((len(i.haystack) + 1 for i in items[:-1]), initial=0)
        )
        self._views: dict[
            tuple[tuple[str, str], ...], tuple[list[Item], dict[str, Counter[str]] | None]
        ] = {}
        self._lock = threading.Lock()
        self.counts({}, "")  # the unfiltered view's, here rather than in a request

    def _containing(self, needle: str) -> list[int]:
        """The positions of the entries whose texts contain ``needle``, in order."""
        found, text, starts = [], self._text, self._starts
        at = text.find(needle)
        while at >= 0:
            n = bisect.bisect_right(starts, at) - 1
            found.append(n)
            if n + 1 == len(starts):
                break
            at = text.find(needle, starts[n + 1])
        return found

    def view(self, chosen: dict[str, str], needle: str) -> list[Item]:
        """The entries with every chosen facet value and containing the text (lowercased)."""
        return self._memo(chosen, needle)[0]

    def counts(self, chosen: dict[str, str], needle: str) -> dict[str, Counter[str]]:
        """How many entries of that view have each facet value."""
        found, counts = self._memo(chosen, needle)
        if counts is None:
            pairs = Counter(pair for i in found for pair in i.facets)
            counts = defaultdict(Counter)
            for (f, v), c in pairs.items():
                counts[f][v] = c
            with self._lock:
                self._views[self._key(chosen, needle)] = (found, counts)
        return counts

    @staticmethod
    def _key(chosen: dict[str, str], needle: str) -> tuple[tuple[str, str], ...]:
        return (*sorted(chosen.items()), ("q", needle))

    def _memo(
        self, chosen: dict[str, str], needle: str
    ) -> tuple[list[Item], dict[str, Counter[str]] | None]:
        """A view and its counts (``None``: not counted yet), kept for paging and the twins."""
        key = self._key(chosen, needle)
        hit = self._views.get(key)
        if hit is not None:
            return hit
        sets = [self._having.get(pair, []) for pair in chosen.items()]
        if needle:
            sets.append(self._containing(needle.replace("\0", " ")))  # never across entries
        if sets:
            sets.sort(key=len)
            keep = set(sets[0]).intersection(*sets[1:])
            found = [self.items[n] for n in sorted(keep)]
        else:
            found = self.items
        with self._lock:
            while len(self._views) >= MEMO_SIZE:
                del self._views[next(iter(self._views))]
            self._views[key] = (found, None)
        return found, None


@dataclass(frozen=True)
class Kind:
    name: str  # the path: /actors
    title: str
    noun: str  # one entry
    facets: tuple[tuple[str, str], ...]  # (parameter, label)
    columns: tuple[str, ...]  # of the twins, after iri and text
    build: Callable[[ClaimGraph], Index]
    about: str  # one line under the heading


# -- reading the graph ------------------------------------------------------------------------


def _pairs(cg: ClaimGraph, sparql: str) -> Iterable[tuple[str, Any]]:
    """(subject IRI, value) of a two-column SELECT; blank subjects are left out (no page)."""
    for s, v in rows(cg, sparql):
        if isinstance(s, ox.NamedNode) and v is not None:
            yield s.value, v


def _instances(cg: ClaimGraph, cls: str) -> dict[str, list[str]]:
    """Every instance of ``cls`` or a subclass, with its types (as the home page counts)."""
    out: dict[str, list[str]] = {}
    for x, c in _pairs(cg, f"SELECT ?x ?c WHERE {{ ?c rdfs:subClassOf* <{cls}> . ?x a ?c }}"):
        out.setdefault(x, []).append(c.value)
    return out


def _literals(cg: ClaimGraph, prop: str, among: dict[str, Any]) -> dict[str, list[ox.Literal]]:
    out: dict[str, list[ox.Literal]] = defaultdict(list)
    for x, v in _pairs(cg, f"SELECT ?x ?v WHERE {{ ?x <{prop}> ?v }}"):
        if x in among and isinstance(v, ox.Literal):
            out[x].append(v)
    return out


def _links(cg: ClaimGraph, prop: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for x, v in _pairs(cg, f"SELECT ?x ?v WHERE {{ ?x <{prop}> ?v }}"):
        if isinstance(v, ox.NamedNode):
            out[x].append(v.value)
    return out


def _best(lits: list[ox.Literal]) -> ox.Literal | None:
    return best_literal(sorted(lits, key=lambda lit: (lit.language or "", lit.value)))


def _hay(*texts: Iterable[str]) -> str:
    return " \n".join(t.lower() for group in texts for t in group)


def _type_name(types: list[str], labels: dict[str, str], generic: str) -> str:
    specific = sorted(t for t in types if t not in prose.GENERIC_TYPES and t in labels)
    return labels[specific[-1]] if specific else generic


def _vocab(cg: ClaimGraph) -> dict[str, str]:
    """English labels of the classes and concepts (types, stances, directions, topics)."""
    out = {}
    for iri, lits in term_labels(cg.store).items():
        lit = best_literal(lits)
        if lit is not None:
            out[iri] = lit.value
    return out


def _names(cg: ClaimGraph) -> dict[str, str]:
    """The best name of everything named with ``schema:name``."""
    found: dict[str, list[ox.Literal]] = defaultdict(list)
    for x, v in _pairs(cg, "SELECT ?x ?v WHERE { ?x schema:name ?v }"):
        if isinstance(v, ox.Literal):
            found[x].append(v)
    return {x: lit.value for x, lits in found.items() if (lit := _best(lits)) is not None}


def _claim_texts(cg: ClaimGraph) -> dict[str, str]:
    found: dict[str, list[ox.Literal]] = defaultdict(list)
    for x, v in _pairs(cg, "SELECT ?x ?v WHERE { ?x cg:text ?v }"):
        if isinstance(v, ox.Literal):
            found[x].append(v)
    return {x: lit.value for x, lits in found.items() if (lit := _best(lits)) is not None}


def _year(lit: Any) -> str | None:
    return lit.value[:4] if isinstance(lit, ox.Literal) and lit.value[:4].isdigit() else None


def _claims_by_subject(cg: ClaimGraph) -> dict[str, set[str]]:
    """The claims about each resource (``cg:about``, or ``schema:about`` it specialises)."""
    out: dict[str, set[str]] = defaultdict(set)
    for prop in (f"{CG}about", f"{SCHEMA}about"):
        for claim, x in _pairs(cg, f"SELECT ?c ?x WHERE {{ ?c <{prop}> ?x . ?c a cg:Claim }}"):
            if isinstance(x, ox.NamedNode):
                out[x.value].add(claim)
    return out


def build_actors(cg: ClaimGraph) -> Index:
    actors = _instances(cg, f"{CG}Actor")
    vocab = _vocab(cg)
    names = _literals(cg, f"{SCHEMA}name", actors)
    others = _literals(cg, f"{SCHEMA}alternateName", actors)
    countries = _literals(cg, f"{CG}country", actors)
    spoke = Counter(a for who in _links(cg, f"{CG}speaker").values() for a in who)
    about = _claims_by_subject(cg)
    items = []
    for iri, types in actors.items():
        best = _best(names.get(iri, []))
        kind = _type_name(types, vocab, "actor")
        facets = [("type", kind)] + [("country", c.value) for c in countries.get(iri, [])]
        items.append(
            Item(
                iri,
                best.value if best is not None else iri,
                (best.language or None) if best is not None else None,
                _hay(lit.value for lit in names.get(iri, []) + others.get(iri, [])),
                tuple(facets),
                (
                    ("type", kind),
                    ("statements", spoke[iri]),
                    ("claims_about", len(about.get(iri, ()))),
                ),
                order=(-spoke[iri], (best.value if best is not None else iri).lower(), iri),
            )
        )
    items.sort(key=lambda i: i.order)
    return Index(items, {})


def build_sources(cg: ClaimGraph) -> Index:
    sources = _instances(cg, f"{CG}Source")
    vocab = _vocab(cg)
    names = _names(cg)
    facts: dict[str, dict[str, list[Any]]] = {s: {} for s in sources}
    for name in ("title", "publisher", "author", "datePublished", "language", "translationOf"):
        prop = f"{CG}{name}"
        for x, v in _pairs(cg, f"SELECT ?x ?v WHERE {{ ?x <{prop}> ?v }}"):
            if x in facts:
                facts[x].setdefault(prop, []).append(v)
    carried: Counter[str] = Counter()
    for prop in ("source", "quoteSource"):
        carried.update(
            x.value
            for _, x in _pairs(cg, f"SELECT ?s ?x WHERE {{ ?s cg:{prop} ?x }}")
            if isinstance(x, ox.NamedNode)
        )
    items = []
    for iri, types in sources.items():
        f = facts[iri]
        f["http://www.w3.org/1999/02/22-rdf-syntax-ns#type"] = [ox.NamedNode(t) for t in types]
        titles = [v for v in f.get(f"{CG}title", []) if isinstance(v, ox.Literal)]
        lit = prose.label(f, lambda x: names.get(x) or vocab.get(x)) or _best(titles)
        text = lit.value if lit is not None else iri
        kind = _type_name(types, vocab, "source")
        who = [
            v.value
            for p in ("publisher", "author")
            for v in f.get(f"{CG}{p}", [])
            if isinstance(v, ox.NamedNode)
        ]
        date = next(iter(f.get(f"{CG}datePublished", [])), None)
        lang = next(iter(f.get(f"{CG}language", [])), None)
        facets = [("type", kind)] + [("by", w) for w in who]
        if isinstance(lang, ox.Literal):
            facets.append(("language", prose.language_name(lang.value)))
        if (year := _year(date)) is not None:
            facets.append(("year", year))
        if f"{CG}translationOf" in f:
            facets.append(("translation", "translation"))
        items.append(
            Item(
                iri,
                text,
                (lit.language or None) if lit is not None else None,
                _hay([text], (t.value for t in titles)),
                tuple(facets),
                (
                    ("type", kind),
                    ("date", date.value if isinstance(date, ox.Literal) else None),
                    ("statements", carried[iri]),
                ),
                order=(text.lower(), iri),
            )
        )
    items.sort(key=lambda i: i.order)
    return Index(items, names)


def build_evidence(cg: ClaimGraph) -> Index:
    evidence = _instances(cg, f"{CG}Evidence")
    vocab = _vocab(cg)
    names = _names(cg)
    texts = _claim_texts(cg)
    titles = _literals(cg, f"{CG}title", evidence)
    descriptions = _literals(cg, f"{CG}description", evidence)
    topics = _links(cg, f"{CG}topic")
    # what each item bears on: its assessments, and the cito shortcuts (one per claim)
    bears: dict[str, dict[str, str]] = defaultdict(dict)  # evidence → claim → direction
    assessors: dict[str, set[str]] = defaultdict(set)
    of, claim_of, direction, by = (
        _links(cg, f"{CG}{p}") for p in ("evidence", "assessedClaim", "direction", "assessedBy")
    )
    for a, items_ in of.items():
        for e in items_:
            for c in claim_of.get(a, []):
                d = next(iter(direction.get(a, [])), "")
                bears[e].setdefault(c, vocab.get(d, local_name(d) if d else "bears on"))
            assessors[e].update(by.get(a, []))
    for verb in ("supports", "refutes"):
        for e, claims in _links(cg, f"http://purl.org/spar/cito/{verb}").items():
            for c in claims:
                bears[e].setdefault(c, verb)
    items = []
    for iri in evidence:
        best = _best(titles.get(iri, []))
        text = best.value if best is not None else iri
        on = sorted(bears.get(iri, {}).items(), key=lambda kv: (kv[1], texts.get(kv[0], kv[0])))
        facets = [("direction", d) for _, d in on]
        facets += [("claim", c) for c, _ in on]
        facets += [("topic", t) for c, _ in on for t in topics.get(c, [])]
        facets += [("assessed_by", a) for a in assessors.get(iri, ())]
        count = Counter(d for _, d in on)
        items.append(
            Item(
                iri,
                text,
                (best.language or None) if best is not None else None,
                _hay([text], (d.value for d in descriptions.get(iri, []))),
                tuple(facets),
                (
                    ("supports", count["supports"]),
                    ("refutes", count["refutes"]),
                    ("inconclusive", count["inconclusive"]),
                ),
                notes=tuple(
                    (d, c, prose.cut(texts.get(c, c), CLAIM_TEXT_CHARS)) for c, d in on[:8]
                ),
                order=(text.lower(), iri),
            )
        )
    items.sort(key=lambda i: i.order)
    return Index(
        items, names | {k: prose.cut(v, CLAIM_TEXT_CHARS) for k, v in texts.items()} | vocab
    )


def build_statements(cg: ClaimGraph) -> Index:
    vocab = _vocab(cg)
    names = _names(cg)
    texts = _claim_texts(cg)
    props = ("speaker", "stance", "date", "claim", "quote", "excerpt")
    facts: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for p in props:
        for s, v in _pairs(cg, f"SELECT ?s ?v WHERE {{ ?s cg:{p} ?v }}"):
            facts[s].setdefault(f"{CG}{p}", []).append(v)
    typed = {s for s, _ in _pairs(cg, "SELECT ?s ?c WHERE { ?s a cg:Statement BIND(1 AS ?c) }")}
    lookup = {**vocab, **texts, **names}
    items = []
    for s in typed:
        f = facts.get(s, {})
        lit = prose.label(f, lookup.get)
        text = lit.value if lit is not None else s
        one = {p: next(iter(f.get(f"{CG}{p}", [])), None) for p in props}
        speaker, stance, claim = (
            one[p].value if isinstance(one[p], ox.NamedNode) else None  # type: ignore[union-attr]
            for p in ("speaker", "stance", "claim")
        )
        date = one["date"].value if isinstance(one["date"], ox.Literal) else None
        facets = []
        if speaker:
            facets.append(("speaker", speaker))
        if stance:
            facets.append(("stance", stance))
        if (year := _year(one["date"])) is not None:
            facets.append(("year", year))
        if claim:
            facets.append(("claim", claim))
        quotes = [v.value for p in ("quote", "excerpt") for v in f.get(f"{CG}{p}", [])]
        items.append(
            Item(
                s,
                text,
                None,
                _hay(quotes),
                tuple(facets),
                (
                    ("date", date),
                    ("speaker", speaker),
                    ("stance", vocab.get(stance or "", stance)),
                    ("claim", claim),
                    ("quote", one["quote"].value if isinstance(one["quote"], ox.Literal) else None),
                ),
                order=(date or "~", s),
            )
        )
    items.sort(key=lambda i: i.order)
    return Index(
        items, {**names, **vocab, **{k: prose.cut(v, CLAIM_TEXT_CHARS) for k, v in texts.items()}}
    )


def build_topics(cg: ClaimGraph) -> Index:
    labels: dict[str, list[ox.Literal]] = defaultdict(list)
    for x, v in _pairs(
        cg,
        f"SELECT ?x ?v WHERE {{ ?x skos:inScheme <{str(TOPIC).rstrip('#')}> ; skos:prefLabel ?v }}",
    ):
        if isinstance(v, ox.Literal):
            labels[x].append(v)
    claims: Counter[str] = Counter(
        t.value
        for _, t in _pairs(cg, "SELECT ?c ?t WHERE { ?c cg:topic ?t }")
        if isinstance(t, ox.NamedNode)
    )
    items = []
    for iri, lits in labels.items():
        best = _best(lits)
        text = best.value if best is not None else iri
        items.append(
            Item(
                iri,
                text,
                None,
                _hay(lit.value for lit in lits),
                (),
                (("claims", claims[iri]),),
                order=(text.lower(), iri),
            )
        )
    items.sort(key=lambda i: i.order)
    return Index(items, {})


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "actors",
            "Actors",
            "actor",
            (("type", "Kind"), ("country", "Country")),
            ("type", "statements", "claims_about"),
            build_actors,
            "People and organisations, most statements first.",
        ),
        Kind(
            "sources",
            "Sources",
            "source",
            (
                ("type", "Kind"),
                ("by", "Publisher or author"),
                ("language", "Language"),
                ("year", "Year"),
                ("translation", "Translations"),
            ),
            ("type", "date", "statements"),
            build_sources,
            "Documents the statements and evidence come from, by title.",
        ),
        Kind(
            "evidence",
            "Evidence",
            "evidence item",
            (
                ("direction", "Direction"),
                ("topic", "Topic of the claim"),
                ("claim", "Claim"),
                ("assessed_by", "Assessed by"),
            ),
            ("supports", "refutes", "inconclusive"),
            build_evidence,
            "What bears on the claims, and how: each item with the claims it supports or refutes.",
        ),
        Kind(
            "statements",
            "Statements",
            "statement",
            (("speaker", "Speaker"), ("stance", "Stance"), ("year", "Year"), ("claim", "Claim")),
            ("date", "speaker", "stance", "claim", "quote"),
            build_statements,
            "Who said what, when: every statement, oldest first.",
        ),
        Kind(
            "topics",
            "Topics",
            "topic",
            (),
            ("claims",),
            build_topics,
            "The subjects of the claims; each links to its claims.",
        ),
    )
}


# -- requests ---------------------------------------------------------------------------------


def index_of(kind: Kind) -> Index:
    cg = claimgraph()
    return cached(f"index:{kind.name}", lambda: kind.build(cg), may_lag=True)


@dataclass
class Ask:
    """The parameters of one list view: chosen facet values, the text, the page."""

    kind: Kind
    chosen: dict[str, str]
    q: str
    page: int
    per_page: int

    @classmethod
    def from_args(cls, kind: Kind, args: Any) -> Ask:
        def arg(name: str) -> str:
            value = str(args.get(name, "")).strip()
            if len(value) > MAX_ARG:
                raise InputError(f"{name} is longer than {MAX_ARG} characters")
            return value

        page, per_page = paging(args, PER_PAGE, MAX_PER_PAGE)
        chosen = {name: arg(name) for name, _ in kind.facets if arg(name)}
        return cls(kind, chosen, arg("q"), page, per_page)

    def params(self, **change: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.chosen,
            "q": self.q,
            "page": self.page if self.page != 1 else "",
            "per_page": self.per_page if self.per_page != PER_PAGE else "",
        }
        out.update(change)
        return {k: v for k, v in out.items() if v not in ("", None)}


@dataclass
class Listing:
    """One page of a kind's list, with what the page and its twins show around it."""

    ask: Ask
    total: int  # entries of the kind
    matched: int
    items: list[Item]
    facets: list[dict[str, Any]]
    prev: str | None
    next: str | None


def listing(kind: Kind, ask: Ask, endpoint: str, **extra: Any) -> Listing:
    idx = index_of(kind)
    found, counts = idx.view(ask.chosen, ask.q.lower()), idx.counts(ask.chosen, ask.q.lower())
    start = (ask.page - 1) * ask.per_page
    page = found[start : start + ask.per_page]
    facets = []
    for name, label in kind.facets:
        values = counts.get(name, Counter()).most_common()
        facets.append(
            {
                "name": name,
                "label": label,
                "chosen": ask.chosen.get(name),
                "clear": url_for(endpoint, **extra, **ask.params(**{name: "", "page": ""})),
                "values": [
                    {
                        "value": v,
                        "text": idx.names.get(v, v),
                        "count": n,
                        "href": url_for(endpoint, **extra, **ask.params(**{name: v, "page": ""})),
                    }
                    for v, n in values[:FACET_VALUES]
                ],
                "more": max(0, len(values) - FACET_VALUES),
            }
        )
    more = start + ask.per_page < len(found)
    return Listing(
        ask,
        len(idx.items),
        len(found),
        page,
        facets,
        url_for(endpoint, **extra, **ask.params(page=ask.page - 1 if ask.page > 2 else ""))
        if ask.page > 1
        else None,
        url_for(endpoint, **extra, **ask.params(page=ask.page + 1)) if more else None,
    )


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        abort(404)
    return kind


def _alternates(kind: Kind, ask: Ask) -> list[tuple[str, str, str]]:
    return [
        (url_for(f"pages.index_{kind.name}_data", fmt=ext, **ask.params()), media, ext)
        for ext, media in FORMATS.items()
    ]


def _labelled(idx: Index, value: Any) -> Any:
    return {"iri": value, "name": idx.names[value]} if value in idx.names else value


def show(kind_name: str) -> Response:
    kind = _kind(kind_name)
    ask = Ask.from_args(kind, request.args)
    page = listing(kind, ask, f"pages.index_{kind.name}")
    alts = _alternates(kind, ask)
    cg = claimgraph()
    body = render_template(
        "pages/index.html",
        kind=kind,
        page=page,
        alternates=alts,
        first=(ask.page - 1) * ask.per_page + 1,
        href=cg.iris.href,
        names=index_of(kind).names,
        claims_with_topic=lambda iri: url_for("pages.claims", topic=iri),
        clear=url_for(f"pages.index_{kind.name}"),
    )
    return Response(
        body, content_type="text/html; charset=utf-8", headers={"Link": link_header(alts)}
    )


def data(kind_name: str, fmt: str) -> Response:
    kind = _kind(kind_name)
    if fmt not in FORMATS:
        raise NotFound(f"no list format .{fmt}: use .json or .csv")
    ask = Ask.from_args(kind, request.args)
    page = listing(kind, ask, f"pages.index_{kind.name}_data", fmt=fmt)
    html = url_for(f"pages.index_{kind.name}", **ask.params())
    headers = {"Link": f'<{html}>; rel="alternate"; type="text/html"'}
    cols = ("iri", "text", *kind.columns)
    if fmt == "json":
        idx = index_of(kind)
        doc = {
            "total": page.total,
            "matched": page.matched,
            "page": ask.page,
            "per_page": ask.per_page,
            "filters": ask.params(page=""),
            "next": page.next,
            "prev": page.prev,
            "facets": {
                f["name"]: [
                    {"value": v["value"], "text": v["text"], "count": v["count"]}
                    for v in f["values"]
                ]
                for f in page.facets
            },
            kind.name: [
                {"iri": i.iri, "text": i.text, **{c: _labelled(idx, v) for c, v in i.data}}
                for i in page.items
            ],
        }
        return json_twin(doc, headers)
    rows = ({"iri": i.iri, "text": i.text, **dict(i.data)} for i in page.items)
    return csv_twin(cols, ([row.get(c) for c in cols] for row in rows), headers)


# -- search across kinds ----------------------------------------------------------------------


def search(q: str, shown: int) -> list[dict[str, Any]]:
    """Per kind (claims first): how many entries contain ``q`` and the first ``shown``."""
    needle = q.lower()
    groups = []
    query = claims_page.Query(q=q, per_page=shown)
    claims_found = claims_page.index().find(query) if needle else []
    groups.append(
        {
            "kind": "claims",
            "title": "Claims",
            "count": len(claims_found),
            "items": [{"iri": e.iri, "text": e.key, "lang": None} for e in claims_found[:shown]],
            "all": url_for("pages.claims", q=q),
        }
    )
    for kind in KINDS.values():
        found = index_of(kind).view({}, needle) if needle else []
        groups.append(
            {
                "kind": kind.name,
                "title": kind.title,
                "count": len(found),
                "items": [{"iri": i.iri, "text": i.text, "lang": i.lang} for i in found[:shown]],
                "all": url_for(f"pages.index_{kind.name}", q=q),
            }
        )
    return groups


def _search_query() -> str:
    q = str(request.args.get("q", "")).strip()
    if len(q) > 200:
        raise InputError("q is longer than 200 characters")
    return q


@bp.get("/search")
def search_page() -> Response:
    q = _search_query()
    groups = search(q, SEARCH_SHOWN)
    alts = [(url_for("pages.search_data", q=q or None), "application/json", "json")]
    body = render_template(
        "pages/search.html",
        q=q,
        groups=groups,
        total=sum(g["count"] for g in groups),
        href=claimgraph().iris.href,
        alternates=alts,
    )
    return Response(
        body, content_type="text/html; charset=utf-8", headers={"Link": link_header(alts)}
    )


@bp.get("/search.json")
def search_data() -> Response:
    q = _search_query()
    try:
        shown = min(MAX_PER_PAGE, max(1, int(request.args.get("per_kind") or SEARCH_SHOWN)))
    except ValueError as err:
        raise InputError("per_kind must be a whole number") from err
    groups = search(q, shown)
    doc = {
        "q": q,
        "total": sum(g["count"] for g in groups),
        "groups": [
            {
                "kind": g["kind"],
                "count": g["count"],
                "all": g["all"],
                "items": [{"iri": i["iri"], "text": i["text"]} for i in g["items"]],
            }
            for g in groups
        ],
    }
    return json_twin(doc, {})


for _name in KINDS:
    # one route per kind (not one with a variable): each is named, and documented, alone
    bp.add_url_rule(f"/{_name}", f"index_{_name}", lambda _k=_name: show(_k))
    bp.add_url_rule(f"/{_name}.<fmt>", f"index_{_name}_data", lambda fmt, _k=_name: data(_k, fmt))
