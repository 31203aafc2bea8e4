"""The SPARQL 1.1 Protocol without Flask: which query or update a request carries, which
result format to send, and bytes plus a media type out. Knows nothing about HTML.

Negotiation is done for both kinds of result before the query runs (the kind is known only
after), so a client that asks for a results format on a CONSTRUCT (rdflib's SPARQLStore does)
gets the closest graph format instead of a 406, and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from claimgraph.errors import InputError, NotAcceptable, UnsupportedMediaType
from claimgraph.formats import RDF_FORMATS, RdfFormat, by_name
from claimgraph.negotiation import negotiate
from claimgraph.validation import Report

QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"

# SELECT/ASK results: media type offered → results format (the first of each is what we send).
RESULTS_MEDIA: dict[str, str] = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/javascript": "json",  # SPARQLWrapper lists it for JSON
    "application/javascript": "json",
}
RESULTS_TYPES: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}
# CONSTRUCT/DESCRIBE: every RDF media type, then results types mapped to their nearest graph
# format (XML → RDF/XML, JSON → JSON-LD, tables → Turtle) so that they never cause a 406.
GRAPH_MEDIA: dict[str, str] = {
    **{t: f.name for f in RDF_FORMATS for t in f.media_types},
    "text/n3": "turtle",
    "text/rdf+n3": "turtle",
    "application/turtle": "turtle",
    "application/x-json+ld": "jsonld",
    "application/sparql-results+xml": "rdfxml",
    "application/sparql-results+json": "jsonld",
    "text/csv": "turtle",
    "text/tab-separated-values": "ntriples",
}
# SELECT/ASK asked for as RDF/XML or JSON-LD (clients that send one Accept for every query
# form) get the results format of the same syntax.
_RESULTS_FALLBACK: dict[str, str] = {
    "application/rdf+xml": "xml",
    "application/ld+json": "json",
}
# format= / output= / results= values (SPARQLWrapper, Virtuoso, Fuseki): name → (results, graph)
FORMAT_PARAMS = ("format", "output", "results")
_FORMAT_NAMES: dict[str, tuple[str | None, str | None]] = {
    "json": ("json", "jsonld"),
    "xml": ("xml", "rdfxml"),
    "csv": ("csv", None),
    "tsv": ("tsv", None),
    "turtle": (None, "turtle"),
    "ttl": (None, "turtle"),
    "n3": (None, "turtle"),
    "rdf": (None, "rdfxml"),
    "rdf+xml": (None, "rdfxml"),
    "rdfxml": (None, "rdfxml"),
    "json-ld": (None, "jsonld"),
    "jsonld": (None, "jsonld"),
    "nt": (None, "ntriples"),
    "ntriples": (None, "ntriples"),
    "n-triples": (None, "ntriples"),
    "trig": (None, "trig"),
    "nquads": (None, "nquads"),
    "n-quads": (None, "nquads"),
}


def graph_media_type(fmt: RdfFormat) -> str:
    text = fmt.media_type.startswith("text/") or fmt.name in ("ntriples", "nquads", "trig")
    return f"{fmt.media_type}; charset=utf-8" if text else fmt.media_type


@dataclass(frozen=True)
class Formats:
    """The format for each kind of result; ``None``: the client accepts none for that kind."""

    results: str | None
    graph: str | None

    def media_type(self, kind: str) -> str:
        if kind == "triples":
            assert self.graph is not None
            return graph_media_type(by_name(self.graph))
        assert self.results is not None
        return RESULTS_TYPES[self.results]


def choose_formats(accept: str | None, params: Mapping[str, Sequence[str]]) -> Formats:
    """Formats by the ``format``/``output``/``results`` parameters first, then by Accept."""
    results: str | None = None
    graph: str | None = None
    for name in FORMAT_PARAMS:
        for value in params.get(name, ()):
            value = value.strip().lower()
            r, g = _FORMAT_NAMES.get(value, (RESULTS_MEDIA.get(value), GRAPH_MEDIA.get(value)))
            if "/" in value and value in GRAPH_MEDIA and value not in RESULTS_MEDIA:
                r = _RESULTS_FALLBACK.get(value)
            results = results or r
            graph = graph or g
    if results is None:
        best = negotiate(accept, list(RESULTS_MEDIA) + list(_RESULTS_FALLBACK))
        results = (RESULTS_MEDIA | _RESULTS_FALLBACK).get(best) if best else None
    if graph is None:
        best = negotiate(accept, list(GRAPH_MEDIA))
        graph = GRAPH_MEDIA.get(best) if best else None
    if results is None and graph is None:
        raise NotAcceptable(
            f"no result format matches Accept: {accept!r}; SELECT/ASK results come as "
            f"{', '.join(RESULTS_TYPES[k].split(';')[0] for k in RESULTS_TYPES)}; "
            "CONSTRUCT/DESCRIBE results in any RDF format (text/turtle, application/ld+json, …)"
        )
    return Formats(results, graph)


@dataclass
class Operation:
    """What one protocol request asks for: a query or an update, and its dataset."""

    query: str | None = None
    update: str | None = None
    default_graphs: list[str] = field(default_factory=list)  # default-graph-uri / using-…
    named_graphs: list[str] = field(default_factory=list)  # named-graph-uri / using-named-…


def _one(values: Sequence[str], name: str) -> str | None:
    if len(values) > 1:
        raise InputError(f"the request carries {len(values)} {name} parameters; send exactly one")
    return values[0] if values else None


def _decode(body: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return body.decode(charset)
    except LookupError:
        raise UnsupportedMediaType(f"unknown charset {charset!r}") from None
    except UnicodeDecodeError as err:
        raise InputError(f"the request body is not valid {charset}: {err.reason}") from None


def parse_request(
    method: str,
    args: Mapping[str, Sequence[str]],
    form: Mapping[str, Sequence[str]],
    body: bytes,
    content_type: str | None,
    *,
    update_only: bool = False,
) -> Operation:
    """The query or update of a request (GET, POST form, POST direct), per the protocol.

    ``args``/``form``: every value of each parameter (URL query string / form body).
    """
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if method in ("GET", "HEAD"):
        if args.get("update"):
            raise InputError("SPARQL Update must be sent with POST")
        if update_only:
            raise InputError("SPARQL Update must be sent with POST")
        params = args
        text_query = _one(params.get("query", ()), "query")
        return Operation(
            query=text_query,
            default_graphs=list(params.get("default-graph-uri", ())),
            named_graphs=list(params.get("named-graph-uri", ())),
        )
    if method != "POST":
        raise InputError(f"{method} is not a SPARQL protocol method")
    if mime == FORM_TYPE:
        query = _one([*args.get("query", ()), *form.get("query", ())], "query")
        update = _one([*args.get("update", ()), *form.get("update", ())], "update")
        if query is not None and update is not None:
            raise InputError("send either query or update, not both")
        if update_only and query is not None:
            raise InputError("this is the update endpoint: queries go to /sparql")

        def both(name: str) -> list[str]:
            return [*args.get(name, ()), *form.get(name, ())]

        if update is not None:
            return Operation(
                update=update,
                default_graphs=both("using-graph-uri"),
                named_graphs=both("using-named-graph-uri"),
            )
        return Operation(
            query=query,
            default_graphs=both("default-graph-uri"),
            named_graphs=both("named-graph-uri"),
        )
    if mime == QUERY_TYPE and not update_only:
        if args.get("query"):
            raise InputError("a direct POST carries the query in its body, not also in the URL")
        return Operation(
            query=_decode(body, content_type or ""),
            default_graphs=list(args.get("default-graph-uri", ())),
            named_graphs=list(args.get("named-graph-uri", ())),
        )
    if mime == UPDATE_TYPE:
        return Operation(
            update=_decode(body, content_type or ""),
            default_graphs=list(args.get("using-graph-uri", ())),
            named_graphs=list(args.get("using-named-graph-uri", ())),
        )
    accepted = (
        f"{UPDATE_TYPE} or {FORM_TYPE}"
        if update_only
        else (f"{QUERY_TYPE}, {UPDATE_TYPE} or {FORM_TYPE}")
    )
    raise UnsupportedMediaType(
        f"POST bodies of type {mime or '(none)'} are not accepted here; send {accepted}"
    )


REPORT_TYPES = ("application/json", "text/turtle", "text/plain")


def report_body(report: Report, accept: str | None) -> tuple[bytes, str]:
    """A validation report as JSON (default), Turtle (the SHACL report graph) or text."""
    best = negotiate(accept, REPORT_TYPES) or "application/json"
    if best == "text/turtle":
        return report.graph.serialize(format="turtle").encode(), "text/turtle; charset=utf-8"
    if best == "text/plain":
        return (report.text() + "\n").encode(), "text/plain; charset=utf-8"
    return report.to_json().encode(), "application/json"
