from __future__ import annotations

import pytest

from monitor.sources.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://WWW.Example.GOV.cn", None, "http://www.example.gov.cn/"),
        ("https://example.cn:443/a", None, "https://example.cn/a"),
        ("http://example.cn:80/a", None, "http://example.cn/a"),
        ("http://example.cn:8080/a", None, "http://example.cn:8080/a"),
        ("https://example.cn/a#section-2", None, "https://example.cn/a"),
        ("https://example.cn/a?utm_source=x&id=7&spm=1.2&page=2&from=timeline",
         None, "https://example.cn/a?id=7&page=2"),
        ("https://example.cn/a?b=2&a=1&fbclid=abc&gclid=def", None, "https://example.cn/a?b=2&a=1"),
        ("https://example.cn/a?UTM_Campaign=x", None, "https://example.cn/a"),
        ("./202406/t1.html", "https://example.cn/zwgk/tzgg/index.html",
         "https://example.cn/zwgk/tzgg/202406/t1.html"),
        ("../zcjd/t2.html", "https://example.cn/zwgk/tzgg/", "https://example.cn/zwgk/zcjd/t2.html"),
        ("/t3.html", "https://example.cn/zwgk/", "https://example.cn/t3.html"),
        ("//cdn.example.cn/x", "https://example.cn/", "https://cdn.example.cn/x"),
        ("https://example.cn/Path/Case.HTML", None, "https://example.cn/Path/Case.HTML"),
        ("  https://example.cn/a  ", None, "https://example.cn/a"),
        ("http://[::1]:8080/a", None, "http://[::1]:8080/a"),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTPS://Example.cn:443?utm_medium=x&q=%E5%8C%BA#top")
    assert canonical_url(once) == once == "https://example.cn/?q=%E5%8C%BA"
