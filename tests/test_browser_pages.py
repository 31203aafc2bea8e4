"""Every page type in a real browser: no horizontal scroll on a phone, no accessibility
violation that axe-core finds, and a neighbourhood graph whose labels all fit. Uses the
Chromium and the live server of tests/test_browser.py; axe-core is vendored under
tests/vendor/ (see tests/vendor/README.md) and evaluated in the page, which the page's CSP
allows because the browser's own debugging protocol runs it, not a script element."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from functools import cache
from typing import Any

import pytest

from tests import test_browser
from tests.conftest import ROOT

# a page of the session's browser, and the live site, as the browser tests have them
page, site = test_browser.page, test_browser.site

AXE = ROOT / "tests" / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
KINDS = ("statement", "source", "evidence", "assessment", "review", "actor")
FIXED = {
    "home": "/",
    "claims": "/claims",
    "claims-filtered": "/claims?stance=denies",
    "query": "/sparql",
    "query-results": "/sparql?query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+30",
    "query-error": "/sparql?query=SELECT+nonsense",
    "claim": "/id/claim/zpmc-installs-modems-at-factory",
    "validation": "/validation",
    "ontology": "/ontology",
    "stance-scheme": "/vocab/stance",
    "dataset": "/.well-known/void",
    "graph": "/graph/zpmc",
    "not-found": "/id/claim/no-such-claim",
}
PAGES = [*FIXED, *KINDS]


def get(url: str, accept: str = "text/html") -> str:
    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=30) as reply:
        return str(reply.read().decode("utf-8"))


def claim_paths(site: str) -> list[str]:
    doc = json.loads(get(f"{site}/claims.json?per_page=200", "application/json"))
    return [re.sub(r"^https?://[^/]+", "", c["iri"]) for c in doc["claims"]]


@cache
def first_of_each_kind(site: str) -> dict[str, str]:
    """A path of each kind of resource, found by following the claim pages' links."""
    found: dict[str, str] = {}
    for path in claim_paths(site):
        for kind, slug in re.findall(r'href="/id/([a-z]+)/([^"#?]+)"', get(site + path)):
            found.setdefault(kind, f"/id/{kind}/{slug}")
        if all(k in found for k in KINDS):
            break
    return found


def path_of(site: str, name: str) -> str:
    return FIXED.get(name) or first_of_each_kind(site)[name]


@pytest.mark.parametrize("name", PAGES)
def test_no_horizontal_scroll_on_a_phone(page: Any, site: str, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(site + path_of(site, name))
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > innerWidth + 1)
          .slice(0, 5).map(e => e.outerHTML.slice(0, 120))"""
    )
    assert width <= PHONE["width"], f"{name} is {width} px wide: {wide}"


@pytest.mark.parametrize("name", PAGES)
def test_no_axe_violations(page: Any, site: str, name: str) -> None:
    page.goto(site + path_of(site, name))
    page.wait_for_load_state("networkidle")  # the query page's editor has drawn its results
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    violations = page.evaluate(
        """async () => (await axe.run()).violations.map(v => `${v.id} (${v.impact}): `
             + `${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"""
    )
    assert violations == [], f"{name}:\n" + "\n".join(violations)


def test_every_neighbourhood_label_fits(page: Any, site: str) -> None:
    """On every claim page of the case, each label of the graph lies inside its viewBox, as the
    browser lays the text out (its own font, not the server's estimate)."""
    paths = claim_paths(site)
    assert len(paths) > 40
    clipped = []
    for path in paths:
        page.goto(site + path)
        outside = page.evaluate(
            """() => { const svg = document.querySelector('svg.neighbourhood');
              const v = svg.viewBox.baseVal;
              return [...svg.querySelectorAll('text')].filter(t => { const b = t.getBBox();
                return b.x < v.x || b.y < v.y || b.x + b.width > v.x + v.width
                  || b.y + b.height > v.y + v.height; }).map(t => t.textContent); }"""
        )
        clipped += [f"{path}: {text}" for text in outside]
    assert clipped == [], "\n".join(clipped)


def test_neighbourhood_edges_coloured_by_stance(page: Any, site: str) -> None:
    page.goto(site + FIXED["claim"])
    svg = page.locator("svg.neighbourhood")
    # an edge per stance a speaker takes, coloured by the stance's class
    stances = page.locator("ol.timeline li.statement").evaluate_all(
        "lis => [...new Set(lis.map(li => [...li.classList].find(c => c.startsWith('stance-'))))]"
    )
    assert stances
    for stance in stances:
        edge = svg.locator(f"path.edge.{stance}").first
        colour = edge.evaluate("e => getComputedStyle(e).stroke")
        assert colour not in ("", "none", "rgb(187, 187, 187)"), f"{stance} has no colour"


def test_the_query_editor_runs_a_query_without_console_errors(page: Any, site: str) -> None:
    """YASGUI, vendored and served from /static, under the query page's CSP: it loads, runs
    a query against this server and shows the rows, with no error (a CSP report is one)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site + "/sparql")
    page.wait_for_selector("#yasgui .CodeMirror")
    assert page.locator("#plain-query").is_hidden()  # the editor took the plain form's place
    query = "SELECT ?claim WHERE { ?claim a <https://claimgraph.org/ontology#Claim> } LIMIT 7"
    page.evaluate(f"document.querySelector('#yasgui .CodeMirror').CodeMirror.setValue({query!r})")
    with page.expect_response(lambda r: r.url.endswith("/sparql") and r.request.method == "POST"):
        page.locator("#yasgui .yasqe_queryButton").click()
    rows = page.locator("#yasgui .yasr table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 7
    assert page.locator("#yasgui .yasr tbody a[href^='/id/claim/']").count() == 7
    assert errors == []


def test_without_the_editor_the_plain_form_runs_the_query(page: Any, site: str) -> None:
    """Progressive enhancement: when YASGUI does not load, the plain form is there and works."""
    page.route("**/static/yasgui/yasgui.min.js", lambda route: route.abort())
    page.goto(site + "/sparql")
    assert page.locator("#yasgui").is_hidden()
    page.locator("#plain-query button[type=submit]").click()
    page.wait_for_selector("#plain-query table tbody tr")
    assert page.locator("#plain-query tbody a[href^='/id/claim/']").count() > 0


def test_the_editor_shows_markup_in_results_as_text(page: Any, site: str) -> None:
    query = 'SELECT ?v WHERE { VALUES ?v { "<b id=\\"injected\\">x</b>" } }'
    page.goto(site + "/sparql?" + urllib.parse.urlencode({"query": query}))
    page.locator("#yasgui .yasr table tbody tr").first.wait_for()
    assert page.locator("#injected").count() == 0
    assert '<b id="injected">' in page.locator("#yasgui .yasr tbody").inner_text()
