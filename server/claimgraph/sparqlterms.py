"""The one way a value gets into the text of a SPARQL query ClaimGraph builds: as a term.

Query text is never pasted together from request text. An IRI goes in as
``pyoxigraph.NamedNode(iri)``, which accepts only an IRI (RFC 3987): none of the characters
that could end an ``IRIREF`` or start another token (space, ``< > " { } | ^ ` \\``, control
characters) can be in it, so ``<…>`` is one IRI and nothing more (and, with no backslash,
there is no ``\\u`` escape for a server to expand either). A literal goes in as
``pyoxigraph.Literal``, whose N-Triples form escapes quotes, backslashes and control
characters, and whose language tag is checked. The embedded store can bind values instead
(``substitutions=``); the remote store takes text only, so both are built the same way, here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

Term = ox.NamedNode | ox.Literal


def term(value: Term) -> str:
    """A checked term in SPARQL syntax (its N-Triples form, which SPARQL shares)."""
    if not isinstance(value, ox.NamedNode | ox.Literal):
        raise TypeError(f"only IRIs and literals go into query text, not {type(value).__name__}")
    return str(value)


def iri(text: str) -> str:
    """``<text>`` for a query; ``ValueError`` when ``text`` is not an IRI."""
    return term(ox.NamedNode(text))


def literal(text: str, *, language: str | None = None, datatype: ox.NamedNode | None = None) -> str:
    """``"text"`` (escaped; with ``@language`` or ``^^<datatype>``) for a query."""
    return term(ox.Literal(text, language=language, datatype=datatype))


def iris(texts: Iterable[str], sep: str = " ") -> str:
    """Several IRIs for a ``VALUES`` block (``sep=", "``: an ``IN (…)`` list), in order."""
    return sep.join(iri(t) for t in texts)
