"""The ClaimGraph core shared by the CLI and the web app: a store, the validator, and the
one write path (parse → skolemize → validate the delta → apply atomically)."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from claimgraph.config import Settings
from claimgraph.errors import InputError, ValidationFailed, WriteConflict
from claimgraph.formats import RdfFormat
from claimgraph.iris import Iris
from claimgraph.rdfio import parse_file
from claimgraph.store import REGISTRY, Delta, Store, check_delta
from claimgraph.store.embedded import SWAP_MIN_QUADS, EmbeddedStore
from claimgraph.store.remote import SCHEMES as REMOTE_SCHEMES
from claimgraph.store.shared import Record, RemoteStore
from claimgraph.validation import Report, Validator

log = logging.getLogger(__name__)

# Shipped content, loaded into an empty store in this order, each file into its own graph.
SEED_DIRS = ("ontology", "data")
SEED_SUFFIXES = {".ttl", ".trig", ".nt", ".nq", ".jsonld", ".rdf"}
# Tries of a write over a shared store whose generation another instance keeps moving.
WRITE_ATTEMPTS = 5


def _large(delta: Delta) -> bool:
    """Whether a write is large enough for the store to take it in parts (``SWAP_MIN_QUADS``:
    where a large ``claimgraph load`` swaps in a copy instead of one transaction)."""
    return len(delta.add) + len(delta.remove) >= SWAP_MIN_QUADS


def open_store(settings: Settings) -> Store:
    """The store the settings name: ``--store`` URL first, then ``--data-dir``, else memory."""
    url = settings.store
    if url is None:
        return EmbeddedStore(settings.data_dir)
    if url == "memory:":
        return EmbeddedStore(None)
    if url.startswith("oxigraph:"):
        return EmbeddedStore(Path(url.removeprefix("oxigraph:")))
    if url.startswith(REMOTE_SCHEMES):
        return RemoteStore.from_settings(settings)
    raise InputError(
        f"unsupported store URL {url!r}: use memory:, oxigraph:DIR or sparql+http(s)://… "
        "(or --data-dir DIR for the embedded on-disk store)"
    )


class WriteLock:
    """The re-entrant lock of this process's writers. Over a store shared with other instances
    (``read_base``), the outermost holder also reads the store's write generation (``base``)
    as it takes it: what it reads and validates under the lock is that generation's state, and
    its write commits only if the store is still at it."""

    def __init__(self, read_base: Callable[[], int] | None = None) -> None:
        self._lock = threading.RLock()
        self._read_base = read_base
        self._depth = 0
        self.base: int | None = None

    def __enter__(self) -> WriteLock:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1 and self._read_base is not None:
            try:
                self.base = self._read_base()
            except BaseException:
                self._depth = 0
                self._lock.release()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.base = None
        self._lock.release()

    @property
    def nested(self) -> bool:
        """Whether a caller holds the lock around this write (and may have built it from reads)."""
        return self._depth > 1


class _Weak:
    """A write listener calling a method of an object it holds weakly (``listen_weakly``)."""

    def __init__(self, method: Callable[[int, Delta], None]) -> None:
        self._method = weakref.WeakMethod(method)

    def gone(self) -> bool:
        return self._method() is None

    def __call__(self, generation: int, delta: Delta) -> None:
        method = self._method()
        if method is not None:
            method(generation, delta)


@dataclass
class LoadResult:
    files: int
    quads: int
    graphs: list[str]
    report: Report


@dataclass
class Registration:
    """What registering (or unregistering) graphs of a remote store did."""

    changed: list[ox.NamedNode]  # registered (unregistered) by it
    unchanged: list[ox.NamedNode]  # registered (not registered) already: nothing to do
    triples: dict[ox.NamedNode, int]  # of each changed graph, on the server
    report: Report | None  # the validation's, when validated
    generation: int | None  # the write generation it made; None: it wrote nothing


class ClaimGraph:
    """One deployment's graph: open it once per process and share it."""

    def __init__(
        self, settings: Settings, store: Store | None = None, validator: Validator | None = None
    ) -> None:
        self.settings = settings
        self.iris = Iris(settings.base_iri)
        self.store = store if store is not None else open_store(settings)
        root = settings.content_root
        self.validator = validator or Validator.from_dirs(root / "shapes", root / "ontology")
        # A remote store may be shared with other instances: its generation is the store's.
        self._shared = self.store if isinstance(self.store, RemoteStore) else None
        # Validation and commit of one write must not interleave with another's. Public and
        # re-entrant: a writer that reads the store to build its delta (SPARQL Update's WHERE,
        # an import) holds it across read, validation and commit.
        self.write_lock = WriteLock(self._shared.write_base if self._shared else None)
        self._generation = 0
        self._generation_read = -float("inf")  # when the shared store's was last read
        self._generation_lock = threading.Lock()
        self._landing = False  # a write of this process is being committed to the shared store
        self.last_modified = datetime.now(UTC)
        # Called with (generation, delta) after each committed write, under the write lock and
        # before the new generation is published: caches that can follow a small delta update
        # themselves instead of starting over.
        self.write_listeners: list[Callable[[int, Delta], None]] = []
        # Called with (generation, the resources it changed) for another instance's write that
        # recorded them in the shared store, before this one publishes that generation: the
        # same caches follow it. A write not recorded is not told (they start over).
        self.change_listeners: list[Callable[[int, frozenset[str]], None]] = []
        self.close_listeners: list[Callable[[], None]] = []  # called by close(), first
        # (generation, its classes', properties' and concepts' quads, their subjects)
        self._terms: tuple[int, list[ox.Quad], frozenset[ox.NamedNode | ox.BlankNode]] | None
        self._terms = None
        self._terms_lock = threading.Lock()

    def listen_weakly(self, method: Callable[[int, Delta], None]) -> None:
        """Add a bound method as a write listener without keeping its object alive: a graph
        may outlive the apps made over it (tests make many), and the listeners of those gone
        are dropped here."""
        self.write_listeners[:] = [
            f for f in self.write_listeners if not (isinstance(f, _Weak) and f.gone())
        ]
        self.write_listeners.append(_Weak(method))

    @property
    def generation(self) -> int:
        """Bumped by every committed write: caches and validators (ETag) key on it. Over a
        remote store it is the store's own, which every instance's writes bump: re-read at
        most every ``settings.store_refresh`` seconds, so another instance's write shows here
        within that time."""
        if self._shared is not None:
            now = time.monotonic()
            with self._generation_lock:
                due = (
                    not self._landing and now - self._generation_read >= self.settings.store_refresh
                )
                if due:
                    self._generation_read = now
            if due:
                self._follow(self._shared.generation())
        return self._generation

    @generation.setter
    def generation(self, value: int) -> None:
        """Set by tests and benchmarks to stand for a write this instance did not see."""
        self._generation = value

    def _follow(self, generation: int) -> None:
        """Publish ``generation``, read from the shared store; the change listeners are told
        first what each write since the last one seen changed, and the term quads of a
        generation since then are kept when no write after it changed them, as the writes
        recorded it (one small read, when another instance wrote and these may use it)."""
        with self._generation_lock:
            since = None if self._landing else self._generation
        if since is not None and generation > since:
            with self._terms_lock:
                terms = self._terms[0] if self._terms is not None else None
            if terms is not None and not since <= terms < generation:
                terms = None  # older: a write of this instance's since did not keep them
            if self.change_listeners or terms is not None:
                self._follow_records(since, generation, terms)
        self._seen(generation, read=True)

    def _follow_records(self, since: int, generation: int, terms: int | None) -> None:
        """Tell the change listeners what the writes after ``since`` up to ``generation``
        recorded, and keep the term quads of ``terms`` when each write after it recorded that
        it left them alone."""
        recorded = self._records(since, generation)
        for n, record in sorted(recorded.items()):
            for listener in list(self.change_listeners):
                try:
                    listener(n, record.touched)
                except Exception:
                    log.exception("a change listener failed on write generation %d", n)
        if terms is not None:
            self._keep_terms(terms, generation, recorded)

    def _records(self, since: int, until: int) -> Mapping[int, Record]:
        """What the writes after ``since`` up to ``until`` recorded (``RemoteStore.records``);
        nothing when it cannot be read (the caches then start over)."""
        assert self._shared is not None
        try:
            return self._shared.records(since, until)
        except Exception:
            log.exception("reading what writes %d to %d changed failed", since + 1, until)
            return {}

    def _keep_terms(
        self, terms: int, generation: int, recorded: Mapping[int, Record]
    ) -> list[ox.Quad] | None:
        """Carry the term quads of generation ``terms`` to ``generation`` when each write after
        it recorded (in ``recorded``) that it left them alone: them, or None (dropped)."""
        kept = all(
            n in recorded and recorded[n].terms is False for n in range(terms + 1, generation + 1)
        )
        with self._terms_lock:
            held = self._terms
            if held is None or held[0] != terms:
                return None
            self._terms = (generation, held[1], held[2]) if kept else None
            return held[1] if kept else None

    def _seen(self, generation: int, *, read: bool = False) -> None:
        with self._generation_lock:
            if read and self._landing:  # published by the write, once its listeners have run
                return
            if generation > self._generation:
                self._generation = generation
                self.last_modified = datetime.now(UTC)

    def term_quads(self, generation: int | None = None) -> list[ox.Quad]:
        """Every quad of the store's classes, properties and concepts at ``generation`` (by
        default the current one), which pages and validated writes take from here rather than
        read (``claimgraph.prefetch``): read once, and kept across this instance's writes that
        leave them alone (``_carry_terms``) and other instances' that recorded so (``_follow``,
        or here, for a generation past the one this instance has followed: a write's base)."""
        if generation is None:
            generation = self.generation
        with self._terms_lock:
            cached = self._terms
        if cached is not None and cached[0] == generation:
            return cached[1]
        held = cached[0] if cached is not None else None
        if held is not None and held < generation and self._shared is not None:
            # Asked for a later generation than this instance has followed (a write's base):
            # other instances' writes since are followed from their records (a small read).
            kept = self._keep_terms(held, generation, self._records(held, generation))
            if kept is not None:
                return kept
        from claimgraph import prefetch

        quads = prefetch.term_quads(self.store)
        subjects = frozenset(q.subject for q in quads if not isinstance(q.subject, ox.Triple))
        with self._terms_lock:
            # (not over those of a later generation: a page still at an earlier one while a
            # write validates against the store's latest must not undo the write's)
            if self._terms is None or self._terms[0] <= generation:
                self._terms = (generation, quads, subjects)
        return quads

    def _changes_terms(self, base: int, delta: Delta) -> bool | None:
        """Whether ``delta``, written at generation ``base``, changes a term's quads or makes or
        unmakes one; None when the term quads of ``base`` are not at hand to tell (not read,
        or too many to read at once)."""
        from claimgraph import prefetch

        with self._terms_lock:
            terms = self._terms
        if terms is None or terms[0] != base or not terms[1]:  # (none: too many to read)
            return None
        kinds = {ox.NamedNode(k) for k in prefetch.TERM_KINDS}
        return bool(delta.drop_graphs) or any(
            q.subject in terms[2] or (q.predicate == prefetch.RDF_TYPE and q.object in kinds)
            for q in delta.add + delta.remove
        )

    def _carry_terms(self, before: int, after: int, changed: bool | None) -> None:
        """Keep the term quads of generation ``before`` for ``after`` when the write between
        them did not change them (``_changes_terms``)."""
        with self._terms_lock:
            terms = self._terms
            if terms is not None and terms[0] == before:
                self._terms = (after, terms[1], terms[2]) if changed is False else None

    # -- writes ---------------------------------------------------------------------------
    def write(self, delta: Delta, *, system: bool = False) -> Report:
        """Validate ``delta`` against the store as it would be after it, then apply it.

        Raises ``ValidationFailed`` (and changes nothing) when a shape is violated, and
        ``InputError`` for a write to the reserved registry graph, or to a derived graph unless
        ``system`` (ClaimGraph's own write of what it derives). A system write is not validated
        here: it is computed from data that was, by code whose output the tests check against
        the shapes, and validating it would hold the write lock for long (the first derived
        graph at 10k statements is 167k quads: some 45 s of pyshacl); a large one goes into an
        embedded store in parts (``EmbeddedStore.apply_in_parts``), and into Virtuoso in
        requests under its size limit (``update_operations``). Over a shared store the
        commit is conditional on the generation validated against: when another instance wrote
        first, the write is validated again against the new state and retried, unless the
        caller built it from reads of the old one (``WriteConflict``).
        """
        check_delta(delta, derived=system)
        with self.write_lock as lock:
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                base = lock.base if lock.base is not None else self._generation
                report = (
                    Report(True, [], Graph(), 0)
                    if system
                    else self.validator.validate_delta(
                        self.store, delta, known=self.term_quads(base)
                    )
                )
                if not report.conforms:
                    raise ValidationFailed(report)
                if not delta:
                    return report
                changed = self._changes_terms(base, delta)
                if self._shared is None:
                    if system and isinstance(self.store, EmbeddedStore) and _large(delta):
                        self.store.apply_in_parts(delta)  # derived: rebuilt when incomplete
                    else:
                        self.store.apply(delta)
                    generation = self._generation + 1
                    self._carry_terms(base, generation, changed)
                    self._tell(generation, delta)  # before the generation is seen
                    self._generation = generation
                else:
                    assert lock.base is not None
                    with self._generation_lock:
                        self._landing = True
                    try:
                        landed = self._shared.apply_at(
                            delta, lock.base, in_parts=system, terms=changed
                        )
                        if landed is not None:
                            self._carry_terms(base, landed, changed)
                            self._tell(landed, delta)
                            self._seen(landed)
                    finally:
                        with self._generation_lock:
                            self._landing = False
                    if landed is None:  # another instance wrote since `base`: nothing applied
                        if lock.nested:
                            raise WriteConflict(
                                "another instance wrote to the store after this request read "
                                "it; nothing was stored: send the request again"
                            )
                        if attempt == WRITE_ATTEMPTS:
                            break
                        lock.base = self._shared.write_base()
                        continue
                self.last_modified = datetime.now(UTC)
                return report
            raise WriteConflict(
                f"other instances kept writing to the store first ({WRITE_ATTEMPTS} tries); "
                "nothing was stored: send the write again"
            )

    # -- the registry of a remote store ----------------------------------------------------
    def register_graphs(self, graphs: list[ox.NamedNode], *, validate: bool = True) -> Registration:
        """Make graphs that reached a remote store by other means (its bulk loader, another
        client) ClaimGraph's, as one write that bumps the store's write generation.

        Each must hold data and no blank nodes, and be neither the registry nor a system graph
        of the server (``InputError``: nothing registered). ``validate``: their data is first
        validated against the shapes, with the graphs registered already, as a write adding it
        would be (``ValidationFailed``: nothing registered). Those registered already are left
        as they are.
        """
        return self._registry_write(graphs, register=True, validate=validate)

    def unregister_graphs(
        self, graphs: list[ox.NamedNode], *, validate: bool = True
    ) -> Registration:
        """Hide graphs of a remote store from ClaimGraph, as one write that bumps the store's
        write generation; their data stays on the server. ``validate``: refused
        (``ValidationFailed``) when what remains would violate the shapes, as a drop of those
        graphs would. Those not registered are left as they are."""
        return self._registry_write(graphs, register=False, validate=validate)

    def _registry_write(
        self, graphs: list[ox.NamedNode], *, register: bool, validate: bool
    ) -> Registration:
        """The write listeners are not called: they could not follow the change (it is the
        whole of each graph), and a generation they did not see makes the caches they feed
        start over, as after another instance's write."""
        shared = self._shared
        if shared is None:
            raise InputError(
                f"graphs are {'registered' if register else 'unregistered'} only on a remote "
                "store (--store sparql+http://…): the embedded store shows every graph it holds"
            )
        graphs = list(dict.fromkeys(graphs))
        if REGISTRY in graphs:
            raise InputError(
                f"{REGISTRY} is ClaimGraph's registry itself: it cannot be registered or "
                "unregistered"
            )
        with self.write_lock as lock:
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                registered = set(shared.graphs())
                changed = [g for g in graphs if (g in registered) != register]
                unchanged = [g for g in graphs if g not in changed]
                if not changed:
                    return Registration([], unchanged, {}, None, None)
                if register:
                    triples = shared.check_registrable(changed)
                else:
                    triples = {g: shared.count(g) for g in changed}
                report = None
                if validate:
                    if register:
                        delta = Delta(add=[q for g in changed for q in shared.quads(graph=g)])
                    else:
                        delta = Delta(drop_graphs=changed)
                    report = self.validator.validate_delta(shared, delta)
                    if not report.conforms:
                        raise ValidationFailed(report)
                assert lock.base is not None
                at = shared.register_at if register else shared.unregister_at
                landed = at(changed, lock.base)
                if landed is not None:
                    self._seen(landed)
                    self.last_modified = datetime.now(UTC)
                    return Registration(changed, unchanged, triples, report, landed)
                if lock.nested:
                    raise WriteConflict(
                        "another instance wrote to the store after this request read it; "
                        "nothing was changed: send the request again"
                    )
                if attempt == WRITE_ATTEMPTS:
                    break
                lock.base = shared.write_base()
            raise WriteConflict(
                f"other instances kept writing to the store first ({WRITE_ATTEMPTS} tries); "
                "nothing was changed: send the request again"
            )

    def _tell(self, generation: int, delta: Delta) -> None:
        """Call the write listeners, before ``generation`` is published: a request that reads
        it finds what they recorded of it. The write is stored: a failing listener is logged
        (its cache starts over from the store), the others are still called."""
        for listener in list(self.write_listeners):
            try:
                listener(generation, delta)
            except Exception:
                log.exception("a write listener failed on write generation %d", generation)

    def default_graph_for(self, path: Path) -> ox.NamedNode:
        name = path.name.split(".", 1)[0]
        return ox.NamedNode(self.iris.graph(name))

    def read_files(
        self,
        paths: Iterable[Path],
        *,
        graph: str | None = None,
        fmt: RdfFormat | None = None,
        on_read: Callable[[int], None] | None = None,
    ) -> tuple[list[ox.Quad], list[ox.NamedNode]]:
        """Parse files; triples outside a named graph go to ``graph`` or one per file."""
        quads: list[ox.Quad] = []
        targets: dict[ox.NamedNode, None] = {}
        for path in paths:
            target = ox.NamedNode(graph) if graph else self.default_graph_for(path)
            file_quads = parse_file(
                path,
                graph=target,
                iris=self.iris,
                fmt=fmt,
                on_read=on_read,
                max_depth=self.settings.max_data_depth,
            )
            quads.extend(file_quads)
            for q in file_quads:
                targets.setdefault(q.graph_name, None)  # type: ignore[arg-type]
        return quads, list(targets)

    def load(
        self,
        paths: list[Path],
        *,
        graph: str | None = None,
        replace: bool = False,
        fmt: RdfFormat | None = None,
        on_read: Callable[[int], None] | None = None,
    ) -> LoadResult:
        """Load files as one validated, atomic write (``replace``: their graphs are emptied)."""
        quads, targets = self.read_files(paths, graph=graph, fmt=fmt, on_read=on_read)
        delta = Delta(add=quads, drop_graphs=targets if replace else [])
        report = self.write(delta)
        return LoadResult(len(paths), len(quads), [g.value for g in targets], report)

    # -- first start ----------------------------------------------------------------------
    def seed_files(self) -> list[Path]:
        root = self.settings.content_root
        return [
            p
            for d in SEED_DIRS
            for p in sorted((root / d).glob("*"))
            if p.suffix in SEED_SUFFIXES and p.is_file()
        ]

    def seed(self) -> list[str]:
        """Load each shipped file whose graph is not in the store yet; return those loaded.

        Run at every start: a restart finds the graphs there and adds nothing.
        """
        loaded = []
        for path in self.seed_files():
            quads, targets = self.read_files([path])
            if targets and all(self.store.has_graph(g) for g in targets):
                continue
            self.write(Delta(add=quads))
            loaded.append(path.name)
            log.info("loaded %s into %s", path.name, ", ".join(t.value for t in targets))
        return loaded

    def close(self) -> None:
        # Background work on this graph (e.g. the propagation analysis) ends before the store.
        for stop in self.close_listeners:
            stop()
        self.store.close()
