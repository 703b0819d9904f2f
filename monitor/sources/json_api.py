"""The `json` source kind: items of a JSON API list, found by dotted field paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from monitor.config.models import JsonSource, SourceBase
from monitor.domain import Fetched, Item
from monitor.errors import EmptyListError, ExtractError
from monitor.fetch.charset import decode
from monitor.sources.dates import parse_date
from monitor.sources.rss import html_to_text
from monitor.sources.urls import canonical_url, unique_by_url

_MISSING = object()
_MILLISECONDS = 10**11  # epoch numbers above this are milliseconds (seconds reach it in 5138)


def extract_json(fetched: Fetched, source: SourceBase) -> list[Item]:
    """The entries of a JSON API list as items; EmptyListError when the path finds none."""
    if not isinstance(source, JsonSource):
        raise ExtractError(f"source '{source.id}' is not a json source")
    entries = find_path(parse_json(fetched), source.items)
    if not isinstance(entries, list) or not entries:
        raise EmptyListError(_empty_message(source, entries, fetched.url))
    base = source.base_url or fetched.url
    items = unique_by_url(_item(entry, source, base) for entry in entries)
    if not items:
        raise EmptyListError(f"none of the {len(entries)} entries at `{source.items}` of "
                             f"{fetched.url} has a link at `{source.link}`")
    return items


def parse_json(fetched: Fetched) -> Any:
    """The decoded JSON document; ExtractError when the body is not JSON."""
    try:
        return json.loads(decode(fetched.body, fetched.content_type).text)
    except ValueError as error:
        raise ExtractError(f"{fetched.url} is not valid JSON: {error}") from error


def find_path(document: Any, path: str) -> Any:
    """The value at a dotted path (`data.list`, `result.0.items`); a sentinel when absent."""
    value = document
    for key in (part for part in path.split(".") if part):
        value = _step(value, key)
        if value is _MISSING:
            break
    return value


def _step(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key, _MISSING)
    if isinstance(value, list) and key.lstrip("-").isdigit() and -len(value) <= int(key) < len(
            value):
        return value[int(key)]
    return _MISSING


def _empty_message(source: JsonSource, found: Any, url: str) -> str:
    path = f"`{source.items}`" if source.items else "the document root"
    if found is _MISSING:
        return f"path {path} matched nothing in {url}; the API may have changed"
    if isinstance(found, list):
        return f"path {path} of {url} is an empty list"
    return (f"path {path} of {url} is a {type(found).__name__}, not a list; "
            "the API may have changed")


def _item(entry: Any, source: JsonSource, base: str) -> Item | None:
    link = _string(find_path(entry, source.link))
    if not link:
        return None
    text = _string(find_path(entry, source.text)) if source.text else ""
    return Item(url=canonical_url(link, base),
                title=html_to_text(_string(find_path(entry, source.title))),
                published=_date(find_path(entry, source.date), source) if source.date else None,
                text=html_to_text(text), language=source.language)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _date(value: Any, source: JsonSource) -> datetime | None:
    """A date string in any form parse_date reads, or epoch seconds or milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > _MILLISECONDS else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip().isdigit():
        return _date(int(value.strip()), source)
    found = parse_date(value, tz=source.timezone) if isinstance(value, str) else None
    return found.astimezone(UTC) if found else None
