"""The body that issued a document, when it says so (发文机关, "X关于印发", "issued by")."""

from __future__ import annotations

import re

_BODY = (r"(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|网信办|信息办公室|"
         r"管理局|监督管理局|局|厅|部|银行|委|院|中心)")
# 发文机关：北京市人民政府办公厅 / 发布机构: …
_FIELD = re.compile(r"(?:发文机关|发文单位|发布机构|发文机构|發文機關|發布機構)\s*[:：]\s*"
                    r"([^\s:：，。；]{2,40})")
# 北京市人民政府办公厅关于印发《……》的通知 ; 中央网信办等十六部门关于公布……
_TITLE = re.compile(rf"^\s*(\S{{2,40}}?{_BODY}(?:等[一二三四五六七八九十百\d]+(?:个)?部门)?)"
                    r"(?:关于|關於)")
# "issued by the Shenzhen Bureau of Industry and Information Technology": capitalised words,
# joined by of/and/for/the/on, ending in a word that names a body (and its "of …" tail).
_NAME_WORD = r"(?:[A-Z][\w'’-]*|of|and|for|the|on|&)"
_ENGLISH = re.compile(
    r"\b(?:issued|released|published|unveiled|announced)\s+(?:jointly\s+)?by\s+(?:the\s+)?"
    rf"((?:[A-Z][\w'’-]*\s+)(?:{_NAME_WORD}\s+){{0,10}}?"
    r"(?:Government|Ministry|Commission|Administration|Bureau|Office|Council|Committee|Bank|"
    r"Department|Authority)(?:\s+(?:of|for|on)(?:\s+(?:[A-Z][\w'’-]*|and|of|the|&))+)?)")
_FRENCH = re.compile(
    r"\b(?:publié|publiée|publiés|diffusé|diffusée|annoncé|annoncée)e?s?\s+(?:conjointement\s+)?"
    r"par\s+((?:le|la|l'|l’|les)\s*[^,.;:()]{0,80}?"
    r"(?:gouvernement|ministère|commission|administration|bureau|conseil|comité|banque|"
    r"municipalité|département|autorité)[^,.;:()]{0,60}?)(?=[,.;:()]|\s+(?:le|en|au|qui|et)\s)",
    re.IGNORECASE)


_TRAILING = re.compile(r"(?:\s+(?:of|and|for|the|on|&))+$")


def find_issuer(title: str, text: str) -> str | None:
    """The issuing body named in a 发文机关-style field, the title, or a sentence; None if none."""
    for pattern, where in ((_FIELD, text), (_TITLE, title), (_FIELD, title), (_ENGLISH, text),
                           (_FRENCH, text)):
        found = pattern.search(where[:20_000])
        if found:
            return _TRAILING.sub("", found.group(1).strip())
    return None
