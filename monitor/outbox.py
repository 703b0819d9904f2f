"""Drains the outbox: sends due messages, marks them sent, retries or dead-letters failures."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    """Exponential backoff with jitter, then the dead-letter state."""

    base: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        """Wait before attempt number `attempts + 1`: base·2^n, capped, with 50-100 % jitter."""
        exponential: timedelta = min(self.base * (2 ** min(attempts, 20)), self.ceiling)
        return exponential * random.uniform(0.5, 1.0)


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
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.store = store
        self.notifiers = notifiers
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.clock = clock
        self._lock = asyncio.Lock()

    async def send_due(self) -> SendReport:
        """Send every due message; one pass at a time in this process, claims across them."""
        report = SendReport()
        token = uuid.uuid4().hex
        async with self._lock:
            await asyncio.gather(*(self._drain(subscription_id, notifier, token, report)
                                   for subscription_id, notifier in self.notifiers.items()))
        return report

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
            await notifier.send(_outbound(row))
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
        attempts = row.attempts + 1
        if error.retryable and attempts < self.policy.max_attempts:
            retry_at = self.clock() + self.policy.delay(row.attempts)
            self.store.mark_retry(row.id, token, error.reason, retry_at)
            report.retried += 1
            log.warning("delivery %s failed (attempt %d), retry at %s: %s", row.id, attempts,
                        retry_at.isoformat(timespec="seconds"), error.reason)
        else:
            self.store.mark_dead(row.id, token, error.reason)
            report.dead += 1
            log.error("delivery %s dead after %d attempt(s): %s", row.id, attempts,
                      error.reason)


def _outbound(row: DeliveryRow) -> OutboundMessage:
    return OutboundMessage(row.id, row.idempotency_key, row.subscription_id, row.message,
                           row.created_at)
