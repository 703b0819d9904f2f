"""Composing alerts into outbox messages: digest schedules in their timezone, immediate mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.compose import Composer
from monitor.config import Settings, parse_config
from monitor.domain import Document, Outcome
from monitor.notify import DigestRenderer, default_template_dirs
from monitor.store import CheckIntent, DocumentWrite, Store

CONFIG = """\
version: 1
sources:
  - {id: portal, kind: rss, url: "https://gov.example/feed.xml", name: 某省政府}
topics:
  - {id: blockchain-policy, terms: {zh: [区块链]}}
subscriptions:
  - id: morning
    schedule: "0 8 * * *"
    timezone: Asia/Shanghai
    max_items: 2
    channel: {kind: file}
  - id: instant
    mode: immediate
    channel: {kind: file}
"""
# 07:30 in Shanghai is 23:30 UTC the day before.
ALERTED = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return parse_config(CONFIG, "sources.yaml", {})


def _alert(store: Store, count: int) -> None:
    writes = tuple(DocumentWrite(Document(f"https://gov.example/{n}.html", "portal",
                                          f"区块链通知 {n}", "区块链", None, "zh", f"h{n}"),
                                 f"i{n}", None, "new", (), ("morning", "instant"))
                   for n in range(count))
    store.apply_check(CheckIntent("portal", Outcome.NEW, ALERTED, writes=writes))


def _composer(settings: Settings, store: Store) -> Composer:
    return Composer(settings, store, DigestRenderer(default_template_dirs()))


def test_digest_is_due_at_its_local_time(settings: Settings, store: Store) -> None:
    _alert(store, 1)
    composer = _composer(settings, store)
    morning = settings.subscriptions[0]
    assert not composer.digest_due(morning, ALERTED + timedelta(minutes=29))
    assert composer.digest_due(morning, ALERTED + timedelta(minutes=30))
    assert composer.compose_all(ALERTED + timedelta(minutes=10), which="due") == 1, "instant only"
    assert composer.compose_all(ALERTED + timedelta(minutes=31), which="due") == 1
    assert not composer.digest_due(morning, ALERTED + timedelta(hours=2)), "sent for today"


def test_immediate_mode_sends_one_message_per_document(settings: Settings, store: Store) -> None:
    _alert(store, 3)
    assert _composer(settings, store).compose(settings.subscriptions[1], ALERTED) == 3


def test_long_digest_ends_with_and_n_more(settings: Settings, store: Store) -> None:
    _alert(store, 3)
    assert _composer(settings, store).compose(settings.subscriptions[0], ALERTED) == 1
    (delivery,) = store.deliveries()
    assert "and 1 more" in delivery.message.text
    assert delivery.message.payload["omitted"] == 1
    assert store.pending_alerts("morning") == [], "the rest is carried, not lost"


def test_dates_are_shown_in_the_subscribers_timezone(settings: Settings, store: Store) -> None:
    published = datetime(2024, 6, 12, tzinfo=ZoneInfo("Asia/Shanghai"))  # a portal's date
    doc = Document("https://gov.example/p.html", "portal", "区块链", "区块链", published, "zh", "h")
    store.apply_check(CheckIntent("portal", Outcome.NEW, ALERTED, writes=(
        DocumentWrite(doc, "i", None, "new", (), ("morning", "instant")),)))
    _composer(settings, store).compose(settings.subscriptions[0], ALERTED)
    (delivery,) = store.deliveries()
    assert "2024-06-12" in delivery.message.text and "2024-06-11" not in delivery.message.text
    assert "2026-03-02 07:30 CST" in delivery.message.text, "generated at, local time"
    _composer(settings, store).compose(settings.subscriptions[1], ALERTED)  # a UTC subscriber
    assert "2024-06-12" in store.deliveries()[-1].message.text, "a date-only date stays put"


def test_no_empty_digest_unless_asked(settings: Settings, store: Store) -> None:
    assert _composer(settings, store).compose(settings.subscriptions[0], ALERTED) == 0
