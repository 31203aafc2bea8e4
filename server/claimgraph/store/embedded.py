"""The embedded store: Oxigraph (RocksDB on disk, or in memory for tests)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from claimgraph.errors import QuerySyntaxError, StoreError, StoreLocked
from claimgraph.formats import RdfFormat
from claimgraph.sparqlterms import term
from claimgraph.store import Delta, GraphName, QueryResult


def _triple_block(quads: Iterable[ox.Quad]) -> str:
    """Quads as SPARQL ``DATA`` blocks, grouped by graph (N-Triples term syntax is SPARQL's)."""
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        g = "" if isinstance(q.graph_name, ox.DefaultGraph) else _node(q.graph_name)
        by_graph.setdefault(g, []).append(
            f"{_node(q.subject)} {term(q.predicate)} {_node(q.object)} ."
        )
    parts = []
    for g, lines in by_graph.items():
        body = "\n".join(lines)
        parts.append(f"GRAPH {g} {{\n{body}\n}}" if g else body)
    return "\n".join(parts)


def _node(t: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """A subject or object in DATA syntax: an IRI or a literal by ``term``, a blank node as
    ``_:id`` (Oxigraph's own, which it checked), a triple term as ``<<( s p o )>>``."""
    if isinstance(t, ox.BlankNode):
        return str(t)
    if isinstance(t, ox.Triple):
        return f"<<( {_node(t.subject)} {term(t.predicate)} {_node(t.object)} )>>"
    return term(t)


class EmbeddedStore:
    """Oxigraph behind the ``Store`` interface; ``path=None`` keeps everything in memory."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        try:
            if self.path is None:
                self._store = ox.Store()
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as err:
            if "lock" in str(err).lower():
                raise StoreLocked(
                    f"the store at {self.path} is in use by another process "
                    "(is `claimgraph serve` running on it?); stop it or use another --data-dir"
                ) from err
            raise StoreError(f"cannot open the store at {self.path}: {err}") from err

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
    ) -> QueryResult:
        try:
            return self._store.query(
                sparql,
                use_default_graph_as_union=default_graph is None,
                default_graph=default_graph,  # type: ignore[arg-type]
                named_graphs=named_graphs,  # type: ignore[arg-type]
            )
        except SyntaxError as err:
            raise QuerySyntaxError(f"SPARQL syntax error: {err}") from err

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[ox.Quad]:
        return self._store.quads_for_pattern(subject, predicate, object, graph)

    def apply(self, delta: Delta) -> None:
        if not (delta.remove or delta.drop_graphs):
            # Pure additions: one transactional extend, no SPARQL text to build.
            self._store.extend(delta.add)
            return
        # Removals and additions together: one SPARQL update is one Oxigraph transaction.
        ops = [f"DROP SILENT GRAPH {term(g)}" for g in delta.drop_graphs]
        if delta.remove:
            ops.append(f"DELETE DATA {{\n{_triple_block(delta.remove)}\n}}")
        if delta.add:
            ops.append(f"INSERT DATA {{\n{_triple_block(delta.add)}\n}}")
        self._store.update(" ;\n".join(ops))

    def bulk_load(self, quads: Iterable[ox.Quad]) -> None:
        self._store.bulk_extend(quads)

    def graphs(self) -> list[ox.NamedNode]:
        return sorted(
            (g for g in self._store.named_graphs() if isinstance(g, ox.NamedNode)),
            key=lambda g: g.value,
        )

    def has_graph(self, graph: ox.NamedNode) -> bool:
        return self._store.contains_named_graph(graph)

    def count(self, graph: GraphName | None = None) -> int:
        if graph is None:
            result = self._store.query("SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
        else:
            result = self._store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", default_graph=graph)
        assert isinstance(result, ox.QuerySolutions)
        n = next(iter(result))["n"]
        return int(n.value) if isinstance(n, ox.Literal) else 0

    def dump(self, out: IO[bytes], fmt: RdfFormat, graph: GraphName | None = None) -> None:
        if graph is None and not fmt.datasets:
            # A triple format cannot hold several graphs: write their union.
            triples = self._store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
            ox.serialize(triples, out, fmt.ox)  # type: ignore[arg-type]
        elif graph is None:
            self._store.dump(out, fmt.ox)
        else:
            self._store.dump(out, fmt.ox, from_graph=graph)

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()

    def snapshot(self, target: Path) -> None:
        """A consistent, independent copy of the store at ``target`` (which must not exist),
        for readers in other processes (``Store.read_only``): opening the live directory
        read-only while this process writes it is undefined behaviour in Oxigraph.

        On disk it is a RocksDB checkpoint (hard links: cheap, same file system). An in-memory
        store cannot be checkpointed: it is copied into a new on-disk store, a full copy.
        """
        if self.path is not None:
            self._store.backup(str(target))
            return
        copy = ox.Store(str(target))
        copy.bulk_extend(self._store.quads_for_pattern(None, None, None, None))
        copy.flush()
        del copy  # closes it: only then may other processes open it
        gc.collect()

    def close(self) -> None:
        """Release the store (and its directory lock) now.

        Result iterators hold the Rust store too, and an exception traceback can keep one
        in a reference cycle; collect those so that the directory can be reopened at once.
        """
        self.flush()
        del self._store
        gc.collect()
