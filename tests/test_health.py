"""Source health: failing after max_failures, recovered, quiet; one operator alert each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.domain import HealthEvent, Outcome
from monitor.health import assess
from monitor.store import CheckIntent, Health, SourceState
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, TOPIC_POST, serve_portal

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _intent(outcome: Outcome, error: str | None = None, at: datetime = NOW) -> CheckIntent:
    return CheckIntent("portal", outcome, at, error=error)


def test_failing_once_when_max_failures_is_reached() -> None:
    state = SourceState("portal", consecutive_failures=1)
    assert assess(state, _intent(Outcome.ERROR, "503"), 3, None)[1] is None
    state = SourceState("portal", consecutive_failures=2)
    health, event = assess(state, _intent(Outcome.ERROR, "503"), 3, None)
    assert event is HealthEvent.FAILING and health.failing
    state = SourceState("portal", consecutive_failures=3, health=health)
    assert assess(state, _intent(Outcome.ERROR, "503"), 3, None)[1] is None, "told once"


def test_recovered_once() -> None:
    state = SourceState("portal", consecutive_failures=5, health=Health(failing=True))
    health, event = assess(state, _intent(Outcome.NOT_MODIFIED), 3, None)
    assert event is HealthEvent.RECOVERED and not health.failing


def test_quiet_once_after_expect_every_without_news() -> None:
    state = SourceState("portal", health=Health(last_new_at=NOW))
    assert assess(state, _intent(Outcome.UNCHANGED, at=NOW + DAY), 3, 2 * DAY)[1] is None
    health, event = assess(state, _intent(Outcome.UNCHANGED, at=NOW + 3 * DAY), 3, 2 * DAY)
    assert event is HealthEvent.QUIET and health.quiet_since == NOW + 3 * DAY
    later = SourceState("portal", health=health)
    assert assess(later, _intent(Outcome.UNCHANGED, at=NOW + 4 * DAY), 3, 2 * DAY)[1] is None
    health, event = assess(later, _intent(Outcome.NEW, at=NOW + 5 * DAY), 3, 2 * DAY)
    assert event is None and health.quiet_since is None and health.last_new_at == NOW + 5 * DAY


def test_recovery_does_not_repeat_a_quiet_alert() -> None:
    state = SourceState("portal", consecutive_failures=3,
                        health=Health(failing=True, last_new_at=NOW, quiet_since=NOW + DAY))
    health, event = assess(state, _intent(Outcome.UNCHANGED, at=NOW + 3 * DAY), 3, DAY)
    assert event is HealthEvent.RECOVERED and health.quiet_since == NOW + DAY
    later = SourceState("portal", health=health)
    assert assess(later, _intent(Outcome.UNCHANGED, at=NOW + 4 * DAY), 3, DAY)[1] is None


CONFIG = """\
version: 1
defaults: {{max_failures: 2, allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    name: 某省政府
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: ops
    mode: immediate
    operator_alerts: true
    topics: [blockchain-policy]
    channel: {{kind: file}}
  - id: readers
    channel: {{kind: file}}
"""


def _sent(state: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((state / "outbox").glob("*.json"))]


def test_operators_hear_of_failure_and_recovery_once_each(
        use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    state = use_config(CONFIG.format(base=http_server.base_url)).parent / "state"
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    http_server.set("/zcwj/index.html", "<html><body><p>改版中</p></body></html>")
    for _ in range(3):
        assert main(["check"]) == 1
    (failing,) = _sent(state)
    assert failing["subject"] == "[monitor] source portal is failing"
    assert failing["event"] == "failing" and "ul.list li" in str(failing["error"])
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    events = [m.get("event", "digest") for m in _sent(state)]
    assert sorted(map(str, events)) == ["digest", "digest", "failing", "recovered"]
    readers = [m for m in _sent(state) if m.get("subscription") == "readers"]
    assert all(m.get("type") != "operator" for m in readers), "only operator subscriptions"
    capsys.readouterr()
