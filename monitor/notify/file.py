"""FileNotifier: each message as an .eml and a .json file, written atomically."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError
from monitor.notify.mime import build_email

SENDER = "monitor@localhost"


class FileNotifier:
    """Writes `{created_at}-{subscription}-{delivery}.eml` and `.json` into `directory`.

    The same delivery always gets the same names, so a retry overwrites instead of duplicating.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"FileNotifier({str(self.directory)!r})"

    async def send(self, message: OutboundMessage) -> None:
        """Write both files; an OSError becomes a retryable DeliveryError."""
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as error:
            reason = f"cannot write to {self.directory}: {error.strerror or error}"
            raise DeliveryError(reason, retryable=True) from error

    def stem(self, message: OutboundMessage) -> str:
        """The file name without extension for this delivery."""
        stamp = f"{message.created_at:%Y%m%dT%H%M%S}"
        return f"{stamp}-{message.subscription_id}-{message.delivery_id}"

    def _write(self, message: OutboundMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = self.stem(message)
        email = build_email(message, sender=SENDER, to=[f"{message.subscription_id}@localhost"])
        _write_atomic(self.directory / f"{stem}.eml", email.as_bytes())
        _write_atomic(self.directory / f"{stem}.json", _json_record(message))


def _json_record(message: OutboundMessage) -> bytes:
    record = {**message.message.payload, "subject": message.message.subject,
              "idempotency_key": message.idempotency_key, "delivery_id": message.delivery_id}
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
