"""Slugs of names in any script: ASCII names slug as they always have, other scripts keep
their letters, distinct names that share a slug are told apart, and IRIs travel in headers."""

from __future__ import annotations

import re

import pytest

from claimgraph.iris import disambiguated_slug, name_key, slugify, uri


def legacy_slugify(text: str) -> str:
    """The ASCII-only rule every IRI minted so far was made with."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


@pytest.mark.parametrize(
    "text",
    [
        "Example Fact Check",
        "politifact.com",
        "PolitiFact",
        "  Rich Perry  ",
        "U.S. House of Representatives",
        "Mitsui & Co.",
        "a_b--c__d",
        "factcheck.example.org 2024-09-05_tv interview",
        "c12 Wen Jie",
        "!!!",
        "",
    ],
)
def test_ascii_text_slugs_as_it_always_has(text: str) -> None:
    assert slugify(text) == legacy_slugify(text)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("新华社", "新华社"),
        ("Проверка фактов", "проверка-фактов"),
        ("唐纳德·特朗普", "唐纳德-特朗普"),
        ("हिन्दी समाचार", "हिन्दी-समाचार"),  # the vowel signs (combining marks) stay
        ("Les Décodeurs", "les-décodeurs"),
        ("Straße", "strasse"),
        ("ＡＦＰ　Ｆａｃｔ", "afp-fact"),  # full-width forms fold to ASCII (NFKC)
        ("🦊 🦊", "item"),
    ],
)
def test_names_of_other_scripts_keep_their_letters(text: str, slug: str) -> None:
    assert slugify(text) == slug
    assert slugify(slug) == slug  # a slug is its own slug: minting twice changes nothing


def test_names_that_share_a_slug_are_told_apart_the_same_way_every_time() -> None:
    a, b = "Example Fact-Check", "Example Fact Check"
    assert slugify(a) == slugify(b)
    assert name_key(a) != name_key(b)
    assert disambiguated_slug(a) != disambiguated_slug(b)
    assert disambiguated_slug(a) == disambiguated_slug(a)
    assert disambiguated_slug(a).startswith(slugify(a) + "-")
    # one name in another case or spacing is the same name
    assert name_key("EXAMPLE  Fact-Check ") == name_key(a)
    assert disambiguated_slug("EXAMPLE  Fact-Check ") == disambiguated_slug(a)


def test_uri_percent_encodes_only_what_is_not_ascii() -> None:
    assert uri("/id/actor/新华社.ttl") == "/id/actor/%E6%96%B0%E5%8D%8E%E7%A4%BE.ttl"
    assert uri("/id/actor/example-fact-check.ttl") == "/id/actor/example-fact-check.ttl"
