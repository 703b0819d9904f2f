"""Receivers down for a while, then back: everything owed arrives, in order, once.

Also the outbox policy the config sets: attempts, age, Retry-After, List-Unsubscribe URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from aiosmtpd.controller import Controller

from monitor.config import (
    DeliverySettings,
    SmtpServer,
    WebhookChannel,
    parse_config,
)
from monitor.domain import OutboundMessage, RenderedMessage
from monitor.errors import DeliveryError
from monitor.notify import SmtpNotifier, WebhookNotifier
from monitor.outbox import OutboxSender, RetryPolicy
from monitor.store import NewDelivery, Store
from tests.fixture_server import FixtureServer, Received, Route
from tests.smtp_server import Recorder, free_port

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OWED = 6  # messages per channel


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Hook:
    """A webhook consumer that is down (503, optionally with Retry-After) until told not to."""

    def __init__(self) -> None:
        self.down = True
        self.retry_after: str | None = None
        self.accepted: list[tuple[str, str]] = []  # (webhook-id, subject)

    def __call__(self, request: Received) -> Route:
        if self.down:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return Route(b"maintenance", 503, {"Content-Type": "text/plain", **headers})
        subject = json.loads(request.body)["subject"]
        self.accepted.append((str(request.headers.get("webhook-id")), subject))
        return Route(b"", 204)


@contextmanager
def smtp_up(recorder: Recorder, port: int) -> Iterator[None]:
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


def _queue(store: Store, subscription: str) -> list[str]:
    subjects = [f"{subscription} {n}" for n in range(1, OWED + 1)]
    for n, subject in enumerate(subjects):
        message = RenderedMessage(subject, f"text {subject}", f"<p>{subject}</p>",
                                  {"version": 1, "subject": subject})
        store.add_delivery(NewDelivery(subscription, message, (), NOW + timedelta(seconds=n)))
    return subjects


async def _pass(sender: OutboxSender, store: Store, clock: Clock) -> None:
    """One pass of the sender, then time moves on to when the next message is due."""
    await sender.send_due()
    heads: dict[str, datetime] = {}
    for row in store.deliveries("pending"):  # only a queue's oldest message is ever due
        heads.setdefault(row.subscription_id, row.next_attempt_at)
    clock.now = max(clock.now + timedelta(seconds=1), min(heads.values(), default=clock.now))


def _keys(store: Store, subscription: str) -> list[str]:
    return [row.idempotency_key for row in store.deliveries(subscription_id=subscription)]


async def test_smtp_and_webhook_outage_then_everything_once_in_order(
        store: Store, http_server: FixtureServer) -> None:
    hook, recorder, port, clock = Hook(), Recorder(), free_port(), Clock()
    http_server.answer("/hook", hook)
    hook_subjects, mail_subjects = _queue(store, "hook"), _queue(store, "mail")
    mail = SmtpNotifier(SmtpServer(host="127.0.0.1", port=port, security="none",
                                   timeout=timedelta(seconds=5)), ["team@example.org"])
    async with httpx.AsyncClient() as client:
        hook_channel = WebhookChannel(kind="webhook", url=http_server.url("/hook"))
        sender = OutboxSender(store, {"hook": WebhookNotifier(hook_channel, client),
                                      "mail": mail}, clock=clock)
        hook.retry_after = "600"  # the consumer asks for 10 minutes: more than the backoff
        await sender.send_due()
        head = store.deliveries("pending", "hook")[0]
        assert head.next_attempt_at >= NOW + timedelta(seconds=600)
        hook.retry_after = None
        while clock.now < NOW + timedelta(minutes=40):  # SMTP refuses connections, hook 503
            await _pass(sender, store, clock)
        recorder.rcpt_answer = "421 4.3.2 try again later"
        with smtp_up(recorder, port):
            while clock.now < NOW + timedelta(hours=1):  # the mail server is back, deferring
                await _pass(sender, store, clock)
            assert not recorder.messages and not hook.accepted
            attempts = [row.attempts for row in store.deliveries("pending")]
            others = attempts[1:OWED] + attempts[OWED + 1:]
            assert others == [0] * (2 * OWED - 2), "only each queue's head was tried"
            assert min(attempts[0], attempts[OWED]) >= 3, "tried again and again"
            hook.down, recorder.rcpt_answer = False, None
            while store.deliveries("pending") and clock.now < NOW + timedelta(hours=3):
                await _pass(sender, store, clock)
    assert [subject for _, subject in hook.accepted] == hook_subjects
    assert [key for key, _ in hook.accepted] == _keys(store, "hook"), "in order, once each"
    assert [str(message["Subject"]) for message in recorder.messages] == mail_subjects
    message_ids = [str(message["Message-ID"]) for message in recorder.messages]
    assert len(set(message_ids)) == OWED
    assert all(key in mid for key, mid in zip(_keys(store, "mail"), message_ids, strict=True))
    assert len(store.deliveries("sent")) == 2 * OWED and not store.deliveries("dead")


async def test_retries_stop_at_the_configured_age_with_the_reason(store: Store) -> None:
    clock = Clock()
    store.add_delivery(NewDelivery("ops", RenderedMessage("s", "t", "h", {}), (), NOW))
    policy = RetryPolicy.from_settings(DeliverySettings(max_attempts=100,
                                                        max_age=timedelta(hours=6)))
    sender = OutboxSender(store, {"ops": Failing(retryable=True)}, policy, clock=clock)
    while store.deliveries("pending"):
        await _pass(sender, store, clock)
    (dead,) = store.deliveries("dead")
    assert clock.now >= NOW + timedelta(hours=6) and 2 < dead.attempts < 100
    assert dead.last_error is not None and dead.last_error.startswith("gave up after 6:")
    assert dead.last_error.endswith("down for maintenance")


async def test_attempt_limit_from_config_and_permanent_failures(store: Store) -> None:
    clock = Clock()
    for subscription in ("flaky", "broken"):
        store.add_delivery(NewDelivery(subscription, RenderedMessage("s", "t", "h", {}), (),
                                       NOW))
    policy = RetryPolicy.from_settings(DeliverySettings(max_attempts=3))
    sender = OutboxSender(store, {"flaky": Failing(retryable=True),
                                  "broken": Failing(retryable=False)}, policy, clock=clock)
    report = await sender.send_due()
    assert (report.retried, report.dead) == (1, 1)
    while store.deliveries("pending"):
        await _pass(sender, store, clock)
    dead = {row.subscription_id: row for row in store.deliveries("dead")}
    assert dead["broken"].attempts == 1
    assert dead["broken"].last_error == "permanent failure: down for maintenance"
    assert dead["flaky"].attempts == 3
    assert dead["flaky"].last_error == "gave up after 3 attempts: down for maintenance"


async def test_retry_after_is_never_cut_short_by_the_backoff(store: Store) -> None:
    clock = Clock()
    store.add_delivery(NewDelivery("ops", RenderedMessage("s", "t", "h", {}), (), NOW))
    sender = OutboxSender(store, {"ops": Failing(retryable=True, retry_after=7200)},
                          clock=clock)
    await sender.send_due()
    (row,) = store.deliveries("pending")
    assert row.next_attempt_at >= NOW + timedelta(hours=2)
    policy = RetryPolicy()
    assert policy.next_attempt(0, NOW, 1) >= NOW + timedelta(seconds=15), "backoff if longer"


async def test_the_subscriptions_unsubscribe_url_reaches_the_notifier(store: Store) -> None:
    settings = parse_config("""\
version: 1
sources: [{id: s, kind: rss, url: "https://example.org/feed.xml"}]
topics: [{id: t, terms: {zh: [区块链]}}]
subscriptions:
  - {id: mail, unsubscribe_url: "https://example.org/unsubscribe?u=42", channel: {kind: file}}
  - {id: plain, channel: {kind: file}}
delivery: {max_attempts: 4, max_age: 3h}
""", "sources.yaml", {})
    for subscription in ("mail", "plain"):
        store.add_delivery(NewDelivery(subscription, RenderedMessage("s", "t", "h", {}), (),
                                       NOW))
    mail, plain = Recording(), Recording()
    sender = OutboxSender.from_settings(store, {"mail": mail, "plain": plain}, settings,
                                        clock=Clock())
    assert (sender.policy.max_attempts, sender.policy.max_age) == (4, timedelta(hours=3))
    assert (await sender.send_due()).sent == 2
    assert mail.sent[0].unsubscribe_url == "https://example.org/unsubscribe?u=42"
    assert plain.sent[0].unsubscribe_url is None


class Failing:
    """A notifier that always fails the same way."""

    def __init__(self, *, retryable: bool, retry_after: float | None = None) -> None:
        self.error = DeliveryError("down for maintenance", retryable=retryable,
                                   retry_after=retry_after)

    async def send(self, message: OutboundMessage) -> None:
        raise self.error


class Recording:
    """A notifier that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> None:
        self.sent.append(message)
