"""How a claim travelled, for readers: the claim page's "How it spread" section and the case
timeline (``/timeline``, its JSON and CSV twins), on the ZPMC case with its propagation
analysed, and the ordering rule both share (what is reported comes before its report)."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from claimgraph.app import create_app
from claimgraph.config import Settings
from claimgraph.core import ClaimGraph
from claimgraph.pages import spread
from claimgraph.pages.timeaxis import day_range, reporting_order
from claimgraph.validation import Validator
from tests.pages_helpers import BASE, html

NATIONAL_SECURITY = "/id/claim/china-made-cranes-pose-national-security-risk"
EQUIPMENT = "/id/claim/zpmc-cranes-have-unexplained-communications-equipment"
COMMITTEE = "/id/actor/congressional-committee"
XINHUA_REBUTTAL = "/id/statement/xinhua-headline-crane-threat-lacks-foundation"
LIU_DENIAL = "/id/statement/liu-pengyu-cranes-risk-entirely-paranoia"
PROBE = "/id/statement/congressional-committee-unexplained-communications-equipment"
REPORTS_OF_PROBE = [
    "/id/statement/business-insider-reports-congressional-investigation",
    "/id/statement/cnn-reports-congressional-investigation",
    "/id/statement/fox-business-reports-congressional-investigation",
]
ESPIONAGE = "https://claimgraph.org/vocab/topic#espionage"


@pytest.fixture(scope="module")
def client(validator: Validator) -> Iterator[FlaskClient]:
    settings = Settings(seed=False, propagation=True, propagation_delay=0.0)
    cg = ClaimGraph(settings, validator=validator)
    cg.seed()
    app = create_app(settings, graph=cg)
    runner = app.extensions["claimgraph.propagation"]
    runner.ensure()
    assert runner.wait(cg.generation, 120)
    yield app.test_client()
    cg.close()


def section(body: str) -> str:
    start = body.index('<section aria-labelledby="h-spread"')
    return body[start : body.index("</section>", start)]


def part(body: str, heading: str) -> str:
    start = body.index(f"<h3>{heading}</h3>")
    end = body.find("<h3>", start + 1)
    return body[start : end if end > 0 else len(body)]


def text(markup: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", "", markup))


def test_the_accusation_starts_with_the_congressional_committee(client: FlaskClient) -> None:
    spread_html = section(html(client, NATIONAL_SECURITY))
    origins = part(spread_html, "Origins")
    # origins come first in the section, each with speaker, date and source
    assert spread_html.index("<h3>Origins</h3>") < spread_html.index("<h3>Echoes</h3>")
    asserting = [li for li in origins.split("<li")[1:] if "stance-asserts" in li]
    assert len(asserting) == 1
    assert f'href="{COMMITTEE}"' in asserting[0]
    assert "<time>2024-03</time>" in asserting[0] and "Source:" in asserting[0]
    # the independence summary, counted by the analysis, in words
    assert "Asserted: 1 origin, repeated by 1 reporter in 0–6 days." in text(spread_html)
    assert "Denied: 4 origins (4 speakers, 3 sources), repeated 2 times by 1 reporter" in text(
        spread_html
    )
    # the echoes on a dated axis, drawn on the server
    assert (
        '<svg xmlns="http://www.w3.org/2000/svg"' in spread_html and 'class="axis"' in spread_html
    )


def test_xinhuas_rebuttal_is_shown_as_not_carried(client: FlaskClient) -> None:
    rebuttals = part(section(html(client, NATIONAL_SECURITY)), "Rebuttals")
    items = {
        re.search(r'href="(/id/statement/[^"]+)"', li)[1]: li  # type: ignore[index]
        for li in rebuttals.split("<li")[1:]
    }
    assert "Not carried</strong> by anyone who reported the claim" in items[XINHUA_REBUTTAL]
    assert "uncarried" in items[XINHUA_REBUTTAL].split(">", 1)[0]
    # the Journal quoted the embassy's spokesman: that denial reached the claim's reporters
    assert "Carried by" in items[LIU_DENIAL]
    assert 'href="/id/actor/wall-street-journal"' in items[LIU_DENIAL]


def test_a_repeated_claim_counts_its_reporters_in_one_sentence(client: FlaskClient) -> None:
    body = section(html(client, EQUIPMENT))
    assert "Asserted: 1 origin, repeated by 4 reporters in 0–30 days." in text(body)
    echoes = part(body, "Echoes")
    for report in REPORTS_OF_PROBE:
        assert f'href="{report}"' in echoes
    # approximate dates carry their notes, and curators' notes are shown
    assert "(approx.)" in echoes and 'class="date-note"' in echoes
    assert "'within a day or two - on March 7 and 8'" in text(echoes)
    assert 'class="curator-note"' in echoes


def test_equal_dates_keep_reporting_order(client: FlaskClient) -> None:
    """The probe and the reports of it by Business Insider, CNN and Fox Business are all dated
    2024-03; by IRI "business-insider-…" would come first. The probe comes first."""
    body = html(client, EQUIPMENT)
    timeline = body[
        body.index('<ol class="timeline">') : body.index("</ol>", body.index("h-timeline"))
    ]
    at = {path: timeline.index(f'href="{path}"') for path in [PROBE, *REPORTS_OF_PROBE]}
    assert all(at[PROBE] < at[r] for r in REPORTS_OF_PROBE)
    # and the same in the case timeline
    page = html(client, "/timeline?per_page=200")
    at = {path: page.index(f'href="{path}">') for path in [PROBE, *REPORTS_OF_PROBE]}
    assert all(at[PROBE] < at[r] for r in REPORTS_OF_PROBE)


def test_the_section_says_when_there_is_no_analysis(settings: Settings, seeded: ClaimGraph) -> None:
    body = html(create_app(settings, graph=seeded).test_client(), NATIONAL_SECURITY)
    assert "has not been analysed" in section(body)


def test_the_case_timeline_answers_who_said_it_first(client: FlaskClient) -> None:
    reply = client.get("/timeline", headers={"Accept": "text/html"})
    assert reply.status_code == 200
    assert '</timeline.json>; rel="alternate"; type="application/json"' in reply.headers["Link"]
    body = reply.get_data(as_text=True)
    assert "<h1>Case timeline</h1>" in body and 'class="axis"' in body
    assert body.count('<li class="statement stance-') == 50  # one page
    assert 'rel="next"' in body
    # stance-coloured, with reporting lines between statements on the page
    assert 'fill="#2f855a"' in body and 'fill="#c53030"' in body
    assert 'marker-end="url(#timeline-arrow)"' in body
    # one topic, from a date
    page = html(client, f"/timeline?topic={ESPIONAGE.replace('#', '%23')}&from=2024-03")
    dates = re.findall(r"<p class=\"meta\"><time>([^<]+)</time>", page)
    assert dates and min(dates) >= "2024-03"
    assert "selected>espionage</option>" in page


def test_the_timelines_twins(client: FlaskClient) -> None:
    doc = client.get("/timeline.json?per_page=200").get_json()
    assert doc["total"] == len(doc["statements"]) and doc["next"] is None
    order = [s["statement"] for s in doc["statements"]]
    for s in doc["statements"]:  # every report comes after what it reports
        for reported in s["reports"]:
            assert order.index(reported) < order.index(s["statement"])
    probe = next(s for s in doc["statements"] if s["statement"] == BASE + PROBE[1:])
    assert probe["speaker"] == BASE + COMMITTEE[1:] and probe["approximate"] is True
    assert len(probe["reportedBy"]) == 4 and probe["dateNote"]
    topical = client.get(f"/timeline.json?topic={ESPIONAGE.replace('#', '%23')}").get_json()
    assert 0 < topical["total"] < doc["total"]
    rows = list(csv.DictReader(io.StringIO(client.get("/timeline.csv").get_data(as_text=True))))
    assert len(rows) == 50 and rows[0]["statement"].startswith(BASE)
    assert client.get("/timeline.xml").status_code == 404
    for bad in ("from=March", "topic=not%20an%20iri", "page=x"):
        reply = client.get(f"/timeline?{bad}", headers={"Accept": "text/html"})
        assert reply.status_code == 400, bad


# -- the rules under the pages ----------------------------------------------------------------


def test_reporting_order_puts_what_is_reported_first() -> None:
    dates = {"b-report": "2024-03", "a-report": "2024-03", "z-origin": "2024-03", "c": "2024-02"}
    reported = {"b-report": ["z-origin"], "a-report": ["b-report"]}
    assert reporting_order(dates, reported) == ["c", "z-origin", "b-report", "a-report"]
    # a coarser or earlier date on a report does not move it before what it reports
    assert reporting_order({"r": "2024", "s": "2024-05-01"}, {"r": ["s"]}) == ["s", "r"]
    # a cycle (bad data) still lists everything once
    assert sorted(reporting_order({"x": "1", "y": "1"}, {"x": ["y"], "y": ["x"]})) == ["x", "y"]


def test_reporting_order_is_not_quadratic() -> None:
    n = 100_000
    dates = {f"s{i:06d}": "2024-03" for i in range(n)}
    chain = {f"s{i:06d}": [f"s{i + 1:06d}"] for i in range(n - 1)}  # each reports the next
    order = reporting_order(dates, chain)
    assert order[0] == f"s{n - 1:06d}" and order[-1] == "s000000"


def test_plurals_and_lags() -> None:
    assert spread.plural(1, "origin") == "1 origin" and spread.plural(2, "origin") == "2 origins"
    assert spread.lag_text(0, 0) == "the same day"
    assert spread.lag_text(1, 1) == "1 day later" and spread.lag_text(0, 6) == "0–6 days later"
    assert day_range("2024-02") == (day_range("2024-02-01")[0], day_range("2024-02-29")[0])  # type: ignore[index]
    assert day_range("not a date") is None and day_range("2024-13") is None
