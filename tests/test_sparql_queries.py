"""The research queries of queries/ run through the endpoint over the shipped case file (with
its derived propagation graph), and give the answers the article supports (the README shows
them to researchers)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from claimgraph.validation import Validator
from tests.conftest import ROOT
from tests.sparql_helpers import DIRECT, Live, http, live_server

QUERIES = sorted((ROOT / "queries").glob("*.rq"))
Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[Live]:
    with live_server(validator, propagation=True, propagation_delay=0.0) as server:
        runner = server.app.extensions["claimgraph.propagation"]
        runner.ensure()
        assert runner.wait(server.graph.generation, 120), "the propagation analysis never ended"
        yield server


def run(live: Live, name: str) -> Rows:
    query = (ROOT / "queries" / name).read_text(encoding="utf-8")
    reply = http("POST", live.sparql, data=query, headers=DIRECT)
    assert reply.status == 200, reply.text
    assert "X-ClaimGraph-Truncated" not in reply.headers
    doc = json.loads(reply.body)
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


def col(rows: Rows, name: str) -> list[str]:
    return [r.get(name, "") for r in rows]


def check_01(rows: Rows) -> None:
    by_denier = {r["denier"]: r for r in rows}
    assert set(by_denier) == {"Tang Qingyun", "Xinhua News Agency"}
    tang = by_denier["Tang Qingyun"]
    assert tang["role"] == "senior engineer"
    assert tang["organization"] == "Design and research institute of ZPMC"
    assert tang["reporter"] == "Xinhua News Agency"
    assert "Chinese Crane Threat Theory" in tang["reportedIn"]
    assert "reporter" not in by_denier["Xinhua News Agency"]  # Xinhua speaks for itself


def check_02(rows: Rows) -> None:
    claims = {r["claim"].rsplit("/", 1)[1]: r for r in rows}
    assert set(claims) == {
        "chinese-can-track-military-cargo-via-cranes",
        "us-ports-were-unaware-of-modems",
        "zpmc-cranes-potential-espionage-threat",
    }
    track = claims["chinese-can-track-military-cargo-via-cranes"]
    assert track["assertedBy"] == "Jacqueline Van Ovost"
    assert track["refutingSource"].endswith("aapa-statement-2023-03")
    unaware = claims["us-ports-were-unaware-of-modems"]
    assert unaware["refutingEvidence"].endswith("port-operator-december-letter")
    assert unaware["assessedBy"] == "Xinhua News Agency"


def check_03(rows: Rows) -> None:
    speakers = set(col(rows, "speaker"))
    assert speakers == {"Tang Qingyun", "Guan Tongxian", "Jacqueline Van Ovost"}
    tang = [r for r in rows if r["speaker"] == "Tang Qingyun"]
    assert {r["company"] for r in tang} == {"Shanghai Zhenhua Heavy Industries Company Limited"}
    assert any(r["stance"].endswith("#denies") for r in tang)


def check_04(rows: Rows) -> None:
    assert col(rows, "reporter") == ["The Wall Street Journal", "Xinhua News Agency"]
    assert col(rows, "translatedBy") == ["", "Zichen Wang"]
    assert rows[1]["source"].endswith("/xinhua-report")


def check_05(rows: Rows) -> None:
    top = rows[0]
    assert top["claim"].endswith("china-made-cranes-pose-national-security-risk")
    assert (top["asserting"], top["denying"]) == ("1", "4")
    assert "Liu Pengyu" in top["deniedBy"]
    factory = next(r for r in rows if r["claim"].endswith("zpmc-installs-modems-at-factory"))
    assert set(factory["deniedBy"].split(", ")) == {"Tang Qingyun", "Xinhua News Agency"}


def check_06(rows: Rows) -> None:
    pairs = {(r["sideA"], r["sideB"]) for r in rows}
    assert ("Jacqueline Van Ovost", "American Association of Port Authorities") in pairs
    assert ("Tang Qingyun", "The U.S. (unspecified)") in pairs
    assert all(r["claim"] < r["opposite"] for r in rows)


def check_07(rows: Rows) -> None:
    assert len(rows) == 1
    (row,) = rows
    assert row["evidence"].endswith("port-operator-december-letter")
    assert row["assessor"] == "Xinhua News Agency"
    assert "undermines" in row["rationale"]
    assert "wsj-passage-port-operator-letter" in row["documentedIn"]


def check_08(rows: Rows) -> None:
    first = rows[0]
    assert first["speaker"] == "Unidentified U.S. port operator"
    assert (first["relayed"], first["longestChain"]) == ("3", "2")
    committee = next(r for r in rows if r["speaker"].startswith("Congressional committee"))
    assert set(committee["firstRelayedBy"].split(", ")) == {
        "The Wall Street Journal",
        "CNN",
        "Fox Business",
        "Business Insider",
    }


def check_09(rows: Rows) -> None:
    dates = col(rows, "date")
    assert dates == sorted(dates) and dates[0].startswith("2023")
    assert {"denies", "asserts", "reports"} <= set(col(rows, "stance"))
    assert "Tang Qingyun" in col(rows, "speaker")


def check_10(rows: Rows) -> None:
    assert rows[0]["speaker"] == "Xinhua News Agency"
    assert set(col(rows, "translator")) == {"Zichen Wang"}
    assert set(col(rows, "originalLanguage")) == {"zh"}
    assert {"Tang Qingyun", "Guan Tongxian"} <= set(col(rows, "speaker"))


SPREADERS = {"The Wall Street Journal", "CNN", "Fox Business", "Business Insider"}
NATIONAL_SECURITY = "claim/china-made-cranes-pose-national-security-risk"


def check_11(rows: Rows) -> None:
    asserting = [r for r in rows if r["stance"].endswith("#asserts")]
    # one first-hand accusation, the probe's (known from the Journal's exclusive)
    assert col(asserting, "speaker") == ["Congressional committee investigating ZPMC cranes"]
    denying = {r["speaker"] for r in rows if r["stance"].endswith("#denies")}
    assert "Xinhua News Agency" in denying


def check_12(rows: Rows) -> None:
    reporters = set(col(rows, "reporter"))
    # the probe's accusations were relayed by the Journal and the outlets that followed it
    assert reporters == SPREADERS
    for r in rows:
        assert 0 <= int(r["minLagDays"]) <= int(r["maxLagDays"]) <= 31, r


def check_13(rows: Rows) -> None:
    by_stance = {r["stance"].rsplit("#", 1)[1]: r for r in rows}
    asserts = by_stance["asserts"]
    assert (asserts["origins"], asserts["speakers"], asserts["sources"]) == ("1", "1", "1")
    assert int(asserts["repeats"]) >= 1
    repeaters = set(asserts["repeatedBy"].split(", "))
    assert "The Wall Street Journal" in repeaters and repeaters <= SPREADERS
    denies = by_stance["denies"]
    assert int(denies["speakers"]) >= 2  # the denials come from several speakers


def check_14(rows: Rows) -> None:
    by_stance = {r["stance"].rsplit("#", 1)[1]: r for r in rows}
    assert by_stance["asserts"]["firstBy"] == "Congressional committee investigating ZPMC cranes"
    assert by_stance["asserts"]["firstSaid"].startswith("2024-03")
    assert by_stance["denies"]["latestSaid"] >= by_stance["denies"]["firstSaid"]


def check_15(rows: Rows) -> None:
    xinhua = [
        r
        for r in rows
        if r["claim"].endswith(NATIONAL_SECURITY) and r["speaker"] == "Xinhua News Agency"
    ]
    assert xinhua, "Xinhua's rebuttal of the national-security claim went uncarried"
    assert "The Wall Street Journal" in xinhua[0]["reporters"]


CHECKS: dict[str, Callable[[Rows], None]] = {
    "01": check_01,
    "02": check_02,
    "03": check_03,
    "04": check_04,
    "05": check_05,
    "06": check_06,
    "07": check_07,
    "08": check_08,
    "09": check_09,
    "10": check_10,
    "11": check_11,
    "12": check_12,
    "13": check_13,
    "14": check_14,
    "15": check_15,
}


def test_every_query_is_documented_and_checked() -> None:
    assert [q.name[:2] for q in QUERIES] == list(CHECKS)
    page = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for q in QUERIES:
        first = q.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), f"{q.name} starts with the question it answers"
        assert f"queries/{q.name}" in page, f"{q.name} is listed in docs/data-model.md"


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_research_query(live: Live, path: object) -> None:
    name = path.name  # type: ignore[attr-defined]
    rows = run(live, name)
    assert rows, f"{name} returned nothing"
    CHECKS[name[:2]](rows)
