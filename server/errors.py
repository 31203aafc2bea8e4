"""ClaimGraph's exceptions, one tree; the HTTP layer and the CLI each render it one way.

ClaimGraphError                 any failure ClaimGraph reports to its user
├── InputError                  the request or file is wrong     (HTTP 400, exit 2)
│   ├── RdfSyntaxError          unparsable RDF, with file, line and column
│   ├── QuerySyntaxError        unparsable SPARQL, with line and column
│   └── UnsupportedFormatError  no parser/serializer for that format or media type
├── ValidationFailed            the data breaks the shapes       (HTTP 422, exit 1)
├── NotFound                    no such resource or graph        (HTTP 404, exit 2)
└── StoreError                  the store cannot do it now       (HTTP 503, exit 2)
    └── StoreLocked             another process holds the on-disk store
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.validation import Report


class ClaimGraphError(Exception):
    """Base of every error ClaimGraph reports; ``str(err)`` is the message for the user."""

    http_status = 500
    exit_code = 2


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


class ValidationFailed(ClaimGraphError):
    """A write was refused because the data violates the shapes; nothing was stored."""

    http_status = 422
    exit_code = 1

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(report.summary())


class NotFound(ClaimGraphError):
    http_status = 404


class StoreError(ClaimGraphError):
    http_status = 503


class StoreLocked(StoreError):
    pass
