"""What the page modules share: bounded SELECTs, labels for a batch of IRIs, and the
``Term``s (links only for http(s) IRIs, via ``Iris.href``) the templates render."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response

from claimgraph import deadline, prose, sparqlterms
from claimgraph.core import ClaimGraph
from claimgraph.describe import (
    LABEL_PROPERTIES,
    Labeller,
    Section,
    Term,
    best_literal,
    compact,
    section,
)
from claimgraph.errors import InputError
from claimgraph.iris import PREFIXES

Row = dict[str, Any]

PROLOGUE = "".join(f"PREFIX {p}: {sparqlterms.iri(ns)}\n" for p, ns in PREFIXES.items())


def claimgraph() -> ClaimGraph:
    """The ClaimGraph a page reads: on a resource's page, over the neighbourhood its
    description fetched (``linkeddata.page_graph``)."""
    from claimgraph.linkeddata import page_graph

    return page_graph()


def select(cg: ClaimGraph, sparql: str) -> list[Row]:
    """The rows of a SELECT (every page query carries its own LIMIT), within the request's
    deadline (``server.deadline``)."""
    deadline.check()
    result = cg.store.query(PROLOGUE + sparql)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    rows: list[Row] = []
    for solution in deadline.rows(result):
        row = {n: solution[n] for n in names}
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


def values(iris: Iterable[str]) -> str:
    """The IRIs of a ``VALUES`` block, sorted, each once (``ValueError``: one is not an IRI)."""
    return sparqlterms.iris(sorted(set(iris)))


class Labels:
    """Best labels (English first) of the IRIs a page shows, fetched in one query; those with
    no name of their own (statements, untitled sources, assessments…) told in words
    (``claimgraph.prose``), from one more query for the names those words need."""

    def __init__(self, cg: ClaimGraph, iris: Iterable[str], *, prose_labels: bool = True) -> None:
        self.cg = cg
        self.prefixes = cg.iris.prefixes()
        wanted = sorted({i for i in iris if i})
        found: dict[str, dict[str, list[ox.Literal]]] = {}
        facts: dict[str, dict[str, list[Any]]] = {}
        shown = set(LABEL_PROPERTIES)
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            # Each ?x's few outgoing triples, filtered here: with FILTER(?p IN (…)) Virtuoso
            # scans every label property's whole index range (linear in the store's size).
            rows = select(
                cg,
                f"SELECT ?x ?p ?l WHERE {{ VALUES ?x {{ {values(chunk)} }} ?x ?p ?l }} "
                f"LIMIT {len(chunk) * 200}",
            )
            for r in rows:
                p = r["p"].value
                if p in shown and isinstance(r.get("l"), ox.Literal):
                    found.setdefault(r["x"].value, {}).setdefault(p, []).append(r["l"])
                if prose_labels and p in prose.INPUTS and "l" in r:
                    facts.setdefault(r["x"].value, {}).setdefault(p, []).append(r["l"])
        self.labels: dict[str, ox.Literal] = {}
        for iri, by_prop in found.items():
            for p in LABEL_PROPERTIES:
                lit = best_literal(by_prop.get(p, []))
                if lit is not None:
                    self.labels[iri] = lit
                    break
        if facts:
            names = Labels(
                cg, (n for f in facts.values() for n in prose.named(f)), prose_labels=False
            )
            for iri, f in facts.items():
                lit = prose.label(f, lambda x: names.labels[x].value if x in names.labels else None)
                if lit is not None:
                    self.labels[iri] = lit

    def term(self, node: Any) -> Term:
        """A ``Term`` for an IRI (a link only when ``Iris.href`` gives one) or a literal."""
        if isinstance(node, ox.Literal):
            return literal(node)
        iri = node.value if isinstance(node, ox.NamedNode) else str(node)
        lit = self.labels.get(iri)
        text = lit.value if lit is not None else compact(iri, self.prefixes)
        lang = (lit.language or None) if lit is not None else None
        return Term(text, href=self.cg.iris.href(iri), iri=iri, lang=lang)

    def text(self, iri: str) -> str:
        lit = self.labels.get(iri)
        return lit.value if lit is not None else compact(iri, self.prefixes)


def literal(lit: ox.Literal) -> Term:
    return Term(lit.value, lang=lit.language or None)


def iri_of(node: Any) -> str | None:
    return node.value if isinstance(node, ox.NamedNode) else None


def local_name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


bp = Blueprint("pages", __name__)


def description(iri: str, triples: list[ox.Triple]) -> Section:
    """The generic linked-data section of ``iri`` (every property, labelled)."""
    from claimgraph.linkeddata import page_labels

    labeller = Labeller(claimgraph().iris, triples, page_labels())
    return section(ox.NamedNode(iri), triples, labeller, incoming=False)


def paging(args: Any, default: int, most: int) -> tuple[int, int]:
    """A list request's ``page`` (from 1) and ``per_page`` (1 to ``most``; ``default``)."""
    try:
        page = max(1, int(str(args.get("page", "")).strip() or 1))
        per_page = min(most, max(1, int(str(args.get("per_page", "")).strip() or default)))
    except ValueError as err:
        raise InputError("page and per_page must be whole numbers") from err
    return page, per_page


def json_twin(doc: Any, headers: dict[str, str]) -> Response:
    """A page's JSON twin."""
    body = json.dumps(doc, ensure_ascii=False, indent=1)
    return Response(body, content_type="application/json", headers=headers)


def csv_twin(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], headers: dict[str, str]
) -> Response:
    """A page's CSV twin: a header row, then ``rows`` (None is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return Response(out.getvalue(), content_type="text/csv; charset=utf-8", headers=headers)
