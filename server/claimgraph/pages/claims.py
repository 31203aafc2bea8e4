"""The claims list: text search, filters (topic, speaker, stance, verdict, date range,
language), sort and pagination, each a plain query parameter, so every view is a shareable
URL; ``/claims.json`` and ``/claims.csv`` are the same list as data."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import logging
import re
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Flask, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from claimgraph import sparqlterms
from claimgraph.core import ClaimGraph
from claimgraph.describe import best_literal
from claimgraph.errors import InputError, NotFound
from claimgraph.iris import CG, SCHEMA, STANCE, TOPIC, VERDICT
from claimgraph.linkeddata import cached
from claimgraph.pages.common import (
    PROLOGUE,
    Labels,
    bp,
    claimgraph,
    csv_twin,
    json_twin,
    paging,
    select,
    values,
)
from claimgraph.store import Delta
from claimgraph.summaries import Step

log = logging.getLogger(__name__)

PER_PAGE = 25
MAX_PER_PAGE = 200
SORTS = ("statements", "recent", "oldest", "text")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
FORMATS = {"json": "application/json", "csv": "text/csv"}
FILTERS = ("q", "topic", "speaker", "stance", "verdict", "from", "to", "lang", "sort")


@dataclass
class Query:
    q: str = ""
    topic: str = ""
    speaker: str = ""
    stance: str = ""
    verdict: str = ""
    date_from: str = ""
    date_to: str = ""
    lang: str = ""
    sort: str = "statements"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def unchecked(cls, args: Any) -> Query:
        """The filters as given, unchecked: only to fill the form again beside an error."""

        def arg(name: str) -> str:
            return str(args.get(name, "")).strip()[:200]

        return cls(
            q=arg("q"),
            topic=arg("topic"),
            speaker=arg("speaker"),
            stance=arg("stance"),
            verdict=arg("verdict"),
            date_from=arg("from"),
            date_to=arg("to"),
            lang=arg("lang"),
            sort=arg("sort") or "statements",
        )

    @classmethod
    def from_args(cls, args: Any) -> Query:
        def arg(name: str) -> str:
            return str(args.get(name, "")).strip()

        page, per_page = paging(args, PER_PAGE, MAX_PER_PAGE)
        query = dataclasses.replace(cls.unchecked(args), page=page, per_page=per_page)
        for name, value in (("from", query.date_from), ("to", query.date_to)):
            if value and not _DATE.match(value):
                raise InputError(f"{name} must be a date: YYYY, YYYY-MM or YYYY-MM-DD")
        if query.lang and not _LANG.match(query.lang):
            raise InputError("lang must be a language tag such as en or zh")
        for name, value in (("stance", query.stance), ("verdict", query.verdict)):
            if value and not _NAME.match(value):
                raise InputError(f"{name} must be a concept name such as denies or FALSE")
        if query.sort not in SORTS:
            raise InputError(f"sort must be one of {', '.join(SORTS)}")
        for name, value in (("topic", query.topic), ("speaker", query.speaker)):
            if value:
                try:
                    sparqlterms.iri(value)
                except ValueError as err:
                    raise InputError(f"{name} must be an IRI") from err
        return query

    def params(self, **change: Any) -> dict[str, Any]:
        """The query string of this view (with ``change``), without defaults."""
        out = {
            "q": self.q,
            "topic": self.topic,
            "speaker": self.speaker,
            "stance": self.stance,
            "verdict": self.verdict,
            "from": self.date_from,
            "to": self.date_to,
            "lang": self.lang,
            "sort": self.sort if self.sort != "statements" else "",
            "page": self.page if self.page != 1 else "",
            "per_page": self.per_page if self.per_page != PER_PAGE else "",
        }
        out.update(change)
        return {k: v for k, v in out.items() if v not in ("", None)}

    def admits(self) -> Callable[[Entry], bool] | None:
        """The test an index entry must pass for the search and the filters (``None``: no
        filter). The statement filters (speaker, stance, date range) are met by one statement
        that satisfies all of them at once; ``lang`` matches as SPARQL's ``langMatches``."""
        needle = self.q.lower()
        topic, speaker = self.topic, self.speaker
        verdict = str(VERDICT) + self.verdict if self.verdict else ""
        stance = str(STANCE) + self.stance if self.stance else ""
        lang = self.lang.lower()
        sub = lang + "-"  # "en" matches "en-GB" too
        dated = bool(self.date_from or self.date_to)
        low = self.date_from
        high = self.date_to + "~" if self.date_to else "\U0010ffff"  # "2024-03": all of March
        joint = sum(map(bool, (speaker, stance, dated))) > 1
        if not (needle or topic or verdict or lang or speaker or stance or dated):
            return None

        def said(who: str | None, how: str | None, when: str | None) -> bool:
            return (
                (not speaker or who == speaker)
                and (not stance or how == stance)
                and (not dated or (when is not None and low <= when <= high))
            )

        def admit(e: Entry) -> bool:
            if (topic and topic not in e.topics) or (verdict and verdict not in e.verdicts):
                return False
            if lang and lang not in e.langs and not any(t.startswith(sub) for t in e.langs):
                return False
            if (speaker and speaker not in e.speakers) or (stance and stance not in e.stances):
                return False
            if dated:
                i = bisect.bisect_left(e.dates, low)
                if i == len(e.dates) or e.dates[i] > high:
                    return False
            if joint and not any(said(*row) for row in e.said):
                return False
            return not needle or needle in e.haystack

        return admit

    def key(self) -> tuple[str, ...]:
        """What the matching entries depend on (not the page)."""
        return tuple(f"{k}={v}" for k, v in self.params(page="", per_page="").items())


Said = tuple[str | None, str | None, str | None]  # a statement's speaker, stance and date
MISSING: tuple[str | None, ...] = (None,)  # the value of a property a statement lacks


@dataclass(frozen=True, slots=True)
class Entry:
    """One claim in the index, with what every sort and filter of the list reads. Sorted
    tuples of strings, not sets: the garbage collector stops visiting those, and a big index
    would otherwise make each of its full passes (holding every thread) take 100 ms."""

    iri: str
    statements: int  # dated statements
    first: str | None
    last: str | None
    key: str  # the English text (else any), for sorting and display
    haystack: str  # every text of the claim, lowercased, for the search
    topics: tuple[str, ...]
    langs: tuple[str, ...]  # language tags of its texts, lowercased
    verdicts: tuple[str, ...]  # normalised verdicts of its reviews
    said: tuple[Said, ...]
    speakers: tuple[str, ...]
    stances: tuple[str, ...]
    dates: tuple[str, ...]


# Bounds of the reads below: whole-graph once per full build, else per chunk of claims.
MAX_ROWS = 5_000_000
CHUNK = 400
MEMO_SIZE = 32  # filtered views whose matches are kept per index
MEMO_ENTRIES = 100_000  # entries kept across them (more only for a single view)
MAX_SPEAKERS, MAX_LANGS = 500, 50  # choices in the filter form
# A write touching more resources than this (or dropping graphs, or with blank nodes) is not
# followed: the index is rebuilt from the whole graph, as after a bulk load.
MAX_TOUCHED = 5_000
CLAIM, ITEM_REVIEWED = str(CG) + "claim", str(SCHEMA) + "itemReviewed"
ORDERS: dict[str, Callable[[Entry], Any]] = {
    "statements": lambda e: -e.statements,
    "recent": lambda e: e.last or "",  # descending
    "oldest": lambda e: (e.first is None, e.first or ""),
}


@dataclass
class _Facts:
    """What the reads below found about one claim."""

    texts: list[ox.Literal] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)
    verdicts: set[str] = field(default_factory=set)
    said: set[Said] = field(default_factory=set)
    dated: set[str] = field(default_factory=set)  # statements with a date

    def entry(self, iri: str) -> Entry:
        lits = sorted(self.texts, key=lambda lit: (lit.language or "", lit.value))
        best = best_literal(lits)
        dates = tuple(sorted({d for _, _, d in self.said if d is not None}))
        return Entry(
            iri=iri,
            statements=len(self.dated),
            first=dates[0] if dates else None,
            last=dates[-1] if dates else None,
            key=best.value if best is not None else iri,
            haystack=" \n".join(lit.value.lower() for lit in lits),
            topics=tuple(sorted(self.topics)),
            langs=tuple(sorted({lit.language.lower() for lit in lits if lit.language})),
            verdicts=tuple(sorted(self.verdicts)),
            said=tuple(sorted(self.said, key=lambda row: [(v is None, v or "") for v in row])),
            speakers=tuple(sorted({w for w, _, _ in self.said if w is not None})),
            stances=tuple(sorted({h for _, h, _ in self.said if h is not None})),
            dates=dates,
        )


def _rows(cg: ClaimGraph, sparql: str) -> Iterator[tuple[Any, ...]]:
    """The solutions of a SELECT as tuples of terms (``None``: unbound): no dict per row. A
    read that reaches ``MAX_ROWS`` is cut there: logged, as the index then misses facts."""
    result = cg.store.query(f"{PROLOGUE}{sparql} LIMIT {MAX_ROWS}")
    assert isinstance(result, ox.QuerySolutions)
    count = 0
    for solution in result:
        count += 1
        yield tuple(solution)
    if count >= MAX_ROWS:
        log.warning(
            "a read of the claims index stopped at its bound of %d rows: the index misses what "
            "lies beyond (%s)",
            MAX_ROWS,
            " ".join(sparql.split())[:200],
        )


def _scopes(var: str, iris: Collection[str] | None) -> list[str]:
    """``VALUES`` clauses binding ``var`` to ``iris`` a chunk at a time (``None``: unbound)."""
    if iris is None:
        return [""]
    todo = sorted(iris)
    return [f"VALUES {var} {{ {values(todo[i : i + CHUNK])} }}" for i in range(0, len(todo), CHUNK)]


def read_names(cg: ClaimGraph, iris: Collection[str] | None = None) -> dict[str, str]:
    """The English name (the least, if several) of each of ``iris`` (``None``: of everyone)."""
    names: dict[str, str] = {}
    for scope in _scopes("?a", iris):
        for who, name in _rows(
            cg,
            f"SELECT ?a ?name WHERE {{ {scope} ?a schema:name ?name "
            'FILTER(LANGMATCHES(LANG(?name), "en")) }',
        ):
            if isinstance(who, ox.NamedNode) and name.value < names.get(who.value, "\U0010ffff"):
                names[who.value] = name.value
    return names


def _add(values: dict[str, Any], key: str, value: str) -> None:
    """``values[key] = value``, or a tuple of the values when there are several."""
    old = values.get(key)
    values[key] = value if old is None else (*(old if isinstance(old, tuple) else (old,)), value)


def _values(values: dict[str, Any], key: str) -> tuple[str | None, ...]:
    found = values.get(key)
    return MISSING if found is None else (found,) if isinstance(found, str) else found


def read_entries(cg: ClaimGraph, claims: Collection[str] | None = None) -> dict[str, Entry]:
    """The index entries of ``claims`` (``None``: every claim), read with one query per facet
    (over the whole graph, or per chunk of claims); those that are not claims are left out."""
    typed: set[str] = set()
    facts: defaultdict[str, _Facts] = defaultdict(_Facts)
    for scope in _scopes("?claim", claims):
        for claim, text in _rows(
            cg,
            f"SELECT ?claim ?t WHERE {{ {scope} ?claim a cg:Claim "
            "OPTIONAL { ?claim cg:text ?t } }",
        ):
            if not isinstance(claim, ox.NamedNode):  # a claim has an IRI to link to
                continue
            typed.add(claim.value)
            if isinstance(text, ox.Literal):
                facts[claim.value].texts.append(text)
        for claim, topic in _rows(cg, f"SELECT ?claim ?x WHERE {{ {scope} ?claim cg:topic ?x }}"):
            facts[claim.value].topics.add(intern(topic.value))
        for claim, verdict in _rows(
            cg,
            f"SELECT ?claim ?x WHERE {{ {scope} ?r schema:itemReviewed ?claim ; "
            "cg:normalizedVerdict ?x }",
        ):
            facts[claim.value].verdicts.add(intern(verdict.value))
        # The statements: one scan per property, joined here on the statement: less work than
        # the store's join of the four (100k statements on disk: 1.7 s, against 2.3 s for the
        # join alone).
        # Plain strings per statement, no container: the garbage collector would go through
        # every one of them, and again, while the index is built.
        of: dict[str, Any] = {}
        for statement, claim in _rows(
            cg, f"SELECT ?s ?claim WHERE {{ {scope} ?s cg:claim ?claim }}"
        ):
            _add(of, statement.value, claim.value)
        link = f"{scope} ?s cg:claim ?claim ." if scope else ""
        found: list[dict[str, Any]] = []
        for prop in ("speaker", "stance", "date"):
            found.append({})
            for statement, value in _rows(cg, f"SELECT ?s ?x WHERE {{ {link} ?s cg:{prop} ?x }}"):
                # one string per speaker, stance or date, not one per statement
                _add(found[-1], statement.value, intern(value.value))
        who, how, when = found
        for statement in of:
            dates = _values(when, statement)
            rows = list(itertools.product(_values(who, statement), _values(how, statement), dates))
            for claim in _values(of, statement):
                assert claim is not None
                facts[claim].said.update(rows)
                if dates != MISSING:
                    facts[claim].dated.add(statement)
    return {iri: facts[iri].entry(iri) for iri in typed}


def _tally(entries: Iterable[Entry]) -> Counter[tuple[str, str]]:
    return Counter(
        item
        for e in entries
        for item in itertools.chain(
            (("speaker", a) for a in e.speakers), (("lang", t) for t in e.langs)
        )
    )


class ClaimIndex:
    """Every claim with what the list sorts and filters on, and the English names of the
    speakers to choose from, for one write generation: a list request only filters, sorts and
    slices it, without a query over the graph."""

    def __init__(
        self,
        entries: dict[str, Entry],
        names: dict[str, str],
        tally: Counter[tuple[str, str]] | None = None,
        nearly: list[Entry] | None = None,
    ) -> None:
        self.entries = entries
        self.names = names
        # claims per speaker and per language, for the choices
        self.tally = tally if tally is not None else _tally(entries.values())
        self._nearly = nearly  # the entries nearly in text order (the previous index's)
        self._orders: dict[str, list[Entry]] = {}
        self._matches: dict[tuple[str, ...], list[Entry]] = {}
        self._kept = 0  # entries in _matches
        self._memo_lock = threading.Lock()
        self._choices: dict[str, list[tuple[str, str]]] = {}

    @classmethod
    def build(cls, cg: ClaimGraph) -> ClaimIndex:
        index = cls(read_entries(cg), read_names(cg))
        index.ordered("statements")  # the default view's sorts and choices, here rather than
        index.choices()  # in the first request (a build usually runs in the background)
        return index

    def updated(self, cg: ClaimGraph, touched: set[str]) -> ClaimIndex:
        """The index after writes that touched (as subject, or as the claim of a statement or
        review) the resources ``touched``: only the claims concerned are read again (those of
        ``touched`` that are claims now, and those of their statements and reviews); those of
        ``touched`` that were claims and are no more leave the index."""
        claims: set[str] = set()
        for scope in _scopes("?x", touched):
            for x, claim in _rows(
                cg,
                f"SELECT DISTINCT ?x ?claim WHERE {{ {scope} {{ ?x a cg:Claim }} "
                "UNION { ?x cg:claim ?claim . ?claim a cg:Claim } "
                "UNION { ?x schema:itemReviewed ?claim . ?claim a cg:Claim } }",
            ):
                found = x if claim is None else claim
                if isinstance(found, ox.NamedNode):
                    claims.add(found.value)
        stale = claims | (touched & self.entries.keys())  # read again, or no claim any more
        fresh = read_entries(cg, claims)
        entries = dict(self.entries)
        for iri in stale:
            if iri in fresh:
                entries[iri] = fresh[iri]
            else:
                entries.pop(iri, None)
        names = dict(self.names)
        for iri in touched:
            names.pop(iri, None)
        names.update(read_names(cg, touched))
        tally = self.tally.copy()
        tally.subtract(_tally(self.entries[c] for c in stale & self.entries.keys()))
        tally.update(_tally(fresh.values()))
        # the previous text order with the claims read again moved to the end: sorting that
        # is one pass and a merge, a fraction of sorting from scratch
        old = self._orders.get("text")
        nearly = None
        if old is not None:
            nearly = [e for e in old if e.iri not in stale] + list(fresh.values())
        return ClaimIndex(entries, names, +tally, nearly)

    def choices(self) -> dict[str, list[tuple[str, str]]]:
        """The speakers (by English name, at most 500) and languages of the filter form."""
        if not self._choices:
            spoke = {a for kind, a in self.tally if kind == "speaker"}
            named = sorted((name, a) for a, name in self.names.items() if a in spoke)
            langs = sorted(tag for kind, tag in self.tally if kind == "lang")
            self._choices = {
                "speaker": [(a, name) for name, a in named[:MAX_SPEAKERS]],
                "lang": [(tag, tag) for tag in langs[:MAX_LANGS]],
            }
        return self._choices

    def ordered(self, sort: str) -> list[Entry]:
        hit = self._orders.get(sort)
        if hit is None:
            if sort == "text":
                start, self._nearly = self._nearly, None
                hit = sorted(start or self.entries.values(), key=lambda e: (e.key, e.iri))
            else:  # stable: ties stay in text order
                hit = sorted(self.ordered("text"), key=ORDERS[sort], reverse=sort == "recent")
            self._orders[sort] = hit
        return hit

    def find(self, query: Query) -> list[Entry]:
        """The entries the query lets through, in its order (kept for paging)."""
        admit = query.admits()
        if admit is None:
            return self.ordered(query.sort)
        key = query.key()
        hit = self._matches.get(key)
        if hit is None:
            hit = [e for e in self.ordered(query.sort) if admit(e)]
            with self._memo_lock:  # the oldest views go first; one alone may be bigger
                while self._matches and (
                    len(self._matches) >= MEMO_SIZE or self._kept + len(hit) > MEMO_ENTRIES
                ):
                    self._kept -= len(self._matches.pop(next(iter(self._matches))))
                if key not in self._matches:
                    self._matches[key] = hit
                    self._kept += len(hit)
        return hit


class Changes:
    """What each recent write touched, by generation: the resources whose triples it added or
    removed, and the claims of statements and reviews it linked or unlinked (``None``: too much
    to follow). Fed by ``ClaimGraph.write_listeners``, and by its ``change_listeners`` with
    what other instances' writes recorded in a shared store."""

    def __init__(self, keep: int = 32) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self._touched: dict[int, frozenset[str] | None] = {}

    def record(self, generation: int, delta: Delta) -> None:
        try:
            touched = touched_by(delta)
        except Exception:  # not followed: the next list request rebuilds the index
            log.exception("reading what write generation %d touched failed", generation)
            touched = None
        with self._lock:
            self._touched[generation] = touched
            while len(self._touched) > self._keep:
                del self._touched[min(self._touched)]

    def follow(self, generation: int, touched: frozenset[str]) -> None:
        """Another instance's write, by the resources it recorded as changed."""
        with self._lock:
            if generation not in self._touched:  # this instance's own write is known better
                self._touched[generation] = touched if len(touched) <= MAX_TOUCHED else None
            while len(self._touched) > self._keep:
                del self._touched[min(self._touched)]

    def since(self, since: int, until: int) -> set[str] | None:
        """Everything the writes after ``since`` up to ``until`` touched; ``None`` when one of
        them was not seen here (another instance's write) or was too big to follow."""
        out: set[str] = set()
        with self._lock:
            for generation in range(since + 1, until + 1):
                touched = self._touched.get(generation)
                if touched is None or len(out) + len(touched) > MAX_TOUCHED:
                    return None
                out |= touched
        return out


def touched_by(delta: Delta) -> frozenset[str] | None:
    if delta.drop_graphs or len(delta.add) + len(delta.remove) > MAX_TOUCHED:
        return None
    out = set()
    for q in itertools.chain(delta.add, delta.remove):
        if not isinstance(q.subject, ox.NamedNode):
            return None
        out.add(q.subject.value)
        if q.predicate.value in (CLAIM, ITEM_REVIEWED) and isinstance(q.object, ox.NamedNode):
            out.add(q.object.value)
    return frozenset(out)


class _Follow:
    """The write listener feeding one app's ``Changes``, held weakly: a graph may outlive its
    apps (tests make many over one graph). Once the app is gone it does nothing, and the next
    ``init_app`` over the graph drops it."""

    def __init__(self, changes: Changes) -> None:
        self.changes = weakref.ref(changes)

    def __call__(self, generation: int, delta: Delta) -> None:
        changes = self.changes()
        if changes is not None:
            changes.record(generation, delta)


class _FollowOthers(_Follow):
    """The change listener feeding the same ``Changes`` with other instances' writes."""

    def __call__(self, generation: int, touched: frozenset[str]) -> None:  # type: ignore[override]
        changes = self.changes()
        if changes is not None:
            changes.follow(generation, touched)


def init_app(app: Flask, graph: ClaimGraph) -> None:
    changes = app.extensions.get("claimgraph.claim-changes")
    if not isinstance(changes, Changes):
        changes = app.extensions["claimgraph.claim-changes"] = Changes()
    kept = [
        f for f in graph.write_listeners if not (isinstance(f, _Follow) and f.changes() is None)
    ]
    if not any(isinstance(f, _Follow) and f.changes() is changes for f in kept):
        kept.append(_Follow(changes))
    graph.write_listeners[:] = kept
    others = [
        f
        for f in graph.change_listeners
        if not (isinstance(f, _FollowOthers) and f.changes() is None)
    ]
    if not any(isinstance(f, _FollowOthers) and f.changes() is changes for f in others):
        others.append(_FollowOthers(changes))
    graph.change_listeners[:] = others


def index() -> ClaimIndex:
    """The claims index of the current write generation: after writes seen here (or recorded
    by the instance that made them), updated from what they touched (in the request when they
    touched at most one chunk of resources, else in the background); otherwise (first use, a
    big write, another instance's write that recorded nothing) built from the whole graph, in
    the background once there is a previous one to serve."""
    cg = claimgraph()
    changes: Changes = current_app.extensions["claimgraph.claim-changes"]

    def update(old: ClaimIndex, since: int, until: int) -> Step[ClaimIndex] | None:
        touched = changes.since(since, until)
        if touched is None:
            return None
        # within one chunk of reads, in the request; a bigger one in the background
        return Step(lambda: old.updated(cg, touched), quick=len(touched) <= CHUNK)

    return cached("claims:index", lambda: ClaimIndex.build(cg), may_lag=True, update=update)


def find(query: Query) -> tuple[list[dict[str, Any]], bool]:
    """One page of claims, and whether there is a next page."""
    cg = claimgraph()
    offset = (query.page - 1) * query.per_page
    page = index().find(query)[offset : offset + query.per_page + 1]
    more = len(page) > query.per_page
    page = page[: query.per_page]
    labels = Labels(cg, [e.iri for e in page])
    items = [
        {
            "iri": e.iri,
            "term": labels.term(ox.NamedNode(e.iri)),
            "text": e.key,
            "statements": e.statements,
            "first": e.first,
            "last": e.last,
        }
        for e in page
    ]
    return items, more


def facets() -> dict[str, list[tuple[str, str]]]:
    """Choices for the filter form: the concepts of the vocabularies once per write generation
    (bounded lists), the speakers and languages from the index."""
    cg = claimgraph()

    def compute() -> dict[str, list[tuple[str, str]]]:
        def concepts(ns: str) -> list[tuple[str, str]]:
            rows = select(
                cg,
                f"""SELECT ?c ?l WHERE {{ ?c skos:prefLabel ?l FILTER(LANGMATCHES(LANG(?l), "en"))
                  FILTER(STRSTARTS(STR(?c), {sparqlterms.literal(ns)})) }} ORDER BY ?l LIMIT 200""",
            )
            return [(r["c"].value, r["l"].value) for r in rows]

        return {
            "topic": concepts(str(TOPIC)),
            "stance": [(c.removeprefix(str(STANCE)), lab) for c, lab in concepts(str(STANCE))],
            "verdict": [(c.removeprefix(str(VERDICT)), lab) for c, lab in concepts(str(VERDICT))],
        }

    return cached("claims:facets", compute, may_lag=True) | index().choices()


def _links(query: Query, more: bool, ext: str | None = None) -> dict[str, str | None]:
    endpoint = "pages.claims_data" if ext else "pages.claims"
    extra: dict[str, Any] = {"fmt": ext} if ext else {}
    prev = query.params(page=query.page - 1 if query.page > 2 else "") | extra
    nxt = query.params(page=query.page + 1) | extra
    return {
        "prev": url_for(endpoint, **prev) if query.page > 1 else None,
        "next": url_for(endpoint, **nxt) if more else None,
    }


def _alternates(query: Query) -> list[tuple[str, str, str]]:
    return [
        (url_for("pages.claims_data", fmt=ext, **query.params()), media, ext)
        for ext, media in FORMATS.items()
    ]


def _link_header(alts: list[tuple[str, str, str]]) -> str:
    return ", ".join(f'<{href}>; rel="alternate"; type="{media}"' for href, media, _ in alts)


@bp.get("/claims")
def claims() -> ResponseReturnValue:
    # The filter form sends every field, most of them empty: the shareable URL of the view
    # leaves them out (a form cannot leave an empty field out without a script).
    if any(not v.strip() for v in request.args.values()):
        clean = [(k, v) for k, v in request.args.items(multi=True) if v.strip()]
        return redirect(url_for("pages.claims") + (f"?{urlencode(clean)}" if clean else ""), 302)
    try:
        query = Query.from_args(request.args)
    except InputError as err:  # the form again, with what was wrong, rather than a bare 400
        return _claims_page(Query.unchecked(request.args), [], False, str(err), err.http_status)
    items, more = find(query)
    return _claims_page(query, items, more)


def _claims_page(
    query: Query,
    items: list[dict[str, Any]],
    more: bool,
    error: str | None = None,
    status: int = 200,
) -> Response:
    alts = _alternates(query)
    sorts = [(name, url_for("pages.claims", **query.params(sort=name, page=""))) for name in SORTS]
    body = render_template(
        "pages/claims.html",
        query=query,
        items=items,
        facets=facets(),
        pages=_links(query, more),
        sorts=sorts,
        alternates=alts,
        clear=url_for("pages.claims"),
        first=(query.page - 1) * query.per_page + 1,
        error=error,
    )
    return Response(
        body,
        status=status,
        content_type="text/html; charset=utf-8",
        headers={"Link": _link_header(alts)},
    )


@bp.get("/claims.<fmt>")
def claims_data(fmt: str) -> Response:
    if fmt not in FORMATS:
        raise NotFound(f"no list format .{fmt}: use .json or .csv")
    query = Query.from_args(request.args)
    items, more = find(query)
    cols = ("iri", "text", "statements", "first", "last")
    headers = {
        "Link": f'<{url_for("pages.claims", **query.params())}>; rel="alternate"; type="text/html"',
        "Content-Disposition": f'inline; filename="claims.{fmt}"',
    }
    if fmt == "json":
        links = _links(query, more, "json")
        doc = {
            "page": query.page,
            "per_page": query.per_page,
            "filters": query.params(page=""),
            "next": links["next"],
            "prev": links["prev"],
            "claims": [{c: item[c] for c in cols} for item in items],
        }
        return json_twin(doc, headers)
    return csv_twin(cols, ([item[c] for c in cols] for item in items), headers)
