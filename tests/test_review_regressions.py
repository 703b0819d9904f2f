"""Regressions found in review: nothing a transient failure or a 304 can hide for good."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.test_attachments import make_docx

SITEMAP = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - {{id: sm, kind: sitemap, url: "{base}/index.xml"}}
topics:
  - {{id: t, terms: {{zh: [区块链]}}}}
"""
XMLNS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _urlset(*urls: str) -> str:
    locs = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return f'<?xml version="1.0"?><urlset {XMLNS}>{locs}</urlset>'


def test_an_index_answering_304_still_has_its_children_read(
        use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = http_server.base_url
    use_config(SITEMAP.format(base=base))
    index = (f'<?xml version="1.0"?><sitemapindex {XMLNS}><sitemap><loc>{base}/s1.xml</loc>'
             "</sitemap></sitemapindex>")
    http_server.set("/index.xml", index, content_type="application/xml", headers={"ETag": '"i"'})
    http_server.set("/s1.xml", _urlset(f"{base}/a.html"), content_type="application/xml")
    main(["check"])
    http_server.set("/s1.xml", _urlset(f"{base}/a.html", f"{base}/b.html"),
                    content_type="application/xml")
    main(["check"])
    assert "sm: new (1 new" in capsys.readouterr().out.splitlines()[-2]


ATTACHED = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s, retries: 0}}
sources:
  - id: p
    kind: html-list
    url: {base}/list.html
    follow: true
    items: {{selector: "ul li"}}
topics:
  - {{id: t, terms: {{zh: [区块链]}}}}
subscriptions:
  - {{id: now, mode: immediate, channel: {{kind: file}}}}
"""


def _list(*entries: tuple[str, str]) -> str:
    links = "".join(f'<li><a href="{url}">{title}</a></li>' for url, title in entries)
    return f"<html><body><ul>{links}</ul></body></html>"


def _page(title: str) -> str:
    body = "各有关单位：现将方案印发给你们，请结合实际认真贯彻执行。" * 5
    return (f"<html><head><title>{title}</title></head><body><h1>{title}</h1><div><p>{body}</p>"
            '<p><a href="/f.docx">附件：方案.docx</a></p></div></body></html>')


def _alerts(state: Path) -> list[str]:
    return [item["title"] for path in sorted((state / "outbox").glob("*.json"))
            for item in json.loads(path.read_text("utf-8"))["items"]]


def test_an_attachment_briefly_down_delays_the_alert_but_never_loses_it(
        use_config: UseConfig, http_server: FixtureServer) -> None:
    state = use_config(ATTACHED.format(base=http_server.base_url)).parent / "state"
    http_server.set("/list.html", _list(("/old.html", "关于防汛的通知")))
    http_server.set("/old.html", _page("关于防汛的通知"))
    http_server.set("/f.docx", "gone", status=404)
    main(["check"])
    http_server.set("/list.html", _list(("/new.html", "关于印发实施方案的通知"),
                                        ("/old.html", "关于防汛的通知")))
    http_server.set("/new.html", _page("关于印发实施方案的通知"))
    http_server.set("/f.docx", "busy", status=503)
    main(["check"])
    assert _alerts(state) == []
    http_server.set("/f.docx", make_docx(["推进区块链技术创新应用"]),
                    content_type="application/octet-stream")
    main(["check"])
    assert _alerts(state) == ["关于印发实施方案的通知"], "the topic is in the attachment"


def test_an_attachment_briefly_down_is_not_a_change(
        use_config: UseConfig, http_server: FixtureServer) -> None:
    state = use_config(ATTACHED.format(base=http_server.base_url)).parent / "state"
    http_server.set("/list.html", _list(("/x.html", "关于区块链的通知")))
    http_server.set("/x.html", _page("关于区块链的通知"))
    http_server.set("/f.docx", make_docx(["推进区块链技术创新应用"]),
                    content_type="application/octet-stream")
    main(["check"])
    http_server.set("/list.html", _list(("/x.html", "关于区块链的通知（更新）")))
    http_server.set("/f.docx", "busy", status=503)
    main(["check"])
    assert _alerts(state) == [], "no 'changed' with the attachment text as removed"


ROBOTS = """\
version: 1
defaults: {{per_host_delay: 0s, retries: 0}}
sources:
  - {{id: r, kind: rss, url: "{base}/feed.xml"}}
topics:
  - {{id: t, terms: {{zh: [区块链]}}}}
"""


def test_robots_txt_of_a_public_site_cannot_redirect_into_private_space(
        use_config: UseConfig, http_server: FixtureServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.fetch import safety
    monkeypatch.setattr(safety, "_public", lambda address: str(address) != "127.0.0.2")
    internal = FixtureServer("127.0.0.2").start()
    try:
        internal.set("/latest/meta-data/", "SECRET", content_type="text/plain")
        use_config(ROBOTS.format(base=http_server.base_url))
        http_server.set("/robots.txt", "", status=302,
                        headers={"Location": internal.url("/latest/meta-data/")})
        http_server.set("/feed.xml", "<rss><channel><item><title>x</title><link>"
                        f"{http_server.url('/a')}</link></item></channel></rss>",
                        content_type="application/rss+xml")
        main(["check"])
        assert internal.received == [], "the metadata endpoint was never asked"
    finally:
        internal.stop()


def test_an_xlsx_that_expands_hugely_is_read_streaming_up_to_the_text_cap() -> None:
    import io
    import zipfile

    from monitor.sources.attachments import MAX_TEXT, extract_attachment
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        strings = "<si><t>区块链试点项目名单</t></si>" * 1_000_000  # 9M characters of text
        archive.writestr("xl/sharedStrings.xml", f"<sst>{strings}</sst>")
    text = extract_attachment(buffer.getvalue(), "https://gov.example/list.xlsx")
    assert MAX_TEXT <= len(text) < MAX_TEXT + 1000 and text.startswith("区块链试点项目名单")
