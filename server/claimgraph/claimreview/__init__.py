"""schema.org ``ClaimReview`` in and out.

**Out**: the fact-check markup Google and ClaimsKG read, derived from the graph — the review,
its rating as the fact-checker gave it plus a second rating authored by ClaimGraph carrying the
normalized verdict (as ClaimsKG publishes it), and the claim with its author, date, appearances
and first appearance taken from the statements about it. Claim and review pages embed it.

**In**: ClaimReview JSON-LD (one object, an array, or ``@graph``; the schema.org context as
``https://schema.org`` in its ``http``/``https`` and slash forms, or inline with ``@vocab``) is
mapped into the ClaimGraph model and written as one validated, atomic ``Delta``:

====================  ===========================================================================
markup                ClaimGraph
====================  ===========================================================================
ClaimReview           ``schema:ClaimReview`` at ``id/review/<key>`` (url, date, claimReviewed,
                      reviewBody kept)
reviewRating          ``schema:Rating`` at ``id/rating/<key>``, values exactly as given
(derived)             ``cg:normalizedVerdict`` by ``VERDICT_LABELS`` and ``verdict_for``
claimReviewed         ``cg:Claim`` at ``id/claim/<key>`` with ``cg:text``
author (review)       the fact-checker, an actor at ``id/actor/<name>`` (``_actor_iri``)
itemReviewed.author   the claimant, an actor
appearance / the      a ``cg:Source`` each (``id/source/<url>``), and a ``cg:Statement`` at
reviewed work         ``id/statement/<key>-<n>``: the claimant asserts the claim there
isPartOf, transcript  the work a clip is cut from, a ``cg:Source`` (``cg:partOfSource``);
                      ``schema:transcript`` (a link or the text) on the source that gives it
====================  ===========================================================================

``<key>`` comes from the review's URL, so importing the same markup twice adds nothing, and
importing a corrected version replaces what the earlier one said. Actors and URL-keyed sources
are shared: an existing one is linked, never modified. JSON-LD contexts are never fetched: the
schema.org context is read from ``contexts/`` and any other remote context is refused.

The package is split along those seams: ``verdicts`` (the rating mapping), ``reading``
(JSON-LD in), ``importing`` (markup to model), ``markup`` (model to markup), ``routes`` (HTTP).
"""

from __future__ import annotations

from claimgraph.claimreview.importing import ImportResult, import_markup, url_key
from claimgraph.claimreview.markup import page_markup, review_markup, reviews_of, script_json
from claimgraph.claimreview.reading import read_markup, schema_context
from claimgraph.claimreview.routes import bp
from claimgraph.claimreview.terms import SCHEMA_CONTEXTS
from claimgraph.claimreview.verdicts import (
    VERDICT_LABELS,
    Verdict,
    normalize_label,
    verdict_for,
    verdict_for_label,
)

__all__ = [
    "SCHEMA_CONTEXTS",
    "VERDICT_LABELS",
    "ImportResult",
    "Verdict",
    "bp",
    "import_markup",
    "normalize_label",
    "page_markup",
    "read_markup",
    "review_markup",
    "reviews_of",
    "schema_context",
    "script_json",
    "url_key",
    "verdict_for",
    "verdict_for_label",
]
