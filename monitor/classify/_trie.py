"""One regex for many words, factored a character at a time (sre tries `a|b|c` in turn)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_Trie = dict[str, "_Trie"]


def trie_pattern(words: Iterable[str], char: Callable[[str], str] = re.escape) -> str:
    """A regex source matching any of `words`, the longest where several match; `char` turns
    one character into its pattern (default: itself, escaped)."""
    root: _Trie = {}
    for word in words:
        node = root
        for letter in word:
            node = node.setdefault(letter, {})
        node[""] = {}
    return _branches(root, char)


def _branches(node: _Trie, char: Callable[[str], str]) -> str:
    options = [char(letter) + _branches(child, char) for letter, child in node.items() if letter]
    if "" in node:
        options.append("")  # the word may end here: tried after every longer one
    if len(options) == 1:
        return options[0]
    return "(?:" + "|".join(options) + ")"
