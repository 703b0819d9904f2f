"""Value types of sources.yaml: durations, fractions, sizes, identifiers, URLs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$", re.IGNORECASE)
_SIZE_FACTOR = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20,
                "gib": 2**30}


def parse_duration(value: object) -> object:
    """'30m', '1h', '20s', '500ms', '2d' or a number of seconds -> timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"'{value}' is not a duration like 30s, 10m, 1h or 1d")
        return timedelta(seconds=float(found.group(1)) * _UNIT_SECONDS[found.group(2)])
    return value


def parse_fraction(value: object) -> object:
    """'10%' or 0.1 -> 0.1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return value


def parse_size(value: object) -> object:
    """'10MB', '512KiB' or a number of bytes -> int."""
    if isinstance(value, str):
        found = _SIZE.match(value)
        if not found:
            raise ValueError(f"'{value}' is not a size like 10MB or 512KiB")
        return int(float(found.group(1)) * _SIZE_FACTOR[(found.group(2) or "b").lower()])
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
Fraction = Annotated[float, BeforeValidator(parse_fraction), Field(ge=0, le=1)]
ByteSize = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+.*$")]


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{name}'") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_timezone)]
