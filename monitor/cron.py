"""Cron expressions read as crontab(5) reads them, turned into APScheduler triggers.

APScheduler numbers weekdays from Monday (0) where cron numbers them from Sunday (0 or 7), so
`0 8 * * 1` would fire on Tuesdays: the weekday field is rewritten as day names first. And
where both the day of the month and the weekday are restricted, cron fires when either
matches (`0 8 1 * 1`: every Monday and every 1st), APScheduler only when both do: such an
expression becomes two triggers, either of which fires.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, timezone: str) -> BaseTrigger:
    """The trigger for a five-field crontab expression; ValueError when it is not one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, weekday = fields
    zone = ZoneInfo(timezone)
    days = cron_weekdays(weekday)
    if day in ("*", "?") or days == "*":
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=days,
                           timezone=zone)
    return OrTrigger([
        CronTrigger(minute=minute, hour=hour, day=day, month=month, timezone=zone),
        CronTrigger(minute=minute, hour=hour, month=month, day_of_week=days, timezone=zone)])


def cron_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler day names: `1-5` → `mon,tue,wed,thu,fri`."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        days |= _weekday_part(part)
    return ",".join(_NAMES[day] for day in sorted(days))


def _weekday_part(part: str) -> set[int]:
    span, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError(f"weekday step must be positive: '{part}'")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        low, high = span.split("-", 1)
        first, last = _weekday(low), 7 if high == "7" else _weekday(high)
    else:
        first = last = _weekday(span)
    if last < first:
        last += 7  # fri-mon wraps around the week
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday(text: str) -> int:
    if text in _NAMES:
        return _NAMES.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text) % 7
    raise ValueError(f"unknown weekday '{text}' (0-7 or sun…sat)")
