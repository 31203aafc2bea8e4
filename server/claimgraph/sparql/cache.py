"""Results of research queries kept until the next write, so the same query asked again answers
without a worker (about a millisecond instead of the query's time).

Entries are keyed by the whole ``Job`` (query text, dataset, result format, caps) and belong to
one write generation: the first lookup or store of a later generation empties the cache, so a
result is never served after a write it predates. The bound is on the bytes of the results
(plus their query texts); the least recently used go first. Thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from claimgraph.sparql.worker import Job, Outcome

ENTRY_OVERHEAD = 256  # bytes counted per entry besides its body and query text


class ResultCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, max_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[Job, tuple[Outcome, int]] = OrderedDict()
        self._generation = -1
        self.bytes = 0
        self.hits = self.misses = self.evictions = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, job: Job, generation: int) -> Outcome | None:
        """The result of ``job`` at ``generation``, if kept."""
        with self._lock:
            self._follow(generation)
            entry = self._entries.get(job) if generation == self._generation else None
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(job)
            self.hits += 1
            return entry[0]

    def put(self, job: Job, generation: int, outcome: Outcome) -> None:
        """Keep ``outcome`` as the result of ``job`` at ``generation`` (the generation read
        before the job ran: its snapshot is of that generation or a later one)."""
        size = len(outcome.body) + len(job.sparql) + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        with self._lock:
            self._follow(generation)
            if generation != self._generation:  # a write came meanwhile: it is outdated
                return
            old = self._entries.pop(job, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[job] = (outcome, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, freed) = self._entries.popitem(last=False)
                self.bytes -= freed
                self.evictions += 1

    def _follow(self, generation: int) -> None:
        if generation > self._generation:
            self._entries.clear()
            self.bytes = 0
            self._generation = generation
