"""`monitor deliveries list|retry|replay` and `monitor test-notify`, against a real receiver."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from monitor.cli import main
from monitor.domain import RenderedMessage
from monitor.store import NewDelivery, Store, make_engine, upgrade_schema
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, serve_portal

SECRET = "whsec_" + base64.b64encode(b"deliveries-cli-test-secret-32byt").decode()
CONFIG = """\
version: 1
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: hook
    mode: immediate
    channel: {{kind: webhook, url: "{base}/hook", secret: "{secret}"}}
  - id: other
    mode: immediate
    channel: {{kind: webhook, url: "{base}/other"}}
defaults: {{allow_private: true, per_host_delay: 0s, retries: 0}}
"""
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def outbox(use_config: UseConfig, http_server: FixtureServer,
           tmp_path: Path) -> Iterator[Store]:
    """The CLI's config and a Store on the database it uses; the portal is served."""
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    http_server.set("/hook", "ok")
    http_server.set("/other", "ok")
    use_config(CONFIG.format(base=http_server.base_url, secret=SECRET))
    (tmp_path / "state").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    upgrade_schema(engine)
    yield Store(engine)
    engine.dispose()


def _queue(store: Store, subscription: str, subject: str, created: datetime = NOW) -> int:
    payload = {"version": 1, "subscription": subscription, "items": [], "subject": subject}
    message = RenderedMessage(subject, "text", "<p>html</p>", payload)
    delivery_id = store.add_delivery(NewDelivery(subscription, message, (), created))
    assert delivery_id is not None
    return delivery_id


def _ids(server: FixtureServer, path: str) -> list[str]:
    return [str(request.headers.get("webhook-id")) for request in server.requests_to(path)]


def test_list_shows_every_field_and_filters(outbox: Store, http_server: FixtureServer,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    http_server.set("/other", "gone", status=410)
    first = _queue(outbox, "hook", "第一条：区块链")
    second = _queue(outbox, "other", "Deuxième « blockchain »")
    assert main(["check"]) == 1, "one message went dead"
    capsys.readouterr()
    assert main(["deliveries", "list"]) == 0
    text = capsys.readouterr().out
    assert f"#{first} hook sent, 1 attempt(s), next -" in text and "第一条：区块链" in text
    assert f"#{second} other dead, 1 attempt(s)" in text and "HTTP 410" in text
    assert main(["deliveries", "list", "--status", "dead", "--format", "json"]) == 0
    (dead,) = json.loads(capsys.readouterr().out)
    assert dead["id"] == second and dead["subject"] == "Deuxième « blockchain »"
    assert dead["status"] == "dead" and dead["attempts"] == 1 and dead["sent_at"] is None
    assert "410" in dead["last_error"] and dead["created_at"] == "2026-01-05T08:00:00+00:00"
    assert main(["deliveries", "list", "--subscription", "hook", "--format", "json"]) == 0
    (sent,) = json.loads(capsys.readouterr().out)
    assert sent["id"] == first and sent["sent_at"] and sent["next_attempt_at"] is None
    assert main(["deliveries", "list", "--status", "pending"]) == 0
    assert capsys.readouterr().out == "no deliveries\n"


def test_retry_requeues_a_dead_message_with_its_key(outbox: Store, http_server: FixtureServer,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    http_server.set("/hook", "no such hook", status=404)
    delivery_id = _queue(outbox, "hook", "s")
    assert main(["check"]) == 1
    (dead,) = outbox.deliveries("dead")
    http_server.set("/hook", "ok")
    assert main(["deliveries", "retry", str(delivery_id)]) == 0
    assert "pending again, due now, with a fresh count of attempts" in capsys.readouterr().out
    (pending,) = outbox.deliveries("pending")
    assert pending.attempts == 0 and pending.idempotency_key == dead.idempotency_key
    assert main(["check"]) == 0
    assert _ids(http_server, "/hook") == [dead.idempotency_key] * 2, "a resend, recognisable"
    assert outbox.deliveries("sent")[0].attempts == 1


def test_retry_all_dead_and_refusals(outbox: Store, http_server: FixtureServer,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    http_server.set("/hook", "bad", status=400)
    http_server.set("/other", "bad", status=400)
    one, two = _queue(outbox, "hook", "a"), _queue(outbox, "other", "b")
    assert main(["check"]) == 1
    assert main(["deliveries", "retry", "--all-dead"]) == 0
    assert "2 message(s) requeued" in capsys.readouterr().out
    assert {row.id for row in outbox.deliveries("pending")} == {one, two}
    assert main(["deliveries", "retry", "--all-dead"]) == 0
    assert "no dead deliveries" in capsys.readouterr().out
    assert main(["deliveries", "retry", str(one)]) == 1
    assert f"delivery {one} is pending, not dead" in capsys.readouterr().err
    assert main(["deliveries", "retry", "999"]) == 1
    assert "no delivery 999" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # an id or --all-dead, not both, not neither
        main(["deliveries", "retry"])


def test_replay_sends_a_sent_message_again_under_a_new_key(
        outbox: Store, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    delivery_id = _queue(outbox, "hook", "replay me")
    assert main(["check"]) == 0
    (original,) = _ids(http_server, "/hook")
    capsys.readouterr()
    assert main(["deliveries", "replay", str(delivery_id)]) == 0
    assert f"replay of #{delivery_id} queued" in capsys.readouterr().out
    assert main(["check"]) == 0
    first, second = http_server.requests_to("/hook")
    assert first.body == second.body, "the same message"
    replayed = str(second.headers.get("webhook-id"))
    assert replayed != original and replayed.startswith(f"{original}-replay-")
    rows = outbox.deliveries("sent", "hook")
    assert [row.message.subject for row in rows] == ["replay me"] * 2
    assert main(["deliveries", "replay", str(rows[1].id)]) == 0, "a replay can be replayed"
    (again,) = outbox.deliveries("pending")
    assert again.idempotency_key.count("-replay-") == 1 and len(again.idempotency_key) <= 64


def test_replay_refuses_what_was_not_sent(outbox: Store,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    delivery_id = _queue(outbox, "hook", "s")
    assert main(["deliveries", "replay", str(delivery_id)]) == 1
    assert f"delivery {delivery_id} is pending, not sent" in capsys.readouterr().err
    assert len(outbox.deliveries()) == 1


def test_messages_of_a_removed_subscription_are_requeued_with_a_warning(
        outbox: Store, capsys: pytest.CaptureFixture[str]) -> None:
    outbox.add_delivery(NewDelivery("gone", RenderedMessage("s", "t", "h", {}), (), NOW))
    (row,) = outbox.deliveries()
    assert outbox.claim_next("gone", NOW, NOW - NOW, "token") is not None
    assert outbox.mark_dead(row.id, "token", "gave up")
    assert main(["deliveries", "retry", str(row.id)]) == 0
    assert "subscription 'gone' is not in the config" in capsys.readouterr().err


def test_test_notify_sends_a_signed_sample_in_chinese_and_french(
        outbox: Store, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-notify", "hook"]) == 0
    assert "hook: sample message delivered" in capsys.readouterr().out
    (request,) = http_server.requests_to("/hook")
    Webhook(SECRET).verify(request.body, dict(request.headers.items()))
    payload = json.loads(request.body)
    assert payload["test"] is True and payload["subscription"] == "hook"
    assert [item["language"] for item in payload["items"]] == ["zh", "fr"]
    assert "区块链" in payload["items"][0]["title"]
    assert str(request.headers.get("webhook-id")).startswith("test-")
    assert outbox.deliveries() == [], "sent at once, not through the outbox"


def test_test_notify_reports_a_failing_receiver(outbox: Store, http_server: FixtureServer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    http_server.set("/other", "maintenance", status=503)
    assert main(["test-notify", "other"]) == 1
    out = capsys.readouterr().out
    assert "other: sample message NOT delivered (retryable)" in out and "503" in out
    http_server.set("/other", "nobody here", status=404)
    assert main(["test-notify", "other"]) == 1
    assert "(permanent)" in capsys.readouterr().out
    assert main(["test-notify", "nobody"]) == 2
    assert "unknown subscription 'nobody'" in capsys.readouterr().err


def test_check_uses_the_configs_delivery_policy_and_unsubscribe_url(
        outbox: Store, http_server: FixtureServer, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(config.read_text("utf-8").replace("defaults:", """\
  - id: mail
    unsubscribe_url: "https://example.org/unsubscribe?u=7"
    channel: {kind: file}
delivery: {max_attempts: 1, max_age: 1h}
defaults:"""), "utf-8")
    http_server.set("/hook", "maintenance", status=503)
    _queue(outbox, "hook", "s", datetime.now(UTC))
    _queue(outbox, "mail", "m", datetime.now(UTC))
    assert main(["check"]) == 1
    (dead,) = outbox.deliveries("dead")
    assert dead.last_error == "gave up after 1 attempt: webhook 127.0.0.1: HTTP 503: maintenance"
    (eml,) = (tmp_path / "state" / "outbox").glob("*.eml")
    assert "List-Unsubscribe: <https://example.org/unsubscribe?u=7>" in eml.read_text("utf-8")
