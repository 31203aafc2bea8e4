"""Static checks of SPARQL text before anything runs: no SERVICE (unless allow-listed), no
LOAD, bounded length and nesting.

The text is split into SPARQL's terminals (IRIs, strings, comments, variables, prefixed
names, blank-node labels, language tags, keywords) by one regular expression, so a keyword is
only a keyword where the grammar would read one: ``"SERVICE"`` in a string, ``?service``,
``service:x`` or ``<http://x/SERVICE>`` are not. rdflib's parser is not used: it is slow on
large text, recurses on nesting, and knows a different grammar than Oxigraph, which runs the
query. Because SPARQL allows ``\\uXXXX`` escapes, the keyword scan runs on the text as written
and with escapes expanded, and refuses if either shows a SERVICE or LOAD (Oxigraph expands them
only inside strings and IRIs today; the check does not depend on that).

Oxigraph's regex functions use Rust's ``regex`` crate (finite automata, linear time, no
backreferences), so ``FILTER regex`` and ``REPLACE`` cannot backtrack catastrophically; nothing
needs refusing for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from claimgraph.errors import QueryRefused

_PN_CHARS = r"\w\-\u00B7-\U000EFFFF"  # generous: what matters is where a token ends
_LOCAL_CHAR = rf"(?:[{_PN_CHARS}:%]|\\[_~.\-!$&'()*+,;=/?#@%])"
_LOCAL = rf"(?:{_LOCAL_CHAR}(?:{_LOCAL_CHAR}|\.+(?={_LOCAL_CHAR}))*)?"  # no trailing dot
_TOKEN = re.compile(
    rf"""
    (?P<ws>[\ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
      | \"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
      | '(?:[^'\\\n\r]|\\.)*'
      | "(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][{_PN_CHARS}]+)
  | (?P<bnode>_:[{_PN_CHARS}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<pname>(?:[^\W\d_](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)?:{_LOCAL})
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<punct>\^\^|&&|\|\||<=|>=|!=|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_OPEN, _CLOSE = "{([", "})]"
QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_KEYWORDS = frozenset(
    ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
)
ALLOWLIST_HINT = "the operator can allow endpoints with CLAIMGRAPH_SERVICE_ALLOWLIST"


@dataclass(frozen=True)
class Token:
    kind: str  # iri string var bnode langtag pname word number punct (no ws, no comments)
    text: str
    start: int
    end: int
    depth: int  # nesting depth of { ( [ before this token

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


@dataclass
class Analysis:
    """What the checks learned about a query or update, for the code that runs it."""

    tokens: list[Token]
    form: str | None = None  # SELECT / CONSTRUCT / DESCRIBE / ASK, UPDATE, or None
    has_dataset: bool = False  # FROM / FROM NAMED (queries) or USING / WITH (updates)
    depth: int = 0
    services: list[str] = field(default_factory=list)  # allow-listed SERVICE endpoints used


@dataclass(frozen=True)
class Limits:
    max_length: int = 100_000
    max_depth: int = 100
    service_allowlist: frozenset[str] = frozenset()

    @staticmethod
    def parse_allowlist(text: str) -> frozenset[str]:
        return frozenset(t for t in re.split(r"[\s,]+", text) if t)


def tokenize(text: str) -> list[Token]:
    """SPARQL terminals with their offsets and nesting depth (whitespace and comments dropped)."""
    tokens: list[Token] = []
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "punct"
        if kind in ("ws", "comment"):
            continue
        value = m.group()
        if kind == "punct" and value in _CLOSE:
            depth = max(0, depth - 1)
        tokens.append(Token(kind, value, m.start(), m.end(), depth))
        if kind == "punct" and value in _OPEN:
            depth += 1
    return tokens


def expand_escapes(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return m.group()
        return chr(code)

    return _ESCAPE.sub(one, text)


def max_depth(tokens: list[Token]) -> int:
    return max((t.depth + 1 for t in tokens if t.kind == "punct" and t.text in _OPEN), default=0)


def prologue_prefixes(tokens: list[Token]) -> tuple[dict[str, str], str | None]:
    """PREFIX declarations (prefix with its colon → namespace) and the last BASE, anywhere."""
    prefixes: dict[str, str] = {}
    base: str | None = None
    for i, t in enumerate(tokens):
        if t.is_word("PREFIX") and i + 2 < len(tokens):
            name, iri = tokens[i + 1], tokens[i + 2]
            if name.kind == "pname" and iri.kind == "iri":
                prefixes[name.text] = _resolve(iri.text[1:-1], base)
        elif t.is_word("BASE") and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
            base = _resolve(tokens[i + 1].text[1:-1], base)
    return prefixes, base


def _resolve(iri: str, base: str | None) -> str:
    return urljoin(base, iri) if base else iri


def _unescape_local(local: str) -> str:
    return re.sub(r"\\(.)", r"\1", local)


def endpoint_iri(token: Token, prefixes: dict[str, str], base: str | None) -> str | None:
    """The IRI a SERVICE names, or ``None`` when it is a variable or cannot be resolved."""
    if token.kind == "iri":
        iri = _resolve(token.text[1:-1], base)
        return iri if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", iri) else None
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        ns = prefixes.get(prefix + ":")
        return ns + _unescape_local(local) if ns is not None else None
    return None


def query_form(tokens: list[Token]) -> str | None:
    """The form of the first operation: a query form, ``UPDATE``, or ``None``."""
    for t in tokens:
        if t.kind != "word" or t.is_word("PREFIX", "BASE"):
            continue
        word = t.text.upper()
        if word in QUERY_FORMS:
            return word
        if word in UPDATE_KEYWORDS:
            return "UPDATE"
        return None
    return None


# Extensions of remote stores that reach outside the data: Virtuoso's pragmas (``DEFINE
# get:soft`` makes it fetch FROM graphs) and SQL built-ins (``bif:file_to_string``…).
_VENDOR_NAMESPACES = ("bif:", "sql:", "http://www.openlinksw.com/schemas/bif#")


def _vendor_extension(t: Token, prefixes: dict[str, str]) -> bool:
    if t.is_word("DEFINE"):
        return True
    if t.kind == "pname":
        prefix = t.text.split(":", 1)[0] + ":"
        return prefix in ("bif:", "sql:") and prefix not in prefixes
    if t.kind == "iri":
        return t.text[1:].lower().startswith(_VENDOR_NAMESPACES)
    return False


def _scan(tokens: list[Token], limits: Limits, what: str) -> list[str]:
    """Refuse LOAD and any SERVICE not allow-listed; return the allow-listed endpoints used."""
    prefixes, base = prologue_prefixes(tokens)
    used: list[str] = []
    for i, t in enumerate(tokens):
        if _vendor_extension(t, prefixes):
            raise QueryRefused(
                f"{t.text} is refused: vendor pragmas and built-ins (Virtuoso DEFINE, bif:, "
                "sql:) are not available through this endpoint"
            )
        if t.is_word("LOAD"):
            raise QueryRefused(
                "LOAD is refused: this endpoint never fetches documents on a client's behalf; "
                "upload data with the Graph Store protocol (PUT/POST /graph-store?graph=…)"
            )
        if not t.is_word("SERVICE"):
            continue
        j = i + 1
        if j < len(tokens) and tokens[j].is_word("SILENT"):
            j += 1
        target = tokens[j] if j < len(tokens) else None
        iri = endpoint_iri(target, prefixes, base) if target is not None else None
        if iri is None:
            shown = target.text if target is not None else "(nothing)"
            raise QueryRefused(
                f"SERVICE {shown} is refused: this endpoint does not send queries to other "
                f"servers ({ALLOWLIST_HINT}, by IRI; a variable endpoint is never allowed)"
            )
        if iri not in limits.service_allowlist:
            raise QueryRefused(
                f"SERVICE <{iri}> is refused: this endpoint does not send queries to other "
                f"servers unless the endpoint is allow-listed ({ALLOWLIST_HINT})"
            )
        used.append(iri)
    if used and what == "update":
        raise QueryRefused("SERVICE is not supported inside SPARQL Update; query it separately")
    return used


def check(text: str, limits: Limits, what: str = "query") -> Analysis:
    """Check a query (``what="query"``) or an update; raise ``QueryRefused`` if it is refused."""
    if len(text) > limits.max_length:
        raise QueryRefused(
            f"the {what} is {len(text)} characters long; this endpoint accepts at most "
            f"{limits.max_length} (CLAIMGRAPH_MAX_QUERY_LENGTH)"
        )
    tokens = tokenize(text)
    depth = max_depth(tokens)
    if depth > limits.max_depth:
        raise QueryRefused(
            f"the {what} nests {{ ( [ {depth} levels deep; this endpoint accepts at most "
            f"{limits.max_depth} (CLAIMGRAPH_MAX_QUERY_DEPTH)"
        )
    services = _scan(tokens, limits, what)
    expanded = expand_escapes(text)
    if expanded != text:
        _scan(tokenize(expanded), limits, what)
    form = query_form(tokens)
    keywords = ("USING", "WITH") if what == "update" else ("FROM",)
    has_dataset = any(t.is_word(*keywords) for t in tokens)
    return Analysis(tokens, form, has_dataset, depth, services)


def dataset_clause(tokens: list[Token]) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """A query's FROM and FROM NAMED graphs (resolved IRIs) and where the clauses are."""
    prefixes, base = prologue_prefixes(tokens)
    default: list[str] = []
    named: list[str] = []
    spans: list[tuple[int, int]] = []
    for i, t in enumerate(tokens):
        if not t.is_word("FROM"):
            continue
        j = i + 2 if i + 1 < len(tokens) and tokens[i + 1].is_word("NAMED") else i + 1
        iri = endpoint_iri(tokens[j], prefixes, base) if j < len(tokens) else None
        if iri is None:
            raise QueryRefused("FROM needs an IRI")
        (named if j == i + 2 else default).append(iri)
        spans.append((t.start, tokens[j].end))
    return default, named, spans


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with ``spans`` replaced by spaces (newlines kept: positions stay valid)."""
    chars = list(text)
    for start, end in spans:
        for k in range(start, end):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)
