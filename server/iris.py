"""Every namespace, IRI and IRI pattern ClaimGraph mints, in one place.

Data IRIs live under a canonical base (``https://claimgraph.org/`` unless the operator
configures another); the vocabularies (ontology, SKOS schemes, shapes) have fixed namespaces
so that their terms never change with the host that serves them.
"""

from __future__ import annotations

import re
import uuid

from rdflib import Namespace

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


def slugify(text: str) -> str:
    """A readable, stable slug: lowercase ASCII words joined by hyphens."""
    slug = _SLUG_UNSAFE.sub("-", text.lower()).strip("-")
    return slug or "item"


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

    def genid(self) -> str:
        """A fresh skolem IRI (RDF 1.1 §3.5) to stand for a blank node of written data."""
        return f"{self.base}.well-known/genid/{uuid.uuid4().hex}"
