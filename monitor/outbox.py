"""Drains the outbox: sends due messages, marks them sent, retries or dead-letters failures."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.config import DeliverySettings, Settings
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError
from monitor.notify import Notifier
from monitor.store import DeliveryRow, Store

log = logging.getLogger("monitor.deliver")

LEASE = timedelta(minutes=10)  # how long a claimed message is kept from other senders


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, then the dead-letter state (too many tries, too old)."""

    base: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)
    max_attempts: int = 12
    max_age: timedelta = timedelta(days=2)  # since the message was composed

    @classmethod
    def from_settings(cls, delivery: DeliverySettings) -> RetryPolicy:
        """The policy the config's `delivery:` section asks for."""
        return cls(max_attempts=delivery.max_attempts, max_age=delivery.max_age)

    def delay(self, attempts: int) -> timedelta:
        """Wait before attempt number `attempts + 1`: base·2^n, capped, with 50-100 % jitter."""
        exponential: timedelta = min(self.base * (2 ** min(attempts, 20)), self.ceiling)
        return exponential * random.uniform(0.5, 1.0)

    def next_attempt(self, attempts: int, now: datetime,
                     retry_after: float | None) -> datetime:
        """When to try again: the backoff, but never before the receiver's Retry-After."""
        wait = self.delay(attempts)
        if retry_after is not None and retry_after > 0:  # honoured, up to max_age
            asked = timedelta(seconds=min(retry_after, self.max_age.total_seconds()))
            wait = max(wait, asked)
        return now + wait

    def gives_up(self, row: DeliveryRow, error: DeliveryError, now: datetime) -> str | None:
        """Why this failure ends the message's tries (the dead letter's reason), or None."""
        attempts = row.attempts + 1
        if not error.retryable:
            return f"permanent failure: {error.reason}"
        if attempts >= self.max_attempts:
            return f"gave up after {_attempts(attempts)}: {error.reason}"
        if now - row.created_at >= self.max_age:
            age = _age(now - row.created_at)
            return f"gave up after {age} ({_attempts(attempts)}): {error.reason}"
        if error.retry_after and now + timedelta(seconds=min(
                error.retry_after, 10 * self.max_age.total_seconds())) > (
                row.created_at + self.max_age):
            return (f"the receiver asked to wait {int(error.retry_after)} s, past max_age "
                    f"({_attempts(attempts)}): {error.reason}")
        return None


@dataclass
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0


class OutboxSender:
    """Sends what is due, oldest first per subscription; each channel fails on its own.

    Every claim and mark reads the clock afresh (a pass may take minutes) and carries the pass's
    token, so a sender whose lease lapsed can neither mark nor cut short another's claim.
    Messages of a subscription no longer in the config are kept, never sent or dropped.
    """

    def __init__(self, store: Store, notifiers: Mapping[str, Notifier],
                 policy: RetryPolicy | None = None, lease: timedelta = LEASE,
                 clock: Callable[[], datetime] = _utc_now, *,
                 unsubscribe: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.notifiers = notifiers
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.clock = clock
        self.unsubscribe = dict(unsubscribe or {})  # subscription id -> List-Unsubscribe URL
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, store: Store, notifiers: Mapping[str, Notifier],
                      settings: Settings, *, lease: timedelta = LEASE,
                      clock: Callable[[], datetime] = _utc_now) -> OutboxSender:
        """A sender with the config's retry policy and each subscription's unsubscribe URL."""
        return cls(store, notifiers, RetryPolicy.from_settings(settings.delivery), lease,
                   clock, unsubscribe=unsubscribe_urls(settings))

    async def send_due(self) -> SendReport:
        """Send every due message; one pass at a time in this process, claims across them."""
        report = SendReport()
        token = uuid.uuid4().hex
        async with self._lock:
            await asyncio.gather(*(self._drain(subscription_id, notifier, token, report)
                                   for subscription_id, notifier in self.notifiers.items()))
        return report

    def outbound(self, row: DeliveryRow, token: str | None = None) -> OutboundMessage:
        """What a notifier is given for an outbox row; with the lease's `token`, a message sent
        in parts records each part posted, so a retry resumes after it."""
        def record(parts: int) -> None:
            if token is not None:
                self.store.mark_parts_sent(row.id, token, parts)
        return OutboundMessage(row.id, row.idempotency_key, row.subscription_id, row.message,
                               row.created_at, self.unsubscribe.get(row.subscription_id),
                               row.parts_sent, record)

    async def _drain(self, subscription_id: str, notifier: Notifier, token: str,
                     report: SendReport) -> None:
        """Send the subscription's messages in order until one fails or none is due."""
        try:
            while (row := self.store.claim_next(subscription_id, self.clock(), self.lease,
                                                token)) is not None:
                if not await self._send(row, notifier, token, report):
                    return
        except Exception:  # the database failing for one subscription stops only that one
            log.exception("sending for %s failed unexpectedly", subscription_id)

    async def _send(self, row: DeliveryRow, notifier: Notifier, token: str,
                    report: SendReport) -> bool:
        try:
            await notifier.send(self.outbound(row, token))
        except DeliveryError as error:
            self._failed(row, error, token, report)
            return False
        except Exception as error:  # a notifier bug must not stop the others
            log.exception("delivery %s: unexpected error", row.id)
            self._failed(row, DeliveryError(repr(error), retryable=True), token, report)
            return False
        if not self.store.mark_sent(row.id, token, self.clock()):
            log.warning("delivery %s was sent after its lease lapsed", row.id)
        report.sent += 1
        log.info("delivered %s to %s", row.id, row.subscription_id,
                 extra={"delivery": row.id, "subscription": row.subscription_id})
        return True

    def _failed(self, row: DeliveryRow, error: DeliveryError, token: str,
                report: SendReport) -> None:
        now = self.clock()
        reason = self.policy.gives_up(row, error, now)
        if reason is None:
            retry_at = self.policy.next_attempt(row.attempts, now, error.retry_after)
            self.store.mark_retry(row.id, token, error.reason, retry_at)
            report.retried += 1
            log.warning("delivery %s failed (attempt %d), retry at %s: %s", row.id,
                        row.attempts + 1, retry_at.isoformat(timespec="seconds"), error.reason,
                        extra={"delivery": row.id, "subscription": row.subscription_id,
                               "attempt": row.attempts + 1})
        else:
            self.store.mark_dead(row.id, token, reason)
            report.dead += 1
            log.error("delivery %s dead: %s", row.id, reason,
                      extra={"delivery": row.id, "subscription": row.subscription_id})


def unsubscribe_urls(settings: Settings) -> dict[str, str]:
    """Subscription id -> its configured unsubscribe URL (those that have one)."""
    return {sub.id: str(sub.unsubscribe_url) for sub in settings.subscriptions
            if sub.unsubscribe_url is not None}


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def _age(age: timedelta) -> str:
    """`2 days 3:04:05` without microseconds."""
    return str(age - timedelta(microseconds=age.microseconds))
