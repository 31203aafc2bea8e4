"""Reads of a page or a validated write in a few requests: the part of the store they look at,
fetched at once and kept in memory, where their many small queries and lookups then run.

A remote store answers a request in milliseconds of its own time but tens of milliseconds of
planning and round trip: a page that asks fifteen small questions is slow however small they
are. So a resource's page (and its linked-data description) reads, in at most three requests,
its *neighbourhood* (``page_view``): the resource's own quads; every node linking to it with
all of that node's quads; the nodes linking to those by ``cg:reportedBy`` (reports of its
statements) or ``cg:partOfPropagation`` (its propagation analysis); its reporting chain both
ways; a reviewed claim's statements (a review's markup tells of them); then, twice over
(names, and the names that descriptions in words need), the quads of every IRI those
mention, of the properties pages show of them (``SHOWN``; all of them on a page with a
review). The page's own SPARQL then runs unchanged over that copy.

A validated write (``write_view``) reads in one or two requests what staging the write looks
at (``claimgraph.validation``): the touched nodes' quads both ways, their referrers' quads both
ways, what those point at, then the nodes staging walks to that the first read did not
cover. A lookup the copy does not cover (a node past a truncated read) goes to the store as
before.

Both take the quads of the classes, properties and concepts from ``ClaimGraph.term_quads``
(``known``), which reads them once (``term_quads``) and keeps them across the writes that
leave them alone: they were most of the rows. A remote store answers these reads its own way
(``quads_whole``: in N-Triples, which Virtuoso writes several times faster than JSON).

Every read is bounded: at most ``NODES`` linking nodes (the earliest by ``cg:date``, those
with none first, so that what a page lists by date is what it listed reading them all),
``MENTIONED`` IRIs in one VALUES, and ``ROWS`` rows. A page whose neighbourhood does not fit
(a read cut at its bound, or at the server's cap on rows) reads the store query by query, as
it did before; a write's lookups that a cut read did not cover go to the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox

from claimgraph import deadline, describe, prose, sparqlterms
from claimgraph.iris import CG, SCHEMA
from claimgraph.store import Delta, GraphName, QueryResult, Store

OWL, RDFS_NS, SKOS_NS = (
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2004/02/skos/core#",
)
TERM_KINDS = (
    *(f"{OWL}{k}" for k in ("Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty")),
    f"{RDFS_NS}Class",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
    f"{SKOS_NS}Concept",
    f"{SKOS_NS}ConceptScheme",
)
NODES = 800  # nodes linking to a resource that its page reads (a claim page lists 200
# statements, an actor page 300)
CHAIN = 50  # steps of a statement's reporting chain, each way
MENTIONED = 2_000  # IRIs in one VALUES block
ROWS = 10_000  # rows of one read: a remote store's page (Virtuoso's default result cap)
# Links one step further out that a page shows: the reports of a resource's statements, and
# the parts of its propagation analysis (one branch each: see _union).
SECOND = (f"{CG}reportedBy", f"{CG}partOfPropagation")
REVIEWED = f"{SCHEMA}itemReviewed"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DATE = f"{CG}date"

# What pages and descriptions read of a node their resource's neighbourhood mentions: its
# types and names, the facts its description in words is made of (``prose``), what a
# description summarises of a linking node (``describe.SUMMARY``: a statement's report), and
# what the claim and source pages ask of a statement or a source they name.
SHOWN = sorted(
    {
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
        *describe.LABEL_PROPERTIES,
        *prose.INPUTS,
        *describe.SUMMARY,
        *(
            f"{CG}{p}"
            for p in ("translatedBy", "dateApproximate", "dateNote", "note", "quoteSource")
        ),
    }
)

Node = ox.NamedNode | ox.BlankNode


class View:
    """Quads read from ``store``, in memory, behind the ``Store`` read interface.

    ``query`` runs over the copy; ``quads`` too when the copy holds every quad of the pattern's
    subject (or object) — else the store answers, as do the other methods."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.local = ox.Store()
        self.outgoing: set[Node] = set()  # subjects whose quads the copy holds all of
        self.incoming: set[Node] = set()  # objects likewise

    def add(self, quads: Iterable[ox.Quad]) -> None:
        self.local.extend(quads)

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
    ) -> QueryResult:
        return self.local.query(
            sparql,
            use_default_graph_as_union=default_graph is None,
            default_graph=default_graph,  # type: ignore[arg-type]
            named_graphs=named_graphs,  # type: ignore[arg-type]
        )

    def quads(
        self,
        subject: Node | None = None,
        predicate: ox.NamedNode | None = None,
        object: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
        graph: GraphName | None = None,
    ) -> Iterator[ox.Quad]:
        if (subject is not None and subject in self.outgoing) or (
            isinstance(object, ox.NamedNode | ox.BlankNode) and object in self.incoming
        ):
            return iter(self.local.quads_for_pattern(subject, predicate, object, graph))
        return self.store.quads(subject, predicate, object, graph)

    def __getattr__(self, name: str) -> Any:  # graphs, has_graph, count…: the store's
        return getattr(self.store, name)


def _quads(store: Store, where: str) -> tuple[list[ox.Quad], bool]:
    """The quads ``?s ?p ?o ?g`` that the pattern ``where`` binds, at most ``ROWS``, and
    whether they are all there were."""
    deadline.check()
    # a remote store reads them its own way, and says whether the server cut the answer at
    # its own cap on rows
    whole = getattr(store, "quads_whole", None)
    if whole is not None:
        out, uncut = whole(where, ROWS)
        return out, uncut and len(out) < ROWS
    result = store.query(f"SELECT ?s ?p ?o ?g WHERE {{ {where} }} LIMIT {ROWS}")
    assert isinstance(result, ox.QuerySolutions)
    out = []
    for row in deadline.rows(result):
        s, p, o, g = row["s"], row["p"], row["o"], row["g"]
        if isinstance(p, ox.NamedNode) and isinstance(g, ox.NamedNode):
            out.append(ox.Quad(s, p, o, g))
    return out, len(out) < ROWS


def _union(branches: Iterable[str]) -> str:
    """The pattern of each branch's ``?s`` with all its quads (``?s ?p ?o ?g``).

    Each branch with its own quads pattern: Virtuoso plans a UNION joined to one pattern
    after it badly (seconds, or no rows at all). One subquery per branch with a constant
    predicate, not one with VALUES or FILTER(IN): Oxigraph joins a VALUES block as a table of
    its own (scanning every quad of its predicates), and Virtuoso scans each listed
    predicate's whole range under a filter."""
    parts = " UNION ".join(
        f"{{ {{ {b} }} GRAPH ?g {{ ?s ?p ?o }} }}"
        if b.startswith("SELECT")  # a subquery
        else f"{{ {b} GRAPH ?g {{ ?s ?p ?o }} }}"
        for b in branches
    )
    return parts


def _mentioned(quads: Iterable[ox.Quad], done: set[Node]) -> list[ox.NamedNode]:
    """The IRIs ``quads`` name (predicates too: a page shows their labels), less ``done``."""
    found = dict.fromkeys(
        t for q in quads for t in (q.subject, q.predicate, q.object) if isinstance(t, ox.NamedNode)
    )
    return [t for t in found if t not in done]


def _outgoing(
    view: View, nodes: list[ox.NamedNode], only: Iterable[str] | None = None
) -> tuple[list[ox.Quad], bool]:
    """Every quad of ``nodes`` (one request, at most ``MENTIONED`` of them), noted as covered
    when the read was complete; and whether it was. ``only``: the quads of these properties
    (the nodes are then not noted as covered: a lookup of them goes to the store)."""
    if not nodes:
        return [], True
    nodes = nodes[:MENTIONED]
    where = f"VALUES ?s {{ {sparqlterms.iris(n.value for n in nodes)} }} GRAPH ?g {{ ?s ?p ?o }}"
    if only is not None:
        # the predicate compared as a string: FILTER(?p IN (…)) or VALUES ?p, Virtuoso scans
        # each listed predicate's whole range (a second, where this takes milliseconds)
        where += f" FILTER(STR(?p) IN ({', '.join(sparqlterms.literal(p) for p in only)}))"
    quads, complete = _quads(view.store, where)
    view.add(quads)
    if complete and only is None:
        view.outgoing.update(nodes)
    return quads, complete


def term_quads(store: Store) -> list[ox.Quad]:
    """Every quad of the store's classes, properties and concepts, or none when they do not
    fit in one read. Pages name them most (half the rows of a page's reads): the caller keeps
    them once per write generation and hands them to ``page_view``."""
    kinds = sparqlterms.iris(TERM_KINDS)
    quads, complete = _quads(
        store,
        f"VALUES ?k {{ {kinds} }} ?s a ?k . GRAPH ?g {{ ?s ?p ?o }}",
    )
    return quads if complete else []


def page_view(store: Store, iri: str, known: Iterable[ox.Quad] = ()) -> Store:
    """The neighbourhood of ``iri`` that its page and description read, in three requests;
    the store itself when that does not fit in them (the page then reads query by query).
    ``known``: every quad of some subjects (``term_quads``), which are then not read."""
    view = View(store)
    known = list(known)
    view.add(known)
    view.outgoing.update(q.subject for q in known if not isinstance(q.subject, ox.Triple))
    x = sparqlterms.iri(iri)

    # The earliest linking nodes, those with no date first (affiliations, reviews, claims
    # about an actor): what a page lists by date is the same as if it had read them all.
    def linking(var: str) -> str:
        return (
            f"SELECT ?{var} WHERE {{ {{ SELECT DISTINCT ?{var} ?d WHERE {{ ?{var} ?ip {x} "
            f"OPTIONAL {{ ?{var} {sparqlterms.iri(DATE)} ?d }} }} ORDER BY STR(?d) ?{var} "
            f"LIMIT {NODES} }} }}"
        )

    branches = [
        f"VALUES ?s {{ {x} }}",
        linking("s"),
        # the reports of those linking nodes (and their propagation parts): from a subquery
        # of them, because joined to a pattern ``?n ?ip x`` Virtuoso takes 100–200 ms to plan
        # the query (sampling the predicate's whole range) where it then runs in 5 ms
        *(
            f"SELECT DISTINCT ?s WHERE {{ {{ {linking('n')} }} ?s {sparqlterms.iri(p)} ?n }} "
            f"LIMIT {NODES}"
            for p in SECOND
        ),
        # a review's markup tells of the claim it reviews: its statements
        f"SELECT DISTINCT ?s WHERE {{ {x} {sparqlterms.iri(REVIEWED)} ?c . "
        f"?s {sparqlterms.iri(CG + 'claim')} ?c }} LIMIT {NODES}",
        f"SELECT DISTINCT ?s WHERE {{ {x} {sparqlterms.iri(SECOND[0])}+ ?s }} LIMIT {CHAIN}",
        f"SELECT DISTINCT ?s WHERE {{ ?s {sparqlterms.iri(SECOND[0])}+ {x} }} LIMIT {CHAIN}",
    ]
    first, complete = _quads(store, _union(branches))
    if not complete:
        return store
    view.add(first)
    node = ox.NamedNode(iri)
    view.outgoing.update({q.subject for q in first if not isinstance(q.subject, ox.Triple)})
    if len({q.subject for q in first if q.object == node}) < NODES:
        view.incoming.add(node)
    # ClaimReview markup reads every property of the nodes it names (the reviewed claim's,
    # its statements' speakers' and sources', theirs): a page with a review reads them whole
    whole = any(q.predicate.value == REVIEWED for q in first)
    quads, done = first, set(view.outgoing)
    for _ in range(2):  # names, then the names that descriptions in words need
        wanted = _mentioned(quads, done)
        if len(wanted) > MENTIONED:
            return store
        quads, complete = _outgoing(view, wanted, None if whole else SHOWN)
        if not complete:
            return store
        done.update(wanted)
    return view


def write_view(
    store: Store, delta: Delta, nodes: Iterable[Node], *, known: Iterable[ox.Quad] = ()
) -> View:
    """What validating ``delta``, a write to ``nodes``, reads, in two requests: the nodes'
    quads both ways, their referrers' both ways, the quads of what the write's new quads
    point at and of what all those point at; then the quads of the nodes staging walks to
    that the first did not cover.
    ``known``: every quad of some subjects (``term_quads``: the classes and concepts the
    write's quads name, the most rows of these reads), which are then not read."""
    view = View(store)
    known = list(known)
    view.add(known)
    view.outgoing.update(q.subject for q in known if not isinstance(q.subject, ox.Triple))
    changed = {n for n in nodes if isinstance(n, ox.NamedNode)}
    targets = {q.object for q in delta.add if isinstance(q.object, ox.NamedNode)} - changed
    # what the known targets point at, read as what the others point at is (below)
    beyond = {
        q.object for q in known if q.subject in targets and isinstance(q.object, ox.NamedNode)
    }
    targets -= view.outgoing
    own = changed | targets | (beyond - view.outgoing)
    if not changed or len(own) > MENTIONED:
        return view
    iris = sparqlterms.iris
    values = f"VALUES ?n {{ {iris(sorted(n.value for n in changed))} }}"
    pointed = f"VALUES ?n {{ {iris(sorted(n.value for n in changed | targets))} }}"

    def referrers(var: str) -> str:
        return f"{{ SELECT DISTINCT ?{var} WHERE {{ {values} ?{var} ?x ?n }} LIMIT {ROWS} }}"

    # ?s bound straight by VALUES or a subquery, never by BIND: Virtuoso does not carry a
    # BIND's value into the join (70 s instead of 50 ms at 10k statements). The chains the
    # shapes follow are read hop by hop (here two, the second request a third, then
    # lookups): Virtuoso refuses a transitive path bound only by VALUES.
    branches = [
        f"VALUES ?s {{ {iris(sorted(n.value for n in own))} }}",
        referrers("s"),
        f"{referrers('r')} ?s ?y ?r",
        f"{pointed} ?n ?x ?s",
        f"{referrers('r')} ?r ?y ?s",
    ]
    first, complete = _quads(store, _union(branches))
    view.add(first)
    if complete:
        view.outgoing.update(own)
        view.outgoing.update({q.subject for q in first if not isinstance(q.subject, ox.Triple)})
        # every referrer was read, with every quad pointing at it
        view.incoming.update(changed)
        view.incoming.update(
            q.subject
            for q in first
            if q.object in changed and isinstance(q.subject, ox.NamedNode | ox.BlankNode)
        )
    # Then the nodes staging describes (``Validator.validate_delta``: two steps from a node
    # the write changes or from one pointing at it, chains to their end) that this read did
    # not cover: found by walking as staging does over what is read. Not everything the
    # first read names: the rest is never looked at.
    from claimgraph.validation import CHAIN_PREDICATES

    out: dict[object, list[ox.Quad]] = {}
    for q in (*first, *known, *delta.add):
        out.setdefault(q.subject, []).append(q)
    depth: dict[object, int] = {}

    def visit(node: object, d: int) -> None:
        if depth.get(node, -1) >= d:
            return
        depth[node] = d
        for q in out.get(node, ()):
            if isinstance(q.object, ox.NamedNode):
                if q.predicate.value in CHAIN_PREDICATES:
                    visit(q.object, max(d, 1))
                elif d > 0:
                    visit(q.object, d - 1)

    for node in changed | {q.subject for q in first if q.object in changed}:
        visit(node, 2)
    wanted = {n for n in depth if isinstance(n, ox.NamedNode)}
    _outgoing(view, [n for n in sorted(wanted, key=str) if n not in view.outgoing])
    return view
