"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it receives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller


class Recorder:
    """An aiosmtpd handler that keeps what it receives, or answers with a set refusal."""

    def __init__(self, *, rcpt_answer: str | None = None, data_answer: str = "250 OK") -> None:
        self.rcpt_answer = rcpt_answer
        self.data_answer = data_answer
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server: object, session: object, envelope: object,
                          address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object,
                          envelope: object) -> str:
        if self.data_answer.startswith("250"):
            content: bytes = envelope.original_content  # type: ignore[attr-defined]
            parsed = message_from_bytes(content, policy=default_policy)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, envelope.rcpt_tos))  # type: ignore[attr-defined]
        return self.data_answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(handler: Recorder, **options: Any) -> Iterator[int]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
