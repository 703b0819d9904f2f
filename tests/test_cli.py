"""The command line as a user runs it: validate, config schema, dry-run, export, status, health."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, ONE_SOURCE_CONFIG, serve_portal

ROOT = Path(__file__).parents[1]



@pytest.fixture
def config(use_config: UseConfig, http_server: FixtureServer) -> Path:
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    return use_config(ONE_SOURCE_CONFIG.format(base=http_server.base_url))


def test_validate_reports_ok_and_errors(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    assert "ok (1 sources" in capsys.readouterr().out
    config.write_text(config.read_text("utf-8").replace("kind: html-list", "kind: html"), "utf-8")
    assert main(["validate"]) == 2
    assert f"{config}:4: sources[0].kind:" in capsys.readouterr().err


def test_config_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Settings"


def test_dry_run_lists_items_and_writes_nothing(config: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert OLD_POSTS[0].title in out
    assert not (config.parent / "state").exists()


def test_unknown_source_is_an_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nope"]) == 2
    assert "unknown source id(s): nope" in capsys.readouterr().err


def test_file_transport_delivers_digest_to_outbox(config: Path, http_server: FixtureServer,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text("utf-8").replace("follow: true",
                                                        "follow: true\n    baseline: false"))
    from tests.portal import TOPIC_POST
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    outbox = config.parent / "state" / "outbox"
    emls, payloads = sorted(outbox.glob("*.eml")), sorted(outbox.glob("*.json"))
    assert len(emls) == 1 and len(payloads) == 1
    payload = json.loads(payloads[0].read_text("utf-8"))
    assert [item["title"] for item in payload["items"]] == [TOPIC_POST.title]
    assert main(["status"]) == 0
    assert re.search(r"deliveries sent: 1", capsys.readouterr().out)


def test_export_matches_csv_carries_evidence(config: Path, http_server: FixtureServer,
                                             tmp_path: Path) -> None:
    from tests.portal import TOPIC_POST
    assert main(["check"]) == 0
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    out = tmp_path / "matches.csv"
    assert main(["export", "matches", "--format", "csv", "-o", str(out)]) == 0
    header, row = out.read_text("utf-8").splitlines()[:2]
    assert header == ("url,title,source,published,language,topic,category,regions,issuer,facts,"
                      "score,story,terms,reasons,evidence")
    assert TOPIC_POST.title in row and "区块链" in row


def test_healthcheck_needs_a_fresh_heartbeat(config: Path) -> None:
    assert main(["healthcheck"]) == 1
    from monitor.scheduler import write_heartbeat
    state = config.parent / "state"
    state.mkdir()
    write_heartbeat(state)
    assert main(["healthcheck"]) == 0


def test_readme_lists_every_command() -> None:
    import argparse

    from monitor.cli import _parser

    readme = (ROOT / "README.md").read_text("utf-8")
    commands = next(action for action in _parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    for command in commands.choices:
        assert f"`monitor {command}" in readme, f"README's command table lacks {command}"


def test_failed_delivery_is_kept_reported_and_exits_1(
        config: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.portal import TOPIC_POST
    from tests.smtp_server import free_port
    text = config.read_text("utf-8").replace("channel: {kind: file}",
                                             "channel: {kind: smtp, to: [a@example.org]}")
    config.write_text(text + f"smtp: {{host: 127.0.0.1, port: {free_port()}, security: none}}\n")
    assert main(["check"]) == 0
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 1
    assert "deliveries: 0 sent, 1 to retry, 0 dead" in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "deliveries pending: 1" in capsys.readouterr().out


def test_bad_worker_count_is_a_clear_error(config: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MONITOR_WORKERS", "many")
    assert main(["check"]) == 2
    assert "MONITOR_WORKERS: expected a number" in capsys.readouterr().err


def test_test_source_shows_items_charset_and_pages_and_writes_nothing(
        config: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-source", "portal", "--follow", "1"]) == 0
    out = capsys.readouterr().out
    assert "charset utf-8" in out and "items: 2" in out
    assert OLD_POSTS[0].title in out and f"title: {OLD_POSTS[0].title}" in out
    assert "text: " in out and "各市州人民政府" in out
    assert not (config.parent / "state").exists()


def test_test_source_says_which_selector_matched_nothing(
        config: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    http_server.set("/zcwj/index.html", "<html><body><p>改版</p></body></html>")
    assert main(["test-source", "portal"]) == 1
    assert "selector `ul.list li` matched 0 elements" in capsys.readouterr().out


def test_test_source_follows_links_by_the_checks_rules(
        config: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    http_server.set("/zcwj/index.html", '<html><body><ul class="list"><li>'
                    '<a href="http://127.0.0.2/admin.html">内部</a></li></ul></body></html>')
    assert main(["test-source", "portal", "--follow", "1"]) == 0
    assert "error: http://127.0.0.2/admin.html: not followed" in capsys.readouterr().out
