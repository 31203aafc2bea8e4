"""SPARQL 1.1 Graph Store HTTP Protocol at ``/graph-store?graph=IRI`` (or ``?default``).

GET/HEAD a graph in any RDF format; PUT replaces it, POST adds to it (POST without ``graph``
creates a new graph with a minted name), DELETE drops it. A PUT or POST body is one RDF
document, or a multipart/form-data body of several, added together. Writes need the write
token and go through ``ClaimGraph.write``: validated with SHACL, atomic. The default graph is
the union of the named graphs: it can be read, not written.
"""

from __future__ import annotations

import hashlib
import tempfile

import pyoxigraph as ox
from flask import Blueprint, Response, request
from werkzeug.wsgi import wrap_file

from claimgraph.auth import check_write_token
from claimgraph.errors import (
    InputError,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    UnsupportedFormatError,
    UnsupportedMediaType,
    ValidationFailed,
)
from claimgraph.formats import RDF_FORMATS, RdfFormat, by_media_type, by_path
from claimgraph.negotiation import negotiate
from claimgraph.rdfio import parse
from claimgraph.sparql.protocol import graph_media_type, require_utf8
from claimgraph.sparql.views import (
    add_headers,
    read_body,
    sparql_service,
    validation_failed,
    write_summary,
)
from claimgraph.store import Delta, check_writable
from claimgraph.web import site

bp = Blueprint("graphstore", __name__)
bp.register_error_handler(ValidationFailed, validation_failed)

OFFERS = {t: f for f in RDF_FORMATS for t in f.media_types}
READ_METHODS = "GET, HEAD, OPTIONS"
MULTIPART = "multipart/form-data"
SPOOL_BYTES = 16 * 1024 * 1024  # larger responses are spooled to a temporary file


def _target() -> ox.NamedNode | None:
    """The graph the request names; ``None`` for ``?default``; 400 for neither or both."""
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) > 1 or (graphs and default):
        raise InputError("name one graph: ?graph=IRI or ?default, once")
    if not graphs and not default:
        raise InputError("name the graph: /graph-store?graph=IRI, or ?default for the union")
    if default:
        return None
    try:
        return ox.NamedNode(graphs[0])
    except ValueError as err:
        raise InputError(f"graph={graphs[0]!r} is not an absolute IRI ({err})") from None


@bp.route("/graph-store", methods=["GET", "PUT", "POST", "DELETE"])
def graph_store() -> Response:
    if request.method == "POST" and not request.args:
        return _write_new()  # POST to the graph store itself: the server names a new graph
    target = _target()
    if request.method in ("GET", "HEAD"):
        return _read(target)
    svc = sparql_service()
    check_write_token(svc.settings.write_token, request.headers.get("Authorization"))
    if target is None:
        raise MethodNotAllowed(
            "the default graph is the union of the named graphs: it can be read, not written; "
            "write to a named graph with ?graph=IRI"
        )
    check_writable(target)
    store = svc.graph.store
    # The body is parsed before the write lock is taken: other writers do not wait on it.
    quads = _body_quads(target) if request.method != "DELETE" else []
    with svc.graph.write_lock:
        existed = store.has_graph(target)
        if request.method == "DELETE":
            if not existed:
                raise NotFound(f"there is no graph <{target.value}> in the store")
            delta = Delta(drop_graphs=[target])
        else:
            replace = request.method == "PUT" and existed
            delta = Delta(add=quads, drop_graphs=[target] if replace else [])
        report = svc.graph.write(delta)
    warnings = report.text() if report.results else None
    if existed or request.method == "DELETE":
        return write_summary(delta, warnings)
    return _created(target, delta, warnings)


def _write_new() -> Response:
    """POST to the graph store itself (GSP §5.5): the data goes into a new graph, named here."""
    svc = sparql_service()
    check_write_token(svc.settings.write_token, request.headers.get("Authorization"))
    target = ox.NamedNode(svc.graph.iris.new_graph())
    quads = _body_quads(target)
    delta = Delta(add=quads)
    with svc.graph.write_lock:
        report = svc.graph.write(delta)
    return _created(target, delta, report.text() if report.results else None)


def _created(target: ox.NamedNode, delta: Delta, warnings: str | None) -> Response:
    response = write_summary(delta, warnings, status=201)
    response.headers["Location"] = site().graph_store(target.value)
    return response


def _body_quads(target: ox.NamedNode) -> list[ox.Quad]:
    """The request's RDF as quads of ``target``: one document, or each part of a
    multipart/form-data body (GSP §5.4), all of them or none."""
    svc = sparql_service()
    if request.mimetype == MULTIPART:
        parts = _parts(svc.settings.max_body_bytes)
    else:
        body = read_body(svc.settings.max_body_bytes)
        parts = [("request body", body, _format(request.headers.get("Content-Type"), None))]
    quads: list[ox.Quad] = []
    for source, data, fmt in parts:
        quads += parse(
            data,
            fmt,
            graph=target,
            iris=svc.graph.iris,
            source=source,
            base_iri=target.value,
            max_depth=svc.settings.max_data_depth,
        )
    others = {q.graph_name.value for q in quads if q.graph_name != target}  # type: ignore[union-attr]
    if others:
        raise InputError(
            f"the body puts triples in other graphs ({', '.join(sorted(others))}); "
            "the Graph Store protocol writes one graph per request"
        )
    return quads


def _parts(limit: int) -> list[tuple[str, bytes, RdfFormat]]:
    """Each file of a multipart/form-data body, with its format: its own Content-Type, else
    the one its file name tells."""
    read_body(limit)  # the size limits, checked before anything is parsed
    if request.form:  # Werkzeug keeps a part without a file name as a text field
        field = next(iter(request.form))
        raise UnsupportedMediaType(
            f"part {field!r} is not a file: send each RDF document as a part with a file name "
            "(and its Content-Type, or a name ending in .ttl, .nt, .jsonld, .rdf, …)"
        )
    parts = []
    for field, part in request.files.items(multi=True):
        source = f"part {field!r}" + (f" ({part.filename})" if part.filename else "")
        given = part.mimetype if part.mimetype not in ("", "application/octet-stream") else None
        try:
            fmt = _format(part.content_type if given else None, part.filename)
        except UnsupportedMediaType as err:
            raise UnsupportedMediaType(f"{source}: {err}") from None
        parts.append((source, part.read(), fmt))
    if not parts:
        raise InputError(
            "the multipart/form-data body has no file parts: send each RDF document as a part "
            "with a Content-Type or a file name ending in .ttl, .nt, .jsonld, .rdf, …"
        )
    return parts


def _format(content_type: str | None, filename: str | None) -> RdfFormat:
    """The RDF format of a body (or a part) by its media type, else by its file name."""
    known = ", ".join(f.media_type for f in RDF_FORMATS)
    if content_type:
        require_utf8(content_type)
        try:
            return by_media_type(content_type)
        except UnsupportedFormatError:
            raise UnsupportedMediaType(
                f"cannot read a body of type {content_type!r}; send one of {known}"
            ) from None
    if filename:
        try:
            return by_path(filename)
        except UnsupportedFormatError as err:
            raise UnsupportedMediaType(f"{err}, or send the part with its Content-Type") from None
    raise UnsupportedMediaType(f"send the graph with a Content-Type ({known}, or {MULTIPART})")


def _read(target: ox.NamedNode | None) -> Response:
    svc = sparql_service()
    store = svc.graph.store
    if target is not None and not store.has_graph(target):
        raise NotFound(f"there is no graph <{target.value}> in the store")
    best = negotiate(request.headers.get("Accept"), list(OFFERS))
    if best is None:
        raise NotAcceptable(
            f"a graph can be sent as {', '.join(f.media_type for f in RDF_FORMATS)}; "
            f"none matches Accept: {request.headers.get('Accept')!r}"
        )
    fmt = OFFERS[best]
    if not svc.isolated:  # another instance may write to a remote store: no validator
        response = _serialized(target, fmt)
    else:
        name = target.value if target is not None else ""
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        etag = f"{svc.instance}-{svc.graph.generation}-{fmt.name}-{digest}"
        if request.if_none_match.contains_weak(etag):
            response = Response(status=304)
        else:
            response = _serialized(target, fmt)
        response.set_etag(etag, weak=True)
    response.headers["Vary"] = "Accept"
    return response


def _serialized(target: ox.NamedNode | None, fmt: RdfFormat) -> Response:
    """The graph written by Oxigraph into a spooled file and streamed from it."""
    store = sparql_service().graph.store
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by wrap_file)
    if target is not None:
        store.dump(out, fmt, target)
    else:
        union = store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
        ox.serialize(union, out, fmt.ox)  # type: ignore[arg-type]
    size = out.tell()
    out.seek(0)
    response = Response(
        wrap_file(request.environ, out),
        content_type=graph_media_type(fmt),
        direct_passthrough=True,
    )
    response.content_length = size
    return response


@bp.after_request
def graph_store_headers(response: Response) -> Response:
    if response.status_code == 405:
        response.headers["Allow"] = READ_METHODS
    return add_headers(response)
