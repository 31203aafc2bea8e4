"""Dereferenceable IRIs: every resource under the canonical base, the ontology and the concept
schemes answer on this server, as HTML for browsers and as Turtle, JSON-LD, N-Triples or RDF/XML.

One pattern everywhere (README, "Linked data"): **200 with ``Content-Location``**. ``GET
/id/claim/x`` answers at once, in the representation chosen by ``Accept`` (q-values honoured),
with ``Content-Location: /id/claim/x.ttl`` naming the document it sent, ``Vary: Accept``, and a
``Link: <…>; rel="alternate"; type="…"`` to every other representation. A suffix URL
(``/id/claim/x.ttl``, ``.jsonld``, ``.nt``, ``.rdf``, ``.html``) serves that format whatever
``Accept`` says. The request's host is ignored: the path is resolved against the canonical base.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, g, render_template, request
from markupsafe import Markup

from claimgraph import prefetch
from claimgraph.claimreview import page_markup
from claimgraph.core import ClaimGraph
from claimgraph.describe import (
    Labeller,
    Section,
    compact,
    describe_ontology,
    describe_resource,
    describe_scheme,
    fragment,
    ontology_doc,
    section,
    term_labels,
)
from claimgraph.errors import NotAcceptable, NotFound
from claimgraph.formats import RdfFormat, by_name
from claimgraph.iris import ONTOLOGY, Iris, uri
from claimgraph.negotiation import negotiate
from claimgraph.store import Store
from claimgraph.summaries import Summaries, Update

bp = Blueprint("linkeddata", __name__)

T = TypeVar("T")


# -- representations: formats as data ----------------------------------------------------------


@dataclass(frozen=True)
class Representation:
    """One way a resource can be sent: an RDF format, or the HTML page (``rdf is None``)."""

    name: str
    media_types: tuple[str, ...]  # the first one is what we send
    suffixes: tuple[str, ...]  # the first one is what we link to
    rdf: RdfFormat | None

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    @property
    def suffix(self) -> str:
        return self.suffixes[0]

    @property
    def content_type(self) -> str:
        text = self.media_type.startswith("text/") or self.rdf is None
        return f"{self.media_type}; charset=utf-8" if text else self.media_type


def _rdf(name: str) -> Representation:
    fmt = by_name(name)
    return Representation(fmt.name, fmt.media_types, fmt.suffixes, fmt)


HTML = Representation("html", ("text/html", "application/xhtml+xml"), (".html", ".htm"), None)
# Order matters: with no Accept header, or */*, the first one (Turtle) is sent.
REPRESENTATIONS: tuple[Representation, ...] = (
    _rdf("turtle"),
    _rdf("jsonld"),
    _rdf("ntriples"),
    _rdf("rdfxml"),
    HTML,
)
_BY_SUFFIX = {s: r for r in REPRESENTATIONS for s in r.suffixes}
_BY_TYPE = {t: r for r in REPRESENTATIONS for t in r.media_types}


def split_suffix(name: str) -> tuple[str, Representation | None]:
    """``("x", Turtle)`` for ``"x.ttl"``; ``("x", None)`` when there is no known suffix."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        rep = _BY_SUFFIX.get(f".{ext.lower()}")
        if rep is not None:
            return stem, rep
    return name, None


def choose(
    accept: str | None,
    suffix: Representation | None,
    offered: Sequence[Representation] = REPRESENTATIONS,
) -> Representation:
    """The representation to send: the suffix's if the URL has one, else the best by Accept."""
    if suffix is not None:
        return suffix
    offers = [t for r in offered for t in r.media_types]
    best = negotiate(accept, offers)
    if best is None:
        types = ", ".join(r.media_type for r in offered)
        raise NotAcceptable(f"this resource is available as {types}; the request accepts none")
    return _BY_TYPE[best]


# -- serialization -----------------------------------------------------------------------------


def used_prefixes(triples: Iterable[ox.Triple], prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes whose namespace some IRI of ``triples`` starts with (for short headers)."""
    namespaces = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
    used: dict[str, str] = {}
    seen: set[str] = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode) and term.value not in seen:
                seen.add(term.value)
                for prefix, ns in namespaces:
                    if term.value.startswith(ns):
                        used[prefix] = ns
                        break
            elif isinstance(term, ox.Literal) and not term.language:
                dt = term.datatype.value
                if dt.startswith(prefixes.get("xsd", "\0")):
                    used["xsd"] = prefixes["xsd"]
    return used


def jsonld(
    triples: Sequence[ox.Triple], prefixes: dict[str, str], first: str | None = None
) -> bytes:
    """Compact-ish JSON-LD: one node object per subject under ``@graph``, property names and
    IRIs shortened with an inline ``@context`` of prefixes (no remote context, ever)."""
    used = used_prefixes(triples, prefixes)

    def short(iri: str) -> str:
        curie = compact(iri, used)
        return iri if curie.split(":", 1)[1].startswith("//") else curie

    def value(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Any:
        if isinstance(term, ox.NamedNode):
            return {"@id": short(term.value)}
        if isinstance(term, ox.BlankNode):
            return {"@id": f"_:{term.value}"}
        if isinstance(term, ox.Literal):
            if term.language:
                return {"@value": term.value, "@language": term.language}
            dt = term.datatype.value
            if dt == "http://www.w3.org/2001/XMLSchema#string":
                return term.value
            return {"@value": term.value, "@type": short(dt)}
        raise TypeError(f"cannot write {term!r} as JSON-LD")

    nodes: dict[str, dict[str, Any]] = {}
    for t in triples:
        s = t.subject
        key = f"_:{s.value}" if isinstance(s, ox.BlankNode) else short(s.value)  # type: ignore[union-attr]
        node = nodes.setdefault(key, {"@id": key})
        p = t.predicate.value
        if p == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" and isinstance(
            t.object, ox.NamedNode
        ):
            node.setdefault("@type", []).append(short(t.object.value))
        else:
            node.setdefault(short(p), []).append(value(t.object))
    order = sorted(nodes, key=lambda k: (k != (short(first) if first else None), k))
    doc = {"@context": dict(sorted(used.items())), "@graph": [nodes[k] for k in order]}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def serialize(
    triples: Sequence[ox.Triple],
    fmt: RdfFormat,
    iris: Iris,
    first: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    """Triples in an RDF format, with Oxigraph's writers (JSON-LD: ``jsonld`` above); the
    subject ``first`` comes first, then the others in IRI order, each subject's triples together."""
    prefixes = {**iris.prefixes(), **(extra or {})}
    triples = sorted(triples, key=lambda t: (t.subject.value != first, str(t.subject)))  # type: ignore[union-attr]
    if fmt.name == "jsonld":
        return jsonld(triples, prefixes, first)
    if fmt.name in ("turtle", "rdfxml"):
        used = used_prefixes(triples, prefixes)
        if fmt.name == "rdfxml":
            used.setdefault("rdf", prefixes["rdf"])
        return ox.serialize(triples, format=fmt.ox, prefixes=used) or b""
    return ox.serialize(triples, format=fmt.ox) or b""


# -- per-app state -----------------------------------------------------------------------------


def claimgraph() -> ClaimGraph:
    cg: ClaimGraph = current_app.extensions["claimgraph"]
    return cg


def cached(
    name: str,
    compute: Callable[[], T],
    *,
    may_lag: bool = False,
    update: Update[T] | None = None,
) -> T:
    """``compute()`` once per write generation of the graph (per app; no module globals).

    ``may_lag``: after a write, serve the previous value while a slow recomputation runs
    (see ``claimgraph.summaries``); for pages' counts and rankings, never for data documents.
    ``update``: how to derive the new value from the previous one where it can
    (``Summaries.get``).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    summaries: Summaries = app.extensions.setdefault("claimgraph.cache", Summaries())
    settings = app.extensions.get("claimgraph.settings", claimgraph().settings)
    wait = None
    if may_lag:  # one wait per request, shared by all the summaries a page shows
        deadline = g.setdefault("summary_deadline", time.monotonic() + settings.page_refresh_wait)
        wait = max(0.0, deadline - time.monotonic())
    generation = claimgraph().generation
    return summaries.get(name, generation, compute, app=app, wait=wait, update=update)


def version_tag(cg: ClaimGraph) -> str:
    """Changes with every write, and with every restart (``generation`` starts again at 0)."""
    return f"{int(cg.last_modified.timestamp() * 1000):x}-{cg.generation}"


# -- responses ---------------------------------------------------------------------------------


def alternates_header(path: str, sent: Representation | None) -> str:
    return ", ".join(
        f'<{uri(path + r.suffix)}>; rel="alternate"; type="{r.media_type}"'
        for r in REPRESENTATIONS
        if r is not sent
    )


def represent(
    path: str,
    rep: Representation,
    *,
    negotiated: bool,
    body: Callable[[], bytes | str],
) -> Response:
    """The response for ``path`` in ``rep``: Content-Location, Vary, Link alternates, a weak
    ETag per write generation and representation, and 304 when the client has it already."""
    cg = claimgraph()
    etag = f"{version_tag(cg)}-{rep.name}"
    headers = {
        "Content-Location": f"{path}{rep.suffix}",
        "Link": alternates_header(path, rep),
    }
    if negotiated:
        headers["Vary"] = "Accept"
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304, headers=headers)
    else:
        resp = Response(body(), content_type=rep.content_type, headers=headers)
    resp.set_etag(etag, weak=True)
    resp.last_modified = cg.last_modified
    return resp


def start_representation(suffix: Representation | None) -> Representation:
    rep = choose(request.headers.get("Accept"), suffix)
    g.ld_representation = rep  # errors from here on are rendered in it (error_response)
    return rep


def alternates(path: str) -> list[tuple[str, str, str]]:
    """(href, media type, name) of every representation, for the HTML page's links."""
    return [(f"{path}{r.suffix}", r.media_type, r.name) for r in REPRESENTATIONS]


def page_labels() -> dict[str, list[ox.Literal]]:
    cg = claimgraph()
    return cached("term-labels", lambda: term_labels(cg.store))


def _page(
    path: str,
    iri: str,
    sections: list[Section],
    *,
    markup: Markup | None = None,
) -> str:
    cg = claimgraph()
    graphs: list[tuple[str, str]] = []
    if path.startswith("/graph/") and cg.store.has_graph(ox.NamedNode(iri)):
        for suffix in (".trig", ".nq", ".trig.gz", ".nq.gz"):
            dump = cg.iris.dump_path(suffix, iri)
            if dump:
                graphs.append((dump, suffix.lstrip(".")))
    return render_template(
        "resource.html",
        title=sections[0].title,
        iri=iri,
        sections=sections,
        alternates=alternates(path),
        dumps=graphs,
        claimreview=markup,
    )


def _serve_description(
    path: str,
    suffix: Representation | None,
    describe: Callable[[str], list[ox.Triple] | None],
    html: Callable[[str, list[ox.Triple]], str],
) -> Response:
    rep = start_representation(suffix)
    cg = claimgraph()
    iri = cg.iris.iri_for_path(path)
    try:  # before any query: the IRI goes into queries only as a checked term
        ox.NamedNode(iri)
    except ValueError as err:
        shown = path if len(path) <= 200 else path[:200] + "…"
        raise NotFound(f"nothing is here: the path {shown!r} stands for no IRI ({err})") from None

    def body() -> bytes | str:
        triples = describe(iri)
        if triples is None:
            raise NotFound(f"ClaimGraph has nothing about <{iri}>")
        if rep.rdf is None:
            return html(iri, triples)
        return serialize(triples, rep.rdf, cg.iris, first=iri)

    return represent(path, rep, negotiated=suffix is None, body=body)


def _resource_html(path: str, rich: bool = True) -> Callable[[str, list[ox.Triple]], str]:
    def render(iri: str, triples: list[ox.Triple]) -> str:
        cg = claimgraph()
        # the browsing UI (claimgraph.pages) gives some kinds a richer page than the generic one
        kind = path.split("/")[2] if path.startswith("/id/") and rich else ""
        page = current_app.extensions.get("claimgraph.pages", {}).get(kind)
        if page is not None:
            return page(path, iri, triples)  # type: ignore[no-any-return]
        labeller = Labeller(cg.iris, triples, page_labels())
        main = section(ox.NamedNode(iri), triples, labeller)
        return _page(path, iri, [main], markup=page_markup(page_graph(), iri))

    return render


def _describe(iri: str) -> list[ox.Triple] | None:
    # the neighbourhood the description and the page read, in a few requests; the page's
    # queries then run over it (``page_graph``)
    cg = claimgraph()
    view = prefetch.page_view(cg.store, iri, cg.term_quads())
    g.page_store = view
    return describe_resource(view, iri)


class _Reading:
    """The ClaimGraph with ``store`` in place of its own, for reading only."""

    def __init__(self, cg: ClaimGraph, store: Store) -> None:
        self._cg, self.store = cg, store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cg, name)


def page_graph() -> ClaimGraph:
    """The ClaimGraph a resource page reads: over the neighbourhood its description fetched
    (``claimgraph.prefetch``), when it did."""
    cg = claimgraph()
    view = g.get("page_store")
    return cg if view is None else cast(ClaimGraph, _Reading(cg, view))


# -- routes ------------------------------------------------------------------------------------


def _describe_graph(iri: str) -> list[ox.Triple] | None:
    # A named graph exists as soon as it holds a triple, described or not (the ontology's
    # graphs are loaded from files that say nothing of themselves): its page links its dumps.
    triples = _describe(iri)
    if triples is None and claimgraph().store.has_graph(ox.NamedNode(iri)):
        return []
    return triples


def serve_resource(
    folder: str,
    name: str,
    *,
    rich: bool = True,
    describe: Callable[[str], list[ox.Triple] | None] = _describe,
) -> Response:
    """``<folder>/<name>[.suffix]``: the description of the IRI that path stands for.
    ``rich``: HTML by the browsing UI's page for the kind (``/id/<kind>/…``), if it has one;
    else the generic description (resources beneath a claim or statement)."""
    stem, suffix = split_suffix(name)
    path = f"{folder}/{stem}"
    return _serve_description(path, suffix, describe, _resource_html(path, rich))


@bp.get("/id/<kind>/<slug>")
def data_resource(kind: str, slug: str) -> Response:
    """A data resource: ``/id/claim/<slug>``, ``/id/actor/<slug>`` … (any kind in the store)."""
    return serve_resource(f"/id/{kind}", slug)


@bp.get("/graph/<name>")
def graph_resource(name: str) -> Response:
    """A named graph's IRI: its PROV description, with links to its dumps."""
    return serve_resource("/graph", name, describe=_describe_graph)


@bp.get("/graph/derived/<name>")
def derived_graph_resource(name: str) -> Response:
    """A graph ClaimGraph derives from the others (``/graph/derived/propagation``)."""
    return serve_resource("/graph/derived", name, describe=_describe_graph)


@bp.get("/.well-known/genid/<name>")
def skolem_resource(name: str) -> Response:
    """A skolem IRI minted for a blank node of written data (RDF 1.1 §3.5)."""
    return serve_resource("/.well-known/genid", name)


@bp.get("/vocab/<scheme>")
def concept_scheme(scheme: str) -> Response:
    """A concept scheme (``/vocab/stance``) with all its concepts, each at its ``#fragment``."""
    stem, suffix = split_suffix(scheme)
    path = f"/vocab/{stem}"

    def render(iri: str, triples: list[ox.Triple]) -> str:
        cg = claimgraph()
        labeller = Labeller(cg.iris, triples, page_labels())
        sections = [section(ox.NamedNode(iri), triples, labeller, incoming=False)]
        concepts = sorted(
            {t.subject.value for t in triples if isinstance(t.subject, ox.NamedNode)} - {iri}
        )
        for concept in concepts:
            sections.append(
                section(
                    ox.NamedNode(concept),
                    triples,
                    labeller,
                    anchor=fragment(concept),
                    incoming=False,
                )
            )
        return _page(path, iri, sections)

    return _serve_description(
        path, suffix, lambda iri: describe_scheme(claimgraph().store, iri), render
    )


def _ontology(path: str, documents: Sequence[str], suffix: Representation | None) -> Response:
    def describe(iri: str) -> list[ox.Triple] | None:
        cg = claimgraph()
        return cached(f"ontology:{path}", lambda: describe_ontology(cg.store, documents))

    def render(iri: str, triples: list[ox.Triple]) -> str:
        cg = claimgraph()
        doc = cached(
            f"ontology-doc:{path}", lambda: ontology_doc(triples, cg.validator.shapes, cg.iris)
        )
        return render_template("ontology.html", doc=doc, alternates=alternates(path))

    return _serve_description(path, suffix, describe, render)


@bp.get("/ontology")
def ontology() -> Response:
    """The ontology at its namespace: documentation (HTML) or the ontology with its alignment."""
    return _ontology("/ontology", (ONTOLOGY, f"{ONTOLOGY}/alignment"), None)


@bp.get("/ontology.<ext>")
def ontology_file(ext: str) -> Response:
    _, suffix = split_suffix(f"ontology.{ext}")
    if suffix is None:
        raise NotFound(f"no representation .{ext} of the ontology")
    return _ontology("/ontology", (ONTOLOGY, f"{ONTOLOGY}/alignment"), suffix)


@bp.get("/ontology/<name>")
def ontology_part(name: str) -> Response:
    """Documents published beside the ontology (``/ontology/alignment``)."""
    stem, suffix = split_suffix(name)
    path = f"/ontology/{stem}"

    def describe(iri: str) -> list[ox.Triple] | None:
        return describe_ontology(claimgraph().store, (iri,)) or _describe(iri)

    return _serve_description(path, suffix, describe, _resource_html(path))


# -- errors ------------------------------------------------------------------------------------


def error_response(status: int, name: str, message: str) -> Response | None:
    """The error page for linked-data requests (in the representation they negotiated) and for
    browsers anywhere; ``None`` leaves the error to the app's JSON / plain-text rendering."""
    rep: Representation | None = g.get("ld_representation")
    if rep is None:
        best = request.accept_mimetypes.best_match(["application/json", "text/plain", "text/html"])
        if best != "text/html":
            return None
        rep = HTML
    if rep.rdf is None:
        body = render_template("error.html", status=status, error=name, message=message)
    elif rep.name == "jsonld":
        # Valid JSON-LD that describes nothing (no context: the keys expand to no triples).
        body = json.dumps({"error": name, "message": message}, ensure_ascii=False)
    elif rep.name == "rdfxml":
        safe = message.replace("--", "- -")
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f"<!-- {name}: {safe} -->\n"
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
        )
    else:
        lines = message.splitlines() or [""]
        body = "".join(f"# {line}\n" for line in [f"{name}: {lines[0]}", *lines[1:]])
    return Response(body, status=status, content_type=rep.content_type)
