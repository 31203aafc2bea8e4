"""Large writes are validated in bulk (over a staging copy of the store): a load that violates
a shape is refused with the report the node-by-node path gives, and nothing is written."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from bench.generate import BENCH_GRAPH, generate
from claimgraph.core import ClaimGraph
from claimgraph.errors import ValidationFailed
from claimgraph.iris import CG
from claimgraph.store import Delta
from claimgraph.validation import BULK_MIN_QUADS

BAD = {
    "text without language": (f"{CG}text", ox.Literal("no language tag")),
    "speaker not an actor": (f"{CG}speaker", ox.NamedNode("https://example.org/nobody")),
    "impossible date": (f"{CG}date", ox.Literal("2024-13", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYearMonth"))),
    "unknown property": (f"{CG}quotes", ox.Literal("x", language="en")),
}  # fmt: skip


def _load(bad: tuple[str, ox.Literal | ox.NamedNode]) -> Delta:
    quads = list(generate(600, seed=5))
    assert len(quads) >= BULK_MIN_QUADS
    predicate, value = bad
    # the first subject that has this predicate (or any statement, for the unknown one)
    subject = next(q.subject for q in quads if q.predicate.value in (predicate, f"{CG}speaker"))
    quads.append(ox.Quad(subject, ox.NamedNode(predicate), value, ox.NamedNode(BENCH_GRAPH)))
    return Delta(add=quads)


@pytest.mark.parametrize("what", sorted(BAD))
def test_large_invalid_load_refused_with_the_same_report(seeded: ClaimGraph, what: str) -> None:
    delta = _load(BAD[what])
    v = seeded.validator
    assert v._bulk_worth_it(seeded.store, delta), "a load this size goes in bulk"
    before = seeded.store.count()
    small = v.validate_delta(seeded.store, delta, bulk=False)
    with pytest.raises(ValidationFailed) as refused:
        seeded.write(delta)
    assert seeded.store.count() == before  # nothing written
    bulk = refused.value.report
    assert not bulk.conforms and not small.conforms
    assert bulk.results == small.results
    assert bulk.focus_nodes == small.focus_nodes


def test_large_valid_load_is_written(seeded: ClaimGraph) -> None:
    delta = Delta(add=list(generate(600, seed=5)))
    before = seeded.store.count()
    report = seeded.write(delta)
    assert report.conforms
    assert seeded.store.count() == before + len(delta.add)
