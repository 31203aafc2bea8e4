"""The verdict mapping: a fact-checker's rating to a normalized verdict (ClaimsKG's)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from claimgraph.errors import InputError

# Fact-checkers' rating labels → the normalized verdict (ClaimsKG's four classes). Labels are
# compared after ``normalize_label``: case, surrounding space, trailing "!", ":" or "." and
# hyphens do not matter. "Mostly true", "mostly false" and their kin are MIXTURE, as ClaimsKG
# counts them; ratings that say nothing about truth (satire, unproven, Flip-O-Meter) are OTHER.
# A label not in the table gets no normalized verdict and a warning: never a guess.
VERDICT_LABELS: dict[str, str] = {
    **dict.fromkeys(
        [
            "true", "correct", "accurate", "verified", "truth", "geppetto checkmark",
            "vrai", "verdadero", "verdadeiro", "wahr", "richtig",
        ],
        "TRUE",
    ),
    **dict.fromkeys(
        [
            "false", "pants on fire", "incorrect", "inaccurate", "wrong", "fake", "hoax",
            "fiction", "fabricated", "baseless", "four pinocchios",
            "faux", "falso", "falsch",
        ],
        "FALSE",
    ),
    **dict.fromkeys(
        [
            "half true", "half truth", "mostly true", "mostly false", "barely true",
            "mostly correct", "mixture", "mixed", "partly true", "partly false",
            "partially true", "partially false", "partly correct", "not quite", "misleading",
            "exaggerated", "exaggeration", "one pinocchio", "two pinocchios",
            "three pinocchios", "mixture of true and false information", "plutôt vrai",
            "plutôt faux", "trompeur", "engañoso", "irreführend",
        ],
        "MIXTURE",
    ),
    **dict.fromkeys(
        [
            "unproven", "unverified", "unverifiable", "unsupported", "no evidence",
            "satire", "labeled satire", "outdated", "research in progress", "explainer",
            "no flip", "half flip", "full flop",
        ],
        "OTHER",
    ),
}  # fmt: skip


def normalize_label(label: str) -> str:
    text = label.strip().casefold().rstrip("!:.").replace("-", " ").replace("_", " ")
    return " ".join(text.split())


def verdict_for_label(label: str) -> str | None:
    return VERDICT_LABELS.get(normalize_label(label))


def _number(lit: ox.Literal | None) -> float | None:
    if lit is None:
        return None
    try:
        return float(lit.value)
    except ValueError:
        return None


@dataclass
class Verdict:
    """What a rating normalizes to (``None``: no normalized verdict) and why."""

    verdict: str | None
    warnings: list[str] = field(default_factory=list)


def verdict_for(
    label: str | None,
    value: ox.Literal | None,
    best: ox.Literal | None,
    worst: ox.Literal | None,
    *,
    where: str = "the rating",
) -> Verdict:
    """The normalized verdict of a rating, by these rules (README, "ClaimReview import"):

    1. A label (``alternateName``) in ``VERDICT_LABELS`` gives its verdict.
    2. A number on a known scale gives TRUE at ``bestRating`` and FALSE at ``worstRating``, and
       nothing in between (a 2 of 6 is not MIXTURE on every scale). When only one bound is
       given, the other is schema.org's default (worst 1, best 5).
    3. Label and number that give different verdicts give none, with a warning; the original
       values are kept either way.
    4. A rating with a number but no label and no scale (or an impossible one) cannot be read:
       ``InputError`` (the import is refused). Anything else unreadable gets no verdict.
    """
    warnings: list[str] = []
    by_label = verdict_for_label(label) if label else None
    if label and by_label is None:
        warnings.append(
            f"{where}: the label {label!r} is not in the verdict mapping table; "
            "no normalized verdict from it"
        )
    by_number: str | None = None
    v = _number(value)
    if value is not None and v is None and not label:
        # A textual ratingValue is a label by another name.
        by_label = verdict_for_label(value.value)
        if by_label is None:
            warnings.append(f"{where}: ratingValue {value.value!r} is not a known label")
    elif v is not None:
        hi: float | None = None
        lo: float | None = None
        if best is not None or worst is not None:
            hi = _number(best) if best is not None else 5.0
            lo = _number(worst) if worst is not None else 1.0
        readable = hi is not None and lo is not None and lo < hi and lo <= v <= hi
        if not readable:
            scale = (
                f"bestRating {best.value if best is not None else '-'}, "
                f"worstRating {worst.value if worst is not None else '-'}"
            )
            if not label:
                raise InputError(
                    f"{where}: unknown rating scale: ratingValue {value.value} "  # type: ignore[union-attr]
                    f"({scale}) and no alternateName; give the scale (bestRating, worstRating) "
                    "or the textual rating"
                )
            warnings.append(
                f"{where}: ratingValue {value.value} is not on a readable scale ({scale}); "  # type: ignore[union-attr]
                "kept as given, the verdict comes from the label"
            )
        elif v == hi:
            by_number = "TRUE"
        elif v == lo:
            by_number = "FALSE"
    if by_label and by_number and by_label != by_number:
        warnings.append(
            f"{where}: the label {label!r} ({by_label}) and the value "
            f"{value.value if value is not None else ''} of "
            f"{best.value if best is not None else 5} ({by_number}) disagree; both are kept "
            "and no normalized verdict is derived"
        )
        return Verdict(None, warnings)
    verdict = by_label or by_number
    if verdict is None and not warnings:
        warnings.append(f"{where}: says nothing a verdict can be derived from")
    elif by_number and not by_label and label:
        warnings.append(f"{where}: verdict {by_number} derived from the number alone")
    return Verdict(verdict, warnings)
