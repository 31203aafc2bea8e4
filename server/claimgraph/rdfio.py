"""Reading RDF files and bodies into quads, with errors that say where.

Oxigraph parses every format (it is fast, reports line and column, and never fetches a
remote JSON-LD ``@context``). Blank nodes are skolemized (RDF 1.1 §3.5) so that every
written node has an IRI: it can be dereferenced, validated on its own and deleted later.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from claimgraph import depth
from claimgraph.config import Settings
from claimgraph.errors import InputError, RdfSyntaxError
from claimgraph.formats import RdfFormat, by_path
from claimgraph.iris import Iris


class _CountingReader:
    """A binary reader that reports how many bytes have gone through it."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self.raw, self.on_read = raw, on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        self.on_read(len(chunk))
        return chunk


# A DTD entity declaration in RDF/XML lets a few hundred bytes expand to gigabytes in the
# parser (nested entities; 677 bytes built a 1 GB literal): such documents are refused.
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def check(data: bytes, fmt: RdfFormat, source: str, max_depth: int) -> None:
    """Refuse what would make the parser explode in memory, time or stack, before it runs."""
    if fmt.name == "rdfxml":
        if _ENTITY.search(data):
            raise RdfSyntaxError(
                "RDF/XML with DTD entity declarations (<!ENTITY …>) is not accepted", source=source
            )
        depth.check_xml(data, max_depth, source)
    elif fmt.name == "jsonld":
        depth.check_json(data, max_depth, source, "JSON-LD")
    else:
        depth.check_turtle(data, max_depth, source)


def _syntax_error(err: SyntaxError, source: str) -> RdfSyntaxError:
    msg = err.msg if isinstance(err.msg, str) else str(err)
    return RdfSyntaxError(msg, source=source, line=err.lineno, column=err.offset)


def parse(
    data: IO[bytes] | bytes,
    fmt: RdfFormat,
    *,
    graph: ox.NamedNode,
    iris: Iris,
    source: str = "<input>",
    base_iri: str | None = None,
    max_depth: int = Settings.max_data_depth,
    on_read: Callable[[int], None] | None = None,
) -> list[ox.Quad]:
    """Parse ``data``; triples in the default graph go to ``graph``; blank nodes get IRIs.

    Input nested deeper than ``max_depth`` is refused before it is parsed (``server.depth``);
    ``on_read`` is told the bytes the parser reads, for progress bars."""
    skolem: dict[ox.BlankNode, ox.NamedNode] = {}

    def fix(term: ox.NamedNode | ox.BlankNode) -> ox.NamedNode:
        if isinstance(term, ox.BlankNode):
            if term not in skolem:
                skolem[term] = ox.NamedNode(iris.genid())
            return skolem[term]
        return term

    raw = data if isinstance(data, bytes) else data.read()
    check(raw, fmt, source, max_depth)
    reader: Any = _CountingReader(io.BytesIO(raw), on_read) if on_read else raw
    quads: list[ox.Quad] = []
    try:
        for q in ox.parse(reader, fmt.ox, base_iri=base_iri):
            g = graph if isinstance(q.graph_name, ox.DefaultGraph) else fix(q.graph_name)
            o = q.object
            if isinstance(o, ox.BlankNode):
                o = fix(o)
            elif isinstance(o, ox.Triple):
                raise InputError(f"{source}: RDF-star quoted triples are not supported")
            quads.append(ox.Quad(fix(q.subject), q.predicate, o, g))
    except SyntaxError as err:
        raise _syntax_error(err, source) from err
    except UnicodeDecodeError as err:
        raise RdfSyntaxError(f"not UTF-8 text ({err.reason})", source=source) from err
    return quads


def parse_file(
    path: Path,
    *,
    graph: ox.NamedNode,
    iris: Iris,
    fmt: RdfFormat | None = None,
    on_read: Callable[[int], None] | None = None,
    max_depth: int = Settings.max_data_depth,
) -> list[ox.Quad]:
    """Parse one file (``.gz`` too); ``on_read`` is told the bytes read, for progress bars."""
    fmt = fmt or by_path(path)
    try:
        raw: Any = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from err
    with raw:
        try:
            # Read whole: the depth checks scan it before the parser reads it.
            data = raw.read()
        except (OSError, EOFError) as err:  # e.g. a truncated .gz
            raise InputError(f"{path}: cannot read: {err}") from err
    # Relative IRIs resolve against the canonical base, never against a local path.
    return parse(
        data,
        fmt,
        graph=graph,
        iris=iris,
        source=str(path),
        base_iri=iris.base,
        max_depth=max_depth,
        on_read=on_read,
    )


def iter_graph_names(quads: list[ox.Quad]) -> Iterator[ox.NamedNode]:
    seen: set[ox.NamedNode] = set()
    for q in quads:
        g = q.graph_name
        if isinstance(g, ox.NamedNode) and g not in seen:
            seen.add(g)
            yield g
