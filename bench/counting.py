"""A store that counts the reads sent through it: each call of a read method of the ``Store``
interface (and of the remote store's ``quads_whole``) is one request to the store (a remote
store's round trip), whatever it returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox

from claimgraph.store import GraphName, QueryResult, Store


class CountingStore:
    """Wraps any ``Store``; ``reads`` counts the calls of each read method, ``queries`` keeps
    the SPARQL text of each ``query``. Every other method is the wrapped store's."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads: Counter[str] = Counter()
        self.queries: list[str] = []

    @property
    def total(self) -> int:
        return sum(self.reads.values())

    def reset(self) -> None:
        self.reads.clear()
        self.queries.clear()

    def query(self, sparql: str, **kwargs: Any) -> QueryResult:
        self.reads["query"] += 1
        self.queries.append(sparql)
        return self.store.query(sparql, **kwargs)

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[ox.Quad]:
        self.reads["quads"] += 1
        return self.store.quads(subject, predicate, object, graph)

    def graphs(self) -> list[ox.NamedNode]:
        self.reads["graphs"] += 1
        return self.store.graphs()

    def has_graph(self, graph: ox.NamedNode) -> bool:
        self.reads["has_graph"] += 1
        return self.store.has_graph(graph)

    def count(self, graph: GraphName | None = None) -> int:
        self.reads["count"] += 1
        return self.store.count(graph)

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.store, name)  # AttributeError where the store has no such read
        if name != "quads_whole":
            return found

        def counted(where: str, limit: int) -> Any:  # the remote store's read that says if
            # it was cut
            self.reads[name] += 1
            self.queries.append(where)
            return found(where, limit)

        return counted
