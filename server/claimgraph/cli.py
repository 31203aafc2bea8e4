"""The `claimgraph` command line. Thin: each command calls the core and renders its result.

Exit codes: 0 success (validate: the data conforms), 1 the data violates the shapes,
2 any other error (bad input, unreadable file, store in use); stderr says what and where.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
import pyoxigraph as ox

from claimgraph.config import Settings
from claimgraph.core import ClaimGraph, Registration
from claimgraph.errors import ClaimGraphError, InputError, ValidationFailed
from claimgraph.formats import FORMAT_NAMES, by_name
from claimgraph.iris import PREFIXES
from claimgraph.stats import collect
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.store.remote import LISTED_GRAPHS
from claimgraph.store.shared import RemoteStore
from claimgraph.validation import Report

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2
PROGRESS_MIN_BYTES = 8 * 1024 * 1024  # show a progress bar for loads larger than this


def _fail(err: ClaimGraphError) -> NoReturn:
    if isinstance(err, ValidationFailed):
        click.echo(f"error: {err.report.text(limit=50)}", err=True)
    else:
        click.echo(f"error: {err}", err=True)
    sys.exit(err.exit_code)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    settings: Settings = ctx.obj.replace(**{k: v for k, v in overrides.items() if v is not None})
    return settings


def _open(ctx: click.Context, **overrides: Any) -> ClaimGraph:
    settings = _settings(ctx, **overrides)
    graph = ClaimGraph(settings)
    ctx.call_on_close(graph.close)
    if settings.seed:
        graph.seed()
    return graph


def _store_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--store",
        "store",
        metavar="URL",
        help="Store URL (memory:, oxigraph:DIR or sparql+http(s)://…) instead of --data-dir.",
    )(fn)
    fn = click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        metavar="DIR",
        help="Directory of the on-disk store [env CLAIMGRAPH_DATA_DIR].",
    )(fn)
    return fn


def _print_report(report: Report) -> None:
    click.echo(report.text(limit=50), err=not report.conforms)


class _Group(click.Group):
    """Renders ClaimGraph errors as one line and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClaimGraphError as err:
            _fail(err)


@click.group(cls=_Group)
@click.version_option(package_name="claimgraph")
@click.pass_context
def main(ctx: click.Context) -> None:
    """ClaimGraph: a fact-check knowledge graph (actors, claims, statements, evidence)."""
    try:
        ctx.obj = Settings.from_env()
    except ClaimGraphError as err:
        _fail(err)


@main.command()
@click.option("--host", help="Interface to listen on [env CLAIMGRAPH_HOST].")
@click.option("--port", type=int, help="Port to listen on [env CLAIMGRAPH_PORT].")
@_store_options
@click.option("--threads", type=int, default=8, show_default=True, help="Worker threads.")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    store: str | None,
    threads: int,
) -> None:
    """Run the web service (waitress, a production WSGI server)."""
    import waitress

    # Server errors (with their request ids and tracebacks) and waitress's notices to stderr.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from claimgraph.app import create_app
    from claimgraph.web import waitress_options

    graph = _open(ctx, host=host, port=port, data_dir=data_dir, store=store)
    app = create_app(graph.settings, graph=graph)
    s = graph.settings
    click.echo(
        f"ClaimGraph on http://{s.host}:{s.port}/ (store: {s.store or s.data_dir or 'memory'})"
    )
    # Compute the pages' summaries (counts, rankings, the list indexes) now, not on the first
    # visitor's request: on a large graph they take seconds.
    threading.Thread(target=_warm_up, args=(app,), name="warm-up", daemon=True).start()
    waitress.serve(
        app, host=s.host, port=s.port, threads=threads, ident="claimgraph", **waitress_options(s)
    )


def _warm_up(app: Any) -> None:
    pages = app.extensions.get("claimgraph.page_processes")
    if pages is not None:  # each takes seconds to start: not on the first visitor's page
        pages.start()
    runner = app.extensions.get("claimgraph.propagation")
    if runner is not None:  # the derived graph of the data as it is at start
        runner.ensure()
    client = app.test_client()
    for path in ("/", "/claims", "/actors", "/sources", "/evidence", "/statements", "/topics"):
        client.get(path)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--graph",
    metavar="IRI",
    help="Graph for triples outside a named graph (default: <base>graph/<file name>).",
)
@click.option("--replace", is_flag=True, help="Empty the graphs being loaded first.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    help="Format of every file (default: by suffix).",
)
@_store_options
@click.pass_context
def load(
    ctx: click.Context,
    files: tuple[Path, ...],
    graph: str | None,
    replace: bool,
    fmt: str | None,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Load RDF files as one validated, atomic write (all files or nothing)."""
    for f in files:
        if not f.is_file():
            raise InputError(f"{f}: no such file")
    cg = _open(ctx, data_dir=data_dir, store=store)
    if isinstance(cg.store, EmbeddedStore):
        # No other thread reads it: a large load may be committed by swapping in a copy.
        cg.store.exclusive = True
    total = sum(f.stat().st_size for f in files)
    show = total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    with click.progressbar(length=total, label="parsing", file=sys.stderr, hidden=not show) as bar:
        result = cg.load(
            list(files),
            graph=graph,
            replace=replace,
            fmt=by_name(fmt) if fmt else None,
            on_read=bar.update,
        )
    click.echo(
        f"loaded {result.quads} quads from {result.files} file(s) into {', '.join(result.graphs)}"
    )
    if result.report.warnings:
        _print_report(result.report)


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "out",
    type=click.Choice(["text", "json", "turtle"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--shapes",
    "shapes",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Validate FILES against these shapes (repeatable), by pyshacl, without a store.",
)
@click.option(
    "--cached",
    is_flag=True,
    help="Print the last whole-graph report of a running server (its /validation.json).",
)
@click.option(
    "--server",
    metavar="URL",
    help="The server for --cached [default: http://HOST:PORT from the settings].",
)
@_store_options
@click.pass_context
def validate(
    ctx: click.Context,
    files: tuple[Path, ...],
    out: str,
    shapes: tuple[Path, ...],
    cached: bool,
    server: str | None,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Validate FILES as a load would (against the store), or the whole store; with
    --shapes, any FILES against any shapes; with --cached, print a running server's last
    report.

    Exit 0: conforms (warnings allowed); 1: violations; 2: error (and, with --cached, no
    report yet).
    """
    for f in (*files, *shapes):
        if not f.is_file():
            raise InputError(f"{f}: no such file")
    if cached:
        if files or shapes:
            raise InputError("--cached takes no FILES and no --shapes")
        _print_cached(_settings(ctx), server, out)
        return
    if shapes:
        if not files:
            raise InputError("--shapes needs the data FILES to validate")
        from claimgraph.validation import validate_with

        report = validate_with(_read_any(files), _read_any(shapes))
    else:
        cg = _open(ctx, data_dir=data_dir, store=store)
        if files:
            from claimgraph.store import Delta

            quads, _ = cg.read_files(list(files))
            report = cg.validator.validate_delta(cg.store, Delta(add=quads))
        else:
            report = cg.validator.validate_store(cg.store)
    if out == "json":
        click.echo(report.to_json())
    elif out == "turtle":
        click.echo(report.graph.serialize(format="turtle"))
    else:
        click.echo(report.text())
    sys.exit(EXIT_OK if report.conforms else EXIT_INVALID)


def _read_any(paths: tuple[Path, ...]) -> Any:
    """Files of any RDF format Oxigraph reads, as one rdflib graph (the union of their
    graphs), blank nodes kept; relative IRIs resolve against each file's own URI."""
    from rdflib import Graph

    from claimgraph.formats import by_path
    from claimgraph.terms import triples_to_graph

    graph = Graph()
    for path in paths:
        fmt = by_path(path)
        try:
            quads = ox.parse(path=str(path), format=fmt.ox, base_iri=path.resolve().as_uri())
            triples_to_graph(quads, graph)
        except (SyntaxError, ValueError, OSError) as err:
            raise InputError(f"{path}: cannot be read as {fmt.name}: {err}") from err
    return graph


def _print_cached(settings: Settings, server: str | None, out: str) -> None:
    """The whole-graph report a running server keeps, per write generation (it is not kept
    across restarts: the write generation is the process's own)."""
    import httpx

    base = (server or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        answer = httpx.get(f"{base}/validation.json", timeout=10.0)
        answer.raise_for_status()
        doc = answer.json()
    except (httpx.HTTPError, ValueError) as err:
        raise InputError(f"no report from {base}/validation.json: {err}") from err
    rep = doc.get("report")
    if out == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    elif out == "turtle":
        raise InputError("--cached reports are JSON or text (the server keeps no report graph)")
    elif rep is not None:
        state = "current" if rep["current"] else f"stale: the graph is at {doc['generation']}"
        click.echo(
            f"report of write generation {rep['generation']} ({state}), computed "
            f"{rep['computed']}: {rep['violations']} violation(s), {rep['warnings']} warning(s)"
        )
        for group in rep["groups"]:
            click.echo(f"{group['severity']}: {group['shape']}: {group['count']}")
            for r in group["results"]:
                where = r["focus_node"] + (f" {r['path']}" if r["path"] else "")
                click.echo(f"  {where}: {r['message']}")
    if rep is None:
        click.echo("error: no report yet: the server is computing one, ask again", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_OK if rep["conforms"] else EXIT_INVALID)


@main.command()
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default="trig", show_default=True)
@click.option("--graph", metavar="IRI", help="Export only this named graph.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="File (default: stdout).")
@_store_options
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    graph: str | None,
    output: Path | None,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Write the store (or one graph) as RDF."""
    cg = _open(ctx, data_dir=data_dir, store=store)
    rdf = by_name(fmt)
    g = None
    if graph:
        g = ox.NamedNode(graph)
        if not cg.store.has_graph(g):
            raise InputError(f"no graph {graph} in the store")
    if output is None:
        cg.store.dump(sys.stdout.buffer, rdf, g)
        sys.stdout.flush()
    else:
        with output.open("wb") as fh:
            cg.store.dump(fh, rdf, g)


QUERY_FORMATS = ("table", "csv", "tsv", "json", "xml", "ttl", *FORMAT_NAMES)


def _cell(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns):
                return f"{prefix}:{term.value[len(ns) :]}"
        return term.value
    if isinstance(term, ox.Literal):
        return term.value + (f"@{term.language}" if term.language else "")
    return str(term)


def _table(solutions: ox.QuerySolutions) -> str:
    names = [v.value for v in solutions.variables]
    rows = [[_cell(sol[n]) for n in names] for sol in solutions]
    widths = [min(60, max([len(n), *(len(r[i]) for r in rows)])) for i, n in enumerate(names)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c[: w - 1] + "…" if len(c) > w else c.ljust(w)
            for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    lines = [fmt(names), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


@main.command()
@click.argument("sparql", required=False)
@click.option(
    "--file",
    "qfile",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the query from a file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(QUERY_FORMATS),
    default="table",
    show_default=True,
    help="SELECT/ASK: table, csv, tsv, json, xml; "
    "CONSTRUCT/DESCRIBE: an RDF format (table means turtle).",
)
@_store_options
@click.pass_context
def query(
    ctx: click.Context,
    sparql: str | None,
    qfile: Path | None,
    fmt: str,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Run a SPARQL query over the union of all graphs."""
    if (sparql is None) == (qfile is None):
        raise InputError("give the query as an argument or with --file, not both")
    if qfile is not None:
        try:
            sparql = qfile.read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"{qfile}: cannot read: {err.strerror}") from err
    assert sparql is not None
    cg = _open(ctx, data_dir=data_dir, store=store)
    result = cg.store.query(sparql)
    out = sys.stdout.buffer
    if isinstance(result, ox.QueryTriples):
        rdf = by_name("turtle" if fmt == "table" else fmt)
        if rdf.datasets:
            raise InputError(f"a CONSTRUCT result is triples; --format {fmt} needs quads")
        ox.serialize(result, out, rdf.ox)
    elif fmt == "table":
        if isinstance(result, ox.QueryBoolean):
            click.echo("true" if bool(result) else "false")
        else:
            click.echo(_table(result))
    elif fmt in ("csv", "tsv", "json", "xml"):
        rf = {
            "csv": ox.QueryResultsFormat.CSV,
            "tsv": ox.QueryResultsFormat.TSV,
            "json": ox.QueryResultsFormat.JSON,
            "xml": ox.QueryResultsFormat.XML,
        }[fmt]
        result.serialize(out, rf)
    else:
        raise InputError(
            f"--format {fmt} is for CONSTRUCT/DESCRIBE; use table, csv, tsv, "
            "json or xml for SELECT/ASK"
        )
    sys.stdout.flush()


@main.command()
@_store_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def stats(ctx: click.Context, data_dir: Path | None, store: str | None, as_json: bool) -> None:
    """What the store holds: triples, graphs, resources by kind."""
    s = collect(_open(ctx, data_dir=data_dir, store=store).store)
    if as_json:
        import json

        click.echo(
            json.dumps({"triples": s.triples, "graphs": s.graphs, "classes": s.classes}, indent=2)
        )
        return
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["triples", s.triples])
    for label, n in s.classes.items():
        w.writerow([label, n])
    for g, n in s.graphs.items():
        w.writerow([f"graph {g}", n])
    click.echo(buf.getvalue().rstrip())


@main.command("import-claimreview")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--graph",
    metavar="IRI",
    help="Named graph to import into (default: <base>graph/claimreview).",
)
@click.option(
    "--language",
    metavar="TAG",
    help="Language of the markup's text when it does not say (BCP 47: en, fr, zh-Hans).",
)
@_store_options
@click.pass_context
def import_claimreview(
    ctx: click.Context,
    files: tuple[Path, ...],
    graph: str | None,
    language: str | None,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Import schema.org ClaimReview JSON-LD as one validated write (all files or nothing).

    Idempotent: importing the same markup again adds nothing. Exit 0: imported (warnings are
    printed); 1: the mapped data violates the shapes; 2: unreadable markup (nothing written).
    """
    from claimgraph.claimreview import import_markup

    documents = []
    for f in files:
        try:
            documents.append((str(f), f.read_bytes()))
        except OSError as err:
            raise InputError(f"{f}: cannot read: {err.strerror or err}") from err
    cg = _open(ctx, data_dir=data_dir, store=store)
    result = import_markup(cg, documents, graph=graph, language=language)
    click.echo(
        f"imported {len(result.reviews)} review(s) from {len(files)} file(s): "
        f"{result.added} quads added, {result.removed} removed"
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.report is not None and result.report.results:
        _print_report(result.report)


@main.group()
def graphs() -> None:
    """The named graphs ClaimGraph sees, and, on a remote store, which of the server's.

    A remote store shows ClaimGraph only the graphs registered in its registry graph: register
    those loaded into the server by other means (its bulk loader, another client).
    """


@graphs.command("list")
@click.option(
    "--unregistered",
    is_flag=True,
    help="The server's graphs that hold data but that ClaimGraph does not see (remote store; "
    "the server's own system graphs left out).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=LISTED_GRAPHS,
    show_default=True,
    help="With --unregistered: list at most this many.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_store_options
@click.pass_context
def list_graphs(
    ctx: click.Context,
    unregistered: bool,
    limit: int,
    as_json: bool,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """List the graphs ClaimGraph sees with their triples (tab-separated), or --unregistered."""
    cg = _open(ctx, data_dir=data_dir, store=store)
    complete = True
    if not unregistered:
        names = cg.store.graphs()
    elif isinstance(cg.store, RemoteStore):
        names, complete = cg.store.unregistered_graphs(limit)
    else:
        names = []
        click.echo("the embedded store shows every graph it holds: none is unregistered", err=True)
    counts = {g.value: cg.store.count(g) for g in names}
    if as_json:
        import json

        click.echo(json.dumps({"graphs": counts, "complete": complete}, indent=2))
    else:
        for g, n in counts.items():
            click.echo(f"{g}\t{n}")
    if not complete:
        click.echo(
            f"(more graphs are not registered: the first {limit} found are listed; see --limit)",
            err=True,
        )


def _graph_names(iris: tuple[str, ...]) -> list[ox.NamedNode]:
    names = []
    for iri in iris:
        try:
            names.append(ox.NamedNode(iri))
        except ValueError as err:
            raise InputError(
                f"{iri!r} is not an absolute IRI ({err}): nothing was changed"
            ) from None
    return names


def _remote_only(settings: Settings, command: str) -> None:
    """Refuse before the store is opened (or seeded): an embedded store has no registry."""
    url = settings.store
    if url is None or url == "memory:" or url.startswith("oxigraph:"):
        raise InputError(
            f"`graphs {command}` applies only to a remote store (--store sparql+http://…): the "
            "embedded store shows every graph it holds"
        )


_VALIDATE = click.option(
    "--validate/--no-validate",
    default=True,
    show_default=True,
    help="Validate against the shapes first, with the graphs ClaimGraph sees; refuse if the "
    "data violates them.",
)


@graphs.command()
@click.argument("iris", nargs=-1, required=True, metavar="IRI...")
@_VALIDATE
@_store_options
@click.pass_context
def register(
    ctx: click.Context,
    iris: tuple[str, ...],
    validate: bool,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Register graphs loaded into a remote store by other means, so that ClaimGraph sees them.

    One write, which bumps the store's write generation (other instances follow). Each graph
    must hold data, and no blank nodes. Exit 0: registered (or registered already); 1: the data
    violates the shapes; 2: any other error. Nothing is registered unless all can be.
    """
    names = _graph_names(iris)
    _remote_only(_settings(ctx, data_dir=data_dir, store=store), "register")
    cg = _open(ctx, data_dir=data_dir, store=store)
    result = cg.register_graphs(names, validate=validate)
    for g in result.unchanged:
        click.echo(f"{g.value} is registered already: nothing to do")
    for g in result.changed:
        click.echo(f"registered {g.value} ({_triples(result.triples[g])})")
    _print_outcome(result)


@graphs.command()
@click.argument("iris", nargs=-1, required=True, metavar="IRI...")
@_VALIDATE
@_store_options
@click.pass_context
def unregister(
    ctx: click.Context,
    iris: tuple[str, ...],
    validate: bool,
    data_dir: Path | None,
    store: str | None,
) -> None:
    """Unregister graphs of a remote store: ClaimGraph no longer sees them; their data stays.

    One write, which bumps the store's write generation. Exit 0: unregistered (or not
    registered); 1: what remains would violate the shapes; 2: any other error.
    """
    names = _graph_names(iris)
    _remote_only(_settings(ctx, data_dir=data_dir, store=store), "unregister")
    cg = _open(ctx, data_dir=data_dir, store=store)
    result = cg.unregister_graphs(names, validate=validate)
    for g in result.unchanged:
        click.echo(f"{g.value} is not registered: nothing to do")
    for g in result.changed:
        click.echo(f"unregistered {g.value} ({_triples(result.triples[g])}, still on the server)")
    _print_outcome(result)


def _triples(n: int) -> str:
    return f"{n} triple{'' if n == 1 else 's'}"


def _print_outcome(result: Registration) -> None:
    if result.generation is not None:
        click.echo(f"write generation {result.generation}")
    if result.report is not None and result.report.warnings:
        _print_report(result.report)
