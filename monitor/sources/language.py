"""A cheap guess of a text's language: Chinese, French or English."""

from __future__ import annotations

import re

_SAMPLE = 2000
_CJK_SHARE = 0.2
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_FRENCH_MARKS = re.compile(r"[éèêàâçùûîôœ]", re.IGNORECASE)
_FRENCH_WORDS = re.compile(r"\b(?:le|la|les|des|et|une|du|est|pour|dans|sur|aux)\b", re.IGNORECASE)
_ENGLISH_WORDS = re.compile(r"\b(?:the|and|of|to|is|in|for|on|with|that|by)\b", re.IGNORECASE)


def detect_language(text: str) -> str:
    """'zh' when CJK ideographs are a meaningful share of letters, 'fr' on French cues, or 'en'."""
    sample = text[:_SAMPLE]
    letters = sum(1 for char in sample if char.isalpha())
    if letters and len(_CJK.findall(sample)) / letters >= _CJK_SHARE:
        return "zh"
    french = len(_FRENCH_MARKS.findall(sample)) + len(_FRENCH_WORDS.findall(sample))
    english = len(_ENGLISH_WORDS.findall(sample))
    return "fr" if french > english else "en"


def primary_subtag(tag: str | None) -> str | None:
    """'zh-CN' -> 'zh', 'en_US' -> 'en'; None for an empty tag."""
    code = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return code or None
