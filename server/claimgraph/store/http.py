"""HTTP for the remote store: form POSTs to SPARQL endpoints through httpx (its connection pool,
its Digest and Basic authentication), each request with one deadline.

What can go wrong on the way is one of the store's errors (``claimgraph.errors``)::

    StoreError             the server broke off, or did not speak HTTP (503)
    ├── StoreUnreachable   no connection could be made: nothing was sent (503)
    └── StoreTimeout       no whole answer before the deadline (504)

Whether an update that failed was applied is the caller's to say (``RemoteStore._update``).
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from claimgraph.errors import StoreError, StoreTimeout, StoreUnreachable

EXCERPT = 300  # characters of a server's error answer quoted in our errors

# The exceptions of a connection that broke as a request went out or before its answer came:
# on a kept-alive connection, the sign that the server closed it meanwhile (it restarted, or
# its keep-alive ran out).
_BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def excerpt(self) -> str:
        text = self.body.decode("utf-8", "replace")
        text = text.split("\nSPARQL query:", 1)[0]  # Virtuoso echoes the whole request
        text = re.sub(r"<[^>]*>", " ", text) if "html" in self.media_type else text
        text = " ".join(text.split())
        return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


class ServerAuth(httpx.Auth):
    """HTTP Digest (RFC 7616, as Virtuoso's /sparql-auth asks) or Basic, whichever the server's
    first challenge asks for; then sent up front (Digest reusing the nonce with a counter, as
    httpx's ``DigestAuth`` does)."""

    def __init__(self, user: str, password: str) -> None:
        self._digest = httpx.DigestAuth(user, password)
        self._basic = httpx.BasicAuth(user, password)
        self._chosen: httpx.Auth | None = None
        # DigestAuth counts the requests of a nonce in place: one thread at a time steps it
        # (the steps only build headers; the requests go out unlocked).
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        chosen, challenge = self._chosen, None
        if chosen is None:
            challenge = yield request
            if challenge.status_code != 401:
                return
            offered = [c.lower() for c in challenge.headers.get_list("www-authenticate")]
            if any(c.startswith("digest") for c in offered):
                chosen = self._digest
            elif any(c.startswith("basic") for c in offered):
                chosen = self._basic
            else:
                return  # nothing we can answer: the 401 is the answer
            self._chosen = chosen
        flow = chosen.auth_flow(request)
        try:
            with self._lock:
                request = next(flow)
                if challenge is not None and chosen is self._digest:
                    request = flow.send(challenge)  # Digest learns the nonce from that 401
            while True:
                response = yield request
                with self._lock:
                    request = flow.send(response)
        except StopIteration:
            return


class Http:
    """POSTs forms to SPARQL endpoints over kept-alive connections (httpx's pool, shared by
    the threads), each request with one deadline, ``timeout`` seconds after it starts."""

    def __init__(self, timeout: float, auth: httpx.Auth | None = None) -> None:
        self.timeout = timeout
        self.auth = auth
        self.server: str | None = None  # the Server header last seen (None: no answer yet)
        self.connections = 0  # connections opened so far (the others were kept alive)
        self._lock = threading.Lock()
        self._client = self._new_client()

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            auth=self.auth,
            headers={"User-Agent": "ClaimGraph"},
            # the system's trust store (an institution's own CA), as Python's ssl has it
            verify=ssl.create_default_context(),
            trust_env=False,  # no proxy or .netrc from the environment: the settings say all
        )

    def post(
        self,
        url: str,
        form: list[tuple[str, str]],
        accept: str,
        timeout: float | None = None,
        *,
        idempotent: bool = True,
    ) -> Answer:
        """``idempotent``: a read, which is sent again once when the kept-alive connection it
        went on turns out to have been closed by the server (an update never is: it may have
        run)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        try:
            try:
                return self._exchange(url, form, accept, deadline, retry=idempotent)
            except _Kept:
                # The server closed the kept connection as the request went out (it restarted,
                # or its keep-alive ran out): a read is sent again, once.
                return self._exchange(url, form, accept, deadline, retry=False)
            except httpx.RemoteProtocolError:
                # An answer that breaks HTTP's framing mid-way (seen from Virtuoso under load)
                # leaves nothing to read on that connection, which is closed: a read is sent
                # again, once, on another; an update never is.
                if not idempotent:
                    raise
                return self._exchange(url, form, accept, deadline, retry=False)
        except (_Expired, httpx.TimeoutException) as err:
            raise StoreTimeout(
                f"the SPARQL store at {url} did not answer within {timeout:g} s"
            ) from err
        except httpx.ConnectError as err:  # refused, unreachable, unknown host: nothing was sent
            raise StoreUnreachable(f"the SPARQL store at {url} is not reachable: {err}") from err
        except httpx.HTTPError as err:  # reset, closed, not HTTP, a body that does not decode
            raise StoreError(
                f"the SPARQL store at {url} broke off or did not speak HTTP: "
                f"{type(err).__name__} {err}".rstrip()
            ) from err

    def _exchange(
        self, url: str, form: list[tuple[str, str]], accept: str, deadline: float, *, retry: bool
    ) -> Answer:
        """One request and its whole answer (or ``_Kept``, when ``retry`` and it broke on a
        kept-alive connection). Read to the end, its connection goes back to the pool; one
        given up on (a timeout, an error) is closed: a late answer cannot pass for the next."""
        opened = False
        limits: dict[str, float] = {}

        def trace(event: str, info: dict[str, Any]) -> None:
            # httpx's timeouts are per phase (connect, send, each read): each phase gets what
            # is left of the request's deadline when it starts.
            nonlocal opened
            if event == "connection.connect_tcp.started":
                opened = True
                with self._lock:
                    self.connections += 1
            if event.endswith(".started"):
                left = max(deadline - time.monotonic(), 0.001)
                limits.update(connect=left, read=left, write=left, pool=left)

        left = deadline - time.monotonic()
        if left <= 0:
            raise _Expired
        request = self._client.build_request(
            "POST",
            url,
            content=urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "Accept": accept,
            },
            timeout=httpx.Timeout(left),
            extensions={"trace": trace},
        )
        limits = request.extensions["timeout"]  # the dict httpcore reads at each phase
        try:
            response = self._client.send(request, stream=True)
        except _BROKEN as err:
            if retry and not opened:
                raise _Kept from err
            raise
        try:
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:  # a server that dribbles is cut off too
                    raise _Expired
        finally:
            response.close()
        self.server = response.headers.get("server") or self.server or ""
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            b"".join(chunks),
        )

    def close(self) -> None:
        """Close the kept-alive connections (a later request opens a new one)."""
        with self._lock:
            old, self._client = self._client, self._new_client()
        old.close()


class _Expired(Exception):
    """The request's deadline passed."""


class _Kept(Exception):
    """A read broke on a kept-alive connection, which the server had closed meanwhile."""
