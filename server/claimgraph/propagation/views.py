"""The propagation analysis on the web: its resources as linked data, and plain JSON and CSV
twins of one claim's or statement's propagation for pages and scripts.

- ``/id/<kind>/<slug>/propagation`` (and ``…/propagation/<rest>``: stances, echoes): the
  derived resources, as every ``/id/…`` resource (Turtle, JSON-LD, N-Triples, RDF/XML, HTML);
- ``/propagation/<kind>/<slug>.json`` and ``.csv``: what a page shows, read from the derived
  graph (one query) and the curated statements it names (one query).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app

from claimgraph import deadline, sparqlterms
from claimgraph.core import ClaimGraph
from claimgraph.errors import NotFound
from claimgraph.iris import CG
from claimgraph.linkeddata import serve_resource
from claimgraph.propagation.derived import Names, Runner

bp = Blueprint("propagation", __name__)

ROW_LIMIT = 20_000  # triples of one claim's propagation read for a twin (a bound, not a page)
STATEMENT_LIMIT = 5_000  # statements described in one twin
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def init_app(app: Flask, graph: ClaimGraph) -> None:
    settings = app.extensions.get("claimgraph.settings", graph.settings)
    # Over a remote store too: each analysis then reads every statement through the server
    # (eight predicate scans), in the background; CLAIMGRAPH_PROPAGATION=false turns it off.
    on = settings.propagation
    runner = Runner(graph, delay=settings.propagation_delay) if on else None
    app.extensions["claimgraph.propagation"] = runner
    app.register_blueprint(bp)


def _graph() -> ClaimGraph:
    cg: ClaimGraph = current_app.extensions["claimgraph"]
    return cg


def _runner() -> Runner | None:
    runner: Runner | None = current_app.extensions.get("claimgraph.propagation")
    return runner


@bp.get("/id/<kind>/<slug>/propagation")
def propagation_resource(kind: str, slug: str) -> Response:
    """A claim's or statement's propagation, negotiated."""
    _ask()
    return serve_resource(f"/id/{kind}/{slug}", "propagation", rich=False)


@bp.get("/id/<kind>/<slug>/propagation.<ext>")
def propagation_resource_file(kind: str, slug: str, ext: str) -> Response:
    """The same, by suffix (``.ttl``, ``.jsonld``, ``.nt``, ``.rdf``, ``.html``)."""
    _ask()
    return serve_resource(f"/id/{kind}/{slug}", f"propagation.{ext}", rich=False)


@bp.get("/id/<kind>/<slug>/propagation/<path:part>")
def propagation_part(kind: str, slug: str, part: str) -> Response:
    """A stance of a claim's propagation, or an echo of a statement."""
    folder, _, name = f"/id/{kind}/{slug}/propagation/{part}".rpartition("/")
    return serve_resource(folder, name, rich=False)


@bp.get("/propagation/<kind>/<slug>.<fmt>")
def propagation_twin(kind: str, slug: str, fmt: str) -> Response:
    """``<slug>.json`` or ``<slug>.csv``: the propagation of ``<base>id/<kind>/<slug>``."""
    name, ext = f"{slug}.{fmt}", fmt
    if ext not in ("json", "csv"):
        raise NotFound(
            f"/propagation/{kind}/{name}: ask for <slug>.json or <slug>.csv (the propagation "
            f"as RDF is at /id/{kind}/<slug>/propagation)"
        )
    cg = _graph()
    names = Names(cg.iris.base)
    try:
        node = ox.NamedNode(f"{cg.iris.base}id/{kind}/{slug}/propagation")
    except ValueError:
        raise NotFound(f"/propagation/{kind}/{name} stands for no IRI") from None
    _ask()
    doc = document(cg, names, node)
    if doc is None:
        raise NotFound(
            f"no propagation of <{cg.iris.base}id/{kind}/{slug}> (not a claim or statement, "
            "or not analysed yet)"
        )
    if ext == "json":
        body = json.dumps(doc, ensure_ascii=False, indent=1)
        return Response(body, content_type="application/json")
    return Response(to_csv(doc), content_type="text/csv; charset=utf-8")


def _ask() -> None:
    """A request finds the derived graph behind (another instance's write): catch up, in the
    background; it is served what is there now."""
    runner = _runner()
    if runner is not None:
        runner.ensure()


# -- the twins -----------------------------------------------------------------------------------


def _rows(cg: ClaimGraph, sparql: str) -> list[dict[str, Any]]:
    deadline.check()
    result = cg.store.query(sparql)
    assert isinstance(result, ox.QuerySolutions)
    names = [v.value for v in result.variables]
    return [
        {n: solution[n] for n in names if solution[n] is not None}
        for solution in deadline.rows(result)
    ]


def _value(term: Any) -> Any:
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt.endswith("#integer"):
            return int(term.value)
        if dt.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value if term is not None else None


def document(cg: ClaimGraph, names: Names, node: ox.NamedNode) -> dict[str, Any] | None:
    """The propagation ``node`` stands for (a claim's or a statement's) as plain data, or
    ``None`` when the derived graph has nothing of it."""
    g = sparqlterms.term(names.graph)
    nodes = _nodes(cg, names, node, ROW_LIMIT)
    me = nodes.get(node.value)
    if me is None:
        return None
    kinds = {
        str(v.value).removeprefix(str(CG))
        for v in me.get("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", [])
    }
    subject = me["propagationOf"][0].value
    stamp = _rows(
        cg,
        f"SELECT ?n WHERE {{ GRAPH {g} {{ {sparqlterms.term(names.analysis)} "
        f"<{CG}writeGeneration> ?n }} }} LIMIT 1",
    )
    generation = int(stamp[0]["n"].value) if stamp else None
    if "ClaimPropagation" in kinds:
        doc = _claim_doc(nodes, node.value, subject)
        statements = _statement_iris(doc)
    else:
        doc = _statement_doc(cg, names, me, subject)
        statements = _statement_iris(doc)
    info = _statements(cg, statements)
    doc = {"generation": generation, "graphGeneration": cg.generation, **doc}
    _fill(doc, info)
    return doc


def _nodes(
    cg: ClaimGraph, names: Names, node: ox.NamedNode, limit: int
) -> dict[str, dict[str, list[Any]]]:
    """``node`` and the resources that are part of it, each with its properties (``cg:``
    names shortened), from one query of the derived graph."""
    g, x = sparqlterms.term(names.graph), sparqlterms.term(node)
    triples = _rows(
        cg,
        f"""SELECT ?r ?p ?o WHERE {{ GRAPH {g} {{
              {{ BIND({x} AS ?r) ?r ?p ?o }}
              UNION {{ ?r <{CG}partOfPropagation> {x} . ?r ?p ?o }}
            }} }} LIMIT {limit}""",
    )
    nodes: dict[str, dict[str, list[Any]]] = {}
    for t in triples:
        props = nodes.setdefault(t["r"].value, {})
        props.setdefault(t["p"].value.removeprefix(str(CG)), []).append(t["o"])
    return nodes


def claim_propagation(cg: ClaimGraph, claim: str, limit: int = ROW_LIMIT) -> dict[str, Any] | None:
    """A claim's propagation as the JSON twin gives it, without the statements' details
    (speaker, date, source: the caller has them) nor the generation, from one query of the
    derived graph; ``None`` when it has none (not a claim, not analysed yet, or analysis off)."""
    names = Names(cg.iris.base)
    node = names.of(claim)
    me = _nodes(cg, names, node, limit)
    types = {v.value for v in me.get(node.value, {}).get(RDF_TYPE, [])}
    if f"{CG}ClaimPropagation" not in types or "propagationOf" not in me[node.value]:
        return None
    return _claim_doc(me, node.value, claim)


def _claim_doc(nodes: dict[str, dict[str, list[Any]]], me: str, claim: str) -> dict[str, Any]:
    mine = nodes[me]
    stances, echoes, statements = [], [], {}
    for iri, props in sorted(nodes.items()):
        types = {v.value for v in props.get("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", [])}
        if f"{CG}StancePropagation" in types:
            one: dict[str, Any] = {
                k: _value(props[k][0])
                for k in (
                    "forStance",
                    "statementCount",
                    "originCount",
                    "independentSpeakers",
                    "independentSources",
                    "repeatCount",
                    "firstStatement",
                    "latestStatement",
                    "firstSaid",
                    "latestSaid",
                )
                if k in props
            }
            one["propagation"] = iri
            one["origins"] = sorted(v.value for v in props.get("origin", []))
            one["repeatedBy"] = sorted(v.value for v in props.get("repeatedBy", []))
            stances.append(one)
        elif f"{CG}Echo" in types:
            one = {
                k: _value(props[k][0])
                for k in ("hopFrom", "hopTo", "minLagDays", "maxLagDays", "readInTranslation")
                if k in props
            }
            one["echo"] = iri
            echoes.append(one)
        elif f"{CG}StatementPropagation" in types:
            s = props["propagationOf"][0].value
            statements[s] = {
                k: _value(props[k][0])
                for k in ("firstHand", "echoDepth", "echoCount", "readInTranslation")
                if k in props
            }
    echoes.sort(key=lambda e: (e.get("hopFrom", ""), e.get("hopTo", "")))
    return {
        "claim": claim,
        "propagation": me,
        "origins": [{"statement": v.value} for v in sorted(mine.get("origin", []), key=str)],
        "reporters": sorted(v.value for v in mine.get("reporter", [])),
        "stances": sorted(stances, key=lambda s: s.get("forStance", "")),
        "echoes": echoes,
        "uncarriedRebuttals": [
            {"statement": v.value} for v in sorted(mine.get("uncarriedRebuttal", []), key=str)
        ],
        "statements": statements,
    }


def _statement_doc(
    cg: ClaimGraph, names: Names, me: dict[str, list[Any]], statement: str
) -> dict[str, Any]:
    hops = _echo_tree(cg, names, statement)
    return {
        "statement": statement,
        "propagation": names.of(statement).value,
        **{
            k: _value(me[k][0])
            for k in ("firstHand", "echoDepth", "echoCount", "readInTranslation")
            if k in me
        },
        "origins": [{"statement": v.value} for v in sorted(me.get("origin", []), key=str)],
        "echoes": hops,
    }


def _echo_tree(cg: ClaimGraph, names: Names, statement: str) -> list[dict[str, Any]]:
    """The hops of the statement's echo tree: those from it, then from its reports…"""
    g = sparqlterms.term(names.graph)
    x = sparqlterms.iri(statement)
    rows = _rows(
        cg,
        f"""SELECT DISTINCT ?echo ?from ?to ?min ?max ?tr WHERE {{ GRAPH {g} {{
              {x} (^<{CG}hopFrom>/<{CG}hopTo>)* ?from .
              ?echo <{CG}hopFrom> ?from ; <{CG}hopTo> ?to .
              OPTIONAL {{ ?echo <{CG}minLagDays> ?min ; <{CG}maxLagDays> ?max }}
              OPTIONAL {{ ?echo <{CG}readInTranslation> ?tr }}
            }} }} LIMIT {ROW_LIMIT}""",
    )
    hops = []
    for r in rows:
        hop = {"echo": r["echo"].value, "hopFrom": r["from"].value, "hopTo": r["to"].value}
        if "min" in r:
            hop["minLagDays"], hop["maxLagDays"] = int(r["min"].value), int(r["max"].value)
        if "tr" in r:
            hop["readInTranslation"] = r["tr"].value
        hops.append(hop)
    return sorted(hops, key=lambda h: (h["hopFrom"], h["hopTo"]))


def _statement_iris(doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for o in doc.get("origins", []) + doc.get("uncarriedRebuttals", []):
        found.add(o["statement"])
    for e in doc.get("echoes", []):
        found.update((e["hopFrom"], e["hopTo"]))
    for s in doc.get("stances", []):
        found.update(x for x in (s.get("firstStatement"), s.get("latestStatement")) if x)
    found.update(doc.get("statements", {}))
    return found


def _statements(cg: ClaimGraph, iris: set[str]) -> dict[str, dict[str, Any]]:
    """Speaker (and name), stance, date and source of each statement, from the curated data."""
    wanted = sorted(iris)[:STATEMENT_LIMIT]
    if not wanted:
        return {}
    rows = _rows(
        cg,
        f"""SELECT ?s ?speaker ?name ?stance ?date ?source ?title WHERE {{
              VALUES ?s {{ {sparqlterms.iris(wanted)} }}
              ?s <{CG}speaker> ?speaker ; <{CG}stance> ?stance ; <{CG}date> ?date ;
                 <{CG}source> ?source .
              OPTIONAL {{ ?speaker <http://schema.org/name> ?name
                          FILTER(LANGMATCHES(LANG(?name), "en")) }}
              OPTIONAL {{ ?source <{CG}title> ?title FILTER(LANGMATCHES(LANG(?title), "en")) }}
            }} LIMIT {len(wanted) * 4}""",
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        one = out.setdefault(r["s"].value, {})
        for key, var in (
            ("speaker", "speaker"),
            ("speakerName", "name"),
            ("stance", "stance"),
            ("date", "date"),
            ("source", "source"),
            ("sourceTitle", "title"),
        ):
            if var in r and key not in one:
                one[key] = r[var].value
    return out


def _fill(doc: dict[str, Any], info: dict[str, dict[str, Any]]) -> None:
    """Each statement named in ``doc`` with its speaker, stance, date and source."""
    for o in doc.get("origins", []) + doc.get("uncarriedRebuttals", []):
        o.update(info.get(o["statement"], {}))
    for e in doc.get("echoes", []):
        report = info.get(e["hopTo"], {})
        e.update({f"report{k[0].upper()}{k[1:]}": v for k, v in report.items()})
    for s in doc.get("stances", []):
        for key in ("firstStatement", "latestStatement"):
            if key in s:
                s[key] = {"statement": s[key], **info.get(s[key], {})}
    statements = doc.get("statements")
    if isinstance(statements, dict):
        for iri, props in statements.items():
            props.update(info.get(iri, {}))


CSV_COLUMNS = (
    "row",
    "statement",
    "speaker",
    "speakerName",
    "stance",
    "date",
    "source",
    "hopFrom",
    "minLagDays",
    "maxLagDays",
    "readInTranslation",
)


def to_csv(doc: dict[str, Any]) -> str:
    """One row per origin (``row`` = origin), per echo (``echo``: the report, with the
    statement it relays in ``hopFrom``) and per uncarried rebuttal."""
    out = io.StringIO()
    w = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for o in doc.get("origins", []):
        w.writerow({"row": "origin", **o})
    for e in doc.get("echoes", []):
        w.writerow(
            {
                "row": "echo",
                "statement": e["hopTo"],
                **{k[6].lower() + k[7:]: v for k, v in e.items() if k.startswith("report")},
                "hopFrom": e["hopFrom"],
                "minLagDays": e.get("minLagDays", ""),
                "maxLagDays": e.get("maxLagDays", ""),
                "readInTranslation": e.get("readInTranslation", ""),
            }
        )
    for r in doc.get("uncarriedRebuttals", []):
        w.writerow({"row": "uncarried-rebuttal", **r})
    return out.getvalue()
