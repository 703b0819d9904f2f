"""Finding many labelled terms in one pass: the text folded for search, one regex per term set."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.classify._trie import trie_pattern
from monitor.text import collapse_spaces

# Full-width letters and digits (ｂｌｏｃｋ, ２０２０) read as ASCII; Chinese punctuation stays.
_FULLWIDTH_ALNUM = {code: code - 0xFEE0 for start, stop in ((0xFF10, 0xFF1A), (0xFF21, 0xFF3B),
                                                          (0xFF41, 0xFF5B))
                    for code in range(start, stop)}
_APOSTROPHES = {ord(c): "'" for c in "’ʼ‘´`"}
_LATIN = r"A-Za-z0-9À-ÖØ-öø-ÿ"


_FOLD: dict[int, int | str] = {**_FULLWIDTH_ALNUM, **_APOSTROPHES, 0xFF07: "'", 0x2032: "'"}


def searchable(text: str) -> str:
    """Text as matched and quoted: full-width letters, digits and apostrophes folded."""
    return collapse_spaces(text.translate(_FOLD))


@dataclass(frozen=True)
class Hit:
    """One occurrence of a term: which term, under which labels, where in the searched text."""

    term: str
    labels: tuple[str, ...]
    start: int
    end: int


class TermIndex:
    """Labelled terms compiled into two regexes (Chinese, Latin), so a text is scanned twice
    for all of them, however many there are.

    A Latin term must start and end at a word boundary (a plural `s`, `es` or `x` is allowed,
    and a term ending in `*` is a prefix); Chinese terms match anywhere. The longest term wins
    where terms overlap, and a term carries the labels of the terms inside it too
    (政府工作报告 counts as 政府). Matching ignores case.
    """

    def __init__(self, labelled: Mapping[str, Iterable[str]]) -> None:
        self._labels: dict[str, list[str]] = {}
        for label, terms in labelled.items():
            for term in terms:
                key = _key(term)
                if key and label not in self._labels.setdefault(key, []):
                    self._labels[key].append(label)
        _inherit_inner_labels(self._labels)
        self._prefixes = {key for key in self._labels if key.endswith("*")}
        self._unspaced = {key.replace(" ", ""): key for key in self._labels}
        self._seen: dict[str, str] = {}  # matched text → its term (texts repeat: a small memo)
        self._han = _han_pattern([k for k in self._labels if not _is_latin(k)])
        self._latin = _latin_pattern([k for k in self._labels if _is_latin(k)])

    def find(self, text: str) -> list[Hit]:
        """Every hit in `text` (already `searchable`), left to right, none overlapping."""
        lowered = _lowered(text)
        found = [hit for pattern in (self._han, self._latin) if pattern is not None
                 for hit in pattern.finditer(lowered)]
        found.sort(key=lambda hit: hit.start())
        hits: list[Hit] = []
        for match in found:
            if hits and match.start() < hits[-1].end:
                continue  # a Latin term inside a Chinese one, or the reverse
            hits.append(self._hit(match))
        return hits

    def _hit(self, found: re.Match[str]) -> Hit:
        matched = found.group()
        term = self._seen.get(matched)
        if term is None:
            term = self._seen.setdefault(matched, self._term(_key(matched)))
        return Hit(term, tuple(self._labels.get(term, ())), found.start(), found.end())

    def _term(self, key: str) -> str:
        """The configured term a matched text stands for: itself, its singular, its prefix."""
        if key in self._labels:
            return key
        if key.replace(" ", "") in self._unspaced:
            return self._unspaced[key.replace(" ", "")]
        for ending in ("s", "es", "x"):
            if key.endswith(ending) and key[:-len(ending)] in self._labels:
                return key[:-len(ending)]
        return next((prefix for prefix in self._prefixes if key.startswith(prefix[:-1])), key)


def _key(term: str) -> str:
    return _lowered(searchable(term))


def _is_latin(key: str) -> bool:
    return key[:1].isascii() and key[:1].isalnum()


def _lowered(text: str) -> str:
    """Lower case, as long as the text (a letter whose lower case is longer stays as it is)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _inherit_inner_labels(labels: dict[str, list[str]]) -> None:
    """A term found inside a longer term (at word boundaries for Latin) lends it its labels."""
    keys = sorted(labels, key=len)
    for inner_index, inner in enumerate(keys):
        inner_pattern = _latin_pattern([inner]) if _is_latin(inner) else _han_pattern([inner])
        assert inner_pattern is not None
        for outer in keys[inner_index + 1:]:
            if len(outer) > len(inner) and inner_pattern.search(outer):
                labels[outer].extend(label for label in labels[inner]
                                     if label not in labels[outer])


def _han_pattern(keys: list[str]) -> re.Pattern[str] | None:
    return re.compile(trie_pattern(keys, _char)) if keys else None


def _latin_pattern(keys: list[str]) -> re.Pattern[str] | None:
    whole = [key for key in keys if not key.endswith("*")]
    prefixes = [key[:-1] for key in keys if key.endswith("*")]
    parts = []
    if whole:
        parts.append(rf"(?:{trie_pattern(whole, _char)})(?:es|s|x)?(?![{_LATIN}])")
    if prefixes:
        parts.append(rf"(?:{trie_pattern(prefixes, _char)})[{_LATIN}]*")
    return re.compile(rf"(?<![{_LATIN}])(?:{'|'.join(parts)})") if parts else None


def _char(char: str) -> str:
    return r"\s?" if char == " " else re.escape(char)
