"""build_email: headers safe from injection, UTF-8 subjects, List-Unsubscribe, more.csv."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from monitor.domain import OutboundMessage, RenderedMessage
from monitor.notify.mime import MORE_COLUMNS, build_email, list_id, more_csv, unsubscribe_target
from tests.test_notify_render import CHINESE_TITLE, NOW

LONG_URL = "https://monitor.example.org/unsubscribe/alice?token=" + "0123456789abcdef" * 6


RENDERED = RenderedMessage(
    subject=f"New blockchain-policy document: {CHINESE_TITLE}",
    text=f"{CHINESE_TITLE}\nhttps://www.pbc.gov.cn/doc/0.html\n",
    html=f'<p><a href="https://www.pbc.gov.cn/doc/0.html">{CHINESE_TITLE}</a></p>\n',
    payload={"version": 1, "subscription": "alice", "items": [], "omitted": 0})


def outbound(**changes: Any) -> OutboundMessage:
    """A rendered one-item message (templates not involved); `subject`/`payload` change the
    rendering, other keywords the OutboundMessage."""
    rendered = {key: changes.pop(key) for key in ("subject", "payload") if key in changes}
    message = OutboundMessage(7, "alice-7-k3y", "alice", replace(RENDERED, **rendered), NOW)
    return replace(message, **changes)


def sent(message: OutboundMessage, *, sender: str = "monitor@example.org",
         to: tuple[str, ...] = ("alice@example.org",)) -> tuple[bytes, EmailMessage]:
    """The e-mail as bytes on the wire (CRLF) and as a receiver parses them back."""
    data = build_email(message, sender=sender, to=list(to)).as_bytes(policy=default_policy.clone(
        linesep="\r\n"))
    parsed = message_from_bytes(data, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return data, parsed


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def test_chinese_subject_is_encoded_ascii_and_decodes_back() -> None:
    subject = f"新 {CHINESE_TITLE} — « régulation » des cryptomonnaies"
    data, email = sent(outbound(subject=subject))
    assert header_block(data).isascii()
    assert b"=?utf-8?" in header_block(data)
    assert str(email["Subject"]) == subject
    assert max(len(line) for line in header_block(data).split(b"\r\n")) <= 78


def test_standard_headers() -> None:
    _, email = sent(outbound())
    assert email["Message-ID"] == "<alice-7-k3y@monitor>"
    assert parsedate_to_datetime(str(email["Date"])) == NOW
    assert email["List-Id"] == "<alice.monitor>"
    assert email["From"] == "monitor@example.org"
    assert email["To"] == "alice@example.org"
    assert email.get_content_type() == "multipart/alternative"


@pytest.mark.parametrize("field", ["subject", "subscription_id", "sender", "to"])
def test_header_injection_is_neutralised(field: str) -> None:
    evil = "x\r\nBcc: eve@example.org\r\nX-Injected: yes\n\rContent-Type: text/evil"
    changes: dict[str, Any] = {}
    sender, to = "monitor@example.org", ("alice@example.org",)
    if field == "sender":
        sender = f"monitor@example.org{evil}"
    elif field == "to":
        to = (f"alice@example.org{evil}",)
    else:
        changes[field] = evil
    data, email = sent(outbound(**changes), sender=sender, to=to)
    names = [line.split(b":", 1)[0].lower() for line in header_block(data).split(b"\r\n")
             if line and not line[:1].isspace()]
    assert b"bcc" not in names and b"x-injected" not in names
    assert names.count(b"content-type") == 1
    assert email.get_content_type() == "multipart/alternative"


def test_other_line_breaks_and_controls_become_spaces_in_the_subject() -> None:
    _, email = sent(outbound(subject="a\u2028b\x85c\x0bd\x00e\x1bf\tg"))
    assert str(email["Subject"]) == "a b c d e f g"


def test_list_id_keeps_only_dot_atom_characters() -> None:
    assert list_id("alice") == "<alice.monitor>"
    assert list_id("team_a.daily-1") == "<team_a.daily-1.monitor>"
    assert list_id("a b\r\n<c>") == "<a-b-c-.monitor>"


def test_no_unsubscribe_headers_without_a_url() -> None:
    data, email = sent(outbound())
    assert email["List-Unsubscribe"] is None and email["List-Unsubscribe-Post"] is None
    assert b"List-Unsubscribe" not in data


def test_https_unsubscribe_gets_one_click_post() -> None:
    data, email = sent(outbound(unsubscribe_url=LONG_URL))
    # the long URL is written as is on one line, never RFC 2047-encoded
    assert f"\r\nList-Unsubscribe: <{LONG_URL}>\r\n".encode() in data
    assert email["List-Unsubscribe"] == f"<{LONG_URL}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("url", ["http://example.org/u?id=1", "mailto:leave@example.org"])
def test_one_click_only_for_https(url: str) -> None:
    _, email = sent(outbound(unsubscribe_url=url))
    assert email["List-Unsubscribe"] == f"<{url}>"
    assert email["List-Unsubscribe-Post"] is None


def test_unsubscribe_url_cannot_inject() -> None:
    data, email = sent(outbound(unsubscribe_url="https://x.org/u>\r\nBcc: eve@example.org <"))
    assert b"\r\nBcc:" not in data
    assert email["List-Unsubscribe"] == "<https://x.org/uBcc:eve@example.org>"


def test_unsubscribe_target() -> None:
    assert unsubscribe_target("https://x.org/退订?a=1&b=%20") == (
        "https://x.org/%E9%80%80%E8%AE%A2?a=1&b=%20")
    assert unsubscribe_target("javascript:alert(1)") is None
    assert unsubscribe_target("https://x.org/" + "a" * 1000) is None


def test_unusable_unsubscribe_url_is_left_out() -> None:
    _, email = sent(outbound(unsubscribe_url="ftp://x.org/u"))
    assert email["List-Unsubscribe"] is None and email["List-Unsubscribe-Post"] is None


def more_item(index: int, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "url": f"https://www.pbc.gov.cn/doc/{index}.html?a=1&b=2", "title": CHINESE_TITLE,
        "source": "pbc", "source_name": "中国人民银行", "published": "2024-05-01T00:00:00+08:00",
        "language": "zh", "change": "new", "topics": ["crypto-ban"], "category": "notice",
        "regions": ["北京", "河北"], "facts": [], "score": 0.9}
    return {**item, **changes}


def attachment_rows(email: EmailMessage) -> list[dict[str, str]]:
    [attachment] = list(email.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "more.csv"
    data = attachment.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith("\ufeff".encode())
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    assert tuple(reader.fieldnames or ()) == MORE_COLUMNS
    return list(reader)


def test_more_items_are_attached_as_csv() -> None:
    more = [more_item(8), more_item(9, title='Plan, "phase 2"\nannex', regions=[],
                                    published=None, category=None)]
    _, email = sent(outbound(payload={"version": 1, "items": [], "omitted": 2, "more": more}))
    assert email.get_content_type() == "multipart/mixed"
    alternative, _ = email.iter_parts()
    parts = [part.get_content_type() for part in alternative.iter_parts()]
    assert alternative.get_content_type() == "multipart/alternative"
    assert parts == ["text/plain", "text/html"]
    body = email.get_body(("plain",))
    assert body is not None and CHINESE_TITLE in body.get_content()
    first, second = attachment_rows(email)
    assert first == {"title": CHINESE_TITLE, "url": more[0]["url"], "source": "中国人民银行",
                     "published": "2024-05-01T00:00:00+08:00", "category": "notice",
                     "regions": "北京; 河北"}
    assert second == {"title": 'Plan, "phase 2"\nannex', "url": more[1]["url"],
                      "source": "中国人民银行", "published": "", "category": "", "regions": ""}


@pytest.mark.parametrize("payload", [{}, {"more": []}, {"more": None}])
def test_no_attachment_without_more_items(payload: dict[str, object]) -> None:
    _, email = sent(outbound(payload=payload))
    assert email.get_content_type() == "multipart/alternative"
    assert list(email.iter_attachments()) == []


def test_csv_cells_that_look_like_formulas_are_quoted() -> None:
    data = more_csv([more_item(1, title="=HYPERLINK(\"http://evil\")", category="+1",
                               source_name="@src"), "not an item"])
    [row] = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    assert row["title"] == "'=HYPERLINK(\"http://evil\")"
    assert row["category"] == "'+1" and row["source"] == "'@src"


def test_source_id_stands_in_for_a_missing_name() -> None:
    data = more_csv([more_item(1, source_name=None)])
    [row] = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    assert row["source"] == "pbc"
