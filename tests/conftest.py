"""Shared fixtures: each test gets a fresh in-memory store built from named fixture files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.store import Delta
from claimgraph.validation import Validator
from tests.chromium import browser  # noqa: F401  (the session's Chromium, started on first use)
from tests.virtuoso import virtuoso  # noqa: F401  (the session's Virtuoso, started on first use)

# Hypothesis budgets (tests/test_fuzz.py), chosen by HYPOTHESIS_PROFILE. "ci", the default, is
# derandomized: `make test` tries the same inputs every time. "fuzz" is a deep, random run.
# Each example is a whole HTTP request on a shared store, so the per-test fixture and slow
# examples are expected; the deadline only catches pathological (e.g. quadratic) handling.
_FUZZ_CHECKS = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
]
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=timedelta(seconds=5),
    suppress_health_check=_FUZZ_CHECKS,
)
settings.register_profile(
    "fuzz", max_examples=2000, deadline=timedelta(seconds=20), suppress_health_check=_FUZZ_CHECKS
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# The seed article's full text is not redistributed with the repository: the checks of the
# case file against it read it from this setting and are skipped, saying why, without it.
SEED_ARTICLE_SETTING = "CLAIMGRAPH_SEED_ARTICLE"
_article = os.environ.get(SEED_ARTICLE_SETTING)
SEED_ARTICLE = Path(_article) if _article else None


@pytest.fixture(scope="session")
def validator() -> Validator:
    """The shapes are parsed once per test session, as the service does once per process."""
    return Validator.from_dirs(ROOT / "shapes", ROOT / "ontology")


def ontology_graph(settings: Settings, validator: Validator) -> ClaimGraph:
    """A ClaimGraph on a fresh in-memory store holding only the ontology."""
    cg = ClaimGraph(settings, validator=validator)
    ontology = [p for p in cg.seed_files() if p.parent.name == "ontology"]
    for path in ontology:
        quads, _ = cg.read_files([path])
        cg.write(Delta(add=quads))
    return cg


@pytest.fixture
def settings() -> Settings:
    # Pages wait for their summaries to be recomputed after a write (they are small here):
    # what a test reads right after a write is then the fresh value, never a lagging one.
    # The propagation analysis writes its derived graph in the background after writes, which
    # moves the write generation under tests of other things; tests/test_propagation.py has it.
    return Settings(seed=False, page_refresh_wait=60.0, propagation=False)


@pytest.fixture
def graph(settings: Settings, validator: Validator) -> Iterator[ClaimGraph]:
    """Fresh in-memory store with the ontology and vocabularies, no case data."""
    cg = ontology_graph(settings, validator)
    yield cg
    cg.close()


@pytest.fixture
def seeded(settings: Settings, validator: Validator) -> Iterator[ClaimGraph]:
    """Fresh in-memory store with everything `make serve` ships (ontology and data)."""
    cg = ClaimGraph(settings, validator=validator)
    cg.seed()
    yield cg
    cg.close()
