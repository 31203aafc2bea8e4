"""The SPARQL 1.1 Protocol without Flask: which query or update a request carries, which
result format to send, and bytes plus a media type out. Knows nothing about HTML.

Negotiation is done for both kinds of result before the query runs (the kind is known only
after), so a client that asks for a results format on a CONSTRUCT (rdflib's SPARQLStore does)
gets the closest graph format instead of a 406, and the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from werkzeug.http import parse_options_header

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
# Notation3 is a superset of Turtle: a client that asks for N3 gets Turtle, labelled as the
# N3 it asked for (SPARQLWrapper's N3 sends these, and so do N3 reasoners).
N3_MEDIA = ("text/n3", "text/rdf+n3", "application/n3")
N3_TYPE = "text/n3; charset=utf-8"
# Every RDF media type we answer in: the formats' own, N3, and common aliases.
RDF_MEDIA: dict[str, str] = {
    **{t: f.name for f in RDF_FORMATS for t in f.media_types},
    **dict.fromkeys(N3_MEDIA, "turtle"),
    "application/turtle": "turtle",
    "application/x-json+ld": "jsonld",
}
# CONSTRUCT/DESCRIBE: every RDF media type, then results types mapped to their nearest graph
# format (XML → RDF/XML, JSON → JSON-LD, tables → Turtle) so that they never cause a 406.
GRAPH_MEDIA: dict[str, str] = {
    **RDF_MEDIA,
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
    """The format for each kind of result; ``None``: the client accepts none for that kind.
    ``n3``: the client asked for Notation3; the graph (Turtle) is labelled ``text/n3``."""

    results: str | None
    graph: str | None
    n3: bool = False

    def media_type(self, kind: str) -> str:
        if kind == "triples":
            assert self.graph is not None
            if self.n3 and self.graph == "turtle":
                return N3_TYPE
            return graph_media_type(by_name(self.graph))
        assert self.results is not None
        return RESULTS_TYPES[self.results]

    def filename(self, kind: str) -> str:
        """What a download of this result is called: ``results.csv``, ``results.ttl``…"""
        if kind == "triples":
            assert self.graph is not None
            return f"results{by_name(self.graph).suffix}"
        return f"results.{self.results}"


def choose_formats(accept: str | None, params: Mapping[str, Sequence[str]]) -> Formats:
    """Formats by the ``format``/``output``/``results`` parameters first, then by Accept."""
    results: str | None = None
    graph: str | None = None
    n3 = False
    for name in FORMAT_PARAMS:
        for value in params.get(name, ()):
            value = value.strip().lower()
            r, g = _FORMAT_NAMES.get(value, (RESULTS_MEDIA.get(value), GRAPH_MEDIA.get(value)))
            if "/" in value and value in GRAPH_MEDIA and value not in RESULTS_MEDIA:
                r = _RESULTS_FALLBACK.get(value)
            results = results or r
            if graph is None and g is not None:
                graph, n3 = g, value in ("n3", *N3_MEDIA)
    if results is None:
        best = negotiate(accept, list(RESULTS_MEDIA) + list(_RESULTS_FALLBACK))
        results = (RESULTS_MEDIA | _RESULTS_FALLBACK).get(best) if best else None
    if graph is None:
        best = negotiate(accept, list(GRAPH_MEDIA))
        graph = GRAPH_MEDIA.get(best) if best else None
        n3 = best in N3_MEDIA
    if results is None and graph is None:
        raise NotAcceptable(
            f"no result format matches Accept: {accept!r}; SELECT/ASK results come as "
            f"{', '.join(RESULTS_TYPES[k].split(';')[0] for k in RESULTS_TYPES)}; "
            "CONSTRUCT/DESCRIBE results in any RDF format (text/turtle, application/ld+json, …)"
        )
    return Formats(results, graph, n3)


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
    """The text of a query or update body: UTF-8, whatever else the client says (SPARQL 1.1
    Protocol §2.1.3 and §2.2.2 make UTF-8 the only encoding of these media types)."""
    require_utf8(content_type)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"the request body is not valid UTF-8 ({err.reason} at byte {err.start}); "
            "SPARQL queries and updates are sent as UTF-8"
        ) from None


def require_utf8(content_type: str | None) -> None:
    """400 unless the ``charset`` of ``content_type``, if any, is UTF-8."""
    _, params = parse_options_header(content_type)
    charset = params.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise InputError(
            f"the request body is declared charset={charset}; only UTF-8 is accepted here "
            "(send the same text encoded as UTF-8, or leave charset out)"
        )


def check_percent_utf8(encoded: bytes, where: str) -> None:
    """400 unless the %-escapes of a query string or form body decode as UTF-8 (Werkzeug would
    replace bad bytes with U+FFFD and run a query nobody sent)."""
    try:
        unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"the {where} is not valid UTF-8 once %-decoded ({err.reason} at byte {err.start}); "
            "percent-encode the UTF-8 bytes of the text"
        ) from None


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
    mime = parse_options_header(content_type)[0].lower()
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
