"""SPARQL 1.1 Update turned into one ``Delta``, so that it is validated and applied through
``ClaimGraph.write`` like every other write: all of it or nothing.

How: Oxigraph parses the whole update first (on a throwaway empty store, in a worker; its error
messages give line and column). The update is then split into operations along SPARQL's
tokens, and each is evaluated against the store *as the operations before it left it*:

- ``INSERT DATA``/``DELETE DATA``: the data block is parsed by Oxigraph (as an INSERT DATA on
  a throwaway store); blank nodes get fresh skolem IRIs.
- ``DELETE WHERE``, ``DELETE/INSERT … WHERE``: the WHERE group, verbatim, runs as
  ``SELECT *`` in a query worker (time-bounded, like any query); the templates are
  instantiated by Oxigraph itself (``INSERT {template} WHERE {VALUES …}`` on a throwaway
  store), which gives the standard semantics: unbound variables and ill-formed triples are
  skipped, template blank nodes are fresh per solution. ``WITH``/``USING`` set the dataset.
- ``CLEAR``/``DROP``/``CREATE``/``ADD``/``MOVE``/``COPY``: computed from the store's quads.
- ``LOAD`` is refused before anything runs (``safety``).

The default graph is the union of the named graphs (that is what queries see), so writes to
it are defined this way: deleting a triple "from the default graph" deletes it from every
graph holding it; inserting a triple needs a graph (``GRAPH <g> {…}`` or ``WITH <g>``), and
``CLEAR``/``DROP DEFAULT`` and ``MOVE DEFAULT`` are refused. Empty graphs are not kept: a graph
exists while it holds a triple (``CREATE GRAPH`` only checks the name is free).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from claimgraph.errors import InputError, QueryRefused
from claimgraph.iris import Iris
from claimgraph.sparql.safety import Token
from claimgraph.store import Delta, Store, check_writable, is_derived

# Placeholder IRIs for blank nodes in WHERE solutions (VALUES cannot hold blank nodes).
_BNODE_PLACEHOLDER = "urn:x-claimgraph:bnode:"

Quad = ox.Quad
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
Solutions = tuple[list[str], list[list[Term | None]]]


@dataclass(frozen=True)
class WhereDataset:
    """The dataset of a WHERE clause: the union, or the graphs USING / WITH name."""

    default_graph: tuple[str, ...] | None = None  # None: the union of all graphs
    named_graphs: tuple[str, ...] | None = None  # None: every named graph


# (sparql, dataset, snapshot dir or None for the store's current snapshot) → SPARQL JSON
# results; raises when the solutions do not fit the result caps.
SelectRunner = Callable[[str, WhereDataset, Path | None], bytes]


class Workspace:
    """The store as the operations so far have left it: the live store plus a pending delta.

    ``added``/``removed``/``dropped`` are kept as the net change to the live store, which is
    exactly the ``Delta`` to write at the end.
    """

    def __init__(self, live: Store) -> None:
        self.live = live
        self.added: dict[Quad, None] = {}
        self.removed: set[Quad] = set()
        self.dropped: dict[ox.NamedNode, None] = {}
        self._added_by_triple: dict[tuple[object, object, object], set[Quad]] = {}

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.dropped)

    def delta(self) -> Delta:
        return Delta(list(self.added), list(self.removed), list(self.dropped))

    def _live(self, q: Quad) -> bool:
        return q not in self.removed and q.graph_name not in self.dropped

    def contains(self, q: Quad) -> bool:
        if q in self.added:
            return True
        if not self._live(q):
            return False
        g = q.graph_name
        return any(True for _ in self.live.quads(q.subject, q.predicate, q.object, g))  # type: ignore[arg-type]

    def quads(
        self,
        s: Term | None = None,
        p: Term | None = None,
        o: Term | None = None,
        graph: object = None,
    ) -> Iterator[Quad]:
        for q in self.live.quads(s, p, o, graph):  # type: ignore[arg-type]
            if self._live(q):
                yield q
        if s is not None and p is not None and o is not None:
            candidates: Iterable[Quad] = self._added_by_triple.get((s, p, o), ())
        else:
            candidates = self.added
        for q in list(candidates):
            if (
                (s is None or q.subject == s)
                and (p is None or q.predicate == p)
                and (o is None or q.object == o)
                and (graph is None or q.graph_name == graph)
            ):
                yield q

    def graphs(self) -> list[ox.NamedNode]:
        names = {g: None for g in self.live.graphs() if g not in self.dropped}
        for q in self.added:
            if isinstance(q.graph_name, ox.NamedNode):
                names[q.graph_name] = None
        return list(names)

    def exists(self, g: ox.NamedNode) -> bool:
        if any(q.graph_name == g for q in self.added):
            return True
        return g not in self.dropped and self.live.has_graph(g)

    def add(self, q: Quad) -> None:
        check_writable(q.graph_name)
        if self.contains(q):
            return
        if q in self.removed:
            self.removed.discard(q)  # it is live again
            return
        self.added[q] = None
        self._added_by_triple.setdefault((q.subject, q.predicate, q.object), set()).add(q)

    def remove(self, q: Quad) -> None:
        check_writable(q.graph_name)
        if q in self.added:
            del self.added[q]
            self._added_by_triple[(q.subject, q.predicate, q.object)].discard(q)
        elif self.contains(q):
            self.removed.add(q)

    def drop(self, g: ox.NamedNode) -> None:
        for q in [q for q in self.added if q.graph_name == g]:
            self.remove(q)
        self.removed = {q for q in self.removed if q.graph_name != g}
        if self.live.has_graph(g):
            self.dropped[g] = None


@dataclass
class _Op:
    prologue: str
    tokens: list[Token]
    i: int = 0
    kept: list[tuple[int, int]] = field(default_factory=list)  # prologue and body spans

    def peek(self, *words: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i].is_word(*words)

    def word(self, *words: str) -> str | None:
        if self.peek(*words):
            self.i += 1
            return self.tokens[self.i - 1].text.upper()
        return None

    def expect(self, *words: str) -> str:
        got = self.word(*words)
        if got is None:
            here = self.tokens[self.i].text if self.i < len(self.tokens) else "the end"
            raise InputError(f"expected {' or '.join(words)} before {here!r}")
        return got

    def term(self) -> Token:
        t = self.tokens[self.i]
        if t.kind not in ("iri", "pname"):
            raise InputError(f"expected an IRI, found {t.text!r}")
        self.i += 1
        return t

    def group(self, text: str) -> str:
        """The text of the ``{ … }`` group starting here, braces included."""
        start = self.tokens[self.i]
        if start.text != "{":
            raise InputError(f"expected {{, found {start.text!r}")
        for j in range(self.i + 1, len(self.tokens)):
            t = self.tokens[j]
            if t.kind == "punct" and t.text == "}" and t.depth == start.depth:
                self.i = j + 1
                return text[start.start : t.end]
        raise InputError("unbalanced braces")


def split_operations(text: str, tokens: list[Token]) -> list[_Op]:
    """One ``_Op`` per operation, each with the PREFIX/BASE declarations in scope."""
    ops: list[_Op] = []
    prologue: list[str] = []
    spans: list[tuple[int, int]] = []  # where the prologue declarations so far are
    current: list[Token] = []

    def flush() -> None:
        nonlocal current
        body: list[Token] = []
        k = 0
        while k < len(current):
            t = current[k]
            if t.is_word("PREFIX") and k + 2 < len(current):
                prologue.append(f"PREFIX {current[k + 1].text} {current[k + 2].text}")
                spans.append((t.start, current[k + 2].end))
                k += 3
            elif t.is_word("BASE") and k + 1 < len(current):
                prologue.append(f"BASE {current[k + 1].text}")
                spans.append((t.start, current[k + 1].end))
                k += 2
            else:
                body = current[k:]
                break
        if body:
            kept = [*spans, (body[0].start, body[-1].end)]
            ops.append(_Op("\n".join(prologue), body, kept=kept))
        current = []

    for t in tokens:
        if t.kind == "punct" and t.text == ";" and t.depth == 0:
            flush()
        else:
            current.append(t)
    flush()
    return ops


def masked(text: str, op: _Op) -> str:
    """``text`` with everything but ``op`` and the declarations before it blanked out.

    Newlines stay, so a parser's line and column still point into the text the client sent.
    """
    keep = bytearray(len(text))
    for start, end in op.kept:
        keep[start:end] = b"\x01" * (end - start)
    return "".join(c if keep[i] or c == "\n" else " " for i, c in enumerate(text))


class UpdateEvaluator:
    """Computes the ``Delta`` of one update request against ``live``."""

    def __init__(
        self,
        live: Store,
        iris: Iris,
        run_select: SelectRunner,
        make_scratch: Callable[[Delta], Path],
    ) -> None:
        self.ws = Workspace(live)
        self.iris = iris
        self.run_select = run_select
        self.make_scratch = make_scratch
        self._skolem: dict[ox.BlankNode, ox.NamedNode] = {}

    def evaluate(
        self,
        text: str,
        tokens: list[Token],
        using: list[str] | None = None,
        using_named: list[str] | None = None,
    ) -> Delta:
        ops = split_operations(text, tokens)
        protocol_dataset = bool(using or using_named)
        if protocol_dataset and any(t.is_word("USING", "WITH") for t in tokens):
            raise InputError(
                "using-graph-uri / using-named-graph-uri cannot be combined with USING or WITH "
                "in the update (SPARQL 1.1 Protocol §2.2.3)"
            )
        for op in ops:
            self._operation(text, op, using or [], using_named or [], protocol_dataset)
        return self.ws.delta()

    # -- one operation --------------------------------------------------------------------
    def _operation(
        self, text: str, op: _Op, using: list[str], using_named: list[str], protocol: bool
    ) -> None:
        first = op.tokens[0].text.upper() if op.tokens[0].kind == "word" else op.tokens[0].text
        if first == "INSERT" and len(op.tokens) > 1 and op.tokens[1].is_word("DATA"):
            op.i = 2
            for q in self._data(op.prologue, op.group(text)):
                if isinstance(q.graph_name, ox.DefaultGraph):
                    raise _needs_graph()
                self.ws.add(self._skolemize(q))
        elif first == "DELETE" and len(op.tokens) > 1 and op.tokens[1].is_word("DATA"):
            op.i = 2
            for q in self._data(op.prologue, op.group(text)):
                self._remove_from(q, None)
        elif first == "DELETE" and len(op.tokens) > 1 and op.tokens[1].is_word("WHERE"):
            op.i = 2
            pattern = op.group(text)
            dataset = self._dataset(op, None, [], [], using, using_named, protocol)
            self._modify(op.prologue, pattern, pattern, None, dataset, None)
        elif first in ("WITH", "DELETE", "INSERT"):
            self._modify_op(text, op, using, using_named, protocol)
        elif first in ("CLEAR", "DROP"):
            op.i = 1
            silent = op.word("SILENT") is not None
            self._clear(op, silent, drop=first == "DROP")
        elif first == "CREATE":
            op.i = 1
            silent = op.word("SILENT") is not None
            op.expect("GRAPH")
            g = self._iri(op, op.term())
            if self.ws.exists(g) and not silent:
                raise InputError(f"CREATE GRAPH: the graph <{g.value}> already exists")
        elif first in ("ADD", "MOVE", "COPY"):
            op.i = 1
            self._transfer(op, first, silent=op.word("SILENT") is not None)
        elif first == "LOAD":
            raise QueryRefused("LOAD is refused: this endpoint never fetches documents")
        else:
            raise InputError(f"unsupported update operation starting with {first!r}")

    def _modify_op(
        self, text: str, op: _Op, using: list[str], using_named: list[str], protocol: bool
    ) -> None:
        with_graph: ox.NamedNode | None = None
        if op.word("WITH"):
            with_graph = self._iri(op, op.term())
        delete = insert = None
        if op.word("DELETE"):
            delete = op.group(text)
        if op.word("INSERT"):
            insert = op.group(text)
        own_using: list[str] = []
        own_named: list[str] = []
        while op.word("USING"):
            named = op.word("NAMED") is not None
            iri = self._iri(op, op.term()).value
            (own_named if named else own_using).append(iri)
        op.expect("WHERE")
        where = op.group(text)
        dataset = self._dataset(op, with_graph, own_using, own_named, using, using_named, protocol)
        self._modify(op.prologue, where, delete, insert, dataset, with_graph)

    def _dataset(
        self,
        op: _Op,
        with_graph: ox.NamedNode | None,
        own_using: list[str],
        own_named: list[str],
        using: list[str],
        using_named: list[str],
        protocol: bool,
    ) -> WhereDataset:
        if own_using or own_named:
            return WhereDataset(tuple(own_using), tuple(own_named))
        if protocol:
            return WhereDataset(tuple(using), tuple(using_named))
        if with_graph is not None:
            return WhereDataset((with_graph.value,), None)
        return WhereDataset()

    def _modify(
        self,
        prologue: str,
        where: str,
        delete: str | None,
        insert: str | None,
        dataset: WhereDataset,
        with_graph: ox.NamedNode | None,
    ) -> None:
        variables, rows = self._solutions(prologue, where, dataset)
        if not rows:
            return
        values = _values_block(variables, rows)
        if delete is not None:
            for q in _instantiate(prologue, delete, values):
                self._remove_from(_from_placeholders(q), with_graph)
        if insert is not None:
            for q in _instantiate(prologue, insert, values):
                q = _from_placeholders(q)
                if isinstance(q.graph_name, ox.DefaultGraph):
                    if with_graph is None:
                        raise _needs_graph()
                    q = ox.Quad(q.subject, q.predicate, q.object, with_graph)
                self.ws.add(self._skolemize(q))

    def _solutions(self, prologue: str, where: str, dataset: WhereDataset) -> Solutions:
        sparql = f"{prologue}\nSELECT * WHERE {where}"
        scratch: Path | None = None
        if self.ws:
            # Earlier operations changed the data: evaluate on a copy that includes them.
            scratch = self.make_scratch(self.ws.delta())
        try:
            body = self.run_select(sparql, dataset, scratch)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        parsed = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
        assert isinstance(parsed, ox.QuerySolutions)
        variables = [v.value for v in parsed.variables]
        rows = [list(solution) for solution in parsed]
        return variables, rows

    # -- graph management -----------------------------------------------------------------
    def _clear(self, op: _Op, silent: bool, *, drop: bool) -> None:
        verb = "DROP" if drop else "CLEAR"
        which = op.word("GRAPH", "DEFAULT", "NAMED", "ALL")
        if which == "GRAPH":
            g = self._iri(op, op.term())
            check_writable(g)
            if not self.ws.exists(g):
                if silent:
                    return
                raise InputError(f"{verb} GRAPH: there is no graph <{g.value}>")
            self.ws.drop(g)
        elif which == "DEFAULT":
            raise InputError(
                f"{verb} DEFAULT is refused: the default graph here is the union of the named "
                f"graphs; {verb} GRAPH <g> one graph, or {verb} ALL everything"
            )
        elif which in ("NAMED", "ALL"):
            for g in self.ws.graphs():
                if not is_derived(g):  # ClaimGraph's own: it follows what is dropped
                    self.ws.drop(g)
            if which == "ALL":
                for q in list(self.ws.quads(graph=ox.DefaultGraph())):
                    self.ws.remove(q)
        else:
            raise InputError(f"{verb} needs GRAPH <g>, DEFAULT, NAMED or ALL")

    def _graph_ref(self, op: _Op) -> ox.NamedNode | None:
        """``DEFAULT`` (None) or ``[GRAPH] <iri>``."""
        if op.word("DEFAULT"):
            return None
        op.word("GRAPH")
        return self._iri(op, op.term())

    def _transfer(self, op: _Op, verb: str, *, silent: bool) -> None:
        source = self._graph_ref(op)
        op.expect("TO")
        target = self._graph_ref(op)
        if source == target:
            return
        if target is None:
            raise _needs_graph(f"{verb} … TO DEFAULT is refused")
        check_writable(target)
        if verb == "MOVE":
            check_writable(source)
        if source is None and verb == "MOVE":
            raise InputError(
                "MOVE DEFAULT is refused: the default graph is the union of the named graphs; "
                "COPY DEFAULT TO <g> copies it"
            )
        if source is not None and not self.ws.exists(source):
            if silent:
                return
            raise InputError(f"{verb}: there is no graph <{source.value}>")
        triples = {
            (q.subject, q.predicate, q.object): None
            for q in self.ws.quads(graph=source if source is not None else None)
        }
        if verb in ("MOVE", "COPY"):
            self.ws.drop(target)
        for s, p, o in triples:
            self.ws.add(ox.Quad(s, p, o, target))
        if verb == "MOVE" and source is not None:
            self.ws.drop(source)

    # -- helpers --------------------------------------------------------------------------
    def _iri(self, op: _Op, token: Token) -> ox.NamedNode:
        """An IRI token resolved by Oxigraph (prefixes, BASE, escapes) as the parser would."""
        result = ox.Store().query(f"{op.prologue}\nSELECT ({token.text} AS ?iri) {{}}")
        assert isinstance(result, ox.QuerySolutions)
        iri = next(iter(result))["iri"]
        assert isinstance(iri, ox.NamedNode)
        return iri

    def _data(self, prologue: str, block: str) -> list[Quad]:
        scratch = ox.Store()
        scratch.update(f"{prologue}\nINSERT DATA {block}")
        return list(scratch)

    def _remove_from(self, q: Quad, with_graph: ox.NamedNode | None) -> None:
        """Remove ``q``; a triple of the default graph leaves every graph holding it."""
        if not isinstance(q.graph_name, ox.DefaultGraph):
            self.ws.remove(q)
        elif with_graph is not None:
            self.ws.remove(ox.Quad(q.subject, q.predicate, q.object, with_graph))
        else:
            for held in list(self.ws.quads(q.subject, q.predicate, q.object)):
                self.ws.remove(held)

    def _skolemize(self, q: Quad) -> Quad:
        def fix(term: object) -> object:
            if isinstance(term, ox.BlankNode):
                if term not in self._skolem:
                    self._skolem[term] = ox.NamedNode(self.iris.genid())
                return self._skolem[term]
            return term

        return ox.Quad(fix(q.subject), q.predicate, fix(q.object), fix(q.graph_name))  # type: ignore[arg-type]


def _needs_graph(what: str = "inserting into the default graph is refused") -> InputError:
    return InputError(
        f"{what}: the default graph here is the union of the named graphs; name the graph "
        "to write with GRAPH <g> { … } or WITH <g>"
    )


def _sparql_term(term: Term | None) -> str:
    if term is None:
        return "UNDEF"
    if isinstance(term, ox.BlankNode):
        return f"<{_BNODE_PLACEHOLDER}{term.value}>"
    return str(term)


def _values_block(variables: list[str], rows: list[list[Term | None]]) -> str:
    head = " ".join(f"?{v}" for v in variables)
    body = "\n".join("(" + " ".join(_sparql_term(t) for t in row) + ")" for row in rows)
    return f"VALUES ({head}) {{\n{body}\n}}"


def _instantiate(prologue: str, template: str, values: str) -> list[Quad]:
    """The quads of ``template`` for each solution, by Oxigraph on a throwaway store."""
    scratch = ox.Store()
    scratch.update(f"{prologue}\nINSERT {template} WHERE {{ {values} }}")
    return list(scratch)


def _from_placeholders(q: Quad) -> Quad:
    def back(term: object) -> object:
        if isinstance(term, ox.NamedNode) and term.value.startswith(_BNODE_PLACEHOLDER):
            return ox.BlankNode(term.value[len(_BNODE_PLACEHOLDER) :])
        return term

    if not any(
        isinstance(t, ox.NamedNode) and t.value.startswith(_BNODE_PLACEHOLDER)
        for t in (q.subject, q.object, q.graph_name)
    ):
        return q
    return ox.Quad(back(q.subject), q.predicate, back(q.object), back(q.graph_name))  # type: ignore[arg-type]
