"""Building the MIME e-mail for an outbound message: alternatives, safe headers, more.csv."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from monitor.domain import OutboundMessage
from monitor.text import collapse_spaces

log = logging.getLogger(__name__)

_MSG_ID_SAFE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}$")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # CR, LF and every other C0/C1 control
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_URL_UNSAFE = re.compile(r"[\x00-\x20<>\x7f-\x9f]+")  # controls, spaces, angle brackets
_URL_SAFE_CHARS = "!#$%&'()*+,/:;=?@[]~-._"
_HEADER_LINE_LIMIT = 900  # RFC 5322 allows 998 octets a line; leave room for the name
UNDISCLOSED = "undisclosed-recipients:;"
ONE_CLICK = "List-Unsubscribe=One-Click"
MORE_CSV = "more.csv"
MORE_COLUMNS = ("title", "url", "source", "published", "category", "regions")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RawHeader:
    """A header written exactly as given: never RFC 2047-encoded nor folded inside a URL.

    The email package encodes a long ASCII token (an unsubscribe URL) as encoded-words, which
    receivers do not decode in List-Unsubscribe; the value must be ASCII without CR/LF.
    """

    name: str
    value: str

    def fold(self, *, policy: Policy) -> str:
        """The whole header line, as the email package's generators ask for it."""
        return f"{self.name}: {self.value}{policy.linesep}"

    def __str__(self) -> str:
        return self.value


def build_email(message: OutboundMessage, *, sender: str, to: list[str]) -> EmailMessage:
    """multipart/alternative (text, HTML), with `more.csv` in multipart/mixed when owed."""
    email = EmailMessage(policy=default_policy)
    _set_headers(email, message, sender=sender, to=to)
    email.set_content(message.message.text, charset="utf-8")
    email.add_alternative(message.message.html, subtype="html", charset="utf-8")
    more = message.message.payload.get("more")
    if isinstance(more, list) and more:
        email.add_attachment(more_csv(more), maintype="text", subtype="csv",
                             filename=MORE_CSV, params={"charset": "utf-8"})
    return email


def _set_headers(email: EmailMessage, message: OutboundMessage, *, sender: str,
                 to: list[str]) -> None:
    """Every value made from data is cleaned: no CR/LF can start a header of its own."""
    email["Subject"] = header_text(message.message.subject)
    email["From"] = header_text(sender)
    email["To"] = ", ".join(header_text(address) for address in to) if to else UNDISCLOSED
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message_id(message.idempotency_key)
    email["List-Id"] = list_id(message.subscription_id)
    email["X-Monitor-Delivery"] = str(message.delivery_id)
    if message.unsubscribe_url:
        _set_unsubscribe(email, message.unsubscribe_url)


def _set_unsubscribe(email: EmailMessage, url: str) -> None:
    """List-Unsubscribe (RFC 2369); one-click POST (RFC 8058) only for an HTTPS URL."""
    cleaned = unsubscribe_target(url)
    if cleaned is None:
        log.warning("unsubscribe URL left out of the e-mail: unusable %r", url[:100])
        return
    email["List-Unsubscribe"] = RawHeader("List-Unsubscribe", f"<{cleaned}>")
    if cleaned.lower().startswith("https://"):
        email["List-Unsubscribe-Post"] = ONE_CLICK


def header_text(value: str) -> str:
    """One line of header text: each run of controls and whitespace (CR, LF too) one space."""
    return collapse_spaces(_CONTROLS.sub(" ", value))


def unsubscribe_target(url: str) -> str | None:
    """`url` as ASCII fit for `<…>`: spaces, controls and brackets out; None if unusable."""
    cleaned = quote(_URL_UNSAFE.sub("", url), safe=_URL_SAFE_CHARS)
    scheme = cleaned.split(":", 1)[0].lower()
    if scheme not in {"https", "http", "mailto"} or len(cleaned) > _HEADER_LINE_LIMIT:
        return None
    return cleaned


def list_id(subscription_id: str) -> str:
    """`<subscription.monitor>` (RFC 2919); characters a dot-atom cannot hold become '-'."""
    label = _NOT_ATEXT.sub("-", subscription_id).strip(".") or "subscription"
    return f"<{label[:200]}.monitor>"


def message_id(idempotency_key: str) -> str:
    """`<key@monitor>`, the same for every retry; keys unfit for a Message-ID are hashed."""
    if _MSG_ID_SAFE.match(idempotency_key) and not idempotency_key.startswith("."):
        local = idempotency_key
    else:
        local = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{local}@monitor>"


def more_csv(items: Sequence[object]) -> bytes:
    """The items past max_items as CSV, UTF-8 with a BOM so spreadsheets read Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MORE_COLUMNS)
    for item in items:
        if isinstance(item, Mapping):
            writer.writerow([_cell(value) for value in _more_row(item)])
    return buffer.getvalue().encode("utf-8-sig")


def _more_row(item: Mapping[str, Any]) -> tuple[object, ...]:
    """The columns of one payload item; the source's name when known, else its id."""
    regions = item.get("regions") or ()
    joined = "; ".join(str(region) for region in regions) if isinstance(regions, list) else ""
    return (item.get("title"), item.get("url"), item.get("source_name") or item.get("source"),
            item.get("published"), item.get("category"), joined)


def _cell(value: object) -> str:
    """Text of one cell; a formula-looking start is quoted so spreadsheets show, not run, it."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
