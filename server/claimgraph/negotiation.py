"""Content negotiation as a pure function: an Accept header and what we can offer, in,
the media type to send out. Werkzeug parses the header (q-values, wildcards, parameters)."""

from __future__ import annotations

from collections.abc import Sequence

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer the client prefers most, or ``None`` when it accepts none of them.

    No (or an empty) Accept header means "anything": the first offer, our default.
    Among offers the client rates equally, the earlier offer wins.
    """
    if not offers:
        return None
    if not accept or not accept.strip():
        return offers[0]
    # Media-type parameters (charset, profile) do not decide between our offers: drop them.
    parsed = parse_accept_header(accept, MIMEAccept)
    bare = MIMEAccept([(parse_options_header(value)[0], q) for value, q in parsed])
    return bare.best_match(offers)
