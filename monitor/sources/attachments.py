"""Attached files of a detail page (方案, 通知 and their 附件): found as links, read as text.

PDF is read with pypdf, DOCX with python-docx; XLSX and OFD (the Chinese fixed-layout format)
are zip files of XML whose text is read directly. Legacy binary formats (.doc, .wps, .xls) have
no cheap pure-Python reader: they are refused before any download, with the reason.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, unquote, urldefrag, urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from monitor.errors import ExtractError

__all__ = ["attachment_name", "check_readable", "extract_attachment", "find_attachments"]

EXTENSIONS = (".pdf", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".ofd")
UNREADABLE = (".doc", ".wps", ".xls")  # binary OLE formats: no cheap pure-Python reader
MAX_FOUND = 50  # links kept per page; each source reads at most its max_attachments of them
MAX_PDF_PAGES = 500
MAX_TEXT = 500_000  # characters kept per attachment
MAX_UNZIPPED = 200 * 10**6  # bytes a DOCX, XLSX or OFD may expand to (a zip-bomb guard)
MAX_TREE_MEMBER = 20 * 10**6  # bytes of the one member parsed whole (a DOCX's document.xml)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SPACE = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def find_attachments(tree: Any, page_url: str) -> tuple[str, ...]:
    """Absolute URLs of the attachment links in an lxml HTML tree, deduplicated, page order."""
    found: dict[str, None] = {}
    for href in tree.xpath("//a/@href"):
        url = urldefrag(urljoin(page_url, str(href).strip()))[0]
        if _extension(url) and urlsplit(url).scheme in ("http", "https"):
            found.setdefault(url, None)
    return tuple(found)[:MAX_FOUND]


def attachment_name(url: str) -> str:
    """The file name a link points to: its path's last part, or a file name in its query."""
    parts = urlsplit(url)
    for name in (unquote(PurePosixPath(parts.path).name), *_query_values(parts.query)):
        if name.lower().endswith(EXTENSIONS):
            return PurePosixPath(name.replace("\\", "/")).name
    return unquote(PurePosixPath(parts.path).name) or url


def check_readable(url: str) -> None:
    """ExtractError when the link's file type cannot be read, so it is never downloaded."""
    extension = _extension(url)
    if extension in UNREADABLE:
        raise ExtractError(f"{url}: {extension} files (legacy binary Office/WPS) are not read; "
                           "no pure-Python reader handles them")


def extract_attachment(body: bytes, url: str) -> str:
    """The text of an attached file, recognised by its content; ExtractError when unreadable."""
    _quiet_logging()
    head = body[:1024]
    if b"%PDF-" in head:
        text = _pdf_text(body, url)
    elif body.startswith(b"PK\x03\x04"):
        text = _zip_text(body, url)
    elif body.startswith(_OLE):
        raise ExtractError(f"{url}: a legacy binary Office/WPS file; not read")
    elif head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        raise ExtractError(f"{url}: answered an HTML page, not a file (a login or error page?)")
    else:
        raise ExtractError(f"{url}: not a PDF, DOCX, XLSX or OFD file")
    text = _clean(text)[:MAX_TEXT]
    if not text:
        raise ExtractError(f"{url}: the file holds no text (a scanned image?)")
    return text


def _pdf_text(body: bytes, url: str) -> str:
    try:
        import pypdf  # noqa: PLC0415 (loaded only where attachments are read: the workers)

        reader = pypdf.PdfReader(io.BytesIO(body))
        return "\n".join(page.extract_text() for page in reader.pages[:MAX_PDF_PAGES])
    except Exception as error:  # pypdf raises many kinds on broken files; any means "unreadable"
        raise ExtractError(f"{url}: unreadable PDF: {error!r}") from error


def _zip_text(body: bytes, url: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise ExtractError(f"{url}: expands past {MAX_UNZIPPED} bytes (a zip bomb?)")
            names = archive.namelist()
            if "word/document.xml" in names:
                if archive.getinfo("word/document.xml").file_size > MAX_TREE_MEMBER:
                    raise ExtractError(f"{url}: document.xml larger than {MAX_TREE_MEMBER} bytes")
                return _docx_text(body)
            if "xl/workbook.xml" in names:
                return "\n".join(_xml_texts(archive, _xlsx_parts(names), "t"))
            if "OFD.xml" in names:
                return "\n".join(_xml_texts(archive, _ofd_pages(names), "TextCode"))
    except ExtractError:
        raise
    except Exception as error:  # zipfile, lxml and python-docx failures on a broken file
        raise ExtractError(f"{url}: unreadable file: {error!r}") from error
    raise ExtractError(f"{url}: a zip file that is not DOCX, XLSX or OFD")


def _docx_text(body: bytes) -> str:
    import docx  # noqa: PLC0415 (as pypdf)

    document = docx.Document(io.BytesIO(body))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        lines.extend(" ".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(lines)


def _xlsx_parts(names: list[str]) -> list[str]:
    """Shared strings, then the sheets (for their inline strings)."""
    return [n for n in names if n == "xl/sharedStrings.xml" or n.startswith("xl/worksheets/")]


def _ofd_pages(names: list[str]) -> list[str]:
    """Page contents in page order: Doc_0/Pages/Page_0/Content.xml, Page_1, …"""
    pages = [n for n in names if re.search(r"Pages/Page_\d+/Content\.xml$", n)]
    return sorted(pages, key=lambda n: [int(d) for d in re.findall(r"\d+", n)])


def _xml_texts(archive: zipfile.ZipFile, names: Iterable[str], tag: str) -> Iterator[str]:
    """The text of every element named `tag` (any namespace) in the given XML members.

    Streamed: each element is dropped once read, and reading stops after MAX_TEXT characters,
    so a small file that expands to a huge XML tree never builds it.
    """
    budget = MAX_TEXT
    for name in names:
        with archive.open(name) as member:
            for _, element in etree.iterparse(member, events=("end",), tag=f"{{*}}{tag}",
                                              resolve_entities=False, no_network=True):
                text = "".join(element.itertext())
                element.clear(keep_tail=False)
                budget -= len(text)
                yield text
                if budget <= 0:
                    return


@cache
def _quiet_logging() -> None:
    """pypdf logs every repair it makes to a damaged file; the reason we log is enough."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _extension(url: str) -> str | None:
    parts = urlsplit(url)
    for name in (unquote(parts.path), *_query_values(parts.query)):
        extension = PurePosixPath(name.lower()).suffix
        if extension in EXTENSIONS:
            return extension
    return None


def _query_values(query: str) -> list[str]:
    return [value.strip() for _, value in parse_qsl(query) if value.strip()]


def _clean(text: str) -> str:
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
