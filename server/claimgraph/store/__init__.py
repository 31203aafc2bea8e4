"""The store interface: named graphs, SPARQL query/update, atomic deltas, bulk load, export.

Terms crossing the interface are pyoxigraph's (``NamedNode``, ``Literal``, ``Quad``…): the
embedded store uses them natively and Oxigraph's serializers are the fast path for results.
The default graph of every query is the union of the named graphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Protocol

import pyoxigraph as ox

from claimgraph.errors import InputError
from claimgraph.formats import RdfFormat

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
GraphName = ox.NamedNode | ox.DefaultGraph


@dataclass
class Delta:
    """What one write changes. Applied atomically: all of it or nothing."""

    add: list[ox.Quad] = field(default_factory=list)
    remove: list[ox.Quad] = field(default_factory=list)
    drop_graphs: list[ox.NamedNode] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.add or self.remove or self.drop_graphs)


# The remote store's registry: its graphs and its write generation (``claimgraph.store.remote``).
# Reserved on every store, so that no write, to either store, can touch it (a forged pending
# write would hold every instance's writes; a dropped generation would start again below the
# one the instances have seen).
REGISTRY = ox.NamedNode("urn:claimgraph:graphs")


# Graphs of data ClaimGraph derives from the curated graphs (``claimgraph.propagation``): their
# IRIs are ``<base>graph/derived/<name>``. Written by ClaimGraph only, whatever the base.
DERIVED_PATH = "/graph/derived/"


def is_derived(graph: object) -> bool:
    """Whether ``graph`` is a derived graph's IRI (``…/graph/derived/<name>``)."""
    if not isinstance(graph, ox.NamedNode):
        return False
    head, found, name = graph.value.rpartition(DERIVED_PATH)
    return bool(found and head and name) and not any(c in name for c in "/#?")


def check_writable(graph: object, *, derived: bool = False) -> None:
    """``InputError`` (400) when ``graph`` is the reserved registry graph, or a derived graph
    (unless ``derived``: the system's own write of it)."""
    if graph == REGISTRY:
        raise InputError(
            f"the graph {REGISTRY} is reserved: it holds ClaimGraph's registry of its graphs "
            "and write generation, and cannot be written to, replaced or dropped"
        )
    if not derived and is_derived(graph):
        assert isinstance(graph, ox.NamedNode)
        raise InputError(
            f"the graph {graph.value} is reserved: graphs under {DERIVED_PATH} hold what "
            "ClaimGraph derives from the curated graphs (the propagation analysis), are "
            "recomputed after every write, and cannot be written to, replaced or dropped; "
            "write to the curated graphs instead"
        )


def check_delta(delta: Delta, *, derived: bool = False) -> None:
    """``InputError`` (400) when ``delta`` adds to, removes from or drops the registry graph,
    or a derived graph (unless ``derived``)."""
    for graph in delta.drop_graphs:
        check_writable(graph, derived=derived)
    for q in delta.add:
        check_writable(q.graph_name, derived=derived)
    for q in delta.remove:
        check_writable(q.graph_name, derived=derived)


class Store(Protocol):
    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
    ) -> QueryResult:
        """Run a SPARQL query; without ``default_graph`` its default graph is the union."""
        ...

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[ox.Quad]: ...

    def apply(self, delta: Delta) -> None:
        """Apply a write atomically (callers validate it first)."""
        ...

    def bulk_load(self, quads: Iterable[ox.Quad]) -> None:
        """Add many quads fast (not transactional; for loads into fresh stores/graphs)."""
        ...

    def graphs(self) -> list[ox.NamedNode]: ...

    def has_graph(self, graph: ox.NamedNode) -> bool: ...

    def count(self, graph: GraphName | None = None) -> int: ...

    def dump(self, out: IO[bytes], fmt: RdfFormat, graph: GraphName | None = None) -> None: ...

    def close(self) -> None: ...
