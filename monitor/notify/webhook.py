"""WebhookNotifier: POST the JSON payload to an HTTP endpoint; shared HTTP error rules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from monitor.config import WebhookChannel
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError, http_status_retryable

_EXCERPT = 200


class WebhookNotifier:
    """POSTs the payload with `webhook-id` (the idempotency key) and `webhook-timestamp`."""

    def __init__(self, channel: WebhookChannel, client: httpx.AsyncClient,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.channel = channel
        self.client = client
        self.clock = clock

    def __repr__(self) -> str:
        return f"WebhookNotifier({httpx.URL(self.channel.url).host!r})"

    async def send(self, message: OutboundMessage) -> None:
        """POST once; 2xx is delivered, 408/429/5xx and network errors are retryable."""
        headers = {
            **self.channel.headers,
            "webhook-id": message.idempotency_key,
            "webhook-timestamp": str(int(self.clock())),
        }
        await post_json(self.client, self.channel.url, message.message.payload,
                        headers=headers, timeout=self.channel.timeout.total_seconds(),
                        label=f"webhook {httpx.URL(self.channel.url).host}")


async def post_json(client: httpx.AsyncClient, url: str, body: object, *,
                    headers: dict[str, str], timeout: float, label: str) -> None:
    """POST `body` as UTF-8 JSON; raise DeliveryError unless the answer is 2xx."""
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
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
    """Return on 2xx; else DeliveryError with the status and a short body excerpt."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = http_status_retryable(status)
    reason = f"{label}: HTTP {status}: {excerpt(response.text)}"
    raise DeliveryError(reason, retryable=retryable)


def excerpt(text: str) -> str:
    """The body on one line, cut to a few hundred characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"
