"""Settings: typed defaults, overridden by ``CLAIMGRAPH_*`` environment variables, then by
explicit arguments (the CLI's flags, or a test's dict)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from claimgraph.errors import ContentError, InputError
from claimgraph.iris import DEFAULT_BASE

CONTENT_DIRS = ("ontology", "shapes", "data", "queries")


def default_content_root() -> Path:
    """Where ontology/, shapes/, data/ and queries/ are: inside the installed package
    (``claimgraph/content``, put there by the wheel build), else the source checkout the
    package is imported from (an editable install). Neither: an error, never an empty store
    that validates nothing."""
    packaged = Path(str(resources.files("claimgraph"))) / "content"
    checkout = Path(__file__).resolve().parents[2]
    for root in (packaged, checkout):
        if (root / "shapes").is_dir() and (root / "ontology").is_dir():
            return root
    raise ContentError(
        f"the shipped shapes and ontology were found neither in {packaged} nor in {checkout}: "
        "reinstall ClaimGraph, or set CLAIMGRAPH_CONTENT_ROOT to a folder holding "
        "ontology/ and shapes/"
    )


@dataclass(frozen=True)
class Settings:
    """Every setting of ClaimGraph, with its environment variable ``CLAIMGRAPH_<NAME>``."""

    host: str = "127.0.0.1"
    """Interface `claimgraph serve` listens on."""
    port: int = 8080
    """Port `claimgraph serve` listens on."""
    data_dir: Path | None = None
    """Directory of the on-disk embedded store; unset: an in-memory store (lost on exit)."""
    store: str | None = None
    """Store URL instead of --data-dir: `memory:`, `oxigraph:DIR`, or a remote SPARQL 1.1
    server's query endpoint as `sparql+http://HOST:PORT/PATH` (or `sparql+https://…`)."""
    store_update_url: str | None = None
    """Update endpoint of a remote store, when not the query endpoint (Virtuoso: …/sparql-auth)."""
    store_user: str | None = None
    """User name for a remote store (HTTP Digest or Basic, as the server asks)."""
    store_password: str | None = None
    """Password for a remote store."""
    store_timeout: float = 30.0
    """Seconds each request to a remote store may take (connect, send, answer); then 504."""
    store_page_size: int = 10_000
    """Rows per request when reading a remote store page by page (at most the server's cap)."""
    store_refresh: float = 1.0
    """Seconds an instance reuses the write generation it read from a remote store: this one's
    caches start following another instance's write within that time."""
    base_iri: str = DEFAULT_BASE
    """Canonical base of data IRIs (`<base>id/claim/…`); requests for /id/… resolve against it."""
    write_token: str | None = None
    """Bearer token required for writes over HTTP; unset: HTTP writes are disabled."""
    seed: bool = True
    """Load ontology/ and data/ into an empty store on start."""
    page_refresh_wait: float = 0.02
    """Seconds a page waits, after a write, for its counts and rankings to be recomputed
    before it shows the previous ones (which catch up in the background)."""
    page_timeout: float = 10.0
    """Seconds the store queries of one page or linked-data request may take in all; then it
    stops with 503 (checked before each query and between the rows of its result)."""
    page_processes: int = 0
    """Processes that render the resource pages (``/id/…``) from snapshots of the embedded
    store, so that pages use every CPU; 1: in the serving process; 0: one per CPU the process
    may use over an on-disk store, else 1."""
    content_root: Path = field(default_factory=default_content_root)
    """Directory holding ontology/, shapes/, data/ and queries/ (custom content); unset: the
    content shipped in the package."""
    query_timeout: float = 10.0
    """Seconds a SPARQL query (or an update's WHERE) may run; then its worker is killed (503)."""
    query_workers: int = 0
    """Worker processes that run SPARQL queries (each can be killed at the timeout); 0: one per
    CPU the process may use, at least 4."""
    query_wait: float = 2.0
    """Seconds a SPARQL query waits for a worker (a free one, within its client's limit);
    then 503 with Retry-After."""
    query_client_limit: int = 2
    """SPARQL queries one client (remote address) may run at once; more wait, then get 503."""
    query_memory: int | None = None
    """Bytes the query workers' in-memory copies of the embedded store may take together (a
    copy answers whole-graph queries 3-4x faster than the on-disk store); as many workers hold
    one as fit, none when one does not fit; 0: never; unset: a quarter of physical memory."""
    query_cache_bytes: int = 67_108_864
    """Bytes of SPARQL results kept to answer the same query again, until the next write;
    0: no cache."""
    max_rows: int = 10_000
    """Rows (SELECT) or triples (CONSTRUCT/DESCRIBE) per result; more are cut, and flagged."""
    max_result_bytes: int = 50_000_000
    """Approximate size cap of one query result, in bytes; larger results are cut and flagged."""
    max_query_length: int = 100_000
    """Longest SPARQL query accepted, in characters (an update may be as long as a body)."""
    max_query_depth: int = 100
    """Deepest nesting of { ( [ and unary ! - + accepted in SPARQL (deeper can overflow the
    engine's stack)."""
    max_query_chain: int = 1000
    """Longest chain of operators and patterns (a || b || …, UNION, OPTIONAL, triple patterns…)
    on one path into a SPARQL text, summed over the enclosing groups (the engine recurses on
    it; some thousands overflow its stack)."""
    max_data_depth: int = 100
    """Deepest nesting accepted in RDF and JSON input: JSON-LD and ClaimReview objects and
    arrays, RDF/XML elements, RDF 1.2 triple terms (deeper can overflow a parser's stack)."""
    max_body_bytes: int = 16_777_216
    """Largest request body accepted (SPARQL Update, Graph Store uploads), in bytes."""
    propagation: bool = True
    """Keep the derived propagation graph (<base>graph/derived/propagation) in step with the
    data: after each write, the analysis runs again in the background."""
    propagation_delay: float = 5.0
    """Seconds the propagation analysis waits after a write, and between two runs: writes within
    that time cost one analysis (each reads the whole store: 1.8 s of CPU at 10k statements)."""
    service_allowlist: str = ""
    """Space-separated endpoint IRIs that SPARQL SERVICE may call; empty: SERVICE is refused."""
    public_url: str | None = None
    """This server's public address (`https://example.org/kg/`): the URLs it names in the
    service description, VoID and `Location` headers; unset: the address each request came to."""
    trusted_proxies: int = 0
    """Reverse proxies in front of the server whose `X-Forwarded-For/-Proto/-Host/-Port/-Prefix`
    headers are trusted (hops counted from the server); 0: none, the headers are ignored."""
    cors_write_origins: str = ""
    """Space-separated origins (`https://app.example.org`) whose pages may write (send the token)
    cross-origin; empty: cross-origin writes are refused. Reads are open to every origin."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"CLAIMGRAPH_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _convert(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = str(f.type)
    name = f"CLAIMGRAPH_{f.name.upper()}"
    if kind.startswith("int"):
        try:
            return int(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r}: expected a whole number") from None
    if kind.startswith("float"):
        try:
            return float(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r}: expected a number") from None
    if kind.startswith("bool"):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise InputError(f"{name}={raw!r}: expected true or false")
    if "Path" in kind:
        return Path(raw)
    return raw
