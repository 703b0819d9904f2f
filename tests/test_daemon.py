"""`monitor run` as a real process: keeps running through fetch errors, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, TOPIC_POST, serve_portal
from tests.smtp_server import free_port

CONFIG = """\
version: 1
defaults: {{interval: 1h, timeout: 2s, allow_private: true, per_host_delay: 0s}}
sources:
  - id: dead-host
    kind: rss
    url: http://127.0.0.1:{closed}/feed.xml
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    baseline: false
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: now
    mode: immediate
    channel: {{kind: file}}
"""


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_run_survives_fetch_errors_delivers_and_stops_on_sigterm(
        tmp_path: Path, http_server: FixtureServer) -> None:
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.format(closed=free_port(), base=http_server.base_url), "utf-8")
    env = {**os.environ, "MONITOR_WORKERS": "0"}
    log = tmp_path / "log.jsonl"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "--state",
             str(tmp_path / "state"), "run"], stderr=err, env=env)
        try:
            outbox = tmp_path / "state" / "outbox"
            assert _wait_for(lambda: len(list(outbox.glob("*.eml"))) == 1, 30)
            assert _wait_for(lambda: "dead-host" in log.read_text(), 10)
            assert process.poll() is None, "a fetch error never kills the daemon"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()
    text = log.read_text()
    assert '"outcome": "error"' in text and '"source": "dead-host"' in text
    assert "Traceback" not in text


def test_sigterm_lets_a_running_check_finish(tmp_path: Path, http_server: FixtureServer) -> None:
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    listing = http_server.routes["/zcwj/index.html"]
    http_server.set("/zcwj/index.html", listing.body, delay=1.0)
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.format(closed=free_port(), base=http_server.base_url), "utf-8")
    log = tmp_path / "log.jsonl"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "--state",
             str(tmp_path / "state"), "run"], stderr=err, env={**os.environ,
                                                                "MONITOR_WORKERS": "0"})
        try:
            assert _wait_for(lambda: http_server.requests_to("/zcwj/index.html"), 20)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()
    text = log.read_text()
    assert '"source": "portal", "outcome": "new"' in text, "the check in flight completed"
    assert "Traceback" not in text and "CancelledError" not in text


def test_first_checks_after_a_restart_keep_the_schedule_and_spread_the_overdue() -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.dispatch import first_run

    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert first_run(None, hour, now) == now, "never checked: at once (the baseline)"
    assert first_run(now - timedelta(minutes=10), hour, now) == now + timedelta(minutes=50)
    overdue = [first_run(now - timedelta(days=1), hour, now) for _ in range(50)]
    assert all(now <= when <= now + timedelta(minutes=1) for when in overdue)
    assert len(set(overdue)) > 1, "spread, not all at the same second"
