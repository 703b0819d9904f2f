"""The `json` kind: a JSON API list found by dotted paths."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config.models import JsonSource
from monitor.domain import Fetched
from monitor.errors import EmptyListError, ExtractError
from monitor.sources.json_api import extract_json

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
API = "https://www.example.gov.cn/api/list?page=1"
SOURCE = JsonSource(kind="json", id="api", url=API, items="data.list", link="url",
                    title="docTitle", date="pubDate", text="summary")


def fetched(body: bytes, url: str = API) -> Fetched:
    return Fetched(url=url, status=200, content_type="application/json", body=body)


def nested() -> Fetched:
    return fetched((FIXTURES / "api_nested.json").read_bytes())


def test_nested_path_gives_items_with_canonical_urls() -> None:
    items = extract_json(nested(), SOURCE)

    assert [item.url for item in items] == [
        "https://www.example.gov.cn/zcwj/202406/t20240612_10001.html",
        "https://www.example.gov.cn/zcwj/202405/t20240528_10002.html",
    ]  # the entry without a link is left out
    first, second = items
    assert first.title == "关于印发《区块链创新应用三年行动计划》的通知"
    assert first.text == "到2026年，建成省级区块链公共服务平台。"
    assert first.published == datetime(2024, 6, 12, 2, 30, tzinfo=UTC)
    assert second.published == datetime(2024, 5, 28, 0, 0, tzinfo=UTC)  # epoch milliseconds
    assert second.text == ""


def test_base_url_resolves_relative_links() -> None:
    source = SOURCE.model_copy(update={"base_url": "https://cdn.example.gov.cn/site/"})
    assert extract_json(nested(), source)[0].url == (
        "https://cdn.example.gov.cn/zcwj/202406/t20240612_10001.html")


def test_root_list_and_indexed_paths() -> None:
    body = b'[{"a": {"href": "/x.html", "t": ["first", "second"]}, "ts": 1718152200}]'
    source = JsonSource(kind="json", id="api", url=API, link="a.href", title="a.t.1", date="ts")
    [item] = extract_json(fetched(body), source)
    assert (item.url, item.title) == ("https://www.example.gov.cn/x.html", "second")
    assert item.published == datetime(2024, 6, 12, 0, 30, tzinfo=UTC)


def test_path_that_matches_nothing_names_path_and_url() -> None:
    wrong = SOURCE.model_copy(update={"items": "data.rows"})
    with pytest.raises(EmptyListError, match=(
            r"^path `data\.rows` matched nothing in https://www\.example\.gov\.cn/api/list"
            r"\?page=1; the API may have changed$")):
        extract_json(nested(), wrong)


@pytest.mark.parametrize(("body", "message"), [
    (b'{"data": {"list": []}}', r"path `data\.list` of .* is an empty list"),
    (b'{"data": {"list": {"a": 1}}}', r"path `data\.list` of .* is a dict, not a list"),
    (b'{"data": {"list": [{"title": "no link"}]}}', r"none of the 1 entries .* link at `url`"),
])
def test_lists_without_items_are_errors(body: bytes, message: str) -> None:
    with pytest.raises(EmptyListError, match=message):
        extract_json(fetched(body), SOURCE)


def test_body_that_is_not_json_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match="is not valid JSON"):
        extract_json(fetched(b"<html>maintenance</html>"), SOURCE)


def test_gbk_json_is_decoded() -> None:
    body = '{"data": {"list": [{"url": "/a.html", "title": "区块链通知"}]}}'.encode("gbk")
    source = SOURCE.model_copy(update={"title": "title"})
    response = Fetched(url=API, status=200, content_type="application/json; charset=gbk",
                       body=body)
    assert extract_json(response, source)[0].title == "区块链通知"
