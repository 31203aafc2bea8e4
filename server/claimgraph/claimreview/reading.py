"""Reading ClaimReview JSON-LD: local schema.org contexts only, never fetched."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from claimgraph import depth
from claimgraph.claimreview.terms import (
    CONTEXT_FILE,
    RDF_TYPE,
    SCHEMA,
    SCHEMA_CONTEXTS,
    SCHEMA_HTTPS,
)
from claimgraph.config import Settings
from claimgraph.errors import InputError


@functools.cache
def schema_context() -> Any:
    """The vendored schema.org context (release 30.0): read once per process, never fetched."""
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]


# Each reference to schema.org's context becomes its 160 kB inline copy, which the JSON-LD
# processor reads again each time (15 ms): a reference that repeats the context already in
# force is dropped, and a document may hold at most this many others.
MAX_SCHEMA_CONTEXTS = 100


def _is_schema_ref(ctx: Any) -> bool:
    if isinstance(ctx, list) and len(ctx) == 1:
        ctx = ctx[0]
    return isinstance(ctx, str) and ctx in SCHEMA_CONTEXTS


class _Contexts:
    """Replaces context references by local copies, counting schema.org's."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.schema_copies = 0

    def local(self, ctx: Any) -> Any:
        if isinstance(ctx, str):
            if ctx in SCHEMA_CONTEXTS:
                self.schema_copies += 1
                if self.schema_copies > MAX_SCHEMA_CONTEXTS:
                    raise InputError(
                        f"{self.source}: more than {MAX_SCHEMA_CONTEXTS} @context references to "
                        "schema.org inside other contexts; name it once, at the top"
                    )
                return schema_context()
            raise InputError(
                f"{self.source}: the JSON-LD context {ctx!r} would have to be fetched from the "
                "network, which ClaimGraph never does; only schema.org's context "
                "(https://schema.org) is known locally — inline any other context in the document"
            )
        if isinstance(ctx, list):
            return [self.local(c) for c in ctx]
        if isinstance(ctx, dict):
            if "@import" in ctx:
                raise InputError(f"{self.source}: @import of a remote context is not supported")
            return {k: self.walk(v, schema=False) for k, v in ctx.items()}
        return ctx

    def walk(self, node: Any, *, schema: bool) -> Any:
        """``node`` with its contexts made local; ``schema``: schema.org's alone is in force."""
        if isinstance(node, list):
            return [self.walk(n, schema=schema) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        if "@context" in node:
            ctx = node["@context"]
            if not (schema and _is_schema_ref(ctx)):  # else: it changes nothing, leave it out
                out["@context"] = self.local(ctx)
                schema = _is_schema_ref(ctx)
        for k, v in node.items():
            if k != "@context":
                out[k] = self.walk(v, schema=schema)
        return out


def _with_local_contexts(doc: Any, source: str) -> Any:
    """The document with every context local. Top-level objects that each name schema.org's
    context become one ``@graph`` under it (the same triples, one context to process)."""
    if (
        isinstance(doc, list)
        and doc
        and all(isinstance(d, dict) and _is_schema_ref(d.get("@context")) for d in doc)
    ):
        doc = {"@context": "https://schema.org", "@graph": doc}
    return _Contexts(source).walk(doc, schema=False)


def _http_schema(term: Any) -> Any:
    """``https://schema.org/x`` as ``http://schema.org/x``: the form our data (and ClaimsKG) use."""
    if isinstance(term, ox.NamedNode) and term.value.startswith(SCHEMA_HTTPS):
        return ox.NamedNode(SCHEMA + term.value[len(SCHEMA_HTTPS) :])
    if isinstance(term, ox.Literal) and term.datatype.value.startswith(SCHEMA_HTTPS):
        dt = SCHEMA + term.datatype.value[len(SCHEMA_HTTPS) :]
        return ox.Literal(term.value, datatype=ox.NamedNode(dt))
    return term


def read_markup(
    data: bytes | str, source: str = "<input>", max_depth: int = Settings.max_data_depth
) -> list[ox.Triple]:
    """Parse ClaimReview JSON-LD offline into triples (schema.org terms in ``http:`` form);
    refused when nested deeper than ``max_depth``."""
    raw = data.encode() if isinstance(data, str) else data
    depth.check_json(raw, max_depth, source)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"{source}:{err.lineno}:{err.colno}: not JSON: {err.msg}") from err
    except UnicodeDecodeError as err:
        raise InputError(f"{source}: not UTF-8 text ({err.reason})") from err
    if not isinstance(doc, dict | list):
        raise InputError(f"{source}: not a JSON-LD document (a JSON object or array)")
    doc = _with_local_contexts(doc, source)
    try:
        quads = list(ox.parse(json.dumps(doc).encode(), format=ox.RdfFormat.JSON_LD))
    except SyntaxError as err:
        raise InputError(f"{source}: not valid JSON-LD: {err.msg or err}") from err
    return [
        ox.Triple(_http_schema(q.subject), _http_schema(q.predicate), _http_schema(q.object))
        for q in quads
    ]


Node = ox.NamedNode | ox.BlankNode
Value = ox.NamedNode | ox.BlankNode | ox.Literal


class _Doc:
    """The parsed markup, indexed by subject; properties are looked up by schema.org name."""

    def __init__(self, triples: Iterable[ox.Triple]) -> None:
        self.props: dict[Any, dict[str, list[Value]]] = {}
        for t in triples:
            if isinstance(t.object, ox.Triple):
                continue
            self.props.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)

    def all(self, node: Any, name: str) -> list[Value]:
        return list(dict.fromkeys(self.props.get(node, {}).get(SCHEMA + name, [])))

    def one(self, node: Any, name: str) -> Value | None:
        values = self.all(node, name)
        return values[0] if values else None

    def types(self, node: Any) -> list[str]:
        return [
            t.value[len(SCHEMA) :]
            for t in self.props.get(node, {}).get(RDF_TYPE.value, [])
            if isinstance(t, ox.NamedNode) and t.value.startswith(SCHEMA)
        ]

    def literal(self, node: Any, *names: str) -> ox.Literal | None:
        for name in names:
            for v in self.all(node, name):
                if isinstance(v, ox.Literal) and v.value.strip():
                    return v
        return None

    def of_type(self, name: str) -> list[Any]:
        want = ox.NamedNode(SCHEMA + name)
        return [n for n, props in self.props.items() if want in props.get(RDF_TYPE.value, [])]
