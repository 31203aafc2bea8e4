"""Resources told in words for a reader, where the graph gives them no name of their own: a
statement as «The Wall Street Journal reports, 7 March 2024: “…”», a source without a title as
«Xinhua News Agency news article, 6 April 2024», an assessment, an affiliation, a rating.

Pure functions over the facts of one resource (property IRI → its values) and a lookup of
the labels of the IRIs they name; ``describe.Labeller`` and ``pages.common.Labels`` feed them
from what they have fetched."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import pyoxigraph as ox

from claimgraph.iris import CG, SCHEMA

Facts = Mapping[str, Sequence[ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]]
Name = Callable[[str], str | None]  # the label of an IRI, if it has one

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DCTERMS_TITLE = "http://purl.org/dc/terms/title"
TITLES = (f"{CG}title", DCTERMS_TITLE, f"{SCHEMA}headline", f"{SCHEMA}name")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
LANGUAGES = {
    "en": "English",
    "zh": "Chinese",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "ru": "Russian",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "pt": "Portuguese",
    "it": "Italian",
}
QUOTE_CHARS = 160  # a longer quote is cut (at a word) in a heading or a link
# The types that say nothing about what kind of document a source is.
GENERIC_TYPES = {
    f"{CG}Source",
    f"{SCHEMA}CreativeWork",
    "http://www.w3.org/ns/prov#Entity",
}
# Every property a rule below reads: what a caller must fetch of a resource.
INPUTS = frozenset(
    {
        RDF_TYPE,
        *TITLES,
        *(
            f"{CG}{p}"
            for p in [
                "speaker",
                "stance",
                "date",
                "claim",
                "quote",
                "member",
                "organization",
                "role",
                "startDate",
                "endDate",
                "evidence",
                "assessedClaim",
                "direction",
                "assessedBy",
                "publisher",
                "author",
                "datePublished",
                "language",
                "translationOf",
            ]
        ),
        f"{SCHEMA}author",
        f"{SCHEMA}publisher",
        f"{SCHEMA}datePublished",
        f"{SCHEMA}alternateName",
        f"{SCHEMA}ratingValue",
        f"{SCHEMA}bestRating",
        f"{SCHEMA}claimReviewed",
    }
)
_DATE = re.compile(r"^(-?\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def date_text(value: str) -> str:
    """A date as given, with its precision: ``2023``, ``March 2023``, ``7 March 2024``
    (``xsd:gYear``, ``xsd:gYearMonth``, ``xsd:date``/``dateTime``); anything else as it is."""
    m = _DATE.match(value)
    if m is None:
        return value
    year, month, day = m.groups()
    if month is None or not 1 <= int(month) <= 12:
        return year
    if day is None:
        return f"{MONTHS[int(month) - 1]} {year}"
    return f"{int(day)} {MONTHS[int(month) - 1]} {year}"


def language_name(tag: str) -> str:
    return LANGUAGES.get(tag.split("-")[0].lower(), tag)


def cut(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _first(facts: Facts, prop: str) -> ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None:
    found = facts.get(prop)
    return found[0] if found else None


def _literal(facts: Facts, prop: str) -> ox.Literal | None:
    """The English value of ``prop``, else an untagged one, else any (the least, for a stable
    choice)."""
    lits = sorted(
        (v for v in facts.get(prop, ()) if isinstance(v, ox.Literal)),
        key=lambda lit: (lit.language or "", lit.value),
    )
    for want in ("en", ""):
        for lit in lits:
            if (lit.language or "").split("-")[0] == want:
                return lit
    return lits[0] if lits else None


def _name(facts: Facts, prop: str, name: Name) -> str | None:
    value = _first(facts, prop)
    if isinstance(value, ox.NamedNode):
        return name(value.value)
    if isinstance(value, ox.Literal):
        return value.value
    return None


def statement(facts: Facts, name: Name) -> str | None:
    """«Speaker stance, date: “quote”» (the claim's text when there is no quote)."""
    speaker = _name(facts, f"{CG}speaker", name)
    stance = _name(facts, f"{CG}stance", name)
    if speaker is None or stance is None:
        return None
    date = _first(facts, f"{CG}date")
    head = f"{speaker} {stance}"
    if isinstance(date, ox.Literal):
        head += f", {date_text(date.value)}"
    quote = _literal(facts, f"{CG}quote")
    if quote is not None:
        return f"{head}: “{cut(quote.value)}”"
    claim = _name(facts, f"{CG}claim", name)
    return f"{head}: {cut(claim)}" if claim else head


def assessment(facts: Facts, name: Name) -> str | None:
    """«Evidence refutes “claim” (assessed by X)»."""
    evidence = _name(facts, f"{CG}evidence", name)
    claim = _name(facts, f"{CG}assessedClaim", name)
    if evidence is None or claim is None:
        return None
    direction = _name(facts, f"{CG}direction", name) or "bears on"
    if direction == "inconclusive":
        direction = "is inconclusive on"
    text = f"{cut(evidence, 100)} {direction} “{cut(claim, 100)}”"
    by = _name(facts, f"{CG}assessedBy", name)
    return f"{text} (assessed by {by})" if by else text


def affiliation(facts: Facts, name: Name) -> str | None:
    """«Member, role at organisation (start–end)»."""
    member = _name(facts, f"{CG}member", name)
    org = _name(facts, f"{CG}organization", name)
    if member is None or org is None:
        return None
    role = _literal(facts, f"{CG}role")
    text = f"{member}, {role.value} at {org}" if role is not None else f"{member} at {org}"
    start, end = (_first(facts, f"{CG}{p}") for p in ("startDate", "endDate"))
    if isinstance(start, ox.Literal) or isinstance(end, ox.Literal):
        since = date_text(start.value) if isinstance(start, ox.Literal) else ""
        until = date_text(end.value) if isinstance(end, ox.Literal) else ""
        text += f" ({since}–{until})"
    return text


def rating(facts: Facts, name: Name) -> str | None:
    """«Rating 2 of 5», for a rating with a value and no name of its own."""
    value = _first(facts, f"{SCHEMA}ratingValue")
    if not isinstance(value, ox.Literal) or _first(facts, f"{SCHEMA}alternateName") is not None:
        return None
    best = _first(facts, f"{SCHEMA}bestRating")
    return f"Rating {value.value}" + (f" of {best.value}" if isinstance(best, ox.Literal) else "")


def _kind(facts: Facts, name: Name) -> str | None:
    types = sorted(
        t.value
        for t in facts.get(RDF_TYPE, ())
        if isinstance(t, ox.NamedNode) and t.value not in GENERIC_TYPES
    )
    for t in types:
        label = name(t)
        if label:
            return label
    return "source" if facts.get(RDF_TYPE) else None


def work(facts: Facts, name: Name) -> str | ox.Literal | None:
    """A document's title, in its own language (an original and its translation share an
    English title), with «(English translation)» for a translation; without a title, one
    built from its publisher (else author), kind and date: «Xinhua News Agency news article,
    6 April 2024», «Executive order by Joe Biden, 2024»."""
    lang = _first(facts, f"{CG}language")
    translation = f"{CG}translationOf" in facts
    titles = [
        v for p in TITLES for v in facts.get(p, ()) if isinstance(v, ox.Literal) and p != RDF_TYPE
    ]
    title: ox.Literal | None = None
    if titles:
        if not (isinstance(lang, ox.Literal) and (translation or len(titles) > 1)):
            return None  # its own title, chosen as any label is
        own = [t for t in titles if (t.language or "").split("-")[0] == lang.value.split("-")[0]]
        title = (own or titles)[0]
    elif f"{SCHEMA}claimReviewed" in facts:
        return None
    else:
        kind = _kind(facts, name)
        if kind is None:
            return None
        who = next(
            (
                n
                for p in (f"{CG}publisher", f"{SCHEMA}publisher", f"{CG}author", f"{SCHEMA}author")
                if (n := _name(facts, p, name))
            ),
            None,
        )
        date = next(
            (
                d
                for p in (f"{CG}datePublished", f"{SCHEMA}datePublished")
                if isinstance(d := _first(facts, p), ox.Literal)
            ),
            None,
        )
        if who is None and date is None:
            return None
        if who:
            by_author = _name(facts, f"{CG}publisher", name) is None and not facts.get(
                f"{SCHEMA}publisher"
            )
            text = f"{kind[:1].upper()}{kind[1:]} by {who}" if by_author else f"{who} {kind}"
        else:
            text = kind[:1].upper() + kind[1:]
        if date is not None:
            text += f", {date_text(date.value)}"
        title = ox.Literal(text)
    if translation:
        where = language_name(lang.value) + " " if isinstance(lang, ox.Literal) else ""
        return ox.Literal(f"{title.value} ({where}translation)", language=title.language or None)
    return title


RULES: tuple[Callable[[Facts, Name], str | ox.Literal | None], ...] = (
    statement,
    assessment,
    affiliation,
    rating,
    work,
)


def named(facts: Facts) -> list[str]:
    """The IRIs a rule may look up the label of (the values of the properties it reads)."""
    return [
        v.value for p, vs in facts.items() if p in INPUTS for v in vs if isinstance(v, ox.NamedNode)
    ]


def label(facts: Facts, name: Name) -> ox.Literal | None:
    """The words for a resource with these facts (language-tagged when they are a title in
    that language), or ``None``: no rule fits (its own label, if any, is the one to show)."""
    for rule in RULES:
        text = rule(facts, name)
        if text:
            return text if isinstance(text, ox.Literal) else ox.Literal(text)
    return None
