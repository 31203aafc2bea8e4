"""The ClaimGraph core shared by the CLI and the web app: a store, the validator, and the
one write path (parse → skolemize → validate the delta → apply atomically)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from server.config import Settings
from server.errors import InputError, ValidationFailed
from server.formats import RdfFormat
from server.iris import Iris
from server.rdfio import parse_file
from server.store import Delta, Store
from server.store.embedded import EmbeddedStore
from server.store.remote import SCHEMES as REMOTE_SCHEMES
from server.store.remote import RemoteStore
from server.validation import Report, Validator

log = logging.getLogger(__name__)

# Shipped content, loaded into an empty store in this order, each file into its own graph.
SEED_DIRS = ("ontology", "data")
SEED_SUFFIXES = {".ttl", ".trig", ".nt", ".nq", ".jsonld", ".rdf"}


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


@dataclass
class LoadResult:
    files: int
    quads: int
    graphs: list[str]
    report: Report


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
        # Validation and commit of one write must not interleave with another's. Public and
        # re-entrant: a writer that reads the store to build its delta (SPARQL Update's WHERE,
        # an import) holds it across read, validation and commit.
        self.write_lock = threading.RLock()
        # Bumped by every committed write: caches and validators (ETag) key on it.
        self.generation = 0
        self.last_modified = datetime.now(UTC)

    # -- writes ---------------------------------------------------------------------------
    def write(self, delta: Delta) -> Report:
        """Validate ``delta`` against the store as it would be after it, then apply it.

        Raises ``ValidationFailed`` (and changes nothing) when a shape is violated.
        """
        with self.write_lock:
            report = self.validator.validate_delta(self.store, delta)
            if not report.conforms:
                raise ValidationFailed(report)
            if delta:
                self.store.apply(delta)
                self.generation += 1
                self.last_modified = datetime.now(UTC)
            return report

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
            file_quads = parse_file(path, graph=target, iris=self.iris, fmt=fmt, on_read=on_read)
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
        self.store.close()
