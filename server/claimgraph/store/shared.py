"""The remote store shared by several ClaimGraph instances: its writes conditional on the
store's write generation, which the registry graph holds and every write bumps.

A validated write (``apply_at``) is one conditional update that applies only while the
generation is the one the validation saw, and bumps it; the writer reads its token back to
learn whether it applied, and settles a lost answer with a second conditional update (see the
README's "Scaling out"). A write too large for one conditional operation holds the store
instead: a conditional update claims it for a short time, renewed after each of the write's
requests, and a last one lets go. Registering graphs is such a conditional write too.
A write in one conditional operation also records the resources it changed, and whether it
changed the classes, properties and concepts, which the other instances read (``records``) to
follow it instead of starting over.

The SPARQL of these updates is written beside the rest in ``claimgraph.store.remote``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import NamedTuple

import pyoxigraph as ox

from claimgraph.errors import InputError, StoreError
from claimgraph.store import REGISTRY, Delta
from claimgraph.store.remote import (
    FOLLOWED_RECORDS,
    GENERATION,
    PENDING,
    REGISTERED_AT_ONCE,
    RENEWED,
    SINGLE_OPERATION_LIMIT,
    TERMS,
    TOKEN,
    TOUCHED,
    VALUE,
    SparqlStore,
    _changes,
    _check_delta,
    _data,
    _record,
    _registered,
    _reserved,
    _Step,
    _whole,
    conditional_operation,
    renewal_operation,
    update_operations,
)

log = logging.getLogger(__name__)

# A hold on the store lasts this many request times (CLAIMGRAPH_STORE_TIMEOUT) after its last
# renewal: a renewal lands at most three requests after the one before (the rest of that one,
# a data request, the renewal's own), and the claim at most three before the first renewal
# (the read of its token, a data request, the renewal).
HOLD_REQUESTS = 3


@dataclass(frozen=True)
class _State:
    """What the registry says of the store's writes."""

    generation: int
    recorded: bool  # whether the store records a generation at all
    held: int | None  # seconds for which the write that made it holds the store (None: done)
    renewed: int  # how many times that write renewed its hold


# xsd:boolean's lexical forms
_BOOLEAN = {"true": True, "1": True, "false": False, "0": False}


class Record(NamedTuple):
    """What a write recorded of itself for the other instances (``RemoteStore.records``)."""

    touched: frozenset[str]  # the resources it changed (``_touched``)
    terms: bool | None  # whether it changed the term quads; None: not recorded, not known


def _touched(delta: Delta) -> frozenset[str]:
    """The resources a write changes, as other instances follow it: the subject and the IRI
    object of each quad it adds or removes."""
    out: set[str] = set()
    for q in itertools.chain(delta.add, delta.remove):
        for t in (q.subject, q.object):
            if isinstance(t, ox.NamedNode):
                out.add(t.value)
    return frozenset(out)


class RemoteStore(SparqlStore):
    """A SPARQL 1.1 server behind the ``Store`` interface, shared with other instances (see
    the module docstrings, this one's and ``claimgraph.store.remote``'s)."""

    # (Each instance's own state, set by its writes: these are the values it starts from.)
    # (generation, renewals) of another instance's hold on the store, and when first seen
    _claim_seen: tuple[tuple[int, int], float] | None = None
    # (generation, token) of this instance's hold whose release failed: let go at the next
    # write_base
    _unreleased: tuple[int, str] | None = None
    _generation_seen = -1
    _isolation_checked = False

    def generation(self) -> int:
        """The store's write generation (0 before the first counted write): one small read."""
        return self._state().generation

    def _write_state(self, graph: ox.NamedNode) -> object:
        """The write generation and any hold on the store, for a graph read in parts; a write
        going on in several requests (a hold) is waited for by no read: this one fails."""
        state = self._state()
        if state.held is not None:
            raise StoreError(
                f"the graph {graph} cannot be read whole from the SPARQL store at "
                f"{self.query_url} now: a write in several requests holds the store (for at "
                f"most {state.held} s after its last request): try again"
            )
        return state

    def _state(self) -> _State:
        """The write generation, and the claim of the write that made it, if it holds the store."""
        rows = self._select(
            f"SELECT ?n ?w ?claim ?k WHERE {{ GRAPH {REGISTRY} {{ "
            f"{{ {GENERATION} {VALUE} ?n }} UNION "
            f"{{ ?w {PENDING} ?claim OPTIONAL {{ ?w {RENEWED} ?k }} }} }} }}"
        )
        numbers = [self._number(r["n"], "write generation") for r in rows if r["n"] is not None]
        n = max(numbers, default=0)
        if n != self._generation_seen:  # another instance may have registered graphs
            self._generation_seen, self._graph_cache = n, None
        held, renewed = None, 0
        for r in rows:
            w = r["w"]
            if isinstance(w, ox.NamedNode) and f"<{w.value}>" == _record(n):
                held = self._number(r["claim"], f"hold of write {n}")
                k = r["k"]
                renewed = self._number(k, f"renewal count of write {n}") if k is not None else 0
        return _State(n, bool(numbers), held, renewed)

    def _number(self, term: object, what: str) -> int:
        """A whole number of the registry's; anything else there was not written by ClaimGraph,
        and leaves the state of the store's writes unknown (``StoreError``)."""
        if isinstance(term, ox.Literal):
            try:
                return _whole(term.value)
            except ValueError:
                pass
        err = StoreError(
            f"the registry graph {REGISTRY} of the SPARQL store at {self.query_url} holds "
            f"{term} as the {what}, where ClaimGraph writes a whole number: the state of the "
            "store's writes cannot be told; remove that triple from the registry graph (no "
            "write through ClaimGraph can touch it)"
        )
        log.error("%s", err)
        raise err

    def write_base(self) -> int:
        """The generation a validated write starts from (then ``apply_at``): the store's, once
        no write in several requests holds it.

        Another instance's such write is waited for, up to ``timeout`` (then ``StoreError``,
        503), and taken over by a write that finds its claim unchanged for longer than the
        claim says, counted from when this instance first saw it so (its instance stopped
        half-way; that write is incomplete, as it was told). A hold of this instance's own,
        left by a release that failed, is let go of at once.
        """
        self._check_isolation()
        deadline = time.monotonic() + self.timeout
        pause = 0.02
        started = released = False
        while True:
            state = self._state()
            n = state.generation
            if not state.recorded:
                if started:
                    raise self._not_visible()
                # The first counted write starts from 0. Two instances' first writes can leave
                # a stray 0 beside a 1: the highest generation is the one read and required.
                start = f"GRAPH {REGISTRY} {{ {GENERATION} {VALUE} 0 }}"
                self._update([_data("INSERT DATA", [start])], "start of the write generation")
                started = True
                continue
            own = self._unreleased
            if own is not None and (own[0] != n or state.held is None):
                self._unreleased = own = None  # let go of since, or taken over
            if state.held is None:
                return n
            if own is not None and not released:
                released = True
                log.warning(
                    "letting go of the store (generation %d), held by a write of this "
                    "instance's whose release failed",
                    n,
                )
                self._release(n, own[1])
                continue
            now = time.monotonic()
            claim = (n, state.renewed)
            if self._claim_seen is None or self._claim_seen[0] != claim:
                self._claim_seen = (claim, now)
            if now - self._claim_seen[1] > state.held:
                log.error(
                    "the write of generation %d (another instance's, in several requests) has "
                    "held the store for over %d s without a sign of progress: taken over; that "
                    "write is incomplete",
                    n,
                    state.held,
                )
                return n
            if now >= deadline:
                raise StoreError(
                    f"the SPARQL store at {self.update_url} is busy with another instance's "
                    f"write (generation {n}, sent in several requests); try again in a moment"
                )
            time.sleep(min(pause, deadline - now))
            pause = min(2 * pause, 0.5)

    def _not_visible(self) -> StoreError:
        err = StoreError(
            f"the SPARQL store at {self.update_url} accepted the update that starts the write "
            f"generation, but a query to {self.query_url} does not find it: the update "
            "endpoint's writes are not visible to the query endpoint. Point "
            "CLAIMGRAPH_STORE and CLAIMGRAPH_STORE_UPDATE_URL at the same dataset (not a read "
            "replica, nor another dataset behind a proxy)"
        )
        log.error("%s", err)
        return err

    def apply_at(
        self, delta: Delta, generation: int, *, in_parts: bool = False, terms: bool | None = None
    ) -> int | None:
        """Apply ``delta`` only if the store is still at ``generation`` (from ``write_base``):
        the new generation, or ``None`` when another write came first (nothing was applied).

        One conditional DELETE/INSERT where the delta fits in one operation: atomic, and
        isolated from another instance's where the server isolates an update request from a
        concurrent one (Virtuoso: ``DefaultIsolation = 4``). A larger write holds the store
        (``_held_write``). A conditional update whose answer is lost is settled on the spot
        (``_conditional``). ``in_parts``: the held write's additions may go to Virtuoso in
        several requests (derived data only: see ``update_operations``). ``terms``: whether
        the write changes the classes, properties and concepts (None: not known), recorded with
        what it touched for the other instances' ``ClaimGraph.term_quads``.
        """
        _check_delta(delta)
        what = self._what(delta)
        remove, add = _changes(delta)
        token = uuid.uuid4().hex
        try:
            if not delta.drop_graphs and len(remove) + len(add) <= SINGLE_OPERATION_LIMIT:
                touched = _touched(delta)
                operation = conditional_operation(
                    generation, token, remove, add, touched=touched, terms=terms
                )
                applied = self._conditional(operation, generation, token, what)
                return generation + 1 if applied else None
            return self._held_write(delta, generation, token, what, in_parts)
        finally:
            self._graph_cache = None

    def _conditional(self, operation: str, generation: int, token: str, what: str) -> bool:
        """Send a conditional update that is to make ``generation + 1`` as write ``token``, and
        tell whether it did (its token read back).

        When its answer is lost (a timeout, a broken connection), it may still be on its way:
        a conditional update that changes nothing follows, at the same generation, with a
        token of its own. Whichever of the two lands first makes ``generation + 1`` (unless
        another instance's write did), after which the other can no longer apply: the record of
        ``generation + 1`` then tells for good whether this write was applied.
        """
        try:
            self._update([operation], what)
        except StoreError as err:
            if not err.in_doubt:
                raise
            return self._settle(generation, token, what, err)
        return self._landed(generation + 1, token, what)

    def _settle(self, generation: int, token: str, what: str, doubt: StoreError) -> bool:
        """Whether the update of ``token``, whose answer was lost (``doubt``), was applied."""
        probe = uuid.uuid4().hex
        try:
            self._update([conditional_operation(generation, probe)], f"check of the {what}")
            maker = self._maker(generation + 1)
        except StoreError as err:
            log.error("could not settle whether the %s was applied: %s", what, err)
            raise doubt from err
        if maker is None:  # no write made generation + 1: the server did not apply the check
            raise doubt
        log.warning(
            "the answer to the %s was lost; the store's record says it was %s",
            what,
            "applied" if maker == token else "not applied",
        )
        return maker == token

    def records(self, since: int, until: int) -> dict[int, Record]:
        """What each write after ``since`` up to ``until`` changed, as it recorded it (one
        small read): the record of each write that made one; the others are missing (larger
        writes, registrations, records pruned), and all are when the gap is wider than the
        records kept."""
        if until <= since or until - since > FOLLOWED_RECORDS:
            return {}
        records = " ".join(_record(n) for n in range(since + 1, until + 1))
        rows = self._select(
            f"SELECT ?w ?t ?terms WHERE {{ VALUES ?w {{ {records} }} "
            f"GRAPH {REGISTRY} {{ ?w {TOUCHED} ?t OPTIONAL {{ ?w {TERMS} ?terms }} }} }}"
        )
        found: dict[int, Record] = {}
        for r in rows:
            w, t, terms = r["w"], r["t"], r["terms"]
            if isinstance(w, ox.NamedNode) and isinstance(t, ox.Literal):
                told = terms.value if isinstance(terms, ox.Literal) else ""
                changed = _BOOLEAN.get(told)  # (anything else: not known)
                found[int(w.value.rsplit("/", 1)[1])] = Record(frozenset(t.value.split()), changed)
        return found

    def _maker(self, generation: int) -> str | None:
        """The token of the write that made ``generation``, if the registry records it."""
        rows = self._select(
            f"SELECT ?t WHERE {{ GRAPH {REGISTRY} {{ {_record(generation)} {TOKEN} ?t }} }}"
        )
        tokens = [r["t"].value for r in rows if isinstance(r["t"], ox.Literal)]
        return tokens[0] if tokens else None

    def _held_write(
        self, delta: Delta, generation: int, token: str, what: str, in_parts: bool = False
    ) -> int | None:
        """A write too large for one conditional operation: a conditional update holds the
        store (marks ``generation + 1`` as pending, for ``HOLD_REQUESTS`` request times), then
        the write goes as ``apply`` sends it, the hold renewed after each request, and a last
        update lets go (``generation + 2``). ``None`` when another write came first.

        A failure after the data was applied says so. A release that fails is sent again at
        this instance's next ``write_base``; one that finds the store taken over (the write
        outlasted its hold) is an error: another instance's write did not wait for this one.
        """
        virtuoso = self.is_virtuoso()
        operations = update_operations(delta, virtuoso=virtuoso, in_parts=in_parts)
        hold = math.ceil(HOLD_REQUESTS * self.timeout) + 1
        claim = conditional_operation(generation, token, claim=hold)
        if not self._conditional(claim, generation, token, f"hold on the store for the {what}"):
            return None
        held = generation + 1
        self._unreleased = (held, token)
        release = _Step(
            conditional_operation(held, token),
            f"release of the store (generation {held})",
            f"this instance lets go at its next write; others wait up to {hold} s",
        )
        renewals = itertools.count(1)

        def renew() -> None:
            # (a failure is logged) the hold then lasts its time; the write goes on
            with contextlib.suppress(StoreError):
                self._update(
                    [renewal_operation(held, next(renewals))],
                    f"renewal of the hold on the store (generation {held})",
                )

        try:
            self._send(operations, what, then=None if virtuoso else release, between=renew)
        except StoreError:
            try:  # let go of the store: the write is incomplete, as the error says
                self._release(held, token)
            except StoreError:
                log.error(
                    "could not let go of the store (generation %d) after the failed %s: %s",
                    held,
                    what,
                    release.consequence,
                )
            raise
        if virtuoso:
            try:
                self._update([release.operation], release.name)
            except StoreError as err:
                raise self._after_applied(err, what, release) from err
        self._unreleased = None  # let go of, or taken over before
        mine = f"GRAPH {REGISTRY} {{ {_record(held + 1)} {TOKEN} {ox.Literal(token)} }}"
        try:
            landed = self._ask(mine)
        except StoreError as err:
            check = _Step("", f"read-back of the {release.name}", "")
            raise self._after_applied(err, what, check) from err
        if not landed:
            failure = StoreError(
                f"the {what} was applied, but it outlasted its hold on the store ({hold} s "
                f"without a renewal): another instance took the store over meanwhile "
                f"(generation {held}), and its write was validated without this one's "
                "changes; check that the store still conforms (/validation)"
            )
            log.error("%s", failure)
            raise failure
        return held + 1

    def _release(self, generation: int, token: str) -> None:
        """Let go of the store held at ``generation`` by this instance's write ``token``."""
        self._update(
            [conditional_operation(generation, token)],
            f"release of the store (generation {generation})",
        )
        self._unreleased = None  # let go of now, or taken over before (nothing left to let go)

    def _landed(self, generation: int, token: str, what: str) -> bool:
        """Whether the conditional update that was to make ``generation`` did."""
        try:
            return self._ask(
                f"GRAPH {REGISTRY} {{ {_record(generation)} {TOKEN} {ox.Literal(token)} }}"
            )
        except StoreError as err:
            e = type(err)(f"{err}; the {what} was sent and may or may not have been applied")
            e.in_doubt = True
            log.error("%s", e)
            raise e from err

    def _check_isolation(self) -> None:
        """Warn, once, when Virtuoso does not isolate concurrent update requests (its default,
        read committed, lets two instances' conditional writes both apply)."""
        if self._isolation_checked or not self.is_virtuoso():
            return
        self._isolation_checked = True
        try:
            rows = self._select(
                "SELECT (bif:virtuoso_ini_item_value('Parameters', 'DefaultIsolation') AS ?i) {}",
                level=logging.WARNING,
            )
        except StoreError:  # (logged) the check is advice, not a condition of writing
            return
        value = rows[0]["i"] if rows else None
        level = value.value if isinstance(value, ox.Literal) else "2"
        if not level.isdigit() or int(level) < 4:
            log.warning(
                "the Virtuoso at %s runs updates at isolation level %s: two ClaimGraph "
                "instances writing at the same moment could both apply; set DefaultIsolation = "
                "4 in the [Parameters] of its virtuoso.ini",
                self.update_url,
                level,
            )

    def register_at(self, graphs: list[ox.NamedNode], generation: int) -> int | None:
        """Register ``graphs`` (ClaimGraph's queries and reads then see them) only if the store
        is still at ``generation`` (from ``write_base``): one conditional update, which bumps
        the generation as a write does. The new generation, or ``None`` when another write came
        first (nothing changed). Their data is not touched: the caller checks them
        (``check_registrable``) and validates them first."""
        return self._registry_at(graphs, generation, register=True)

    def unregister_at(self, graphs: list[ox.NamedNode], generation: int) -> int | None:
        """Unregister ``graphs`` (ClaimGraph no longer sees them; their data stays on the
        server), as ``register_at`` registers them."""
        return self._registry_at(graphs, generation, register=False)

    def _registry_at(
        self, graphs: list[ox.NamedNode], generation: int, *, register: bool
    ) -> int | None:
        for g in graphs:
            if g == REGISTRY:
                raise InputError(_reserved(g))
        if len(graphs) > REGISTERED_AT_ONCE:
            raise InputError(
                f"{len(graphs)} graphs at once: register or unregister at most "
                f"{REGISTERED_AT_ONCE} at a time"
            )
        entries = _registered(graphs)
        token = uuid.uuid4().hex
        if register:
            operation = conditional_operation(generation, token, add=entries)
        else:
            operation = conditional_operation(generation, token, remove=entries)
        names = ", ".join(str(g) for g in graphs)
        what = f"{'registration' if register else 'unregistration'} of {names}"
        try:
            applied = self._conditional(operation, generation, token, what)
        finally:
            self._graph_cache = None
        return generation + 1 if applied else None
