"""Dates as Chinese and Western sites write them, parsed into timezone-aware datetimes."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DEFAULT_TZ = "Asia/Shanghai"
_TIME = r"(?:[T\s]*(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2}))?)?"
_FULL = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?" + _TIME
)
_SHORT = re.compile(r"(?<![\d/.-])(\d{1,2})\s*[-/月]\s*(\d{1,2})(?![\d/.-])\s*日?" + _TIME)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def parse_date(text: str, *, now: datetime | None = None, tz: str = _DEFAULT_TZ) -> datetime | None:
    """The first date in `text`, aware in `tz` (naive dates are taken as local there), or None."""
    zone = _zone(tz)
    text = unicodedata.normalize("NFKC", text or "")
    try:
        return _parse_iso(text, zone) or _parse_full(text, zone) or _parse_short(text, zone, now)
    except (ValueError, OverflowError):
        return None


@lru_cache(maxsize=32)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(_DEFAULT_TZ)


def _parse_iso(text: str, zone: tzinfo) -> datetime | None:
    found = _ISO.search(text)
    if not found:
        return None
    try:
        value = datetime.fromisoformat(found.group(0))
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def _parse_full(text: str, zone: tzinfo) -> datetime | None:
    found = _FULL.search(text)
    if not found:
        return None
    return _build(found.groups(), zone)


def _parse_short(text: str, zone: tzinfo, now: datetime | None) -> datetime | None:
    found = _SHORT.search(text)
    if not found:
        return None
    today = _localise(now, zone)
    value = _build((str(today.year), *found.groups()), zone)
    if value is not None and value.date() > today.date():
        value = value.replace(year=today.year - 1)
    return value


def _localise(now: datetime | None, zone: tzinfo) -> datetime:
    if now is None:
        return datetime.now(zone)
    return now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)


def _build(groups: tuple[str | None, ...], zone: tzinfo) -> datetime | None:
    numbers = [int(group) if group else 0 for group in groups]
    try:
        year, month, day, hour, minute, second = numbers[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None
