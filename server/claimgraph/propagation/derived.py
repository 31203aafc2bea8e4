"""The propagation analysis as derived triples, in their own named graph, and the background
runner that keeps them in step with the curated graphs.

The derived graph (``<base>graph/derived/propagation``) is written by ClaimGraph only: every
user write to a graph under ``…/graph/derived/`` is refused (``claimgraph.store``). It is
written through the one write path (validated against the shapes, atomic, bumping the write
generation, so that SPARQL snapshots, dumps and ETags follow it), as the difference between
what it holds and what the analysis gives, and only when they differ: a write that changed
nothing propagation reads leaves it alone, and its own write does not start another analysis
(``Runner`` knows it made it; an instance sharing a remote store that did not see it
recomputes once, finds nothing to change, and writes nothing).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial

import pyoxigraph as ox

from claimgraph.core import ClaimGraph
from claimgraph.iris import CG
from claimgraph.propagation.analysis import (
    Analysis,
    ClaimResult,
    Hop,
    StanceResult,
    StatementResult,
    analyse,
    read_facts,
)
from claimgraph.store import Delta
from claimgraph.store.embedded import EmbeddedStore
from claimgraph.summaries import MAX_REST

log = logging.getLogger(__name__)

# Under steady writes an analysis starts no sooner than REST times the last one's duration
# after it ended (MAX_REST at most), as summaries do: at 100,000 statements one takes some
# 15 s, and back to back they would keep a core busy for good.
REST = 2.0

PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
GENERATED_BY = ox.NamedNode(f"{PROV}wasGeneratedBy")
ENDED = ox.NamedNode(f"{PROV}endedAtTime")
INTEGER = ox.NamedNode(f"{XSD}integer")
BOOLEAN = ox.NamedNode(f"{XSD}boolean")
DATETIME = ox.NamedNode(f"{XSD}dateTime")
TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
DESCRIPTION = ox.NamedNode("http://purl.org/dc/terms/description")
GRAPH_DESCRIPTION = (
    "How each claim travelled, derived by ClaimGraph from the reporting chains "
    "(cg:reportedBy), dates, speakers, sources and translations of the curated graphs: origins, "
    "echoes with their lags, independent origins against repeats, first and latest sayings, "
    "and rebuttals no reporter of the claim carried. Recomputed after every write; never "
    "written by users."
)


def _cg(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{CG}{name}")


class Names:
    """The IRIs of the derived graph and of its resources, minted from the canonical base.

    A claim or statement ``<base>id/<kind>/<slug>`` has its propagation at
    ``<base>id/<kind>/<slug>/propagation``; one with any other IRI at
    ``<base>id/external/<sha1 of the IRI, 20 hex digits>/propagation``. Beneath it: a claim's
    stances at ``…/propagation/<stance>`` (``asserts``), a statement's echoes at
    ``…/propagation/echo/<kind>/<slug>`` (of the report).
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.graph = ox.NamedNode(f"{base}graph/derived/propagation")
        self.analysis = ox.NamedNode(f"{base}id/analysis/propagation")

    def local(self, iri: str) -> str:
        """``claim/<slug>`` for a data IRI under the base, ``external/<hash>`` for any other."""
        prefix = f"{self.base}id/"
        if iri.startswith(prefix):
            rest = iri[len(prefix) :]
            kind, _, slug = rest.partition("/")
            if kind and slug and not any(c in slug for c in "/#?"):
                return rest
        return f"external/{hashlib.sha1(iri.encode()).hexdigest()[:20]}"

    def of(self, iri: str) -> ox.NamedNode:
        return ox.NamedNode(f"{self.base}id/{self.local(iri)}/propagation")

    def stance(self, claim: str, stance: str) -> ox.NamedNode:
        name = stance.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        return ox.NamedNode(f"{self.of(claim).value}/{name}")

    def echo(self, reported: str, report: str) -> ox.NamedNode:
        return ox.NamedNode(f"{self.of(reported).value}/echo/{self.local(report)}")


# One resource of the derived graph: (a digest of what its triples are made from, the maker of
# its triples). Every triple a unit makes has the unit's node as its subject.
Unit = tuple[bytes, Callable[[], Iterator[ox.Triple]]]


def units(analysis: Analysis, names: Names) -> dict[str, Unit]:
    """The derived graph, resource by resource: node IRI → ``Unit``. The digests let a rerun
    tell which resources changed without making the others' triples (``delta``)."""
    T, N = ox.Triple, ox.NamedNode
    out: dict[str, list[tuple[str, Callable[[], Iterator[ox.Triple]]]]] = {}

    def add(node: ox.NamedNode, source: str, make: Callable[[], Iterator[ox.Triple]]) -> None:
        out.setdefault(node.value, []).append((source, make))

    def integer(n: int) -> ox.Literal:
        return ox.Literal(str(n), datatype=INTEGER)

    def resource(node: ox.NamedNode, cls: str, claim: str | None) -> Iterator[ox.Triple]:
        yield T(node, RDF_TYPE, _cg(cls))
        yield T(node, GENERATED_BY, names.analysis)
        if claim is not None:
            yield T(node, _cg("partOfPropagation"), names.of(claim))

    def header(g: ox.NamedNode = names.graph) -> Iterator[ox.Triple]:
        yield T(g, RDF_TYPE, ox.NamedNode(f"{PROV}Entity"))
        yield T(g, GENERATED_BY, names.analysis)
        yield T(g, TITLE, ox.Literal("Propagation of the claims (derived)", language="en"))
        yield T(g, DESCRIPTION, ox.Literal(GRAPH_DESCRIPTION, language="en"))

    def claim(c: ClaimResult, node: ox.NamedNode) -> Iterator[ox.Triple]:
        yield from resource(node, "ClaimPropagation", None)
        yield T(node, _cg("propagationOf"), N(c.claim))
        for o in c.origins:
            yield T(node, _cg("origin"), N(o))
        for a in c.reporters:
            yield T(node, _cg("reporter"), N(a))
        for r in c.uncarried:
            yield T(node, _cg("uncarriedRebuttal"), N(r))

    def stance(c: ClaimResult, s: StanceResult, node: ox.NamedNode) -> Iterator[ox.Triple]:
        yield from resource(node, "StancePropagation", c.claim)
        yield T(node, _cg("propagationOf"), N(c.claim))
        yield T(node, _cg("forStance"), N(s.stance))
        yield T(node, _cg("statementCount"), integer(s.statements))
        yield T(node, _cg("originCount"), integer(len(s.origins)))
        yield T(node, _cg("independentSpeakers"), integer(len(s.speakers)))
        yield T(node, _cg("independentSources"), integer(len(s.sources)))
        yield T(node, _cg("repeatCount"), integer(len(s.repeats)))
        for o in s.origins:
            yield T(node, _cg("origin"), N(o))
        for a in s.repeated_by:
            yield T(node, _cg("repeatedBy"), N(a))
        yield T(node, _cg("firstStatement"), N(s.first))
        yield T(node, _cg("latestStatement"), N(s.latest))
        first, latest = analysis.dates.get(s.first), analysis.dates.get(s.latest)
        if first is not None:
            yield T(node, _cg("firstSaid"), first)
        if latest is not None:
            yield T(node, _cg("latestSaid"), latest)

    def statement(st: StatementResult, node: ox.NamedNode) -> Iterator[ox.Triple]:
        yield from resource(node, "StatementPropagation", st.claim)
        yield T(node, _cg("propagationOf"), N(st.iri))
        yield T(
            node,
            _cg("firstHand"),
            ox.Literal("true" if st.first_hand else "false", datatype=BOOLEAN),
        )
        for o in st.origins:
            yield T(node, _cg("origin"), N(o))
        if st.depth is not None:
            yield T(node, _cg("echoDepth"), integer(st.depth))
        yield T(node, _cg("echoCount"), integer(len(st.echoes)))
        if st.translation is not None:
            yield T(node, _cg("readInTranslation"), N(st.translation))

    def echo(hop: Hop, claim: str | None, node: ox.NamedNode) -> Iterator[ox.Triple]:
        yield from resource(node, "Echo", claim)
        yield T(node, _cg("hopFrom"), N(hop.reported))
        yield T(node, _cg("hopTo"), N(hop.report))
        if hop.lag is not None:
            yield T(node, _cg("minLagDays"), integer(hop.lag[0]))
            yield T(node, _cg("maxLagDays"), integer(hop.lag[1]))
        if hop.translation is not None:
            yield T(node, _cg("readInTranslation"), N(hop.translation))

    add(names.graph, "", header)
    for c in analysis.claims.values():
        node = names.of(c.claim)
        add(node, repr((c.claim, c.origins, c.reporters, c.uncarried)), partial(claim, c, node))
        for st in c.stances.values():
            node = names.stance(c.claim, st.stance)
            dates = analysis.dates.get(st.first), analysis.dates.get(st.latest)
            add(node, repr((st, dates)), partial(stance, c, st, node))
    for r in analysis.statements.values():
        node = names.of(r.iri)
        add(node, repr(r), partial(statement, r, node))
    for hop in analysis.hops:
        node = names.echo(hop.reported, hop.report)
        owner = analysis.statements[hop.reported].claim
        add(node, repr((hop, owner)), partial(echo, hop, owner, node))

    def unit(parts: list[tuple[str, Callable[[], Iterator[ox.Triple]]]]) -> Unit:
        digest = hashlib.blake2b(digest_size=16)
        for source, _ in parts:
            digest.update(source.encode())
            digest.update(b"\0")
        return digest.digest(), lambda: itertools.chain.from_iterable(make() for _, make in parts)

    return {node: unit(parts) for node, parts in out.items()}


def triples(analysis: Analysis, names: Names) -> Iterator[ox.Triple]:
    """The analysis as triples (without the activity's own description: ``activity``)."""
    for _, make in units(analysis, names).values():
        yield from make()


def activity(names: Names, generation: int) -> list[ox.Triple]:
    """The analysis run that made the graph's content: the write generation it read."""
    a = names.analysis
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        ox.Triple(a, RDF_TYPE, _cg("PropagationAnalysis")),
        ox.Triple(a, _cg("writeGeneration"), ox.Literal(str(generation), datatype=INTEGER)),
        ox.Triple(a, ENDED, ox.Literal(now, datatype=DATETIME)),
    ]


def delta(
    cg: ClaimGraph,
    names: Names,
    made: dict[str, Unit],
    generation: int,
    known: dict[str, bytes] | None = None,
) -> Delta:
    """The write that makes the derived graph say what ``made`` (``units`` of an analysis)
    says (empty when it does already: the activity's description changes only with the
    content).

    ``known``: the digest of each resource the graph holds (``units``), when known for sure;
    then only the resources whose digest changed are made and read back. Without it, the whole
    graph is (at 100,000 statements: 1.66M triples made and read, some 30 s)."""
    g = names.graph

    def quads(make: Callable[[], Iterator[ox.Triple]]) -> Iterator[ox.Quad]:
        return (ox.Quad(t.subject, t.predicate, t.object, g) for t in make())

    if known is None:
        new = {q for _, make in made.values() for q in quads(make)}
        old = set(cg.store.quads(None, None, None, g))
    else:
        new, old = set(), set()
        for node, (digest, make) in made.items():
            if known.get(node) != digest:
                new.update(quads(make))
                old.update(cg.store.quads(ox.NamedNode(node), None, None, g))
        for node in known.keys() - made.keys():
            old.update(cg.store.quads(ox.NamedNode(node), None, None, g))
    stamp = set(cg.store.quads(names.analysis, None, None, g))
    old -= stamp
    if new == old:
        return Delta()
    add = [q for q in new if q not in old]
    add += [ox.Quad(t.subject, t.predicate, t.object, g) for t in activity(names, generation)]
    return Delta(add=add, remove=list((old - new) | stamp))


class Runner:
    """Keeps the derived graph in step: after each write to the curated graphs (a write
    listener), and when asked (``ensure``), one analysis runs in a background thread, a moment
    (``delay``) after the last request for it, so that a burst of writes costs one."""

    def __init__(self, cg: ClaimGraph, *, delay: float) -> None:
        self.cg = cg
        self.names = Names(cg.iris.base)
        self.delay = delay
        self._lock = threading.Condition()
        self.done = -1  # the generation the derived graph is known to follow
        self.wanted = -1
        self.failed: int | None = None
        self.runs = 0  # analyses run (tests count them: a derived write must not cause one)
        self._thread: threading.Thread | None = None
        self.analysed = -1  # the generation the running analysis read
        self._stopped = False
        self._known: dict[str, bytes] | None = None  # the derived graph's digests (``delta``)
        self._rested = 0.0  # (monotonic) no analysis starts before: see REST
        cg.write_listeners.append(self._written)
        cg.close_listeners.append(self.stop)

    def stop(self) -> None:
        """Run no more analyses, and let a running one finish: the store is about to close."""
        with self._lock:
            self._stopped = True
            thread = self._thread
            self._lock.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _written(self, generation: int, change: Delta) -> None:
        """Called under the write lock, before ``generation`` is published."""
        if self._only_derived(change):
            with self._lock:
                if generation - 1 in (self.done, self.analysed):  # in step before: still is
                    self.done = generation
                    self._lock.notify_all()
            return
        self.ensure(generation)

    def _only_derived(self, change: Delta) -> bool:
        g = self.names.graph
        return (
            all(q.graph_name == g for q in change.add)
            and all(q.graph_name == g for q in change.remove)
            and all(d == g for d in change.drop_graphs)
        )

    def ensure(self, generation: int | None = None) -> None:
        """Ask for the derived graph of ``generation`` (default: the graph's now)."""
        if generation is None:
            generation = self.cg.generation
        with self._lock:
            if generation <= self.done or generation <= self.wanted or self._stopped:
                return
            self.wanted = generation
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="propagation", daemon=True)
                self._thread.start()

    def wait(self, generation: int, timeout: float) -> bool:
        """Whether the derived graph follows ``generation`` within ``timeout`` seconds."""
        end = time.monotonic() + timeout
        with self._lock:
            while self.done < generation:
                left = end - time.monotonic()
                if left <= 0 or (self.failed is not None and self.failed >= generation):
                    return False
                self._lock.wait(left)
            return True

    def _loop(self) -> None:
        while True:
            with self._lock:
                wait = max(self.delay, self._rested - time.monotonic())
                self._lock.wait_for(lambda: self._stopped, timeout=wait)  # stop() wakes it
                if self.wanted <= self.done or self._stopped:
                    self._thread = None
                    return
                target = self.wanted
            began = time.monotonic()
            try:
                generation = self._run()
            except Exception:
                log.exception("the propagation analysis of write generation %d failed", target)
                with self._lock:
                    self.failed = target
                    if self.wanted <= target:
                        self._thread = None
                        self._lock.notify_all()
                        return
                continue
            took = time.monotonic() - began
            with self._lock:
                self._rested = began + took + min(MAX_REST, REST * took)
                # its own write, if any, moved ``done`` on in ``_written``
                self.done = max(self.done, generation)
                self.failed = None
                self._lock.notify_all()

    def _run(self) -> int:
        """Analyse the store as it is now; write the derived graph if it changed. The write
        generation analysed."""
        cg, names = self.cg, self.names
        generation = cg.generation
        with self._lock:
            self.runs += 1
            self.analysed = generation
        analysis = analyse(read_facts(cg.store, skip=[names.graph]))
        # What the graph holds is known after this runner's own write, unless another process
        # may write it too (instances sharing a remote store): then it is read whole.
        known, self._known = self._known, None
        made = units(analysis, names)
        change = delta(cg, names, made, generation, known)
        if change:
            cg.write(change, system=True)
        if isinstance(cg.store, EmbeddedStore):
            self._known = {node: digest for node, (digest, _) in made.items()}
        return generation
