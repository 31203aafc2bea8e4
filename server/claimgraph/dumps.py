"""Downloads of the whole graph and of each named graph, as TriG or N-Quads (gzip optional).

A dump is written by Oxigraph's streaming serializer into a temporary file once per write
generation and then streamed from disk, so a million-statement graph is never held in memory
and repeated downloads cost nothing. ``ETag`` and ``Last-Modified`` follow the graph's writes;
``If-None-Match`` / ``If-Modified-Since`` get 304 without dumping anything; ``Range`` (with
``If-Range``) resumes a download. A plain URL is sent gzip-encoded to clients that accept it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, request, send_file
from werkzeug.http import is_resource_modified

from claimgraph.core import ClaimGraph
from claimgraph.errors import NotFound, StoreError
from claimgraph.formats import RdfFormat, by_name
from claimgraph.iris import DUMP_NAME, uri
from claimgraph.linkeddata import version_tag
from claimgraph.store.remote import SparqlStore

bp = Blueprint("dumps", __name__)

# Formats as data: the suffix of a dump's file name → its RDF format.
DUMP_FORMATS: dict[str, RdfFormat] = {".trig": by_name("trig"), ".nq": by_name("nquads")}
GZIP = ".gz"


@dataclass(frozen=True)
class DumpName:
    stem: str  # "claimgraph", or a graph's <name>
    fmt: RdfFormat
    gz: bool

    @property
    def filename(self) -> str:
        return f"{self.stem}{self.fmt.suffix}{GZIP if self.gz else ''}"

    @property
    def media_type(self) -> str:
        return "application/gzip" if self.gz else f"{self.fmt.media_type}; charset=utf-8"


def parse_name(filename: str) -> DumpName | None:
    """``claimgraph.trig.gz`` → (claimgraph, TriG, gzip); ``None`` for any other file name."""
    gz = filename.endswith(GZIP)
    base = filename.removesuffix(GZIP) if gz else filename
    for suffix, fmt in DUMP_FORMATS.items():
        if base.endswith(suffix) and len(base) > len(suffix):
            return DumpName(base[: -len(suffix)], fmt, gz)
    return None


class DumpFiles:
    """The dump files of one app, in a private temporary directory removed with the app.

    Each file is keyed by its URL and remembers the write generation it was made at; a request
    for a newer generation writes a new file. Readers open the file before it may be replaced:
    on POSIX an open file outlives its unlinking, so a download is never cut short.
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="claimgraph-dumps-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.dir, ignore_errors=True)
        self._files: dict[str, tuple[str, Path]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def path(self, key: str, version: str, write: Any) -> Path:
        """The file for ``key`` at ``version``, written by ``write(out)`` if not there yet.
        It is unlinked when a newer version replaces it: open it at once (``send``)."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._files.get(key)
            if hit is None or hit[0] != version:
                fd, name = tempfile.mkstemp(dir=self.dir, suffix=".dump")
                try:
                    with os.fdopen(fd, "wb") as out:
                        write(out)
                except BaseException:
                    os.unlink(name)
                    raise
                if hit is not None:
                    hit[1].unlink(missing_ok=True)
                hit = (version, Path(name))
                self._files[key] = hit
            return hit[1]

    def close(self) -> None:
        self._finalizer()


def init_app(app: Flask) -> None:
    app.extensions["claimgraph.dumps"] = DumpFiles()


@bp.record_once
def _setup(state: Any) -> None:
    init_app(state.app)


def _claimgraph() -> ClaimGraph:
    cg: ClaimGraph = current_app.extensions["claimgraph"]
    return cg


def _writer(cg: ClaimGraph, name: DumpName, graph: ox.NamedNode | None) -> Any:
    def write(out: IO[bytes]) -> None:
        sink: Any = (
            gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) if name.gz else out
        )
        try:
            if graph is None:
                cg.store.dump(sink, name.fmt)
            elif name.fmt.ox == ox.RdfFormat.N_QUADS and isinstance(cg.store, SparqlStore):
                # The server's own lines with the graph added, as in the dump of the store.
                sink.writelines(cg.store.export_nquads(graph))
            else:
                # One graph, its quads keeping their graph name; streamed from the store.
                ox.serialize(cg.store.quads(None, None, None, graph), sink, name.fmt.ox)
        finally:
            if name.gz:
                sink.close()

    return write


def _send(name: DumpName, graph: ox.NamedNode | None) -> Response:
    """The dump as a file download: ranges and conditional requests by Werkzeug. The plain URL
    is sent gzip-encoded (the ``.gz`` file's bytes, ``Content-Encoding: gzip``) to clients that
    accept it, so that they read RDF, not an archive; the ``.gz`` URL is the archive itself."""
    cg = _claimgraph()
    # Read both before dumping: a write during the dump makes the next request dump again.
    version, last_modified = version_tag(cg), cg.last_modified
    encoded = not name.gz and request.accept_encodings["gzip"] > 0
    stored = DumpName(name.stem, name.fmt, gz=True) if encoded else name
    # A graph's name may be in any script; headers carry ASCII only (send_file writes the
    # file name as RFC 6266 filename*, the ETag carries it percent-encoded).
    etag = f"{version}-{uri(name.filename)}" + ("-gzip" if encoded else "")
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        resp = Response(status=304)  # nothing dumped to say so
        resp.set_etag(etag)
        resp.last_modified = last_modified
    else:
        files: DumpFiles = current_app.extensions["claimgraph.dumps"]
        key = stored.filename if graph is None else f"graph/{stored.filename}"
        resp = _file_response(
            lambda: files.path(key, version, _writer(cg, stored, graph)),
            name,
            etag=etag,
            last_modified=last_modified,
        )
    if encoded:
        resp.headers["Content-Encoding"] = "gzip"
    if not name.gz:
        resp.vary.add("Accept-Encoding")
    return resp


def _file_response(
    path: Callable[[], Path], name: DumpName, *, etag: str, last_modified: datetime
) -> Response:
    # A newer write may replace (unlink) the file between finding and opening it: ask again.
    for _ in range(3):
        try:
            return send_file(
                path(),
                mimetype=name.media_type,
                as_attachment=True,
                download_name=name.filename,
                conditional=True,
                etag=etag,
                last_modified=last_modified,
            )
        except FileNotFoundError:
            continue
    raise StoreError("the graph kept changing while its dump was being sent; try again")


@bp.get("/dumps/<filename>")
def dump(filename: str) -> Response:
    """The whole graph: ``/dumps/claimgraph.trig``, ``.nq``, ``.trig.gz``, ``.nq.gz``."""
    name = parse_name(filename)
    if name is None or name.stem != DUMP_NAME:
        raise NotFound(
            f"no dump {filename}: the dumps are {DUMP_NAME}.trig, {DUMP_NAME}.nq and their .gz"
        )
    return _send(name, None)


@bp.get("/dumps/graph/<filename>")
def graph_dump(filename: str) -> Response:
    """One named graph ``<base>graph/<name>``: ``/dumps/graph/<name>.trig`` (``.nq``, ``.gz``)."""
    name = parse_name(filename)
    cg = _claimgraph()
    if name is None:
        raise NotFound(f"no dump {filename}: use <graph name>.trig or .nq, optionally .gz")
    graph = ox.NamedNode(cg.iris.graph(name.stem))
    if cg.iris.graph_name(graph.value) != name.stem or not cg.store.has_graph(graph):
        raise NotFound(f"no graph <{cg.iris.base}graph/{name.stem}> in the store")
    return _send(name, graph)
