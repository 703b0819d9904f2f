"""The `page` source kind: one page watched as a whole, and a sentence diff of its changes."""

from __future__ import annotations

import difflib
import re

from monitor.config.models import PageSource, SourceBase
from monitor.domain import Fetched, Item
from monitor.errors import ExtractError
from monitor.sources.article import extract_article
from monitor.sources.urls import canonical_url

# A sentence ends at 。！？!?, at a '.' before a space or the end
# (so 3.5 and example.gov.cn stay whole), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)(?=\s|$)|\n")


def extract_page(fetched: Fetched, source: SourceBase) -> list[Item]:
    """The page's main text as one item at the configured URL; ExtractError if it has none."""
    if not isinstance(source, PageSource):
        raise ExtractError(f"source '{source.id}' is not a page source")
    article = extract_article(fetched.body, fetched.content_type, fetched.url, source.timezone)
    return [Item(url=canonical_url(source.url), title=article.title, published=article.published,
                 text=article.text, language=article.language or source.language)]


def sentences(text: str) -> list[str]:
    """`text` split into sentences, each stripped; empty pieces left out."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()]


def sentence_diff(old: str, new: str) -> tuple[list[str], list[str]]:
    """The sentences added in `new` and removed from `old`, each in document order."""
    before, after = sentences(old), sentences(new)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    added: list[str] = []
    removed: list[str] = []
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed.extend(before[old_start:old_end])
        if tag in ("replace", "insert"):
            added.extend(after[new_start:new_end])
    return added, removed
