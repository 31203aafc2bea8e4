"""RDF serialization formats as data: one row per format, looked up by name, suffix or type.

Parsing and writing go through Oxigraph (fast, and it never fetches a remote JSON-LD context);
rdflib names are kept for the places that hand graphs to rdflib (validation reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from werkzeug.http import parse_options_header

from claimgraph.errors import UnsupportedFormatError


@dataclass(frozen=True)
class RdfFormat:
    name: str  # the name users type: --format turtle
    media_types: tuple[str, ...]  # the first one is what we send
    suffixes: tuple[str, ...]  # the first one is what we write
    ox: ox.RdfFormat
    rdflib: str
    datasets: bool  # can carry named graphs

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


RDF_FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat(
        "turtle",
        ("text/turtle", "application/x-turtle"),
        (".ttl",),
        ox.RdfFormat.TURTLE,
        "turtle",
        False,
    ),
    RdfFormat(
        "trig",
        ("application/trig", "application/x-trig"),
        (".trig",),
        ox.RdfFormat.TRIG,
        "trig",
        True,
    ),
    RdfFormat(
        "ntriples",
        ("application/n-triples", "text/plain"),
        (".nt",),
        ox.RdfFormat.N_TRIPLES,
        "nt",
        False,
    ),
    RdfFormat(
        "nquads",
        ("application/n-quads", "text/x-nquads"),
        (".nq",),
        ox.RdfFormat.N_QUADS,
        "nquads",
        True,
    ),
    RdfFormat(
        "jsonld",
        ("application/ld+json", "application/json"),
        (".jsonld", ".json"),
        ox.RdfFormat.JSON_LD,
        "json-ld",
        True,
    ),
    RdfFormat(
        "rdfxml",
        ("application/rdf+xml", "application/xml", "text/xml"),
        (".rdf", ".owl", ".xml"),
        ox.RdfFormat.RDF_XML,
        "xml",
        False,
    ),
)

_BY_NAME = {f.name: f for f in RDF_FORMATS} | {
    "ttl": RDF_FORMATS[0],
    "nt": RDF_FORMATS[2],
    "nq": RDF_FORMATS[3],
    "json-ld": RDF_FORMATS[4],
    "xml": RDF_FORMATS[5],
    "rdf": RDF_FORMATS[5],
}
_BY_SUFFIX = {s: f for f in RDF_FORMATS for s in f.suffixes}
_BY_TYPE = {t: f for f in RDF_FORMATS for t in f.media_types}

FORMAT_NAMES = tuple(f.name for f in RDF_FORMATS)


def by_name(name: str) -> RdfFormat:
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise UnsupportedFormatError(
            f"unknown RDF format {name!r}; use one of {', '.join(FORMAT_NAMES)}"
        ) from None


def by_path(path: str | Path) -> RdfFormat:
    """The format of a file, by its suffix (``.gz`` is looked through)."""
    p = Path(path)
    suffix = Path(p.stem).suffix if p.suffix == ".gz" else p.suffix
    try:
        return _BY_SUFFIX[suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(_BY_SUFFIX))
        raise UnsupportedFormatError(
            f"{path}: cannot tell the RDF format from the suffix {suffix or '(none)'!r}; "
            f"use one of {known} or name it with --format"
        ) from None


def by_media_type(media_type: str) -> RdfFormat:
    try:
        return _BY_TYPE[parse_options_header(media_type)[0].lower()]
    except KeyError:
        raise UnsupportedFormatError(f"unsupported RDF media type {media_type!r}") from None
