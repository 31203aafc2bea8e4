"""Static checks of SPARQL text before anything runs: no SERVICE (unless allow-listed), no
LOAD, bounded length, nesting and chains of operators, in time linear in the text.

The text is split into SPARQL's terminals (IRIs, strings, comments, variables, prefixed
names, blank-node labels, language tags, keywords) by one regular expression without
backtracking, so a keyword is only a keyword where the grammar would read one: ``"SERVICE"``
in a string, ``?service``, ``service:x`` or ``<http://x/SERVICE>`` are not. rdflib's parser is
not used: it is slow on large text, recurses on nesting, and knows a different grammar than
Oxigraph, which runs the query. Because SPARQL allows ``\\uXXXX`` escapes, the keyword scan
runs on the text as written and with escapes expanded, and refuses if either shows a SERVICE
or LOAD (Oxigraph expands them only inside strings and IRIs today; the check does not depend
on that).

Oxigraph parses and evaluates recursively: thousands of nested levels, or of operators and
patterns chained in one group (it builds them into left-deep trees), overflow its stack and
kill the process. ``max_depth`` and ``max_chain`` measure both on the tokens.

Oxigraph's regex functions use Rust's ``regex`` crate (finite automata, linear time, no
backreferences), so ``FILTER regex`` and ``REPLACE`` cannot backtrack catastrophically; nothing
needs refusing for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin

from claimgraph.errors import QueryRefused

_PN = r"\w\-\u00B7-\U000EFFFF"  # generous: what matters is where a token ends
_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
_RUN = rf"(?:[{_PN}]++|\.++(?=[{_PN}]))*+"  # name characters, and dots inside, not at the end
_LOCAL = rf"(?:(?:[{_PN}:%]|{_ESC})(?:[{_PN}:%]++|{_ESC}|\.++(?=[{_PN}:%]|{_ESC}))*+)?+"
_LONG1, _LONG2 = r"'''(?:'{0,2}+(?:[^'\\]|\\.))*+", r'"""(?:"{0,2}+(?:[^"\\]|\\.))*+'
_SHORT1, _SHORT2 = r"'(?:[^'\\\n\r]|\\.)*+", r'"(?:[^"\\\n\r]|\\.)*+'
# Linear by construction: every repetition is possessive, and every branch either keeps what
# it scans or fails within a character or two, except two whose failure the next branch keeps:
# a string without its closing quotes is an ``error`` (it cannot be valid SPARQL), and a name
# not followed by ":" is a ``run``, cut into words and punctuation by ``_IN_RUN``. So each
# character is read a bounded number of times, whatever the text (a backtracking pattern here
# once took 100 s on 100 kB).
_TOKEN = re.compile(
    rf"""
    (?P<ws>[ \t\r\n]++)
  | (?P<comment>[#][^\r\n]*+)
  | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*+>)
  | (?P<string>{_LONG1}'''|{_LONG2}\"\"\"|(?!'''|\"\"\")(?:{_SHORT1}'|{_SHORT2}"))
  | (?P<error>'''.*+|\"\"\".*+|{_SHORT1}|{_SHORT2})
  | (?P<var>[?$][{_PN}]++)
  | (?P<bnode>_:[{_PN}]{_RUN})
  | (?P<langtag>@[A-Za-z]++(?:-[A-Za-z0-9]++)*+)
  | (?P<run>[^\W\d_]{_RUN})(?P<local>:{_LOCAL})?+
  | (?P<pname>:{_LOCAL})
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*+)
  | (?P<number>\d++(?:\.\d*+)?+(?:[eE][+-]?+\d++)?+|\.\d++(?:[eE][+-]?+\d++)?+)
  | (?P<punct>\^\^|&&|\|\||<=|>=|!=|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_IN_RUN = re.compile(
    r"(?P<word>[A-Za-z_][A-Za-z0-9_]*+)|(?P<number>\d++(?:\.\d*+)?+(?:[eE]-?+\d++)?+)|(?P<punct>.)",
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_OPEN, _CLOSE = "{([", "})]"
_UNARY = frozenset("!-+")
_OPERATORS = frozenset(
    ["!", "+", "-", "*", "/", "=", "!=", "<", ">", "<=", ">=", "&&", "||", "|", "^"]
)
_CHAIN_WORDS = ("UNION", "OPTIONAL", "MINUS", "BIND", "FILTER", "VALUES", "GRAPH", "SERVICE", "IN")
_DATA_BEFORE = ("CONSTRUCT", "INSERT", "DELETE", "DATA")  # then { opens a template or data
QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_KEYWORDS = frozenset(
    ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")
)
ALLOWLIST_HINT = "the operator can allow endpoints with CLAIMGRAPH_SERVICE_ALLOWLIST"


class Token(NamedTuple):  # a tuple: a megabyte of text makes a million of them
    kind: str  # iri string var bnode langtag pname word number punct error (no ws, comments)
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
    max_chain: int = 1000

    @staticmethod
    def parse_allowlist(text: str) -> frozenset[str]:
        return frozenset(t for t in re.split(r"[\s,]+", text) if t)


def lex(text: str) -> Iterator[tuple[str, int, int]]:
    """``text`` cut into ``(kind, start, end)`` pieces that tile it, whitespace and comments
    included. A string without its closing quotes is one ``error`` piece (to the end of its line,
    or of the text for a long string): a quote always starts a string, so that is never SPARQL.
    """
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "punct"
        if kind == "local":  # a prefix and its local part: a prefixed name
            yield "pname", m.start(), m.end()
        elif kind == "run":  # not followed by ":": words, numbers and punctuation (a-b is a - b)
            yield from (
                (p.lastgroup or "punct", *p.span()) for p in _IN_RUN.finditer(text, *m.span())
            )
        else:
            yield kind, m.start(), m.end()


def tokenize(text: str) -> list[Token]:
    """SPARQL terminals with their offsets and nesting depth (whitespace and comments dropped)."""
    tokens: list[Token] = []
    depth = 0
    for kind, start, end in lex(text):
        if kind in ("ws", "comment"):
            continue
        value = text[start:end]
        if kind == "punct" and value in _CLOSE:
            depth = max(0, depth - 1)
        tokens.append(Token(kind, value, start, end, depth))
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


def max_depth(tokens: list[Token]) -> tuple[int, int]:
    """How deep the text nests, and where: ``{ ( [`` and runs of unary ``! - +`` (``!!x`` is
    ``!(!x)``); Oxigraph's parser and evaluator recurse on both."""
    deepest, where, run = 0, 0, 0
    for t in tokens:
        punct = t.kind == "punct"
        run = run + 1 if punct and t.text in _UNARY else 0
        depth = t.depth + (1 if punct and t.text in _OPEN else run)
        if depth > deepest:
            deepest, where = depth, t.start
    return deepest, where


def max_chain(tokens: list[Token]) -> tuple[int, int]:
    """The longest chain of operators and patterns on a path into the text, and where it is.

    Oxigraph builds ``a || b || c`` as ``(a || b) || c``, and each UNION, OPTIONAL, FILTER,
    group or triple pattern of a group as one more join around the ones before, then walks
    those trees recursively: a flat chain of some thousands overflows its stack as deep nesting
    does. So a group's chain is its operators, pattern keywords, sub-groups and separators
    (``. ; ,`` in ``{ }`` and ``[ ]``), and a path's chain is the sum of its groups' chains.
    Data blocks (INSERT DATA, templates, VALUES) are flat lists, whatever their length (100,000
    triples, GRAPH blocks or rows were probed), and count nothing: ``-5`` is a number there.
    """
    # One entry per group, numbered as they open (so a group's parent comes before it);
    # group 0 is the whole text.
    counts, parents, openers, flat, starts = [0], [-1], [""], [False], [0]
    open_groups = [0]
    values_pending = False
    previous: Token | None = None
    for t in tokens:
        g = open_groups[-1]
        punct = t.kind == "punct"
        if punct and t.text in _OPEN:
            after_data_keyword = previous is not None and previous.is_word(*_DATA_BEFORE)
            is_data = t.text == "{" and (values_pending or after_data_keyword)
            values_pending = values_pending and t.text != "{"
            counts[g] += not flat[g]
            counts.append(0)
            parents.append(g)
            openers.append(t.text)
            flat.append(flat[g] or is_data)
            starts.append(t.start)
            open_groups.append(len(counts) - 1)
        elif punct and t.text in _CLOSE:
            if len(open_groups) > 1:
                open_groups.pop()
        elif (punct and t.text in _OPERATORS) or (t.kind == "word" and t.is_word(*_CHAIN_WORDS)):
            counts[g] += not flat[g]
            values_pending = values_pending or t.is_word("VALUES")
        elif punct and t.text in ".;,":
            counts[g] += openers[g] in ("{", "[") and not flat[g]
        previous = t
    longest, where = 0, 0
    for g, parent in enumerate(parents):
        if parent >= 0:
            counts[g] += counts[parent]
        if counts[g] > longest:
            longest, where = counts[g], starts[g]
    return longest, where


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


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
    for t in tokens:
        if t.kind == "error":
            quote = t.text[:3] if t.text[:3] in ("'''", '"""') else t.text[0]
            raise QueryRefused(
                f"the {what} has a string without its closing {quote} at "
                f"{_line_column(text, t.start)}"
            )
    depth, where = max_depth(tokens)
    if depth > limits.max_depth:
        raise QueryRefused(
            f"the {what} nests {depth} levels deep at {_line_column(text, where)} (counting "
            f"{{ ( [ and unary ! - +); this endpoint accepts at most {limits.max_depth} "
            "(CLAIMGRAPH_MAX_QUERY_DEPTH)"
        )
    chain, where = max_chain(tokens)
    if chain > limits.max_chain:
        raise QueryRefused(
            f"the {what} chains {chain} operators and patterns (&& + / UNION OPTIONAL FILTER, "
            f"triple patterns, groups…) into the group at {_line_column(text, where)}; this "
            f"endpoint accepts at most {limits.max_chain} (CLAIMGRAPH_MAX_QUERY_CHAIN)"
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
