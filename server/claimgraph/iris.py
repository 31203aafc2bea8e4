"""Every namespace, IRI and IRI pattern ClaimGraph mints, in one place.

Data IRIs live under a canonical base (``https://claimgraph.org/`` unless the operator
configures another); the vocabularies (ontology, SKOS schemes, shapes) have fixed namespaces
so that their terms never change with the host that serves them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from urllib.parse import quote, urlsplit

from rdflib import Namespace
from werkzeug.urls import iri_to_uri

DEFAULT_BASE = "https://claimgraph.org/"

CG = Namespace("https://claimgraph.org/ontology#")
ONTOLOGY = "https://claimgraph.org/ontology"
STANCE = Namespace("https://claimgraph.org/vocab/stance#")
DIRECTION = Namespace("https://claimgraph.org/vocab/direction#")
VERDICT = Namespace("https://claimgraph.org/vocab/verdict#")
TOPIC = Namespace("https://claimgraph.org/vocab/topic#")
CGSH = Namespace("https://claimgraph.org/shapes#")
SCHEMA = Namespace("http://schema.org/")
CITO = Namespace("http://purl.org/spar/cito/")
OA = Namespace("http://www.w3.org/ns/oa#")
ORG = Namespace("http://www.w3.org/ns/org#")

# Kinds of data resource, each minted as <base>id/<kind>/<slug>.
RESOURCE_KINDS = (
    "actor",
    "affiliation",
    "claim",
    "statement",
    "source",
    "evidence",
    "assessment",
    "review",
    "rating",
)

PREFIXES: dict[str, str] = {
    "cg": str(CG),
    "stance": str(STANCE),
    "direction": str(DIRECTION),
    "verdict": str(VERDICT),
    "topic": str(TOPIC),
    "cgsh": str(CGSH),
    "schema": str(SCHEMA),
    "cito": str(CITO),
    "oa": str(OA),
    "org": str(ORG),
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "sh": "http://www.w3.org/ns/shacl#",
}

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
_HYPHENS = re.compile(r"-{2,}")


def _word_char(ch: str) -> bool:
    # Letters, combining marks (the vowel signs of Devanagari, Thai …) and digits of any script.
    return unicodedata.category(ch)[0] in "LMN"


def slugify(text: str) -> str:
    """A readable, stable slug: lower-case words joined by hyphens, in the text's own script.

    ASCII text slugs exactly as it always has (runs of ``[a-z0-9]`` joined by ``-``), so the
    IRIs already minted keep their meaning. Letters, marks and digits of other scripts are kept
    (NFKC-normalised, case-folded), not transliterated: ``新华社`` is ``新华社`` and
    ``Проверка фактов`` is ``проверка-фактов``. A transliteration (Unidecode is GPL; anyascii,
    ISC, would do) reads Chinese by its Mandarin sound, so Japanese and Korean names come out
    wrong, and it maps different names to one slug (homophones); the name itself is readable by
    those who can read it, and IRIs are Unicode (RFC 3987): a URI carries it percent-encoded.
    Distinct names can still share a slug ("A-B" and "a b"): ``disambiguated_slug``.
    """
    if text.isascii():
        slug = _SLUG_UNSAFE.sub("-", text.lower()).strip("-")
    else:
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        words = "".join(ch if _word_char(ch) else "-" for ch in folded)
        slug = _HYPHENS.sub("-", words).strip("-")
    return slug or "item"


def name_key(name: str) -> str:
    """What makes two names one name: equal after NFKC, case folding and collapsing spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def disambiguated_slug(name: str) -> str:
    """The slug of a name whose plain slug already stands for a different name: the plain slug
    and 8 hex digits of the SHA-1 of its ``name_key``, so the same name always gets the same."""
    digest = hashlib.sha1(name_key(name).encode()).hexdigest()[:8]
    return f"{slugify(name)}-{digest}"


def uri(iri: str) -> str:
    """An IRI or path as a URI: non-ASCII characters percent-encoded as UTF-8 (RFC 3987 §3.1),
    the form HTTP headers (``Link``, ``Content-Disposition``, ``ETag``) can carry."""
    return iri_to_uri(iri)


class Iris:
    """Mints the IRIs of one deployment from its canonical base."""

    def __init__(self, base: str = DEFAULT_BASE) -> None:
        if not base.endswith("/"):
            base += "/"
        self.base = base

    def resource(self, kind: str, slug: str) -> str:
        if kind not in RESOURCE_KINDS:
            raise ValueError(f"unknown resource kind {kind!r}")
        return f"{self.base}id/{kind}/{slugify(slug)}"

    def graph(self, name: str) -> str:
        return f"{self.base}graph/{slugify(name)}"

    def new_graph(self) -> str:
        """A fresh graph name for data the Graph Store is given without one (GSP §5.5)."""
        return self.graph(f"upload-{uuid.uuid4().hex[:12]}")

    def genid(self) -> str:
        """A fresh skolem IRI (RDF 1.1 §3.5) to stand for a blank node of written data."""
        return f"{self.base}.well-known/genid/{uuid.uuid4().hex}"

    # -- this server's paths and links (linked data, dumps, dataset description) -----------
    # Paths are relative to the server root; the host a request arrives on never matters.

    def prefixes(self) -> dict[str, str]:
        """``PREFIXES`` plus one prefix per kind of data resource (``claim:`` …) and ``graph:``."""
        kinds = {kind: f"{self.base}id/{kind}/" for kind in RESOURCE_KINDS}
        return {**PREFIXES, **kinds, "graph": f"{self.base}graph/"}

    def iri_for_path(self, path: str) -> str:
        """The IRI a request path stands for: ``/id/claim/x`` is ``<base>id/claim/x``; the
        ontology and the concept schemes keep their fixed namespaces whatever the base."""
        rel = path.lstrip("/")
        if rel.startswith(VOCABULARY_PATHS):
            return VOCABULARY_BASE + rel
        return self.base + rel

    def path_for(self, iri: str) -> str | None:
        """The path at which this server answers for ``iri`` (fragment kept), or ``None``."""
        if iri.startswith(self.base):
            return "/" + iri[len(self.base) :]
        if iri.startswith(VOCABULARY_BASE) and iri[len(VOCABULARY_BASE) :].startswith(
            VOCABULARY_PATHS
        ):
            return "/" + iri[len(VOCABULARY_BASE) :]
        return None

    def href(self, iri: str) -> str | None:
        """The link target for ``iri`` on a page: a local path for what this server answers,
        the IRI itself for other http(s) IRIs, and no link at all for any other scheme."""
        local = self.path_for(iri)
        if local is not None:
            return local
        return web_url(iri)

    def absolute(self, path: str) -> str:
        """A path of this server as a URL on the canonical base (for VoID and markup)."""
        return self.base + path.lstrip("/")

    def graph_name(self, graph: str) -> str | None:
        """The ``<name>`` of a graph IRI ``<base>graph/<name>``, or ``None`` for other IRIs."""
        prefix = f"{self.base}graph/"
        name = graph[len(prefix) :] if graph.startswith(prefix) else ""
        return name if name and slugify(name) == name else None

    def dump_path(self, suffix: str, graph: str | None = None) -> str | None:
        """``/dumps/claimgraph<suffix>``, or ``/dumps/graph/<name><suffix>`` for one graph
        (``None`` when the graph's IRI is not ``<base>graph/<name>``)."""
        if graph is None:
            return f"{DUMPS_PATH}/{DUMP_NAME}{suffix}"
        name = self.graph_name(graph)
        return f"{DUMPS_PATH}/graph/{name}{suffix}" if name else None

    def void_iri(self, fragment: str = "") -> str:
        """The dataset description, or one of the nodes it describes (``#dataset``)."""
        return self.absolute(VOID_PATH) + (f"#{fragment}" if fragment else "")


def web_url(value: str) -> str | None:
    """``value`` if it is an http(s) URL, else ``None``: the only links ClaimGraph publishes
    (pages, ClaimReview markup), so that no ``javascript:``, ``data:`` or other scheme that a
    writer put in the data ever becomes one."""
    return value if value.lower().startswith(("http://", "https://")) else None


# The ontology and the schemes live under claimgraph.org whatever base a deployment uses.
VOCABULARY_BASE = "https://claimgraph.org/"
VOCABULARY_PATHS = ("ontology", "vocab/")
DUMPS_PATH = "/dumps"
DUMP_NAME = "claimgraph"
VOID_PATH = "/.well-known/void"
SPARQL_PATH = "/sparql"
GRAPH_STORE_PATH = "/graph-store"


class Site:
    """The URLs of this server's services at its public address (``CLAIMGRAPH_PUBLIC_URL``,
    else the address a request came to): where to send queries and fetch dumps, as opposed to
    the IRIs of ``Iris``, which name things and do not move with the host."""

    def __init__(self, root: str) -> None:
        parts = urlsplit(root)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"{root!r} is not an http(s) URL without a query")
        self.root = root if root.endswith("/") else root + "/"

    def url(self, path: str) -> str:
        return self.root + path.lstrip("/")

    def sparql_endpoint(self) -> str:
        return self.url(SPARQL_PATH)

    def void(self) -> str:
        return self.url(VOID_PATH)

    def graph_store(self, graph: str) -> str:
        return f"{self.url(GRAPH_STORE_PATH)}?graph={quote(graph, safe=':/')}"
