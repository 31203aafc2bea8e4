"""Nesting-depth checks of RDF and JSON input, run before a parser that recurses sees it.

Oxigraph's JSON-LD parser recurses per nested object and per scoped ``@context``, and its
Turtle family parsers per nested RDF 1.2 triple term ``<<( … )>>``: a few thousand levels
overflow the native stack and kill the whole process (no Python exception to catch). Its
RDF/XML parser, and JSON-LD's expansion, take time quadratic in the depth (24,000 nested
elements: 12 s). Python's ``json`` raises ``RecursionError`` near 1,000 levels. Each check
here is one linear pass over the bytes; a document nested deeper than the limit is refused
with a message that says where.
"""

from __future__ import annotations

import re
from xml.parsers import expat

from claimgraph.errors import RdfSyntaxError

# A JSON string (escapes included) or one bracket: strings are skipped whole, so brackets
# inside them do not count.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_JSON_OPEN = frozenset(b"[{")

# Turtle, TriG, N-Triples, N-Quads: comments, strings (long ones first) and IRIs are skipped
# whole (an IRI as the grammar's IRIREF, so ``<<`` is never read as one), and so is an escape
# in a local name; what is left to count are the ``<<`` and ``>>`` of triple terms. (Blank
# node property lists, collections and annotations are parsed without recursion, in linear
# time: a million nested ``[`` take a second.)
_TURTLE_TOKEN = re.compile(
    rb"""\#[^\n\r]*
    |\"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
    |'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
    |"[^"\\\n\r]*(?:\\.[^"\\\n\r]*)*"
    |'[^'\\\n\r]*(?:\\.[^'\\\n\r]*)*'
    |<[^\x00-\x20<>"{}|^`\\]*(?:\\[uU][0-9A-Fa-f]{4,8}[^\x00-\x20<>"{}|^`\\]*)*>
    |\\.
    |<<|>>
    """,
    re.VERBOSE | re.DOTALL,
)


class TooDeep(RdfSyntaxError):
    """Input nested deeper than the operator's limit (``CLAIMGRAPH_MAX_DATA_DEPTH``)."""


def _too_deep(data: bytes, offset: int, what: str, limit: int, source: str) -> TooDeep:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return TooDeep(
        f"{what} nested deeper than {limit} levels (CLAIMGRAPH_MAX_DATA_DEPTH)",
        source=source,
        line=line,
        column=column,
    )


def check_json(data: bytes, limit: int, source: str, what: str = "JSON") -> None:
    """Refuse JSON (JSON-LD) whose objects and arrays nest deeper than ``limit``."""
    if data.count(b"{") + data.count(b"[") <= limit:
        return  # cannot be deeper: skip the scan
    depth = 0
    for m in _JSON_TOKEN.finditer(data):
        c = data[m.start()]
        if c in _JSON_OPEN:
            depth += 1
            if depth > limit:
                raise _too_deep(data, m.start(), what, limit, source)
        elif c != 0x22:  # a closer (0x22: a string, skipped)
            depth -= 1


def check_turtle(data: bytes, limit: int, source: str) -> None:
    """Refuse Turtle, TriG, N-Triples or N-Quads whose triple terms nest deeper than ``limit``."""
    if data.count(b"<<") <= limit:
        return  # the usual case: no triple term at all, nothing to scan
    depth = 0
    for m in _TURTLE_TOKEN.finditer(data):
        token = m.group()
        if token == b"<<":
            depth += 1
            if depth > limit:
                raise _too_deep(data, m.start(), "RDF triple terms", limit, source)
        elif token == b">>":
            depth = max(0, depth - 1)


def check_xml(data: bytes, limit: int, source: str) -> None:
    """Refuse XML whose elements nest deeper than ``limit`` (expat: linear, and it never
    fetches an external DTD or entity)."""
    if data.count(b"<") <= limit:
        return
    parser = expat.ParserCreate()
    depth = 0

    def start(_name: str, _attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > limit:
            raise TooDeep(
                f"XML elements nested deeper than {limit} levels (CLAIMGRAPH_MAX_DATA_DEPTH)",
                source=source,
                line=parser.CurrentLineNumber,
                column=parser.CurrentColumnNumber + 1,
            )

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        # Not well-formed: Oxigraph would refuse it too; say so with expat's position.
        raise RdfSyntaxError(
            f"not well-formed XML: {expat.ErrorString(err.code)}",
            source=source,
            line=err.lineno,
            column=err.offset + 1,
        ) from None
