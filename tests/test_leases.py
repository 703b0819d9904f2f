"""Source leases and digest periods on SQLite and PostgreSQL: one holder, once per period."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from monitor.cli import main
from monitor.compose import Composer, latest_fire_time, period_key
from monitor.config import Settings
from monitor.cron import cron_trigger, cron_weekdays
from monitor.dispatch import SourceDispatcher, next_run
from monitor.notify import DigestRenderer, default_template_dirs
from monitor.sources import SourceConfig
from monitor.store import Store, make_engine, upgrade_schema
from monitor.store.database import database_url
from monitor.store.leases import Planned, SourceLeases

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
LEASE = timedelta(seconds=60)
HOUR = timedelta(hours=1)


def _plan(leases: SourceLeases, due: dict[str, datetime], now: datetime,
          interval: timedelta = HOUR) -> None:
    leases.plan({source: Planned(when, now + interval) for source, when in due.items()}, now)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (f"sqlite:///{tmp_path / 'monitor.db'}" if request.param == "sqlite"
           else database_url(tmp_path, request.getfixturevalue("postgres_url")))
    engine = make_engine(url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def test_a_due_source_is_leased_to_one_replica_until_the_lease_lapses(engine: Engine) -> None:
    leases = SourceLeases(engine)
    _plan(leases, {"a": T0, "b": T0 + timedelta(hours=1)}, T0)
    assert leases.claim(["a", "b"], T0, "one", LEASE, 10) == ["a"], "b is not due yet"
    assert leases.claim(["a", "b"], T0, "two", LEASE, 10) == [], "a is held by one"
    later = T0 + LEASE + timedelta(seconds=1)
    assert leases.claim(["a", "b"], later, "two", LEASE, 10) == ["a"], "one's lease lapsed"
    assert not leases.release("a", "one", T0 + timedelta(hours=1)), "one lost it to two"
    assert leases.release("a", "two", T0 + timedelta(hours=1))
    row = leases.all()["a"]
    assert (row.next_due, row.leased_by, row.held(later)) == (T0 + timedelta(hours=1), None,
                                                              False)


def test_renewal_keeps_a_long_check_from_being_taken_over(engine: Engine) -> None:
    leases = SourceLeases(engine)
    _plan(leases, {"a": T0}, T0)
    assert leases.claim(["a"], T0, "one", LEASE, 10) == ["a"]
    assert leases.renew(["a"], "one", T0 + 2 * LEASE) == 1
    assert leases.claim(["a"], T0 + LEASE + timedelta(seconds=1), "two", LEASE, 10) == []
    assert leases.renew(["a"], "two", T0 + 3 * LEASE) == 0, "only the holder renews"


def test_claims_respect_the_limit_and_take_the_most_overdue_first(engine: Engine) -> None:
    leases = SourceLeases(engine)
    _plan(leases, {f"s{i}": T0 - timedelta(minutes=i) for i in range(5)}, T0)
    assert sorted(leases.claim([f"s{i}" for i in range(5)], T0, "one", LEASE, 2)) == ["s3", "s4"]
    assert leases.claim(["s0"], T0, "one", LEASE, 0) == []


def test_a_restart_replans_overdue_and_too_distant_sources_but_not_held_ones(
        engine: Engine) -> None:
    leases = SourceLeases(engine)
    _plan(leases, {"held": T0, "overdue": T0, "planned": T0 + HOUR / 2,
                   "too-far": T0 + 5 * HOUR}, T0)
    leases.claim(["held"], T0, "one", LEASE, 10)
    later = T0 + timedelta(seconds=30)  # "held": within its lease
    _plan(leases, dict.fromkeys(["held", "overdue", "planned", "too-far"], later), later)
    rows = leases.all()
    assert (rows["held"].next_due, rows["held"].leased_by) == (T0, "one")
    assert rows["overdue"].next_due == later
    assert rows["planned"].next_due == T0 + HOUR / 2, "just planned by another process"
    assert rows["too-far"].next_due == later, "its interval was shortened"


def test_concurrent_claims_never_hand_a_source_to_two_replicas(engine: Engine) -> None:
    leases = SourceLeases(engine)
    ids = [f"s{i}" for i in range(60)]
    _plan(leases, dict.fromkeys(ids, T0), T0)
    got: dict[str, list[str]] = {}

    def claim(holder: str) -> None:
        mine: list[str] = []
        while batch := leases.claim(ids, T0, holder, LEASE, 7):
            mine += batch
        got[holder] = mine

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [source for mine in got.values() for source in mine]
    assert sorted(claimed) == sorted(ids), "every source once, none twice"


def test_next_run_is_one_interval_on_with_jitter_never_in_the_past() -> None:
    hour = timedelta(hours=1)
    runs = [next_run(T0, hour, 0.1, T0 + timedelta(seconds=5)) for _ in range(50)]
    assert all(T0 + timedelta(minutes=54) <= run <= T0 + timedelta(minutes=66) for run in runs)
    assert next_run(T0, hour, 0.1, T0 + timedelta(hours=3)) == T0 + timedelta(hours=3)


def test_cron_weekdays_are_read_as_crontab_reads_them() -> None:
    assert cron_weekdays("1") == "mon" and cron_weekdays("0") == cron_weekdays("7") == "sun"
    assert cron_weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert cron_weekdays("5-7") == "sun,fri,sat"
    monday_8 = cron_trigger("0 8 * * 1", "UTC")
    assert latest_fire_time(monday_8, T0 + timedelta(days=1)) == T0, "Monday, not Tuesday"
    with pytest.raises(ValueError, match="unknown weekday"):
        cron_trigger("0 8 * * 8", "UTC")


def test_latest_fire_time_finds_the_period_for_frequent_and_rare_schedules() -> None:
    now = T0 + timedelta(minutes=7, seconds=30)
    assert latest_fire_time(cron_trigger("*/5 * * * *", "UTC"), now) == T0 + timedelta(
        minutes=5)
    assert latest_fire_time(cron_trigger("0 9 1 * *", "UTC"), now) == datetime(
        2026, 3, 1, 9, 0, tzinfo=UTC)
    assert period_key("a", T0) != period_key("b", T0) != period_key("a", now)


DIGEST_CONFIG = {
    "version": 1,
    "sources": [{"id": "portal", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml"}],
    "topics": [{"id": "t", "terms": {"zh": ["区块链"]}}],
    "subscriptions": [{"id": "daily", "mode": "digest", "schedule": "0 8 * * *",
                       "send_empty": True, "channel": {"kind": "file"}}],
}


def test_three_processes_make_one_digest_per_period(engine: Engine) -> None:
    settings = Settings.model_validate(DIGEST_CONFIG)
    subscription = settings.subscriptions[0]
    composers = [Composer(settings, Store(engine), DigestRenderer(default_template_dirs()))
                 for _ in range(3)]
    made: list[int] = []
    barrier = threading.Barrier(3)

    def compose(composer: Composer, minute: int) -> None:
        barrier.wait()
        made.append(composer.compose_scheduled(subscription, T0 + timedelta(minutes=minute)))

    threads = [threading.Thread(target=compose, args=(composer, i))
               for i, composer in enumerate(composers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made) == [0, 0, 1], "the 08:00 digest, made once"
    assert composers[0].compose_scheduled(subscription, T0 + timedelta(days=1)) == 1
    assert len(Store(engine).deliveries()) == 2


STATUS_CONFIG = """\
version: 1
sources:
  - {id: due-later, kind: rss, url: "http://127.0.0.1:9/a.xml"}
  - {id: being-checked, kind: rss, url: "http://127.0.0.1:9/b.xml"}
  - {id: new-one, kind: rss, url: "http://127.0.0.1:9/c.xml"}
  - {id: switched-off, kind: rss, url: "http://127.0.0.1:9/d.xml", enabled: false}
topics:
  - {id: t, terms: {zh: [区块链]}}
"""


def test_status_names_each_sources_next_check_or_who_is_checking_it(
        use_config: Callable[..., Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_config(STATUS_CONFIG)
    assert main(["status"]) == 0  # creates the database
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'monitor.db'}")
    now = datetime.now(UTC)
    leases = SourceLeases(engine)
    _plan(leases, {"due-later": now + timedelta(hours=2), "being-checked": now}, now,
          interval=timedelta(hours=3))
    assert leases.claim(["being-checked"], now, "worker-2:17:ab12", LEASE, 5)
    engine.dispose()
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    later = (now + timedelta(hours=2)).isoformat(timespec="seconds")
    assert f"due-later: never checked\n  next check: {later}" in out
    assert "being-checked: never checked\n  being checked by worker-2:17:ab12" in out
    assert "new-one: never checked\n  next check: when `monitor run` starts" in out
    assert "switched-off: never checked\n  disabled" in out


def test_cron_fires_on_either_day_of_month_or_weekday_when_both_are_given() -> None:
    first_or_monday = cron_trigger("0 8 1 * 1", "UTC")
    tuesday_3rd = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert latest_fire_time(first_or_monday, tuesday_3rd) == T0, "Monday the 2nd"
    sunday_1st = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert latest_fire_time(first_or_monday, sunday_1st) == datetime(2026, 3, 1, 8, 0,
                                                                       tzinfo=UTC)


def test_latest_fire_time_of_a_dense_schedule_far_back() -> None:
    every_minute_in_january = cron_trigger("* * * 1 *", "UTC")
    december = datetime(2026, 12, 15, tzinfo=UTC)
    assert latest_fire_time(every_minute_in_january, december) == datetime(
        2026, 1, 31, 23, 59, tzinfo=UTC)
    leap_day = cron_trigger("0 0 29 2 *", "UTC")
    assert latest_fire_time(leap_day, december) == datetime(2024, 2, 29, tzinfo=UTC)


def test_a_repeated_hour_is_one_digest_period() -> None:
    new_york = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)  # 01:30 EDT, then again 01:30 EST
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=new_york)
    assert first.astimezone(UTC) != second.astimezone(UTC)
    assert period_key("daily", first) == period_key("daily", second)


async def test_a_shutdown_gives_back_sources_claimed_but_not_yet_checked(
        store: Store) -> None:
    settings = Settings.model_validate(DIGEST_CONFIG)
    leases = SourceLeases(store.engine)
    checked: list[str] = []

    async def check(source: SourceConfig) -> None:
        checked.append(source.id)

    dispatcher = SourceDispatcher(settings, store, leases, check, holder="one")
    dispatcher.plan(datetime.now(UTC))
    assert len(await dispatcher.dispatch()) == 1
    await dispatcher.give_back()  # in the same turn: the check never started
    row = leases.all()["portal"]
    assert (checked, dispatcher.held, row.leased_by) == ([], set(), None)
    assert row.next_due <= datetime.now(UTC), "still due: another process takes it at once"
