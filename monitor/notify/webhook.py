"""WebhookNotifier: POST the signed JSON payload to an HTTP endpoint; shared HTTP error rules."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr
from standardwebhooks import Webhook

from monitor.config import WebhookChannel
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError, http_status_retryable
from monitor.fetch.base import parse_retry_after

_EXCERPT = 200
SECRET_PREFIX = "whsec_"
RETRY_AFTER_STATUSES = frozenset({429, 503})


class WebhookNotifier:
    """POSTs the payload per the Standard Webhooks specification.

    The body is the digest payload of `monitor.notify.render.payload_for`: UTF-8 JSON with
    `"version": 1` (keys may be added within a version; a removal or change bumps it).
    Headers: `webhook-id` (the idempotency key, the same on every retry of a message),
    `webhook-timestamp` (Unix seconds of this attempt) and, when the channel has a `secret`
    (`whsec_<base64>`), `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
    `id.timestamp.body` over the exact bytes sent), verifiable with `standardwebhooks`.
    """

    def __init__(self, channel: WebhookChannel, client: httpx.AsyncClient,
                 *, clock: Callable[[], float] = time.time) -> None:
        """Raise ValueError (never quoting it) when the channel's secret is unusable."""
        self.channel = channel
        self.client = client
        self.clock = clock
        self._signer = webhook_signer(channel.secret)

    def __repr__(self) -> str:
        signed = self._signer is not None
        return f"WebhookNotifier(host={self.host!r}, signed={signed})"

    @property
    def host(self) -> str:
        """The endpoint's host: the one part of its URL safe to show."""
        return httpx.URL(str(self.channel.url)).host

    async def send(self, message: OutboundMessage) -> None:
        """POST once; 2xx is delivered, 408/429/5xx and network errors are retryable."""
        content = encode_json(message.message.payload)
        headers = self._headers(message.idempotency_key, int(self.clock()), content)
        await post_bytes(self.client, str(self.channel.url), content, headers=headers,
                         timeout=self.channel.timeout.total_seconds(),
                         label=f"webhook {self.host}")

    def _headers(self, webhook_id: str, timestamp: int, content: bytes) -> dict[str, str]:
        configured = self.channel.headers.items()
        headers = {name: value.get_secret_value() for name, value in configured}
        headers["webhook-id"] = webhook_id
        headers["webhook-timestamp"] = str(timestamp)
        if self._signer is not None:
            headers["webhook-signature"] = sign(self._signer, webhook_id, timestamp, content)
        return headers


def webhook_signer(secret: SecretStr | None) -> Webhook | None:
    """The signer for a `whsec_<base64>` secret; ValueError (secret not shown) if malformed."""
    if secret is None:
        return None
    value = secret.get_secret_value()
    if not value.startswith(SECRET_PREFIX):
        raise ValueError(f"the webhook secret must start with {SECRET_PREFIX!r}")
    encoded = value.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"the webhook secret after {SECRET_PREFIX!r} is not base64") from error
    if not key:
        raise ValueError(f"the webhook secret after {SECRET_PREFIX!r} is empty")
    return Webhook(key)


def sign(signer: Webhook, webhook_id: str, timestamp: int, content: bytes) -> str:
    """The `webhook-signature` value for these exact body bytes (UTF-8 JSON)."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return signer.sign(webhook_id, when, content.decode("utf-8"))


def encode_json(body: object) -> bytes:
    """`body` as compact-enough UTF-8 JSON (non-ASCII kept as is)."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


async def post_json(client: httpx.AsyncClient, url: str, body: object, *,
                    headers: dict[str, str], timeout: float, label: str) -> None:
    """POST `body` as UTF-8 JSON; raise DeliveryError unless the answer is 2xx."""
    await post_bytes(client, url, encode_json(body), headers=headers, timeout=timeout,
                     label=label)


async def post_bytes(client: httpx.AsyncClient, url: str, content: bytes, *,
                     headers: dict[str, str], timeout: float, label: str) -> None:
    """POST JSON bytes exactly as given; raise DeliveryError unless the answer is 2xx."""
    headers = {**headers, "Content-Type": "application/json"}
    with translate_http_errors(label):
        response = await client.post(url, content=content, headers=headers, timeout=timeout)
    check_status(response, label)


@contextmanager
def translate_http_errors(label: str) -> Iterator[None]:
    """httpx transport errors and timeouts -> retryable DeliveryError, the cause kept."""
    try:
        yield
    except httpx.TimeoutException as error:
        raise DeliveryError(f"{label}: timed out ({type(error).__name__})",
                            retryable=True) from error
    except httpx.TransportError as error:
        raise DeliveryError(f"{label}: {type(error).__name__}: {error}",
                            retryable=True) from error


def check_status(response: httpx.Response, label: str) -> None:
    """Return on 2xx; else DeliveryError with the status and a short body excerpt.

    A 429 or 503 with a Retry-After header (seconds or an HTTP date) sets `retry_after`.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    reason = f"{label}: HTTP {status}: {excerpt(response.text)}"
    if retry_after is not None:
        reason += f" (retry after {retry_after:.0f} s)"
    raise DeliveryError(reason, retryable=http_status_retryable(status), retry_after=retry_after)


def excerpt(text: str) -> str:
    """The body on one line, cut to a few hundred characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"
