"""Building the MIME e-mail for an outbound message: text and HTML alternatives, UTF-8."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

from monitor.domain import OutboundMessage
from monitor.text import collapse_spaces

_MSG_ID_SAFE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}$")
UNDISCLOSED = "undisclosed-recipients:;"


def build_email(message: OutboundMessage, *, sender: str, to: list[str]) -> EmailMessage:
    """multipart/alternative (text/plain, then text/html) with stable Message-ID and Date."""
    email = EmailMessage(policy=default_policy)
    email["Subject"] = collapse_spaces(message.message.subject)
    email["From"] = sender
    email["To"] = ", ".join(to) if to else UNDISCLOSED
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message_id(message.idempotency_key)
    email["List-Id"] = f"<{message.subscription_id}.monitor>"
    email["X-Monitor-Delivery"] = str(message.delivery_id)
    email.set_content(message.message.text, charset="utf-8")
    email.add_alternative(message.message.html, subtype="html", charset="utf-8")
    return email


def message_id(idempotency_key: str) -> str:
    """`<key@monitor>`, the same for every retry; keys unfit for a Message-ID are hashed."""
    if _MSG_ID_SAFE.match(idempotency_key) and not idempotency_key.startswith("."):
        local = idempotency_key
    else:
        local = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{local}@monitor>"
