"""The SPARQL endpoint's routes: ``/sparql`` (query, update=, service description, the query
page for browsers) and ``/update``. Protocol decisions live in ``protocol``; this module wires
them to Flask, the query executor and ``ClaimGraph.write``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from claimgraph.auth import check_write_token
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.errors import (
    ClaimGraphError,
    InputError,
    NotAcceptable,
    PayloadTooLarge,
    ValidationFailed,
)
from claimgraph.formats import by_name
from claimgraph.httperrors import log_server_error
from claimgraph.iris import PREFIXES
from claimgraph.negotiation import negotiate
from claimgraph.sparql import protocol, safety, service, worker
from claimgraph.sparql.cache import ResultCache
from claimgraph.sparql.executor import (
    NotAcceptableResult,
    QueryExecutor,
    default_query_memory,
    default_workers,
)
from claimgraph.sparql.protocol import Formats, Operation
from claimgraph.sparql.update import UpdateEvaluator, WhereDataset, masked, split_operations
from claimgraph.sparql.worker import Job, Outcome
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.web import site

bp = Blueprint("sparql", __name__)

HTML = "text/html"
# The service description in any RDF syntax (N3 too), but not for a bare application/json.
SD_TYPES = [t for t in protocol.RDF_MEDIA if t != "application/json"]
TRUNCATED = "X-ClaimGraph-Truncated"
ROW_LIMIT = "X-ClaimGraph-Row-Limit"
CACHE = "X-ClaimGraph-Cache"


class SparqlService:
    """Per-app state of the endpoint: the query executor and the store it reads.

    Writes hold ``graph.write_lock`` (the ClaimGraph's own) from computing their delta to
    committing it, so no other writer, here or elsewhere in the process, slips in between.
    """

    def __init__(self, graph: ClaimGraph, settings: Settings) -> None:
        s = settings
        self.graph = graph
        self.settings = s
        allow = safety.Limits.parse_allowlist(s.service_allowlist)
        self.limits = safety.Limits(s.max_query_length, s.max_query_depth, allow, s.max_query_chain)
        # Updates (token holders only) may be as long as a request body may be.
        self.update_limits = dataclasses.replace(self.limits, max_length=s.max_body_bytes)
        # The embedded store runs queries in killable workers on snapshots of it. A remote
        # store runs them on its server, bounded by our HTTP deadline (its ``timeout``); the
        # workers then only check update syntax.
        self.isolated = callable(getattr(graph.store, "snapshot", None))
        self.remote_timeout = "timeout" in inspect.signature(graph.store.query).parameters
        # Workers lose their network when no SERVICE endpoint is allowed (defence in depth).
        # (Over a remote store the workers only check update syntax: two are plenty.)
        self.executor = QueryExecutor(
            graph.store if self.isolated else None,  # type: ignore[arg-type]
            lambda: graph.generation,
            workers=s.query_workers or (default_workers() if self.isolated else 2),
            wait=s.query_wait,
            client_limit=s.query_client_limit,
            isolate_network=not allow,
            memory=(s.query_memory if s.query_memory is not None else default_query_memory())
            if self.isolated
            else 0,
        )
        if self.isolated:  # the workers' in-memory copies follow writes by their deltas
            graph.listen_weakly(self.executor.record)
        # Results are kept per write generation, which tells every change only while this
        # process owns the store (another instance may write to a remote one).
        self.cache = ResultCache(s.query_cache_bytes if self.isolated else 0)
        self.instance = uuid.uuid4().hex[:8]  # ETags of one process never match another's
        self._description: tuple[tuple[int, str], bytes, str] | None = None

    def close(self) -> None:
        self.executor.close()

    # -- service description ----------------------------------------------------------------
    def description(self, endpoint: str, void: str, fmt_name: str) -> bytes:
        key = (self.graph.generation, endpoint + " " + fmt_name)
        cached = self._description
        if cached is not None and cached[0] == key:
            return cached[1]
        store = self.graph.store
        graphs = tuple((g.value, store.count(g)) for g in store.graphs())
        limits = (
            f"Queries run at most {self.settings.query_timeout:g} s and return at most "
            f"{self.settings.max_rows} rows (more are cut, and the response carries "
            f"{TRUNCATED}: true). One client runs at most {self.settings.query_client_limit} "
            "queries at once. SERVICE is refused unless allow-listed; LOAD is refused. "
            "Updates need a bearer token and are validated with SHACL."
        )
        d = service.Description(
            endpoint, void, graphs, store.count(), bool(self.limits.service_allowlist), limits
        )
        fmt = by_name(fmt_name)
        prefixes = service.PREFIXES if fmt.name in ("turtle", "trig") else None
        body = ox.serialize(list(service.triples(d)), None, fmt.ox, prefixes=prefixes)
        assert isinstance(body, bytes)
        self._description = (key, body, fmt_name)
        return body


def init_app(app: Flask, settings: Settings) -> None:
    """Register the endpoint; ``settings`` are the app's (limits, write token)."""
    graph: ClaimGraph = app.extensions["claimgraph"]
    app.extensions["claimgraph.sparql"] = SparqlService(graph, settings)
    app.register_blueprint(bp)


def sparql_service() -> SparqlService:
    svc = current_app.extensions["claimgraph.sparql"]
    assert isinstance(svc, SparqlService)
    return svc


# -- request plumbing -------------------------------------------------------------------------
def _multi(d: MultiDict[str, str]) -> dict[str, list[str]]:
    return {k: d.getlist(k) for k in d}


def read_body(limit: int) -> bytes:
    """The request body, refused with 413 above ``limit`` bytes (before reading it)."""
    size = request.content_length
    if size is not None and size > limit:
        raise PayloadTooLarge(
            f"the request body is {size} bytes; this endpoint accepts at most {limit} "
            "(CLAIMGRAPH_MAX_BODY_BYTES)"
        )
    request.max_content_length = limit  # also bounds bodies sent without a length
    request.max_form_memory_size = limit  # Werkzeug's default would cut a form at 500 kB
    return request.get_data(cache=True)


def _operation(update_only: bool = False) -> Operation:
    svc = sparql_service()
    body = b""
    form: dict[str, list[str]] = {}
    protocol.check_percent_utf8(request.query_string, "query string")
    if request.method == "POST":
        body = read_body(svc.settings.max_body_bytes)
        if request.mimetype == protocol.FORM_TYPE:
            protocol.require_utf8(request.headers.get("Content-Type"))
            protocol.check_percent_utf8(body, "form body")
            form = _multi(request.form)
    return protocol.parse_request(
        request.method,
        _multi(request.args),
        form,
        body,
        request.headers.get("Content-Type"),
        update_only=update_only,
    )


def _graph_list(values: Sequence[str], name: str) -> tuple[str, ...]:
    for v in values:
        try:
            ox.NamedNode(v)
        except ValueError as err:
            raise InputError(f"{name}={v!r} is not an absolute IRI ({err})") from None
    return tuple(values)


def _params() -> Mapping[str, Sequence[str]]:
    return {**_multi(request.args), **(_multi(request.form) if request.form else {})}


def client_key() -> str:
    """Who sends the request, for the per-client query limit: the remote address the WSGI
    server reports (behind a reverse proxy, the proxy's, unless the server is told to trust
    its forwarding headers)."""
    return request.remote_addr or "unknown"


def _wants_html() -> bool:
    if any(request.values.get(p) for p in protocol.FORMAT_PARAMS):
        return False
    offers = [*protocol.RESULTS_MEDIA, *protocol.GRAPH_MEDIA, HTML]
    return negotiate(request.headers.get("Accept"), offers) == HTML


# -- routes -----------------------------------------------------------------------------------
def _check_token() -> None:
    check_write_token(sparql_service().settings.write_token, request.headers.get("Authorization"))


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    if request.method == "POST" and request.mimetype == protocol.UPDATE_TYPE:
        _check_token()  # before the body is read: a client without the token gets 401, not 413
    op = _operation()
    if op.update is not None:
        return _update(op)
    if not (op.query or "").strip():
        if request.method == "POST":
            raise InputError("the request has no query (or update) parameter")
        return _describe()
    return _query(op)


@bp.post("/update")
def update() -> Response:
    _check_token()  # before the body is read: a client without the token gets 401, not 413
    op = _operation(update_only=True)
    if not (op.update or "").strip():
        raise InputError(
            "the request has no update: send update=… or an application/sparql-update body"
        )
    return _update(op)


def _describe() -> Response:
    """``/sparql`` without a query: the query page for browsers, else the service description."""
    best = negotiate(request.headers.get("Accept"), [*SD_TYPES, HTML])
    if best is None:
        raise InputError(
            "the request has no query parameter; GET /sparql with an RDF Accept header gives "
            "the service description"
        )
    if best == HTML:
        return _page(status=200)
    fmt = by_name(protocol.RDF_MEDIA[best])
    svc = sparql_service()
    here = site()
    body = svc.description(here.sparql_endpoint(), here.void(), fmt.name)
    n3 = best in protocol.N3_MEDIA
    media_type = protocol.N3_TYPE if n3 else protocol.graph_media_type(fmt)
    response = Response(body, content_type=media_type)
    response.headers["Vary"] = "Accept"
    return response


def _etag(op: Operation, formats: Formats) -> str:
    svc = sparql_service()
    key = json.dumps(
        [op.query, op.default_graphs, op.named_graphs, formats.results, formats.graph, formats.n3]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return f"{svc.instance}-{svc.graph.generation}-{digest}"


def run_query(op: Operation, formats: Formats) -> Outcome:
    """Check and run a query in a worker, or answer it from the result cache (then the outcome
    says ``cached``); used by the routes and by the query page."""
    svc = sparql_service()
    assert op.query is not None
    analysis = safety.check(op.query, svc.limits, "query")
    if analysis.form == "UPDATE":
        raise InputError("this is a SPARQL Update: POST it to /update (or as update= to /sparql)")
    given = bool(op.default_graphs or op.named_graphs)
    job = Job(
        op.query,
        # FROM / FROM NAMED in the query define its dataset; otherwise the union
        union=not analysis.has_dataset,
        default_graph=_graph_list(op.default_graphs, "default-graph-uri") if given else None,
        named_graphs=_graph_list(op.named_graphs, "named-graph-uri") if given else None,
        results_format=formats.results,
        graph_format=formats.graph,
        max_rows=svc.settings.max_rows,
        max_bytes=svc.settings.max_result_bytes,
        prefixes=tuple(PREFIXES.items()),
    )
    generation = svc.graph.generation  # before the query: its snapshot is this one or later
    kept = svc.cache.get(job, generation)
    if kept is not None:
        return dataclasses.replace(kept, cached=True)
    try:
        outcome = execute(svc, job, analysis)
        svc.cache.put(job, generation, outcome)
        return outcome
    except NotAcceptableResult as err:
        kind = "SELECT/ASK results" if str(err) != "triples" else "CONSTRUCT/DESCRIBE results"
        raise NotAcceptable(
            f"{kind} cannot be sent in any format the Accept header allows "
            f"({request.headers.get('Accept')!r})"
        ) from None


def execute(
    svc: SparqlService, job: Job, analysis: safety.Analysis | None, snapshot: Path | None = None
) -> Outcome:
    """Run a checked query: in a worker (embedded store), or on the remote store's server."""
    timeout = svc.settings.query_timeout
    if svc.isolated:
        return svc.executor.run(job, timeout=timeout, snapshot=snapshot, client=client_key())
    store = svc.graph.store
    sparql = job.sparql
    default = list(job.default_graph) if job.default_graph is not None else None
    named = list(job.named_graphs) if job.named_graphs is not None else None
    if analysis is not None and analysis.has_dataset:
        # FROM goes to the server as protocol parameters, and only for graphs it holds of
        # ours: a server must not be asked to fetch a graph (Virtuoso can).
        from_default, from_named, spans = safety.dataset_clause(analysis.tokens)
        sparql = safety.blank(sparql, spans)
        if default is None and named is None:
            default, named = from_default, from_named
    if default is not None or named is not None:
        known = {g.value for g in store.graphs()}
        default = [g for g in default or [] if g in known]
        named = [g for g in named or [] if g in known]
    extra: dict[str, Any] = {"timeout": timeout} if svc.remote_timeout else {}
    result = store.query(
        sparql,
        default_graph=[ox.NamedNode(g) for g in default] if default is not None else None,
        named_graphs=[ox.NamedNode(g) for g in named] if named is not None else None,
        **extra,
    )
    try:
        return worker.serialize(result, job)
    except worker.NotAcceptableResult as err:
        raise NotAcceptableResult(str(err)) from None


def _query(op: Operation) -> Response:
    if _wants_html():
        return _page(op)
    formats = protocol.choose_formats(request.headers.get("Accept"), _params())
    svc = sparql_service()
    # The write generation is a validator only while this process owns the store: another
    # instance may write to a remote one.
    cacheable = request.method in ("GET", "HEAD") and svc.isolated
    etag = _etag(op, formats) if cacheable else None
    if etag is not None and request.if_none_match.contains_weak(etag):
        response = Response(status=304)
        response.set_etag(etag, weak=True)
        response.headers["Vary"] = "Accept"
        return response
    outcome = run_query(op, formats)
    response = Response(outcome.body, content_type=formats.media_type(outcome.kind))
    response.headers["Vary"] = "Accept"
    response.headers[CACHE] = "hit" if outcome.cached else "miss"
    if any(name in request.values for name in protocol.FORMAT_PARAMS):  # a download link
        disposition = f'inline; filename="{formats.filename(outcome.kind)}"'
        response.headers["Content-Disposition"] = disposition
    if etag is not None:
        response.set_etag(etag, weak=True)
    if outcome.truncated:
        response.headers[TRUNCATED] = "true"
        response.headers[ROW_LIMIT] = str(svc.settings.max_rows)
    return response


# -- the query page (a minimal one; the reader-facing UI is built elsewhere) --------------------
@dataclass(frozen=True)
class _Cell:
    text: str
    iri: str | None = None  # only an IRI may become a link, never a literal that looks like one


@dataclass
class _Table:
    columns: list[str]
    rows: list[list[_Cell]]


def _cell(binding: dict[str, Any] | None) -> _Cell:
    if binding is None:
        return _Cell("")
    value = str(binding.get("value", ""))
    if binding.get("type") == "uri":
        return _Cell(value, iri=value)
    if binding.get("type") == "literal" and binding.get("xml:lang"):
        return _Cell(f"{value} @{binding['xml:lang']}")
    return _Cell(value)


def _page(op: Operation | None = None, *, status: int = 200) -> Response:
    query = op.query if op is not None else None
    table: _Table | None = None
    text: str | None = None
    error: str | None = None
    truncated = False
    if op is not None:
        try:
            outcome = run_query(op, Formats("json", "turtle"))
        except ClaimGraphError as err:
            error, status = str(err), err.http_status
            if status >= 500:
                log_server_error(status, err)
        else:
            truncated = outcome.truncated
            if outcome.kind == "triples":
                text = outcome.body.decode()
            else:
                doc = json.loads(outcome.body)
                if "boolean" in doc:
                    text = "true" if doc["boolean"] else "false"
                else:
                    columns = list(doc["head"]["vars"])
                    rows = [[_cell(b.get(c)) for c in columns] for b in doc["results"]["bindings"]]
                    table = _Table(columns, rows)
    svc = sparql_service()
    html = render_template(
        "sparql.html",
        query=query,
        table=table,
        text=text,
        error=error,
        truncated=truncated,
        max_rows=svc.settings.max_rows,
        timeout=svc.settings.query_timeout,
    )
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = f'<{url_for("sparql.sparql")}>; rel="alternate"; type="text/turtle"'
    return response


# -- update -----------------------------------------------------------------------------------
def _update(op: Operation) -> Response:
    svc = sparql_service()
    graph = svc.graph
    _check_token()  # update= in a form to /sparql is known to be an update only once read
    assert op.update is not None
    analysis = safety.check(op.update, svc.update_limits, "update")
    if analysis.form in safety.QUERY_FORMS:
        raise InputError("this is a query, not an update: send it to /sparql as query=…")
    for v in (*op.default_graphs, *op.named_graphs):
        _graph_list([v], "using-graph-uri")
    timeout = svc.settings.query_timeout
    # Oxigraph parses the update first, in a worker (exact syntax errors with line and column;
    # a hostile update cannot hang the server).
    operations = split_operations(op.update, analysis.tokens)
    masked_ops = tuple(masked(op.update, o) for o in operations) if len(operations) > 1 else ()
    check = Job(op.update, check_update=True, operations=masked_ops)
    svc.executor.run(check, timeout=timeout, client=client_key())

    def run_select(sparql: str, dataset: WhereDataset, scratch: Path | None) -> bytes:
        job = Job(
            sparql,
            union=dataset.default_graph is None,
            default_graph=dataset.default_graph,
            named_graphs=dataset.named_graphs,
            results_format="json",
            graph_format=None,
            max_bytes=svc.settings.max_result_bytes,
        )
        outcome = execute(svc, job, None, scratch)
        if outcome.truncated:
            raise InputError(
                "a WHERE clause of this update matches more than one request may change "
                "(CLAIMGRAPH_MAX_RESULT_BYTES); split the update"
            )
        return outcome.body

    def make_scratch(delta: Delta) -> Path:
        if not svc.isolated:
            raise InputError(
                "on a remote store, an operation with WHERE cannot follow one that changed data "
                "in the same request; send them as separate requests"
            )
        path = svc.executor.scratch_dir()
        graph.store.snapshot(path)  # type: ignore[attr-defined]
        scratch = EmbeddedStore(path)
        scratch.apply(delta)
        scratch.close()
        return path

    with svc.graph.write_lock:
        evaluator = UpdateEvaluator(graph.store, graph.iris, run_select, make_scratch)
        delta = evaluator.evaluate(op.update, analysis.tokens, op.default_graphs, op.named_graphs)
        report = graph.write(delta)
    return write_summary(delta, report.text() if report.results else None)


def write_summary(delta: Delta, warnings: str | None, status: int = 200) -> Response:
    """What a write did, as JSON or text (never a 406: the write has happened)."""
    best = negotiate(request.headers.get("Accept"), ["application/json", "text/plain"])
    dropped = [g.value for g in delta.drop_graphs]
    validation = warnings or "the data conforms to the shapes"
    if best == "application/json":
        data = {
            "added": len(delta.add),
            "removed": len(delta.remove),
            "droppedGraphs": dropped,
            "validation": validation,
        }
        return Response(json.dumps(data, ensure_ascii=False), status, mimetype="application/json")
    lines = [
        f"{len(delta.add)} quad(s) added, {len(delta.remove)} removed"
        + (f", graphs dropped: {', '.join(dropped)}" if dropped else ""),
        validation,
    ]
    return Response("\n".join(lines) + "\n", status, content_type="text/plain; charset=utf-8")


# -- errors and headers for every response of the endpoint --------------------------------------
@bp.errorhandler(ValidationFailed)
def validation_failed(err: ValidationFailed) -> Response:
    body, media_type = protocol.report_body(err.report, request.headers.get("Accept"))
    response = Response(body, status=422, content_type=media_type)
    response.headers["Vary"] = "Accept"
    return response


@bp.after_request
def add_headers(response: Response) -> Response:
    """Challenge and retry hints (CORS is the app's: ``claimgraph.web``)."""
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="ClaimGraph"')
    if response.status_code in (429, 503):
        response.headers.setdefault("Retry-After", "5")
    return response
