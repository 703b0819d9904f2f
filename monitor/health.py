"""Source health: when a source is failing, has recovered, or has gone quiet, and who is told."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from monitor.config import Settings
from monitor.domain import HealthEvent, OperatorNotice, Outcome
from monitor.notify import DigestRenderer
from monitor.sources import SourceConfig
from monitor.store import CheckIntent, Health, NewDelivery, SourceState


def assess(state: SourceState, intent: CheckIntent, max_failures: int,
           expect_every: timedelta | None) -> tuple[Health, HealthEvent | None]:
    """The source's health after this check, and the one event operators hear of, if any."""
    old = state.health
    last_new = intent.checked_at if intent.outcome is Outcome.NEW else old.last_new_at
    if intent.error is not None:
        failures = state.consecutive_failures + 1
        if not old.failing and failures >= max_failures:
            return replace(old, failing=True), HealthEvent.FAILING
        return old, None
    if old.failing:  # a quiet alert already sent stays sent
        quiet_since = None if intent.outcome is Outcome.NEW else old.quiet_since
        return Health(False, last_new, quiet_since), HealthEvent.RECOVERED
    if intent.outcome is Outcome.NEW:
        return Health(False, last_new, None), None
    if _quiet(old, intent.checked_at, expect_every):
        return replace(old, quiet_since=intent.checked_at), HealthEvent.QUIET
    return old, None


def _quiet(health: Health, now: datetime, expect_every: timedelta | None) -> bool:
    return (expect_every is not None and health.quiet_since is None
            and health.last_new_at is not None and now - health.last_new_at > expect_every)


class HealthMonitor:
    """Adds health and the operator alerts it owes to each check's intent."""

    def __init__(self, settings: Settings, renderer: DigestRenderer) -> None:
        self.settings = settings
        self.renderer = renderer

    def annotate(self, source: SourceConfig, state: SourceState,
                 intent: CheckIntent) -> CheckIntent:
        max_failures = source.max_failures or self.settings.defaults.max_failures
        health, event = assess(state, intent, max_failures, source.expect_every)
        notices = self._notices(source, state, intent, event) if event else ()
        return replace(intent, health=health, notices=notices)

    def _notices(self, source: SourceConfig, state: SourceState, intent: CheckIntent,
                 event: HealthEvent) -> tuple[NewDelivery, ...]:
        subscribers = [sub for sub in self.settings.subscriptions if sub.operator_alerts
                       and (not sub.sources or source.id in sub.sources)]
        return tuple(NewDelivery(sub.id, self.renderer.render_operator(OperatorNotice(
            event=event, source_id=source.id, source_name=source.name or source.id,
            url=source.url, failures=state.consecutive_failures + (intent.error is not None),
            error=intent.error, last_success_at=state.last_success_at,
            last_new_at=state.health.last_new_at, generated_at=intent.checked_at,
            timezone=sub.timezone)), (), intent.checked_at) for sub in subscribers)
