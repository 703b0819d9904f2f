"""Edges found in review: a huge Retry-After, Slack's fallback text, language tags."""

from __future__ import annotations

from datetime import timedelta

from monitor.config import Subscription
from monitor.detect import subscribers
from monitor.domain import Document, Match, RenderedMessage
from monitor.errors import DeliveryError
from monitor.notify.slack import slack_bodies
from monitor.outbox import RetryPolicy
from monitor.store import DeliveryRow
from tests.test_notify_render import NOW, make_digest, make_outbound


def _row(attempts: int = 0) -> DeliveryRow:
    message = RenderedMessage("s", "t", "h", {})
    return DeliveryRow(1, "ops", "key", "pending", message, attempts, NOW, None, NOW, None)


def test_a_retry_after_past_max_age_is_a_dead_letter_not_a_frozen_queue() -> None:
    policy = RetryPolicy(max_age=timedelta(days=2))
    for seconds in (31_536_000, 1e12):  # a year; absurd
        error = DeliveryError("HTTP 429", retryable=True, retry_after=seconds)
        reason = policy.gives_up(_row(), error, NOW)
        assert reason is not None and "past max_age" in reason
        assert policy.next_attempt(0, NOW, seconds) <= NOW + timedelta(days=2)


def test_a_short_retry_after_is_waited_for() -> None:
    policy = RetryPolicy()
    error = DeliveryError("HTTP 503", retryable=True, retry_after=600)
    assert policy.gives_up(_row(), error, NOW) is None
    assert policy.next_attempt(0, NOW, 600) >= NOW + timedelta(seconds=600)


def test_slacks_fallback_text_is_escaped_too() -> None:
    message = make_outbound(make_digest(1, title="<!channel> A&B"))
    for body in slack_bodies(message):
        assert "<!channel>" not in str(body["text"])


def test_a_language_tag_with_a_region_counts_as_its_language() -> None:
    sub = Subscription.model_validate({"id": "zh-only", "languages": ["zh"],
                                       "channel": {"kind": "file"}})
    document = Document("https://a.example/1", "s", "区块链", "", None, "zh-CN", "h")
    assert subscribers(document, [Match("t", ("区块链",), ())], [sub]) == ("zh-only",)
