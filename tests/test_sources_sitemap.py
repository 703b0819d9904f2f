"""The `sitemap` kind: urlsets, indexes (read through the pipeline), gzip, lastmod, include."""

from __future__ import annotations

import gzip
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config.models import SitemapSource
from monitor.domain import Fetched
from monitor.errors import EmptyListError, ExtractError
from monitor.sources.sitemap import SitemapIndex, extract_sitemap, gunzipped, url_title
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SOURCE = SitemapSource(kind="sitemap", id="map", url="https://www.example.gov.cn/sitemap.xml")


def fetched(name: str, url: str = "https://www.example.gov.cn/sitemap.xml") -> Fetched:
    return Fetched(url=url, status=200, content_type="application/xml",
                   body=(FIXTURES / name).read_bytes())


def test_urlset_items_with_lastmod_and_url_titles() -> None:
    items = extract_sitemap(fetched("sitemap_zcwj.xml"), SOURCE)

    assert [item.url for item in items] == [
        "https://www.example.gov.cn/zcwj/202406/t20240612_10001.html",
        "https://www.example.gov.cn/zcwj/202405/t20240528_10002.html",  # spm dropped
        "https://www.example.gov.cn/about/",
    ]
    assert [item.title for item in items] == [
        "t20240612_10001.html", "t20240528_10002.html", "about"]  # not the image's title
    assert items[0].published == datetime(2024, 6, 12, 2, 30, tzinfo=UTC)
    assert items[1].published == datetime(2024, 5, 27, 16, 0, tzinfo=UTC)  # Shanghai midnight
    assert items[2].published is None


def test_gzip_sitemap_is_decompressed_by_its_magic_bytes() -> None:
    plain = extract_sitemap(fetched("sitemap_zcwj.xml"), SOURCE)
    assert extract_sitemap(fetched("sitemap_zcwj.xml.gz", "https://a.example/s"), SOURCE) == plain


def test_gzip_past_the_cap_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 100_000 + b"</urlset>")
    with pytest.raises(ExtractError, match="decompresses to more than 1000 bytes"):
        gunzipped(bomb, "https://a.example/s.xml.gz", limit=1000)
    with pytest.raises(ExtractError, match="not a valid gzip file"):
        gunzipped(b"\x1f\x8bnot gzip", "https://a.example/s.xml.gz")


def test_index_names_its_newest_children_first_bounded_by_max_sitemaps() -> None:
    with pytest.raises(SitemapIndex) as raised:
        extract_sitemap(fetched("sitemap_index.xml"), SOURCE)
    assert raised.value.children == (
        "https://www.example.gov.cn/sitemap_zcwj.xml.gz",
        "https://www.example.gov.cn/sitemap_2023.xml",
        "https://www.example.gov.cn/sitemap_old.xml",  # no lastmod: last
    )
    two = SOURCE.model_copy(update={"max_sitemaps": 2})
    with pytest.raises(SitemapIndex) as raised:
        extract_sitemap(fetched("sitemap_index.xml"), two)
    assert len(raised.value.children) == 2
    assert pickle.loads(pickle.dumps(raised.value)).children == raised.value.children


def test_news_sitemap_gives_title_and_publication_date() -> None:
    [item] = extract_sitemap(fetched("sitemap_news.xml"), SOURCE)
    assert item.title == "Ministry names 15 new blockchain pilot zones"
    assert item.published == datetime(2024, 6, 20, 8, 0, tzinfo=UTC)


def test_text_sitemap_lists_one_url_a_line() -> None:
    items = extract_sitemap(fetched("sitemap.txt"), SOURCE)
    assert [item.title for item in items] == ["a.html", "b.html"]


def test_include_filters_urls_and_says_when_it_matches_none() -> None:
    policy = SOURCE.model_copy(update={"include": r"/zcwj/2024"})
    assert len(extract_sitemap(fetched("sitemap_zcwj.xml"), policy)) == 2
    nothing = SOURCE.model_copy(update={"include": r"/tzgg/"})
    with pytest.raises(EmptyListError, match=r"include `/tzgg/` matched none of the 3 URLs"):
        extract_sitemap(fetched("sitemap_zcwj.xml"), nothing)


def test_empty_and_broken_sitemaps_are_errors() -> None:
    empty = Fetched(url="https://a.example/s.xml", status=200, content_type="",
                    body=b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>')
    with pytest.raises(EmptyListError, match=r"sitemap https://a\.example/s\.xml lists no URLs"):
        extract_sitemap(empty, SOURCE)
    with pytest.raises(ExtractError, match="not valid XML"):
        extract_sitemap(Fetched("https://a.example/s.xml", 200, "", b"<"), SOURCE)


def test_url_title() -> None:
    assert url_title("https://a.example/zcwj/%E9%80%9A%E7%9F%A5.html") == "通知.html"
    assert url_title("https://a.example/") == "a.example"


def test_invalid_include_regex_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        SitemapSource(kind="sitemap", id="m", url="https://a.example/", include="(")


CONFIG = """\
version: 1
sources:
  - id: map
    kind: sitemap
    url: {base}/sitemap_index.xml
    max_sitemaps: 2
topics:
  - id: blockchain
    terms: {{zh: [区块链], en: [blockchain]}}
defaults: {{allow_private: true, per_host_delay: 0s}}  # the test server is on 127.0.0.1
"""


def _index(base: str) -> str:
    return (f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/a.xml</loc><lastmod>2024-06-01</lastmod></sitemap>"
            f"<sitemap><loc>{base}/b.xml.gz</loc><lastmod>2024-06-02</lastmod></sitemap>"
            f"<sitemap><loc>{base}/old.xml</loc><lastmod>2020-01-01</lastmod></sitemap>"
            "</sitemapindex>")


def _urlset(*urls: str) -> bytes:
    entries = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'.encode()


def test_index_children_are_fetched_and_merged(
        use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = http_server.base_url
    use_config(CONFIG.format(base=base))
    http_server.set("/sitemap_index.xml", _index(base), content_type="application/xml")
    http_server.set("/a.xml", _urlset(f"{base}/p/1.html", f"{base}/p/2.html"),
                    content_type="application/xml")
    http_server.set("/b.xml.gz", gzip.compress(_urlset(f"{base}/p/2.html", f"{base}/p/3.html")),
                    content_type="application/octet-stream")

    assert main(["check", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "map: new (3 new" in out
    for page in ("1.html", "2.html", "3.html"):
        assert f"new: {page} <{base}/p/{page}>" in out
    assert not http_server.requests_to("/old.xml")  # past max_sitemaps


def test_index_whose_children_all_fail_is_an_error(
        use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = http_server.base_url
    use_config(CONFIG.format(base=base))
    http_server.set("/sitemap_index.xml", _index(base), content_type="application/xml")

    assert main(["check", "--dry-run"]) == 1
    assert "map: error" in capsys.readouterr().out
