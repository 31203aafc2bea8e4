"""The claims list: text search, filters (topic, speaker, stance, verdict, date range,
language), sort and pagination, each a plain query parameter, so every view is a shareable
URL; ``/claims.json`` and ``/claims.csv`` are the same list as data."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from flask import Response, current_app, render_template, request, url_for

from server.describe import best_literal
from server.errors import InputError, NotFound
from server.iris import STANCE, TOPIC, VERDICT
from server.linkeddata import cached
from server.pages.common import Labels, bp, claimgraph, select, sparql_iri, sparql_text

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
    def from_args(cls, args: Any) -> Query:
        def arg(name: str) -> str:
            return str(args.get(name, "")).strip()

        try:
            page = max(1, int(arg("page") or 1))
            per_page = min(MAX_PER_PAGE, max(1, int(arg("per_page") or PER_PAGE)))
        except ValueError as err:
            raise InputError("page and per_page must be whole numbers") from err
        query = cls(
            q=arg("q")[:200],
            topic=arg("topic"),
            speaker=arg("speaker"),
            stance=arg("stance"),
            verdict=arg("verdict"),
            date_from=arg("from"),
            date_to=arg("to"),
            lang=arg("lang"),
            sort=arg("sort") or "statements",
            page=page,
            per_page=per_page,
        )
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
                    sparql_iri(value)
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

    def where(self) -> str:
        """Graph patterns for the structured filters (the text search is done on the index).
        Plain joins, not ``FILTER EXISTS``: Oxigraph evaluates an EXISTS per candidate claim."""
        parts = []
        if self.topic:
            parts.append(f"?claim cg:topic {sparql_iri(self.topic)} .")
        if self.lang:
            parts.append(
                f"?claim cg:text ?tl FILTER(LANGMATCHES(LANG(?tl), {sparql_text(self.lang)}))"
            )
        if self.verdict:
            parts.append(
                f"?rv schema:itemReviewed ?claim ; "
                f"cg:normalizedVerdict {sparql_iri(str(VERDICT) + self.verdict)} ."
            )
        stmt = []
        if self.speaker:
            stmt.append(f"cg:speaker {sparql_iri(self.speaker)}")
        if self.stance:
            stmt.append(f"cg:stance {sparql_iri(str(STANCE) + self.stance)}")
        dates = []
        if self.date_from:
            dates.append(f"STR(?fd) >= {sparql_text(self.date_from)}")
        if self.date_to:
            # "2024-03" as an upper bound includes every day of March
            dates.append(f"STR(?fd) <= {sparql_text(self.date_to + '~')}")
        if dates:
            stmt.append("cg:date ?fd")
        if stmt:
            cond = f"FILTER({' && '.join(dates)})" if dates else ""
            parts.append(f"?fs cg:claim ?claim ; {' ; '.join(stmt)} . {cond}")
        return "\n".join(parts)


@dataclass(frozen=True)
class Entry:
    iri: str
    statements: int
    first: str | None
    last: str | None
    key: str  # the English text (else any), for sorting and display
    haystack: str  # every text of the claim, lowercased, for the search


# Bounds of the whole-graph reads below (the index is built once per write generation).
MAX_CLAIMS = 1_000_000
MAX_MATCHES = 200_000
MEMO_SIZE = 32  # filtered views whose matches are kept


def index() -> list[Entry]:
    """Every claim with its statement count, first and last statement date and texts: two
    whole-graph reads, cached per write generation, so that a list request only sorts and
    slices (and runs one filter query when structured filters are set)."""
    cg = claimgraph()

    def compute() -> list[Entry]:
        texts: dict[str, list[Any]] = {}
        for r in select(
            cg,
            f"SELECT ?claim ?t WHERE {{ ?claim a cg:Claim OPTIONAL {{ ?claim cg:text ?t }} }} "
            f"LIMIT {MAX_CLAIMS * 4}",
        ):
            texts.setdefault(r["claim"].value, [])
            if "t" in r:
                texts[r["claim"].value].append(r["t"])
        stats = {
            r["claim"].value: r
            for r in select(
                cg,
                f"""SELECT ?claim (COUNT(DISTINCT ?s) AS ?n) (MIN(STR(?d)) AS ?first)
                  (MAX(STR(?d)) AS ?last) WHERE {{ ?s cg:claim ?claim ; cg:date ?d }}
                  GROUP BY ?claim LIMIT {MAX_CLAIMS}""",
            )
        }
        entries = []
        for iri, lits in texts.items():
            best = best_literal(lits)
            st = stats.get(iri, {})
            entries.append(
                Entry(
                    iri=iri,
                    statements=int(st["n"].value) if "n" in st else 0,
                    first=st["first"].value if "first" in st else None,
                    last=st["last"].value if "last" in st else None,
                    key=best.value if best is not None else iri,
                    haystack=" \n".join(lit.value.lower() for lit in lits),
                )
            )
        return entries[:MAX_CLAIMS]

    return cached("claims:index", compute, may_lag=True)


def ordered(sort: str) -> list[Entry]:
    def compute() -> list[Entry]:
        entries = sorted(index(), key=lambda e: (e.key, e.iri))
        if sort == "statements":
            entries.sort(key=lambda e: -e.statements)
        elif sort == "recent":
            entries.sort(key=lambda e: e.last or "", reverse=True)
        elif sort == "oldest":
            entries.sort(key=lambda e: (e.first is None, e.first or ""))
        return entries

    return cached(f"claims:order:{sort}", compute, may_lag=True)


def matching(query: Query) -> set[str] | None:
    """The claims the structured filters let through (``None``: no such filter)."""
    where = query.where()
    if not where:
        return None
    cg = claimgraph()
    # paging through one filtered view reruns the same filter: keep the last few per generation
    memo: dict[tuple[int, str], set[str]] = current_app.extensions.setdefault(
        "claimgraph.claims-matches", {}
    )
    key = (cg.generation, where)
    hit = memo.get(key)
    if hit is None:
        rows = select(
            cg,
            f"SELECT DISTINCT ?claim WHERE {{ {where} ?claim a cg:Claim }} LIMIT {MAX_MATCHES}",
        )
        hit = {r["claim"].value for r in rows}
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = hit
    return hit


def find(query: Query) -> tuple[list[dict[str, Any]], bool]:
    """One page of claims, and whether there is a next page."""
    cg = claimgraph()
    allowed = matching(query)
    needle = query.q.lower()
    hits = (
        e
        for e in ordered(query.sort)
        if (allowed is None or e.iri in allowed) and (not needle or needle in e.haystack)
    )
    offset = (query.page - 1) * query.per_page
    page = list(itertools.islice(hits, offset, offset + query.per_page + 1))
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
    """Choices for the filter form, once per write generation (bounded lists)."""
    cg = claimgraph()

    def compute() -> dict[str, list[tuple[str, str]]]:
        def concepts(ns: str) -> list[tuple[str, str]]:
            rows = select(
                cg,
                f"""SELECT ?c ?l WHERE {{ ?c skos:prefLabel ?l FILTER(LANGMATCHES(LANG(?l), "en"))
                  FILTER(STRSTARTS(STR(?c), {sparql_text(ns)})) }} ORDER BY ?l LIMIT 200""",
            )
            return [(r["c"].value, r["l"].value) for r in rows]

        speakers = select(
            cg,
            """SELECT ?a (SAMPLE(?name) AS ?l) WHERE { ?s cg:speaker ?a .
              ?a schema:name ?name FILTER(LANGMATCHES(LANG(?name), "en")) }
              GROUP BY ?a ORDER BY ?l LIMIT 500""",
        )
        langs = select(
            cg,
            "SELECT DISTINCT (LANG(?t) AS ?lang) WHERE { ?c cg:text ?t } ORDER BY ?lang LIMIT 50",
        )
        return {
            "topic": concepts(str(TOPIC)),
            "stance": [(c.removeprefix(str(STANCE)), lab) for c, lab in concepts(str(STANCE))],
            "verdict": [(c.removeprefix(str(VERDICT)), lab) for c, lab in concepts(str(VERDICT))],
            "speaker": [(r["a"].value, r["l"].value) for r in speakers if "l" in r],
            "lang": [(r["lang"].value, r["lang"].value) for r in langs if "lang" in r],
        }

    return cached("claims:facets", compute, may_lag=True)


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
def claims() -> Response:
    query = Query.from_args(request.args)
    items, more = find(query)
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
    )
    return Response(
        body, content_type="text/html; charset=utf-8", headers={"Link": _link_header(alts)}
    )


@bp.get("/claims.<fmt>")
def claims_data(fmt: str) -> Response:
    if fmt not in FORMATS:
        raise NotFound(f"no list format .{fmt}: use .json or .csv")
    query = Query.from_args(request.args)
    items, more = find(query)
    cols = ("iri", "text", "statements", "first", "last")
    headers = {
        "Link": f'<{url_for("pages.claims", **query.params())}>; rel="alternate"; type="text/html"'
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
        return Response(
            json.dumps(doc, ensure_ascii=False, indent=1),
            content_type="application/json",
            headers=headers,
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(cols)
    for item in items:
        writer.writerow([item[c] if item[c] is not None else "" for c in cols])
    return Response(out.getvalue(), content_type="text/csv; charset=utf-8", headers=headers)
