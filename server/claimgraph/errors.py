"""ClaimGraph's exceptions, one tree; the HTTP layer and the CLI each render it one way.

ClaimGraphError                 any failure ClaimGraph reports to its user
├── InputError                  the request or file is wrong     (HTTP 400, exit 2)
│   ├── RdfSyntaxError          unparsable RDF, with file, line and column
│   ├── QuerySyntaxError        unparsable SPARQL, with line and column
│   ├── UnsupportedFormatError  no parser/serializer for that format or media type
│   ├── QueryRefused            SPARQL asking for what the endpoint never does (SERVICE, LOAD,
│   │                           too long or too deeply nested)
│   ├── UnsupportedMediaType    a request body in a media type the route does not take (HTTP 415)
│   ├── PayloadTooLarge         a request body over the operator's size limit (HTTP 413)
│   └── MethodNotAllowed        a method the resource does not allow (HTTP 405)
├── ValidationFailed            the data breaks the shapes       (HTTP 422, exit 1)
├── NotFound                    no such resource or graph        (HTTP 404, exit 2)
├── NotAcceptable               no representation the client accepts (HTTP 406)
├── WriteConflict               another instance wrote to the shared store first (HTTP 409)
├── ContentError                the shapes or ontology are missing or unreadable (HTTP 500, exit 2)
└── StoreError                  the store cannot do it now       (HTTP 503, exit 2)
    ├── StoreLocked             another process holds the on-disk store
    ├── QueryTimeout            a query ran past its time limit and was stopped
    ├── ServerBusy              every query worker stayed busy until the deadline
    │   └── ClientOverLimit     this client already runs its share of queries (HTTP 429)
    ├── QueryEngineError        the query engine died on a query (HTTP 500)
    ├── StoreUnreachable        a remote SPARQL store could not be reached (nothing was sent)
    └── StoreTimeout            a remote SPARQL store did not answer in time (HTTP 504)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claimgraph.validation import Report


class ClaimGraphError(Exception):
    """Base of every error ClaimGraph reports; ``str(err)`` is the message for the user."""

    http_status = 500
    exit_code = 2


class ContentError(ClaimGraphError):
    """The content ClaimGraph runs on (shapes, ontology) is missing or does not parse: nothing
    can be validated, so nothing starts (never "the data conforms" against no shapes)."""


class InputError(ClaimGraphError):
    http_status = 400


class RdfSyntaxError(InputError):
    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.source, self.line, self.column = source, line, column
        where = ":".join(str(x) for x in (source, line, column) if x is not None)
        super().__init__(f"{where}: {message}" if where else message)


class QuerySyntaxError(InputError):
    pass


class UnsupportedFormatError(InputError):
    pass


class QueryRefused(InputError):
    """The query or update is refused before it runs (see ``claimgraph.sparql.safety``)."""


class UnsupportedMediaType(InputError):
    http_status = 415


class PayloadTooLarge(InputError):
    http_status = 413


class MethodNotAllowed(InputError):
    http_status = 405


class ValidationFailed(ClaimGraphError):
    """A write was refused because the data violates the shapes; nothing was stored."""

    http_status = 422
    exit_code = 1

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(report.summary())


class NotFound(ClaimGraphError):
    http_status = 404


class NotAcceptable(ClaimGraphError):
    """None of the formats a resource is available in is acceptable to the client."""

    http_status = 406


class WriteConflict(ClaimGraphError):
    """Another instance's write landed in the shared store between this write's reads and its
    commit, and this one could not be re-validated and retried (nothing of it was stored)."""

    http_status = 409


class StoreError(ClaimGraphError):
    http_status = 503
    # An update was sent to a remote store and no answer came back (a timeout, a broken
    # connection): it may or may not have been applied.
    in_doubt = False


class StoreLocked(StoreError):
    pass


class QueryTimeout(StoreError):
    """The query was stopped (its worker process killed) at the time limit."""


class ServerBusy(StoreError):
    """No query worker became free before the request's deadline."""


class ClientOverLimit(ServerBusy):
    """The client already runs as many queries as one client may: it is the client that should
    slow down (429), not the server that is full (503)."""

    http_status = 429


class QueryEngineError(StoreError):
    """The worker running a query died (e.g. the engine overflowed its stack); it is replaced."""

    http_status = 500


class StoreUnreachable(StoreError):
    """A remote SPARQL store refused the connection, or its host is unknown or unreachable:
    the request was not sent."""


class StoreTimeout(StoreError):
    """A remote SPARQL store did not answer within ``store_timeout`` (a write's outcome is
    then unknown: the message says so)."""

    http_status = 504
