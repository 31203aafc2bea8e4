"""Counts that describe what the graph holds (CLI `stats`, the status page)."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from claimgraph import sparqlterms
from claimgraph.iris import CG, SCHEMA
from claimgraph.store import Store

# The classes a reader cares about, in the order we show them.
COUNTED_CLASSES: tuple[tuple[str, str], ...] = (
    ("actors", f"{CG}Actor"),
    ("claims", f"{CG}Claim"),
    ("statements", f"{CG}Statement"),
    ("sources", f"{CG}Source"),
    ("evidence", f"{CG}Evidence"),
    ("assessments", f"{CG}EvidenceAssessment"),
    ("reviews", f"{SCHEMA}ClaimReview"),
)


@dataclass
class Stats:
    triples: int
    graphs: dict[str, int]
    classes: dict[str, int]


def collect(store: Store) -> Stats:
    graphs = {g.value: store.count(g) for g in store.graphs()}
    classes = {}
    for label, cls in COUNTED_CLASSES:
        # subclasses count too (a cg:Person is an actor); the hierarchy is in the store
        sub = sparqlterms.iri("http://www.w3.org/2000/01/rdf-schema#subClassOf")
        result = store.query(
            f"SELECT (COUNT(DISTINCT ?x) AS ?n) {{ ?c {sub}* {sparqlterms.iri(cls)} . ?x a ?c }}"
        )
        assert isinstance(result, ox.QuerySolutions)
        n = next(iter(result))["n"]
        classes[label] = int(n.value) if isinstance(n, ox.Literal) else 0
    return Stats(sum(graphs.values()), graphs, classes)
