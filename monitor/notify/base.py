"""The Notifier role: send one rendered message, or raise a DeliveryError saying why."""

from __future__ import annotations

from typing import Protocol

from monitor.domain import OutboundMessage


class Notifier(Protocol):
    """Sends a rendered message; never renders, never touches the store.

    `send` returns on delivery and raises `monitor.errors.DeliveryError` otherwise, with
    `retryable` telling the caller whether trying the same delivery later may succeed.
    """

    async def send(self, message: OutboundMessage) -> None:
        """Deliver `message` once; idempotency derives from `message.idempotency_key`."""
        ...
