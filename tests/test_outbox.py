"""The outbox: failures stay pending and are retried, permanent ones go dead, nothing repeats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from monitor.config import WebhookChannel
from monitor.domain import OutboundMessage, RenderedMessage
from monitor.notify import WebhookNotifier
from monitor.outbox import OutboxSender, RetryPolicy
from monitor.store import NewDelivery, Store
from tests.fixture_server import FixtureServer

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _queue(store: Store, subscription: str) -> int:
    message = RenderedMessage("subject", "text", "<p>html</p>", {"version": 1, "items": []})
    return store.add_delivery(NewDelivery(subscription, message, (), NOW))


def _hook(server: FixtureServer, path: str, client: httpx.AsyncClient) -> WebhookNotifier:
    return WebhookNotifier(WebhookChannel(kind="webhook", url=server.url(path)), client)


async def test_failed_send_is_retried_later_with_the_same_key(
        store: Store, http_server: FixtureServer) -> None:
    http_server.set("/hook", "down", status=503)
    delivery_id = _queue(store, "ops")
    clock = Clock()
    async with httpx.AsyncClient() as client:
        sender = OutboxSender(store, {"ops": _hook(http_server, "/hook", client)}, clock=clock)
        first = await sender.send_due()
        assert (first.sent, first.retried) == (0, 1)
        (row,) = store.deliveries("pending")
        assert row.next_attempt_at > NOW and row.attempts == 1 and "503" in (row.last_error or "")
        assert (await sender.send_due()).sent == 0, "not due yet"
        http_server.set("/hook", "ok")
        clock.now = row.next_attempt_at
        assert (await sender.send_due()).sent == 1
        clock.now = NOW + timedelta(days=1)
        assert (await sender.send_due()).sent == 0, "never sent twice"
    keys = {r.headers.get("webhook-id") for r in http_server.requests_to("/hook")}
    assert len(http_server.requests_to("/hook")) == 2 and len(keys) == 1
    assert store.deliveries("sent")[0].id == delivery_id


async def test_permanent_failure_goes_dead_and_others_still_send(
        store: Store, http_server: FixtureServer) -> None:
    http_server.set("/gone", "no such hook", status=404)
    http_server.set("/ok", "ok")
    _queue(store, "broken")
    _queue(store, "fine")
    async with httpx.AsyncClient() as client:
        sender = OutboxSender(store, {"broken": _hook(http_server, "/gone", client),
                                      "fine": _hook(http_server, "/ok", client)}, clock=Clock())
        report = await sender.send_due()
    assert (report.sent, report.dead) == (1, 1)
    (dead,) = store.deliveries("dead")
    assert dead.subscription_id == "broken" and "404" in (dead.last_error or "")


async def test_retries_end_in_dead_letter_after_max_attempts(
        store: Store, http_server: FixtureServer) -> None:
    http_server.set("/hook", "down", status=500)
    _queue(store, "ops")
    policy = RetryPolicy(base=timedelta(seconds=1), max_attempts=3)
    clock = Clock()
    async with httpx.AsyncClient() as client:
        sender = OutboxSender(store, {"ops": _hook(http_server, "/hook", client)}, policy,
                              clock=clock)
        for hour in range(3):
            clock.now = NOW + timedelta(hours=hour)
            await sender.send_due()
    (dead,) = store.deliveries("dead")
    assert dead.attempts == 3


async def test_removed_subscription_keeps_its_messages(store: Store) -> None:
    _queue(store, "gone")
    report = await OutboxSender(store, {}, clock=Clock()).send_due()
    assert report.sent == report.dead == 0
    assert len(store.deliveries("pending")) == 1


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base=timedelta(seconds=10), ceiling=timedelta(minutes=5))
    assert timedelta(seconds=5) <= policy.delay(0) <= timedelta(seconds=10)
    assert timedelta(seconds=40) <= policy.delay(3) <= timedelta(seconds=80)
    assert policy.delay(30) <= timedelta(minutes=5)


async def test_two_senders_on_one_database_send_each_message_once(
        store: Store, http_server: FixtureServer) -> None:
    http_server.set("/slow", "ok", delay=0.3)
    for _ in range(3):
        _queue(store, "ops")
    async with httpx.AsyncClient() as one, httpx.AsyncClient() as two:
        first = OutboxSender(store, {"ops": _hook(http_server, "/slow", one)}, clock=Clock())
        second = OutboxSender(store, {"ops": _hook(http_server, "/slow", two)}, clock=Clock())
        reports = await asyncio.gather(first.send_due(), second.send_due())
    assert sum(report.sent for report in reports) == 3
    keys = [r.headers.get("webhook-id") for r in http_server.requests_to("/slow")]
    assert len(keys) == len(set(keys)) == 3
    assert all(row.attempts == 1 for row in store.deliveries("sent"))


async def test_a_failing_channels_backlog_never_holds_back_another(
        store: Store, http_server: FixtureServer) -> None:
    http_server.set("/down", "down", status=503)
    http_server.set("/ok", "ok")
    for _ in range(150):
        _queue(store, "broken")
    _queue(store, "digest")
    async with httpx.AsyncClient() as client:
        sender = OutboxSender(store, {"broken": _hook(http_server, "/down", client),
                                      "digest": _hook(http_server, "/ok", client)}, clock=Clock())
        report = await sender.send_due()
    assert (report.sent, report.retried) == (1, 1), "only the broken queue's head was tried"
    assert len(http_server.requests_to("/down")) == 1


def test_alerts_are_bundled_into_one_delivery_only(store: Store, tmp_path: Path) -> None:
    from monitor.domain import Document, Outcome
    from monitor.store import CheckIntent, DocumentWrite
    doc = Document("https://gov.example/a.html", "portal", "区块链", "区块链", None, "zh", "h")
    store.apply_check(CheckIntent("portal", Outcome.NEW, NOW, writes=(
        DocumentWrite(doc, "i", None, "new", (), ("ops",)),)))
    (alert,) = store.pending_alerts("ops")
    message = RenderedMessage("s", "t", "h", {})
    first = store.add_delivery(NewDelivery("ops", message, (alert.alert_id,), NOW))
    second = store.add_delivery(NewDelivery("ops", message, (alert.alert_id,), NOW))
    assert first is not None and second is None
    assert len(store.deliveries()) == 1


def test_only_the_lease_holder_can_mark_a_message(store: Store) -> None:
    delivery_id = _queue(store, "ops")
    lease = timedelta(minutes=10)
    first = store.claim_next("ops", NOW, lease, "sender-a")
    assert first is not None and store.claim_next("ops", NOW, lease, "sender-b") is None
    later = NOW + lease + timedelta(seconds=1)  # a's lease lapsed mid-send: b takes over
    assert store.claim_next("ops", later, lease, "sender-b") is not None
    assert not store.mark_retry(delivery_id, "sender-a", "timeout", later), "a cannot cut b short"
    assert not store.mark_dead(delivery_id, "sender-a", "gave up")
    assert store.mark_sent(delivery_id, "sender-b", later)
    (row,) = store.deliveries("sent")
    assert row.attempts == 1


async def test_a_long_pass_claims_each_message_with_a_fresh_lease(
        store: Store, http_server: FixtureServer) -> None:
    """Leases are counted from each claim, not from the start of a pass that took a while."""
    http_server.set("/ok", "ok")
    for _ in range(3):
        _queue(store, "ops")
    clock = Clock()

    class SlowHook(WebhookNotifier):
        async def send(self, message: OutboundMessage) -> None:
            await super().send(message)
            clock.now += timedelta(minutes=7)  # each send takes 7 minutes of a 10-minute lease

    async with httpx.AsyncClient() as client:
        hook = SlowHook(WebhookChannel(kind="webhook", url=http_server.url("/ok")), client)
        assert (await OutboxSender(store, {"ops": hook}, clock=clock).send_due()).sent == 3
    assert [row.sent_at for row in store.deliveries("sent")] == [
        NOW + timedelta(minutes=7 * n) for n in (1, 2, 3)]
