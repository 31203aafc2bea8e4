"""Write access over HTTP: a bearer token set by the operator, compared in constant time."""

from __future__ import annotations

import hmac

from claimgraph.errors import ClaimGraphError


class Unauthorized(ClaimGraphError):
    """No or malformed credentials (HTTP 401, with a WWW-Authenticate challenge)."""

    http_status = 401


class Forbidden(ClaimGraphError):
    """Credentials given but wrong, or writes disabled on this server (HTTP 403)."""

    http_status = 403


def check_write_token(expected: str | None, authorization: str | None) -> None:
    """Raise unless ``authorization`` is ``Bearer <expected>``; no ``expected``: writes off."""
    if not expected:
        raise Forbidden(
            "writes are disabled on this server: the operator has not set CLAIMGRAPH_WRITE_TOKEN"
        )
    if not authorization:
        raise Unauthorized("this request writes data: send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the write token as Authorization: Bearer <token>")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Forbidden("the write token is not valid")
