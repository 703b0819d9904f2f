"""Logging set-up: one structured line per event, JSON when not on a terminal, secrets masked."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
MASK = "**********"
MIN_SECRET = 4  # shorter values would mask ordinary words


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_text or record.exc_info:
            line["exception"] = record.exc_text or self.formatException(
                record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", json_lines: bool | None = None) -> None:
    """Log to stderr; JSON lines unless stderr is a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler.setFormatter(JsonFormatter() if use_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # At DEBUG these would log request URLs: chat bot tokens (apprise, urllib3, requests).
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "htmldate",
                  "charset_normalizer", "alembic", "apprise", "urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class SecretMask(logging.Filter):
    """Replaces configured secret values wherever a record carries them: its message, its
    extra fields and its exception text. A library logging a URL with a token in it, or an
    error quoting a password, then shows `**********` instead."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.mask(record.getMessage()), None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.mask(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def mask_secrets(secrets: Iterable[str]) -> None:
    """Mask these values in everything the root logger's handlers write from now on."""
    mask = SecretMask(secrets)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretMask)]:
            handler.removeFilter(old)
        handler.addFilter(mask)
