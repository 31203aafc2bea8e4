"""Real-browser tests: headless Chromium (Debian's package, never a downloaded browser; the
session's browser is tests/chromium.py's fixture) driven by Playwright against the app served
by waitress."""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from claimgraph.app import create_app
from claimgraph.validation import Validator
from tests.conftest import ROOT
from tests.live_server import seeded_with_reviews, serve

SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    validator = Validator.from_dirs(ROOT / "shapes", ROOT / "ontology")
    cg = seeded_with_reviews(validator)
    app = create_app(cg.settings, graph=cg)
    runner = app.extensions["claimgraph.propagation"]  # the claims' "How it spread"
    runner.ensure()
    assert runner.wait(cg.generation, 120)
    with serve(app) as url:
        yield url
    cg.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    p = browser.new_page()
    p.set_default_timeout(10_000)
    yield p
    p.close()


def png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct pixel rows of a PNG (8-bit RGB(A), as
    Chromium writes them), decoded with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, colour = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, _, colour = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    channels = {2: 3, 6: 4}[colour]
    stride = width * channels + 1
    # the filter byte aside, rows that differ at all mean more than one colour on the page
    rows = {raw[i * stride + 1 : (i + 1) * stride] for i in range(height)}
    return width, height, len(rows)


def check_screenshot(data: bytes, name: str) -> None:
    width, height, distinct_rows = png_facts(data)
    assert width >= 800 and height >= 600
    assert distinct_rows > 20, "the screenshot is (nearly) blank"
    assert len(data) > 20_000
    # The README's screenshots are refreshed on request only, so a test run leaves the
    # work tree clean: CLAIMGRAPH_UPDATE_SCREENSHOTS=1 make test.
    if os.environ.get("CLAIMGRAPH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / name).write_bytes(data)


def test_home_to_claim_to_speaker_to_evidence(page: Any, site: str) -> None:
    page.goto(site + "/")
    # a contested claim on which the case file records evidence both ways
    page.locator("ol.contested a[href='/id/claim/us-ports-were-unaware-of-modems']").click()
    page.wait_for_url("**/id/claim/**")
    assert page.locator("h1").inner_text()
    assert page.locator("ol.timeline li").count() > 0
    assert page.locator("svg.neighbourhood").count() == 1
    check_screenshot(page.screenshot(full_page=False), "claim.png")
    claim_url = page.url
    page.locator("ol.timeline .speaker a").first.click()
    page.wait_for_url("**/id/actor/**")
    assert "Statements by stance" in page.content()
    page.goto(claim_url)
    evidence = page.locator(".evidence a[href^='/id/evidence/']")
    assert evidence.count() > 0
    evidence.first.click()
    page.wait_for_url("**/id/evidence/**")
    assert page.locator("p.kind").inner_text().lower() == "evidence"


def test_search_for_modem(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.fill("#home-q", "modem")
    page.locator("#home-q").press("Enter")
    page.wait_for_url("**/claims?q=modem")
    items = page.locator("ol.claims li")
    assert items.count() > 0
    assert "modem" in items.first.inner_text().lower()


def test_run_an_example_query(page: Any, site: str) -> None:
    page.goto(site + "/sparql")
    page.locator("details.examples summary").click()
    page.locator("a[data-example='05-contested-claims']").click()
    # the example's link runs it: YASGUI (where script runs) shows the results
    page.wait_for_selector("#yasgui .yasr table tbody tr")
    assert page.locator("#yasgui .yasr table tbody tr").count() > 0
    assert page.locator("#yasgui .yasr tbody a[href^='/id/claim/']").count() > 0
    # the progressive picker loads an example into the editor without running it
    page.select_option("#example-pick", "09-modem-timeline")
    editor = "document.querySelector('#yasgui .CodeMirror').CodeMirror.getValue()"
    assert "cellular-modems" in page.evaluate(editor)
    page.locator("#yasgui .yasqe_queryButton").click()
    page.wait_for_selector("#yasgui .yasr table tbody tr")
    check_screenshot(page.screenshot(full_page=False), "query.png")


def no_horizontal_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls {overflow} px sideways"


def test_how_a_claim_spread(page: Any, site: str) -> None:
    page.goto(site + "/id/claim/zpmc-cranes-have-unexplained-communications-equipment")
    spread = page.locator("section.spread")
    assert (
        "Asserted: 1 origin, repeated by 4 reporters"
        in spread.locator("ul.independence").inner_text()
    )
    axis = spread.locator("figure.axis svg")
    assert axis.count() == 1 and axis.bounding_box()["height"] > 100
    assert spread.locator("ol.echoes li").count() == 5
    spread.scroll_into_view_if_needed()
    page.locator("#h-spread").evaluate("h => h.scrollIntoView()")
    check_screenshot(page.screenshot(full_page=False), "spread.png")
    page.set_viewport_size({"width": 390, "height": 844})
    no_horizontal_scroll(page)
    box = axis.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_case_timeline(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.locator("header.site a", has_text="Timeline").click()
    page.wait_for_url("**/timeline")
    assert page.locator("figure.axis svg path[marker-end]").count() > 0
    assert page.locator("ol.case-timeline li").count() == 50
    page.select_option("#tl-topic", "https://claimgraph.org/vocab/topic#espionage")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/timeline?topic=*")
    on_topic = page.locator("ol.case-timeline li").count()
    assert 0 < on_topic <= 50
    check_screenshot(page.screenshot(full_page=False), "timeline.png")
    page.fill("#tl-from", "2024-03")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/timeline?*from=2024-03*")
    assert 0 < page.locator("ol.case-timeline li").count() < on_topic
    page.set_viewport_size({"width": 390, "height": 844})
    no_horizontal_scroll(page)


def test_home_to_an_index_to_a_resource(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.locator("a[href='/evidence']").first.click()
    page.wait_for_url("**/evidence")
    total = int(page.locator("p.total strong").inner_text())
    # narrowed by a facet: the evidence bearing on the claims about espionage
    page.locator(".facets a[href*='topic%23espionage']").click()
    page.wait_for_url(re.compile(r"/evidence\?topic="))
    assert 0 < int(page.locator("p.total strong").inner_text()) < total
    page.locator("ol.index > li > a").first.click()
    page.wait_for_url("**/id/evidence/**")
    assert page.locator("p.kind").inner_text().lower() == "evidence"
    # a statement from its list, headed in words
    page.goto(site + "/statements?stance=https://claimgraph.org/vocab/stance%23denies")
    page.locator("ol.index > li > a").first.click()
    page.wait_for_url("**/id/statement/**")
    assert " denies, " in page.locator("h1").inner_text()
    # the site's search box looks through every kind
    page.fill("#site-q", "唐青赟")
    page.locator("#site-q").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    page.locator("#k-actors a[href='/id/actor/tang-qingyun']").click()
    page.wait_for_url("**/id/actor/tang-qingyun")
