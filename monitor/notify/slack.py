"""SlackNotifier: the digest as Block Kit messages to a Slack incoming webhook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from monitor.config import SlackChannel
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError
from monitor.notify.webhook import post_json

MAX_BLOCKS = 50  # Slack's limit per message
ITEMS_PER_POST = MAX_BLOCKS - 2  # leaves room for the header and a closing context block
HEADER_LIMIT = 150
Block = dict[str, object]


class SlackNotifier:
    """Posts a header, one section per item and the matched terms; splits past 50 blocks.

    Slack incoming webhooks have no idempotency key: when a later part of a split message
    fails, retrying re-posts the earlier parts.
    """

    def __init__(self, channel: SlackChannel, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self.client = client

    def __repr__(self) -> str:
        return "SlackNotifier(url='**********')"

    async def send(self, message: OutboundMessage) -> None:
        """POST each part in order; stops at the first failure (same rules as webhooks)."""
        bodies = slack_bodies(message)
        for number, body in enumerate(bodies, start=1):
            label = f"slack (part {number} of {len(bodies)})"
            await self._post(body, label)

    async def _post(self, body: Block, label: str) -> None:
        url = self.channel.url.get_secret_value()
        await post_json(self.client, url, body, headers={}, label=label,
                        timeout=self.channel.timeout.total_seconds())


def slack_bodies(message: OutboundMessage) -> list[Block]:
    """The incoming-webhook bodies for a message, in order, each within the block limit."""
    payload = message.message.payload
    items = _items(payload)
    chunks = [items[start:start + ITEMS_PER_POST]
              for start in range(0, len(items), ITEMS_PER_POST)] or [[]]
    subject = message.message.subject
    return [_body(subject, chunk, number, len(chunks), payload)
            for number, chunk in enumerate(chunks, start=1)]


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _body(subject: str, items: Sequence[Mapping[str, object]], number: int, parts: int,
          payload: Mapping[str, object]) -> Block:
    title = subject if parts == 1 else f"{subject} ({number}/{parts})"
    blocks: list[Block] = [_header(title)]
    blocks.extend(_section(item) for item in items)
    omitted = payload.get("omitted", 0)
    if number == parts and isinstance(omitted, int) and omitted > 0:
        blocks.append(_context(f"…and {omitted} more"))
    return {"text": subject, "blocks": blocks}


def _header(text: str) -> Block:
    clipped = text if len(text) <= HEADER_LIMIT else text[: HEADER_LIMIT - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": clipped, "emoji": True}}


def _section(item: Mapping[str, object]) -> Block:
    url = str(item["url"]).replace("|", "%7C")
    title = escape(str(item["title"])).replace("|", "¦")
    facts = " · ".join(escape(str(part)) for part in _facts(item))
    lines = [f"*<{escape(url)}|{title}>*", facts]
    terms = _terms(item)
    if terms:
        lines.append("Matched: " + ", ".join(f"`{escape(term)}`" for term in terms))
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(text)}]}


def _facts(item: Mapping[str, object]) -> list[object]:
    published = item.get("published")
    date = str(published)[:10] if published else None
    return [part for part in (item.get("source_name"), date, item.get("change")) if part]


def _terms(item: Mapping[str, object]) -> list[str]:
    evidence = item.get("evidence")
    if not isinstance(evidence, list):
        return []
    return list(dict.fromkeys(str(entry["term"]) for entry in evidence
                              if isinstance(entry, dict) and "term" in entry))


def _items(payload: Mapping[str, object]) -> list[Mapping[str, object]]:
    items = payload.get("items")
    if not isinstance(items, list):
        raise DeliveryError("slack: the payload has no 'items' list", retryable=False)
    return [item for item in items if isinstance(item, dict)]
