from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.sources.dates import parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 6, 15, 12, 0, tzinfo=SHANGHAI)


def local(year: int, month: int, day: int, *clock: int) -> datetime:
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-06-30", local(2020, 6, 30)),
        ("2020/06/30", local(2020, 6, 30)),
        ("2020.06.30", local(2020, 6, 30)),
        ("2020/6/3", local(2020, 6, 3)),
        ("2020年6月30日", local(2020, 6, 30)),
        ("2020年06月30日 10:30", local(2020, 6, 30, 10, 30)),
        ("发布时间：2020年06月30日10时30分", local(2020, 6, 30, 10, 30)),
        ("[2020-06-30]", local(2020, 6, 30)),
        ("（2020-06-30）", local(2020, 6, 30)),
        ("2020-06-30 10:30:15", local(2020, 6, 30, 10, 30, 15)),
        ("２０２０－０６－３０", local(2020, 6, 30)),
        ("06-12", local(2024, 6, 12)),
        ("6月1日", local(2024, 6, 1)),
        ("12-31", local(2023, 12, 31)),  # later than today this year: last year's
        ("06/15", local(2024, 6, 15)),  # today is not the future
        ("2020-06-30T10:30:00", local(2020, 6, 30, 10, 30)),
        ("2020-06-30T02:30:00Z", local(2020, 6, 30, 10, 30)),
        ("2020-06-30T10:30:00+08:00", local(2020, 6, 30, 10, 30)),
        ("2020-06-30T04:30:00+02:00", local(2020, 6, 30, 10, 30)),
        ("", None),
        ("无日期", None),
        ("2020-13-45", None),
        ("02-30", None),
        ("第1页 共5页", None),
        ("浏览次数：12345", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text, now=NOW) == expected


def test_result_is_aware_in_the_source_timezone() -> None:
    found = parse_date("2020-06-30 10:30", tz="Europe/Paris")
    assert found is not None
    assert found.utcoffset() is not None
    assert found.astimezone(UTC) == datetime(2020, 6, 30, 8, 30, tzinfo=UTC)


def test_unknown_timezone_falls_back_without_raising() -> None:
    assert parse_date("2020-06-30", tz="Mars/Olympus") == local(2020, 6, 30)


def test_naive_now_is_taken_as_local() -> None:
    assert parse_date("12-31", now=datetime(2024, 12, 31, 23, 0)) == local(2024, 12, 31)


def test_leap_day_of_last_year_that_does_not_exist() -> None:
    assert parse_date("03-01", now=local(2025, 2, 28)) == local(2024, 3, 1)
    assert parse_date("02-29", now=local(2025, 3, 1)) is None


@pytest.mark.parametrize("junk", ["\x00\x01", "9" * 500, "2020-06-31", "9999-12-31T23:59:59-23:59"])
def test_never_raises(junk: str) -> None:
    parse_date(junk)


PARIS = ZoneInfo("Europe/Paris")
LIST_PAGE = b"""<html><body><ul class="news">
<li><a href="/a.html">Notice</a><span>2020-06-30 10:30</span></li></ul></body></html>"""
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Notice</title><link>https://example.org/a</link>
<pubDate>2020-06-30 10:30</pubDate></item></channel></rss>"""


def test_sources_default_to_shanghai_and_reject_unknown_timezones() -> None:
    from pydantic import ValidationError

    from monitor.config import RssSource

    assert RssSource(kind="rss", id="feed", url="https://example.org/").timezone == "Asia/Shanghai"
    with pytest.raises(ValidationError, match="unknown timezone 'Mars/Olympus'"):
        RssSource(kind="rss", id="feed", url="https://example.org/", timezone="Mars/Olympus")


@pytest.mark.parametrize(("tz", "zone"), [("Asia/Shanghai", SHANGHAI), ("Europe/Paris", PARIS)])
def test_html_list_dates_are_read_in_the_source_timezone(tz: str, zone: ZoneInfo) -> None:
    from monitor.config import HtmlListSource, ItemSelectors
    from monitor.domain import Fetched
    from monitor.sources.html_list import extract_html_list

    source = HtmlListSource(kind="html-list", id="list", url="https://example.org/", timezone=tz,
                            items=ItemSelectors(selector="ul.news li", date="span"))
    fetched = Fetched(url="https://example.org/", status=200, content_type="", body=LIST_PAGE)
    [item] = extract_html_list(fetched, source)
    assert item.published == datetime(2020, 6, 30, 10, 30, tzinfo=zone)


@pytest.mark.parametrize(("tz", "zone"), [("Asia/Shanghai", SHANGHAI), ("Europe/Paris", PARIS)])
def test_rss_dates_without_offset_are_read_in_the_source_timezone(tz: str, zone: ZoneInfo) -> None:
    from monitor.config import RssSource
    from monitor.domain import Fetched
    from monitor.sources.rss import extract_rss

    source = RssSource(kind="rss", id="feed", url="https://example.org/feed", timezone=tz)
    fetched = Fetched(url="https://example.org/feed", status=200, content_type="", body=FEED)
    [item] = extract_rss(fetched, source)
    assert item.published == datetime(2020, 6, 30, 10, 30, tzinfo=zone)
