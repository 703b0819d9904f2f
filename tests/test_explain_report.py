"""`monitor explain`, `export matches` and `report coverage` on documents a real check stored."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from monitor.classify.regions import Gazetteer
from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import Post, detail_page, list_page

ROOT = Path(__file__).parents[1]
TOPIC = "blockchain-policy"
CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    follow: true
    baseline: false
subscriptions:
  - id: analysts
    topics: [{topic}]
    channel: {{kind: file}}
"""

PLAN = Post("plan", "山东省人民政府办公厅关于印发山东省区块链产业发展行动计划（2020—2022年）的通知",
            "2020-06-30", [
                "各市人民政府，省政府各部门、各直属机构：《山东省区块链产业发展行动计划（2020—2022年）》"
                "已经省政府同意，现印发给你们，请认真贯彻落实。",
                "到2022年，全省培育区块链骨干企业30家以上，在济南、青岛建设区块链产业园区。",
                "设立省级区块链产业发展专项资金，对重大项目给予最高1000万元支持。"])
HENAN_2021 = Post("hn-2021", "2021年河南省政府工作报告", "2021-01-25", [
    "各位代表：现在，我代表省人民政府，向大会报告政府工作，请予审议。",
    "过去一年，全省经济运行稳中向好，脱贫攻坚取得决定性胜利。",
    "2021年，加快数字经济发展，推进5G网络、数据中心、区块链等新型基础设施建设。",
    "持续保障和改善民生，稳定和扩大就业，办好各项民生实事。"])
SHANDONG_2020 = Post("sd-2020", "2020年山东省政府工作报告", "2020-01-20", [
    "各位代表：现在，我代表省人民政府，向大会报告政府工作，请予审议。",
    "培育壮大数字经济，建设济南区块链产业园，推动区块链技术在政务服务中应用。",
    "实施区块链+民生工程，推进电子证照、不动产登记上链共享。",
    "深化新旧动能转换，稳定和扩大就业。"])
AI_PLAN = Post("ai", "某省新一代人工智能产业发展三年行动计划（2020—2022年）", "2020-07-01", [
    "为加快新一代人工智能产业发展，省政府制定本行动计划。",
    "推动人工智能与5G、大数据、区块链、物联网融合发展。",
    "省发展改革委、省科技厅负责统筹推进。"])
SUPPLY = Post("supply", "关于做好2021年重点企业供应链保障工作的通知", "2021-03-01", [
    "各市商务局：为稳定产业链供应链，保障重点企业生产经营，现就有关事项通知如下。",
    "一、建立重点企业供应链联系制度。二、协调解决物流运输问题。"])
POSTS = [PLAN, HENAN_2021, SHANDONG_2020, AI_PLAN, SUPPLY]


@pytest.fixture
def portal(use_config: UseConfig, http_server: FixtureServer,
           capsys: pytest.CaptureFixture[str]) -> FixtureServer:
    """The portal's documents, stored by one real check with the shipped topic."""
    shipped = yaml.safe_load((ROOT / "sources.yaml").read_text("utf-8"))
    topics = [topic for topic in shipped["topics"] if topic["id"] == TOPIC]
    use_config(CONFIG.format(base=http_server.base_url, topic=TOPIC)
               + yaml.safe_dump({"topics": topics}, allow_unicode=True))
    http_server.set("/zcwj/index.html", list_page(POSTS, "/zcwj/"))
    for post in POSTS:
        http_server.set(f"/zcwj/{post.slug}.html", detail_page(post))
    assert main(["check"]) == 0
    capsys.readouterr()
    return http_server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- explain -----------------------------------------------------------------------------------


def test_explain_shows_the_verdict_and_why(portal: FixtureServer,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", portal.url("/zcwj/plan.html"))
    assert code == 0
    assert PLAN.title in out
    assert re.search(rf"topic {TOPIC}: RELEVANT, score (0\.\d\d|1\.00) \(threshold 0\.\d\d\)", out)
    assert "category: plan" in out
    assert "regions: Shandong" in out
    assert "issuer: 山东省人民政府办公厅" in out
    assert "horizon 2020-2022 (2020—2022年)" in out and "money 10000000 CNY (1000万元)" in out
    assert "reasons:" in out and "topic: 区块链 in the title" in out
    assert "evidence:" in out and "区块链 (title): " in out
    assert "story: its own" in out


def test_explain_says_why_a_passing_mention_is_not_relevant(
        portal: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", portal.url("/zcwj/ai.html"))
    assert code == 0
    assert f"topic {TOPIC}: not relevant" in out
    assert "gate: the topic is only mentioned in passing" in out
    code, out, _ = _run(capsys, "explain", portal.url("/zcwj/supply.html"))
    assert code == 0 and "no topic's terms occur" in out and "RELEVANT" not in out


def test_explain_json_carries_the_same_explanation(
        portal: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = portal.url("/zcwj/plan.html")
    code, out, _ = _run(capsys, "explain", url, "--format", "json")
    assert code == 0
    explained = json.loads(out)
    assert explained["url"] == url and explained["story"] == url
    assert explained["source"] == "portal" and explained["language"] == "zh"
    assert explained["also_reported_by"] == []
    (match,) = explained["matches"]
    assert match["topic"] == TOPIC and match["relevant"] is True and 0 < match["score"] <= 1
    assert match["category"] == "plan" and match["regions"][0] == "Shandong"
    assert {"kind": "money", "value": "10000000", "unit": "CNY", "text": "1000万元"} in (
        match["facts"])
    assert {"signal", "detail", "weight"} == set(match["reasons"][0])
    assert {"term", "field", "snippet"} == set(match["evidence"][0])
    assert match["issuer"] == "山东省人民政府办公厅" and match["terms"] == ["区块链"]


def test_explain_of_an_unknown_url_fails_clearly(portal: FixtureServer,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = portal.url("/zcwj/never.html")
    code, out, err = _run(capsys, "explain", url)
    assert code == 1 and out == ""
    assert f"{url} is not stored" in err


# --- export ------------------------------------------------------------------------------------

MATCH_FIELDS = ["url", "title", "source", "published", "language", "topic", "category",
                "regions", "issuer", "facts", "score", "story", "terms", "reasons", "evidence"]


def test_export_matches_jsonl_has_every_field_for_relevant_matches(
        portal: FixtureServer, tmp_path: Path) -> None:
    out = tmp_path / "matches.jsonl"
    assert main(["export", "matches", "--format", "jsonl", "-o", str(out)]) == 0
    rows = {row["url"]: row for row in map(json.loads, out.read_text("utf-8").splitlines())}
    assert set(rows) == {portal.url(f"/zcwj/{p.slug}.html")
                         for p in (PLAN, HENAN_2021, SHANDONG_2020)}, "relevant matches only"
    row = rows[portal.url("/zcwj/plan.html")]
    assert list(row) == MATCH_FIELDS
    assert row["title"] == PLAN.title and row["source"] == "portal" and row["language"] == "zh"
    assert row["published"].startswith("2020-06-30")
    assert row["topic"] == TOPIC and row["category"] == "plan"
    assert row["regions"][0] == "Shandong" and row["issuer"] == "山东省人民政府办公厅"
    assert {"horizon:2020-2022", "money:10000000"} <= {
        f"{f['kind']}:{f['value']}" for f in row["facts"]}
    assert 0 < row["score"] <= 1 and row["story"] == row["url"] and row["terms"] == ["区块链"]
    assert any(r["signal"] == "category" for r in row["reasons"])
    assert all(e["term"] == "区块链" and "区块链" in e["snippet"] for e in row["evidence"])
    report = rows[portal.url("/zcwj/hn-2021.html")]
    assert report["category"] == "gov_report" and report["regions"][0] == "Henan"
    assert 0 < report["score"] <= 1


# --- report coverage ---------------------------------------------------------------------------


def test_coverage_table_has_every_province_and_the_mentions_by_year(
        portal: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", "coverage", "--topic", TOPIC, "--by", "region,year")
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("region"))
    assert header.split() == ["region", "2020", "2021"]
    width = len(header) - 16
    rows = {line[:width].strip(): line[width:].split() for line in lines
            if line[:width].strip() in Gazetteer.default().provinces()}
    assert list(rows) == list(Gazetteer.default().provinces())
    assert rows["Shandong"] == ["3", "-"], "the 2020 report names it three times"
    assert rows["Henan"] == ["-", "1"]
    assert all(cells == ["-", "-"] for name, cells in rows.items()
               if name not in ("Shandong", "Henan"))


def test_coverage_as_csv_and_to_a_file(portal: FixtureServer, tmp_path: Path) -> None:
    out = tmp_path / "coverage.csv"
    assert main(["report", "coverage", "--topic", TOPIC, "--by", "region,year",
                 "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert len(rows) == 34 * 2
    cells = {(row["region"], row["year"]): row for row in rows}
    assert cells["Henan", "2021"] == {"region": "Henan", "year": "2021", "mentioned": "yes",
                                      "mentions": "1", "documents": "1"}
    assert cells["Shandong", "2020"]["mentions"] == "3"
    assert cells["Henan", "2020"]["mentioned"] == "no" and cells["Tibet", "2021"]["mentions"] == "0"


def test_coverage_as_html_is_escaped(portal: FixtureServer,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, page, _ = _run(capsys, "report", "coverage", "--topic", TOPIC, "--format", "html")
    assert code == 0 and page.startswith("<!DOCTYPE html>")
    assert "<tr><th>region</th><th>2020</th><th>2021</th></tr>" in page
    assert page.count("<tr><th>") == 1 + 34
    assert "<tr><th>Henan</th><td>-</td><td class=\"yes\"" in page
    assert "<tr><th>Hong Kong</th><td>-</td><td>-</td></tr>" in page
    code, page, _ = _run(capsys, "report", "coverage", "--topic", TOPIC, "--format", "html",
                         "--category", "<script>x</script>")
    assert code == 0 and "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_coverage_by_year_then_region_flips_the_table(
        portal: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", "coverage", "--topic", TOPIC, "--by", "year,region",
                        "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {(r["year"], r["region"], r["mentions"]) for r in rows if r["mentioned"] == "yes"} == {
        ("2020", "Shandong", "3"), ("2021", "Henan", "1")}


def test_coverage_of_an_unknown_topic_is_a_usage_error(
        portal: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "report", "coverage", "--topic", "nope")
    assert code == 2 and out == "" and "unknown topic 'nope'" in err
