"""Text normalisation shared by every stage: whitespace, NFKC, control characters."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
# C0/C1 control characters but tab and newline: NUL breaks PostgreSQL, the rest is noise.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def collapse_spaces(text: str) -> str:
    """Every run of whitespace as one space, and none at either end."""
    return _SPACE.sub(" ", text).strip()


def normalised(text: str) -> str:
    """Text as compared and searched: NFKC, whitespace collapsed, trimmed."""
    return collapse_spaces(unicodedata.normalize("NFKC", text))


def without_controls(text: str) -> str:
    """Text safe to store: control characters (NUL included) removed, tab and newline kept."""
    return _CONTROL.sub("", text)
