"""Turns alerts owed to a subscription into outbox messages: one per alert or one digest."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from apscheduler.triggers.base import BaseTrigger

from monitor.config import Settings, Subscription
from monitor.cron import cron_trigger
from monitor.detect import wanted_matches
from monitor.domain import Digest, DigestItem, RenderedMessage
from monitor.notify import DigestRenderer
from monitor.store import NewDelivery, PendingAlert, Store

log = logging.getLogger("monitor.compose")

Which = Literal["all", "due", "none"]


class Composer:
    """Bundles pending alerts into rendered messages and puts them in the outbox."""

    def __init__(self, settings: Settings, store: Store, renderer: DigestRenderer) -> None:
        self.settings = settings
        self.store = store
        self.renderer = renderer
        self._source_names = {source.id: source.name or source.id for source in settings.sources}

    def compose_all(self, now: datetime, which: Which = "all") -> int:
        """Compose for every subscription: immediate ones always, digests per `which`.

        "due" digests are the scheduled ones: made once per period of their schedule, however
        many processes compose them; "all" makes every digest now (a one-shot `monitor check`).
        """
        made = 0
        for sub in self.settings.subscriptions:
            try:
                if sub.mode == "immediate" or which == "all":
                    made += self.compose(sub, now)
                elif which == "due" and self.digest_due(sub, now):
                    made += self.compose_scheduled(sub, now)
            except Exception:  # one broken template or query must not hold back the others
                log.exception("composing for %s failed; its alerts stay pending", sub.id)
        return made

    def compose(self, subscription: Subscription, now: datetime,
                key: str | None = None) -> int:
        """Put what `subscription` is owed in the outbox; returns messages made."""
        pending = self.store.pending_alerts(subscription.id)
        if subscription.mode == "immediate":
            return sum(self._add(subscription, [alert], now) for alert in pending)
        if not pending and not subscription.send_empty:
            return 0
        return self._add(subscription, pending, now, key)

    def compose_scheduled(self, subscription: Subscription, now: datetime) -> int:
        """The digest of the schedule's current period, unless a process made it already."""
        period = latest_fire_time(_trigger(subscription), now)
        return self.compose(subscription, now, period_key(subscription.id, period or now))

    def preview(self, subscription: Subscription, now: datetime) -> RenderedMessage:
        """The digest `subscription` would get now, without writing anything."""
        return self._render(subscription, self.store.pending_alerts(subscription.id), now)

    def digest_due(self, subscription: Subscription, now: datetime) -> bool:
        """Whether the cron schedule fired since the last digest (or the oldest alert)."""
        since = (self.store.last_delivery_at(subscription.id)
                 or self.store.oldest_pending_alert_at(subscription.id))
        if since is None:
            return False  # nothing owed and nothing sent yet: wait for the schedule
        next_fire: datetime | None = _trigger(subscription).get_next_fire_time(None, since)
        return next_fire is not None and next_fire <= now

    def _add(self, subscription: Subscription, alerts: Sequence[PendingAlert],
             now: datetime, key: str | None = None) -> int:
        message = self._render(subscription, alerts, now)
        ids = tuple(alert.alert_id for alert in alerts)
        delivery_id = self.store.add_delivery(
            NewDelivery(subscription.id, message, ids, now, key))
        if delivery_id is None:
            log.info("the message for %s was composed by another process", subscription.id)
            return 0
        log.info("composed delivery %s for %s with %d item(s)", delivery_id, subscription.id,
                 len(alerts))
        return 1

    def _render(self, subscription: Subscription, alerts: Sequence[PendingAlert],
                now: datetime) -> RenderedMessage:
        """The first max_items alerts as the digest; the rest ride along as `more`."""
        items = [self._item(subscription, alert) for alert in alerts]
        shown, more = items[:subscription.max_items], items[subscription.max_items:]
        digest = Digest(subscription.id, subscription.mode, tuple(shown), now,
                        omitted=len(more), timezone=subscription.timezone)
        return self.renderer.render(digest, categories=self.settings.categories_for(subscription),
                                    more=tuple(more))

    def _item(self, subscription: Subscription, alert: PendingAlert) -> DigestItem:
        doc = alert.document
        matches = wanted_matches(subscription, doc, alert.matches) or tuple(
            m for m in alert.matches if m.relevant and (
                not subscription.topics or m.topic_id in subscription.topics))
        lead = matches[0] if matches else None
        return DigestItem(
            url=doc.url, title=doc.title, source_id=doc.source_id,
            source_name=self._name(doc.source_id),
            published=doc.published, language=doc.language, change=alert.change,
            topics=tuple(m.topic_id for m in matches),
            evidence=tuple(e for m in matches for e in m.evidence),
            added=alert.added, removed=alert.removed,
            category=lead.category if lead else None, regions=lead.regions if lead else (),
            facts=lead.facts if lead else (), score=lead.score if lead else None,
            also=tuple((self._name(other.source_id), other.url) for other in alert.also))

    def _name(self, source_id: str) -> str:
        return self._source_names.get(source_id, source_id)


def _trigger(subscription: Subscription) -> BaseTrigger:
    return cron_trigger(subscription.schedule, subscription.timezone)


_LOOKBACKS = tuple(timedelta(days=days) for days in (1 / 24, 1, 32, 366, 4 * 366 + 1))


def latest_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The schedule's last firing at or before `now` (None if not within four years).

    Found by bisection, so a schedule that fires every minute costs a few dozen steps, not
    one per firing since the start of the window.
    """
    for lookback in _LOOKBACKS:
        low: datetime | None = trigger.get_next_fire_time(None, now - lookback)
        if low is None or low > now:
            continue
        high = now
        while (after := trigger.get_next_fire_time(low, low)) is not None and after <= now:
            middle = low + (high - low) / 2
            probe: datetime | None = trigger.get_next_fire_time(None, middle)
            if probe is not None and probe <= now:
                low = max(probe, after)
            else:
                high = middle  # nothing fires in [middle, now], so `after` is before middle
        return low
    return None


def period_key(subscription_id: str, period: datetime) -> str:
    """The idempotency key of a subscription's digest for the period starting at `period`.

    Keyed by the wall-clock time, not the instant: where a daylight-saving change repeats an
    hour, the schedule's second firing at the same wall time is the same period.
    """
    seed = f"digest\0{subscription_id}\0{period.replace(tzinfo=None).isoformat()}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]
