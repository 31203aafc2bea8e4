"""Constants and term helpers shared by reading, importing and publishing markup."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from claimgraph.iris import CG

CONTEXT_FILE = Path(__file__).resolve().parent.parent / "contexts" / "schemaorgcontext-30.0.jsonld"
# The ways markup names schema.org's context; all are answered from CONTEXT_FILE.
SCHEMA_CONTEXTS = frozenset(
    f"{scheme}://schema.org{path}"
    for scheme in ("http", "https")
    for path in ("", "/", "/docs/jsonldcontext.json", "/docs/jsonldcontext.jsonld")
)
SCHEMA = "http://schema.org/"
SCHEMA_HTTPS = "https://schema.org/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
DCTERMS = "http://purl.org/dc/terms/"
OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"

# ClaimsKG's normalized ratings: the value of the second reviewRating in the markup we publish.
CLAIMSKG_VALUES = {"FALSE": 1, "MIXTURE": 2, "TRUE": 3}


def _s(name: str) -> ox.NamedNode:
    return ox.NamedNode(SCHEMA + name)


def _cg(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{CG}{name}")
