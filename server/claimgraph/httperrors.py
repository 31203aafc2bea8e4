"""How failures reach HTTP clients and the log: a request id on every response, every 5xx
logged with its traceback and that id, and one rendering — JSON, plain text or HTML, as the
client asked — for ClaimGraph's errors and for Werkzeug's own (404, 405, 413, …)."""

from __future__ import annotations

import logging
import re
import uuid
from types import TracebackType
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from claimgraph import linkeddata
from claimgraph.errors import ClaimGraphError

log = logging.getLogger(__name__)

REQUEST_ID = "X-Request-Id"
# A request id sent by a proxy or client is kept when it is a plain token (UUIDs, trace ids);
# anything else would end up in logs and headers as given, so a fresh one replaces it.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}\Z")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


def request_id() -> str:
    """This request's id: the client's ``X-Request-Id`` if it is sane, else a new one."""
    rid: str | None = g.get("request_id")
    if rid is None:
        sent = request.headers.get(REQUEST_ID, "")
        rid = sent if _SANE_ID.match(sent) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def log_server_error(status: int, exc_info: BaseException | ExcInfo) -> None:
    """Log a 5xx with its traceback and request id (once per request)."""
    g.server_error_logged = True
    level = logging.ERROR if status == 500 else logging.WARNING
    log.log(
        level,
        "%s %s → %d (request id %s)",
        request.method,
        request.path,
        status,
        request_id(),
        exc_info=exc_info,
    )


class ClaimGraphFlask(Flask):
    def log_exception(self, exc_info: Any) -> None:
        """An exception no handler knew (a bug): logged here, then answered as a 500."""
        log_server_error(500, exc_info)


def render(status: int, name: str, message: str) -> Response:
    """The error as the client asked: a page for browsers (or in a linked-data route's RDF
    format), else JSON or plain text. A 5xx names its request id, for the operator's log."""
    rid = request_id() if status >= 500 else None
    if rid is not None:
        message = f"{message} (request id {rid})"
    page = linkeddata.error_response(status, name, message)
    if page is not None:
        return page
    best = request.accept_mimetypes.best_match(["application/json", "text/plain"])
    if best == "application/json":
        body: dict[str, str] = {"error": name, "message": message}
        if rid is not None:
            body["requestId"] = rid
        response = jsonify(body)
    else:
        response = Response(f"{message}\n", mimetype="text/plain")
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ClaimGraphError)
    def claimgraph_error(err: ClaimGraphError) -> Response:
        # Messages reach the user; stack traces only the log.
        if err.http_status >= 500:
            log_server_error(err.http_status, err)
        return render(err.http_status, type(err).__name__, str(err))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response | HTTPException:
        if err.code is None or err.code < 400:
            return err  # not an error (a redirect): Werkzeug's own response
        if err.response is not None:
            return err.response  # type: ignore[return-value]
        response = render(err.code, type(err).__name__, err.description or err.name)
        for key, value in err.get_headers():
            if key.lower() != "content-type":  # e.g. Allow on a 405
                response.headers[key] = value
        return response

    @app.after_request
    def request_id_header(response: Response) -> Response:
        response.headers[REQUEST_ID] = request_id()
        if response.status_code >= 500 and not g.get("server_error_logged"):
            # A 5xx built without an exception (a page that shows its error inline).
            log.warning(
                "%s %s → %d (request id %s)",
                request.method,
                request.path,
                response.status_code,
                request_id(),
            )
        return response
