"""SlackNotifier: the digest as Block Kit messages to a Slack incoming webhook."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from monitor.config import SlackChannel
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError
from monitor.notify.render import (
    OTHER,
    category_heading,
    category_label,
    display_date,
    highlight,
    region_label,
)
from monitor.notify.webhook import post_json

PART_PAUSE = 1.0  # seconds between the parts of a split message
MAX_BLOCKS = 50  # Slack's limit per message
HEADER_LIMIT = 150  # characters of a header block's text
SECTION_LIMIT = 3000  # characters of a section block's text
# Slack also rejects a message whose blocks carry too much text in all (msg_blocks_too_long,
# undocumented, seen from about 11,000 characters): stay well under it.
MESSAGE_TEXT_LIMIT = 9000
TITLE_LIMIT = 300  # characters of a title before escaping
MAX_SNIPPETS = 2  # matched snippets quoted per item
# Reserved in every message: the header, and the "…and N more" context at the end.
CONTENT_BLOCKS = MAX_BLOCKS - 2
CONTENT_TEXT = MESSAGE_TEXT_LIMIT - HEADER_LIMIT - 100
Block = dict[str, object]
# Slack only formats `code` at word boundaries; Chinese has none, so mark them invisibly.
_BOUNDARY = "\u200b"
_PARTIAL_ENTITY = re.compile(r"&[#a-z0-9]*$")


@dataclass(frozen=True)
class _Piece:
    """Blocks that travel together, and how many characters of text they carry."""

    blocks: tuple[Block, ...]
    chars: int


@dataclass(frozen=True)
class _Entry:
    """One item's section, and the heading of its group (sent before it when it opens the
    group, or opens a message)."""

    item: _Piece
    heading: _Piece | None
    opens_group: bool

    def blocks(self, first_in_message: bool) -> _Piece:
        if self.heading is None or not (self.opens_group or first_in_message):
            return self.item
        return _Piece((*self.heading.blocks, *self.item.blocks),
                      self.heading.chars + self.item.chars)


class SlackNotifier:
    """Posts a header, one section per item (with category and region headings when there are
    several groups) and "…and N more"; splits into several posts within Slack's limits.

    Slack incoming webhooks have no idempotency key, so each part posted is recorded in the
    outbox: a retry after a later part failed resumes there instead of posting the others again.
    """

    def __init__(self, channel: SlackChannel, client: httpx.AsyncClient, *,
                 part_pause: float = PART_PAUSE) -> None:
        self.channel = channel
        self.client = client
        self.part_pause = part_pause

    def __repr__(self) -> str:
        return "SlackNotifier(url='**********')"

    async def send(self, message: OutboundMessage) -> None:
        """POST each part in order, after those a previous attempt posted; stops at the first
        failure (same rules as webhooks). Parts are spaced PART_PAUSE apart (Slack allows about
        one message per second per webhook)."""
        bodies = slack_bodies(message)
        for number, body in enumerate(bodies, start=1):
            if number <= message.parts_sent:
                continue
            if number > message.parts_sent + 1:
                await asyncio.sleep(self.part_pause)
            await self._post(body, f"slack (part {number} of {len(bodies)})")
            if message.on_part_sent is not None and len(bodies) > 1:
                message.on_part_sent(number)

    async def _post(self, body: Block, label: str) -> None:
        url = self.channel.url.get_secret_value()
        await post_json(self.client, url, body, headers={}, label=label,
                        timeout=self.channel.timeout.total_seconds())


def slack_bodies(message: OutboundMessage) -> list[Block]:
    """The incoming-webhook bodies for a message, in order, each within Slack's limits: at
    most 50 blocks and MESSAGE_TEXT_LIMIT characters, a header of 150, sections of 3000."""
    payload = message.message.payload
    parts = _pack(_entries(_items(payload), _zone(payload)))
    subject = message.message.subject
    omitted = payload.get("omitted", 0)
    more = omitted if isinstance(omitted, int) and omitted > 0 else 0
    return [_body(subject, blocks, number, len(parts), more)
            for number, blocks in enumerate(parts, start=1)]


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip_mrkdwn(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with "…", never inside an escape (&amp;) or a link."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[:limit - 1])
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[:cut.rfind("<")]
    return cut.rstrip() + "…"


def _pack(entries: Sequence[_Entry]) -> list[list[Block]]:
    """Entries into messages, in order: a new message when blocks or text would overflow."""
    messages: list[list[Block]] = [[]]
    chars = 0
    for entry in entries:
        piece = entry.blocks(first_in_message=not messages[-1])
        if messages[-1] and (len(messages[-1]) + len(piece.blocks) > CONTENT_BLOCKS
                             or chars + piece.chars > CONTENT_TEXT):
            messages.append([])
            chars = 0
            piece = entry.blocks(first_in_message=True)
        messages[-1].extend(piece.blocks)
        chars += piece.chars
    return messages


def _entries(items: Sequence[Mapping[str, object]], zone: ZoneInfo) -> list[_Entry]:
    """A section per item; headings only when the items fall in more than one group."""
    groups = [_group(item) for item in items]
    several = len(set(groups)) > 1
    return [_Entry(_section(item, zone), _heading(group) if several else None,
                   index == 0 or groups[index - 1] != group)
            for index, (item, group) in enumerate(zip(items, groups, strict=True))]


def _body(subject: str, blocks: list[Block], number: int, parts: int, more: int) -> Block:
    suffix = "" if parts == 1 else f" ({number}/{parts})"
    header = _clip(subject, HEADER_LIMIT - len(suffix)) + suffix
    closing = [_context(f"…and {more} more")] if number == parts and more else []
    return {"text": escape(subject), "blocks": [_header(header), *blocks, *closing]}


def _header(text: str) -> Block:
    return {"type": "header",
            "text": {"type": "plain_text", "text": _clip(text, HEADER_LIMIT), "emoji": True}}


def _heading(group: tuple[str, str]) -> _Piece:
    category, region = group
    text = f"*{escape(category_heading(category))}* · {escape(region_label(region))}"
    return _Piece((_mrkdwn_context(text),), len(text))


def _section(item: Mapping[str, object], zone: ZoneInfo) -> _Piece:
    url = str(item["url"]).replace("|", "%7C")
    title = escape(_clip(str(item["title"]) or url, TITLE_LIMIT)).replace("|", "¦")
    lines = [f"*<{escape(url)}|{title}>*",
             " · ".join(escape(part) for part in _facts(item, zone))]
    details = _details(item)
    if details:
        lines.append(details)
    lines += [f">{_snippet(snippet, term)}" for term, snippet in _snippets(item)]
    also = _also(item)
    if also:
        lines.append(also)
    text = clip_mrkdwn("\n".join(lines), SECTION_LIMIT)
    return _Piece(({"type": "section", "text": {"type": "mrkdwn", "text": text}},), len(text))


def _context(text: str) -> Block:
    return _mrkdwn_context(escape(text))


def _mrkdwn_context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _facts(item: Mapping[str, object], zone: ZoneInfo) -> list[str]:
    date = _date(item.get("published"), zone)
    return [str(part) for part in (item.get("source_name"), date, item.get("change")) if part]


def _date(published: object, zone: ZoneInfo) -> str:
    """The publication date as digests show it; '' when unknown."""
    if not isinstance(published, str) or not published:
        return ""
    try:
        return display_date(datetime.fromisoformat(published), zone)
    except ValueError:
        return published[:10]


def _details(item: Mapping[str, object]) -> str:
    """`plan · Beijing, Hebei · 2020—2022年, 1000万元`, escaped; '' when nothing is known."""
    category = item.get("category")
    regions = _strings(item.get("regions"))
    facts = [str(f["text"]) for f in _dicts(item.get("facts")) if "text" in f][:6]
    parts = [category_label(str(category)) if category and category != OTHER else "",
             ", ".join(regions),
             ", ".join(dict.fromkeys(facts))]
    return " · ".join(escape(part) for part in parts if part)


def _snippets(item: Mapping[str, object]) -> list[tuple[str, str]]:
    entries = [(str(e.get("term", "")), str(e.get("snippet", "")))
               for e in _dicts(item.get("evidence"))]
    return [(term, snippet) for term, snippet in entries if snippet][:MAX_SNIPPETS]


def _snippet(snippet: str, term: str) -> str:
    """The snippet on one line, the term highlighted as `code`."""
    flat = " ".join(snippet.split()).replace("`", "'")
    return "".join(f"{_BOUNDARY}`{escape(text)}`{_BOUNDARY}" if hit else escape(text)
                   for text, hit in highlight(flat, term))


def _also(item: Mapping[str, object]) -> str:
    links = [f"<{escape(str(a['url']).replace('|', '%7C'))}|"
             f"{escape(str(a.get('source_name') or a['url'])).replace('|', '¦')}>"
             for a in _dicts(item.get("also_reported_by")) if "url" in a]
    return "Also reported by: " + ", ".join(links) if links else ""


def _zone(payload: Mapping[str, object]) -> ZoneInfo:
    """The subscriber's timezone from the payload (UTC for payloads made before it was there)."""
    try:
        return ZoneInfo(str(payload.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _group(item: Mapping[str, object]) -> tuple[str, str]:
    regions = _strings(item.get("regions"))
    return str(item.get("category") or OTHER), regions[0] if regions else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _strings(value: object) -> list[str]:
    return [str(entry) for entry in value] if isinstance(value, list) else []


def _dicts(value: object) -> list[dict[str, object]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _items(payload: Mapping[str, object]) -> list[Mapping[str, object]]:
    items = payload.get("items")
    if not isinstance(items, list):
        raise DeliveryError("slack: the payload has no 'items' list", retryable=False)
    return [item for item in items if isinstance(item, dict)]
