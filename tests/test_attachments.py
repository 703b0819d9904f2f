"""Attachments: links found on detail pages, their text read and joined to the document."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx
import pytest
import trafilatura

from monitor.cli import main
from monitor.errors import ExtractError
from monitor.sources import attachments
from monitor.sources.article import extract_article
from monitor.sources.attachments import (
    attachment_name,
    check_readable,
    extract_attachment,
    find_attachments,
)
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import Post, detail_page, list_page

FIXTURES = Path(__file__).parent / "fixtures" / "attachments"
PDF = FIXTURES / "pilot_zones.pdf"
PAGE = "https://www.gov.example.cn/zcwj/202006/t20200630_1.html"


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose lines use the standard Helvetica font (so no font is embedded)."""
    ops = "BT /F1 14 Tf 72 720 Td 18 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


# --- finding links -------------------------------------------------------------------------

def _links(html: str) -> tuple[str, ...]:
    return find_attachments(trafilatura.load_html(html), PAGE)


def test_attachment_links_are_resolved_deduplicated_and_in_page_order() -> None:
    html = """<html><body><p>正文</p>
    <a href="P020200630.pdf">附件1</a><a href="/files/名单.DOCX#page=2">附件2</a>
    <a href="./P020200630.pdf">again</a>
    <a href="down.jsp?id=3&amp;filename=%E6%96%B9%E6%A1%88.xlsx">3</a>
    <a href="/other.html">not a file</a><a href="mailto:a@b.cn?subject=x.pdf">mail</a>
    <a href="report.pdf.html">a page</a></body></html>"""
    assert _links(html) == (
        "https://www.gov.example.cn/zcwj/202006/P020200630.pdf",
        "https://www.gov.example.cn/files/名单.DOCX",
        "https://www.gov.example.cn/zcwj/202006/down.jsp?id=3&filename=%E6%96%B9%E6%A1%88.xlsx",
    )


def test_extract_article_returns_the_attachment_links() -> None:
    post = Post("c1", "关于公布试点名单的通知", "2020-06-30",
                ["现将试点名单予以公布。", '附件：<a href="./P1.pdf">试点名单</a>'])
    found = extract_article(detail_page(post).encode(), "text/html", PAGE)
    assert found.attachments == ("https://www.gov.example.cn/zcwj/202006/P1.pdf",)


def test_attachment_names_come_from_the_path_or_the_query() -> None:
    assert attachment_name("https://a.cn/f/%E5%90%8D%E5%8D%95.pdf") == "名单.pdf"
    assert attachment_name("https://a.cn/down.jsp?filename=%E6%96%B9%E6%A1%88.docx") == "方案.docx"


def test_legacy_binary_formats_are_refused_before_download() -> None:
    for url in ("https://a.cn/x.doc", "https://a.cn/x.WPS", "https://a.cn/d.jsp?f=x.xls"):
        with pytest.raises(ExtractError, match="not read"):
            check_readable(url)
    check_readable("https://a.cn/x.pdf")


# --- reading files -------------------------------------------------------------------------

def test_the_pdf_fixture_is_the_one_make_pdf_writes() -> None:
    assert PDF.read_bytes() == make_pdf(
        ["Blockchain pilot zone list", "Annex 1: pilot cities and enterprises"])


def test_pdf_text_is_extracted() -> None:
    text = extract_attachment(PDF.read_bytes(), "https://a.cn/x.pdf")
    assert text == "Blockchain pilot zone list\nAnnex 1: pilot cities and enterprises"


def test_docx_paragraphs_and_tables_are_extracted() -> None:
    body = make_docx(["附件2", "区块链创新应用试点企业名单"], [["序号", "企业"], ["1", "某某科技"]])
    text = extract_attachment(body, "https://a.cn/x.docx")
    assert text == "附件2\n区块链创新应用试点企业名单\n序号 企业\n1 某某科技"


def test_xlsx_strings_are_extracted() -> None:
    body = make_zip({
        "xl/workbook.xml": "<workbook/>",
        "xl/sharedStrings.xml": '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                                '2006/main"><si><t>区块链</t></si><si><r><t>试点</t></r></si></sst>',
        "xl/worksheets/sheet1.xml": "<worksheet><c t='inlineStr'><is><t>名单</t></is></c>"
                                    "</worksheet>"})
    assert extract_attachment(body, "https://a.cn/x.xlsx") == "区块链\n试点\n名单"


def test_ofd_text_is_extracted_in_page_order() -> None:
    page = '<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:TextCode>{}</ofd:TextCode>' \
           "</ofd:Page>"
    body = make_zip({"OFD.xml": "<ofd:OFD/>",
                     "Doc_0/Pages/Page_10/Content.xml": page.format("第二页"),
                     "Doc_0/Pages/Page_2/Content.xml": page.format("区块链试点方案")})
    assert extract_attachment(body, "https://a.cn/x.ofd") == "区块链试点方案\n第二页"


@pytest.mark.parametrize(("body", "reason"), [
    (PDF.read_bytes()[:300], "unreadable PDF"),
    ("<!DOCTYPE html><html><body>请登录</body></html>".encode(), "HTML page"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "legacy binary"),
    (b"PK\x03\x04 not really a zip", "unreadable file"),
    (make_zip({"a.txt": "x"}), "not DOCX, XLSX or OFD"),
    (b"plain bytes", "not a PDF"),
    (make_pdf([]), "no text"),
])
def test_unreadable_files_raise_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(ExtractError, match=reason):
        extract_attachment(body, "https://a.cn/x.pdf")


def test_a_zip_that_expands_too_far_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attachments, "MAX_UNZIPPED", 1000)
    body = make_docx(["区块链"])
    with pytest.raises(ExtractError, match="zip bomb"):
        extract_attachment(body, "https://a.cn/x.docx")


# --- a live portal -------------------------------------------------------------------------

CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    follow: true
    baseline: false{extra}
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链], en: [blockchain]}}
subscriptions:
  - id: now
    mode: immediate
    channel: {{kind: file}}
"""
NOTICE = Post("c1", "关于公布第一批试点名单的通知", "2020-06-30",
              ["各有关单位：经评审，现将第一批试点名单予以公布。", "请各地做好组织实施工作。"])


def _publish(server: FixtureServer, links: list[str]) -> None:
    paragraphs = [*NOTICE.paragraphs, *(f'附件：<a href="{href}">附件</a>' for href in links)]
    server.set("/zcwj/index.html", list_page([NOTICE], "./"))
    server.set("/zcwj/c1.html", detail_page(Post(NOTICE.slug, NOTICE.title, NOTICE.date,
                                                 paragraphs)))


def _stored_text(tmp_path: Path) -> str:
    out = tmp_path / "docs.jsonl"
    main(["export", "documents", "-o", str(out)])
    [document] = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    return str(document["text"])


def _alerted(tmp_path: Path) -> list[str]:
    return [item["title"] for path in sorted((tmp_path / "state" / "outbox").glob("*.json"))
            for item in json.loads(path.read_text("utf-8"))["items"]]


def test_attachment_text_joins_the_document_and_the_topic_matches_through_it(
        use_config: UseConfig, http_server: FixtureServer, tmp_path: Path) -> None:
    use_config(CONFIG.format(base=http_server.base_url, extra=""))
    _publish(http_server, ["P1.pdf", "/files/download.jsp?filename=list.docx"])
    http_server.set("/zcwj/P1.pdf", PDF.read_bytes(), content_type="application/pdf")
    http_server.set("/files/download.jsp", make_docx(["附件2：试点企业名单", "某某科技有限公司"]),
                    content_type="application/octet-stream")
    assert main(["check"]) == 0
    text = _stored_text(tmp_path)
    assert text.startswith("各有关单位：经评审"), "the page's own text comes first"
    assert "\n\n[附件] P1.pdf\nBlockchain pilot zone list\nAnnex 1" in text
    assert text.endswith("\n\n[附件] list.docx\n附件2：试点企业名单\n某某科技有限公司")
    assert _alerted(tmp_path) == [NOTICE.title], "blockchain is only in the PDF"


def test_broken_oversized_foreign_and_legacy_attachments_are_skipped(
        use_config: UseConfig, http_server: FixtureServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url, extra="\n    max_attachment_size: 3KB"))
    foreign = http_server.base_url.replace("127.0.0.1", "localhost") + "/elsewhere/x.pdf"
    _publish(http_server, ["broken.pdf", "big.pdf", foreign, "old.doc", "gone.pdf"])
    http_server.set("/zcwj/broken.pdf", PDF.read_bytes()[:300], content_type="application/pdf")
    http_server.set("/zcwj/big.pdf", PDF.read_bytes() + b" " * 4000,
                    content_type="application/pdf")
    assert main(["check"]) == 0
    errors = capsys.readouterr().err
    assert "broken.pdf: unreadable PDF" in errors
    assert "big.pdf: body larger than 3000 bytes" in errors
    assert "leaves the source's host" in errors
    assert "old.doc: .doc files" in errors
    assert "gone.pdf: HTTP 404" in errors
    text = _stored_text(tmp_path)
    assert "第一批试点名单" in text and "[附件]" not in text, "the item is stored without them"
    assert _alerted(tmp_path) == []
    fetched = {request.path for request in http_server.received}
    assert "/elsewhere/x.pdf" not in fetched and "/zcwj/old.doc" not in fetched


def test_attachments_are_not_read_when_the_source_says_so(
        use_config: UseConfig, http_server: FixtureServer, tmp_path: Path) -> None:
    use_config(CONFIG.format(base=http_server.base_url, extra="\n    attachments: false"))
    _publish(http_server, ["P1.pdf"])
    http_server.set("/zcwj/P1.pdf", PDF.read_bytes(), content_type="application/pdf")
    assert main(["check"]) == 0
    assert "[附件]" not in _stored_text(tmp_path)
    assert "/zcwj/P1.pdf" not in {request.path for request in http_server.received}


def test_only_max_attachments_are_read(
        use_config: UseConfig, http_server: FixtureServer, tmp_path: Path) -> None:
    use_config(CONFIG.format(base=http_server.base_url, extra="\n    max_attachments: 1"))
    _publish(http_server, ["P1.pdf", "P2.pdf"])
    for name in ("P1.pdf", "P2.pdf"):
        http_server.set(f"/zcwj/{name}", PDF.read_bytes(), content_type="application/pdf")
    assert main(["check"]) == 0
    assert _stored_text(tmp_path).count("[附件]") == 1
    assert "/zcwj/P2.pdf" not in {request.path for request in http_server.received}
