"""Facts in a document: plan horizon years, money amounts in whole CNY, and counts of things."""

from __future__ import annotations

import re

from monitor.classify._numerals import NUMERAL_CHARS, parse_chinese, unit_product
from monitor.classify._trie import trie_pattern
from monitor.domain import Fact

__all__ = ["Fact", "find_facts"]


# Full-width forms are folded when the text has a full-width digit: every other fact is found as
# well without folding (the patterns take ￥, the ideographic space, ，and ： as they are).
_FULL_WIDTH_DIGITS = "０１２３４５６７８９"
_FOLD_FIRST = {char: chr(ord(char) - 0xFEE0) for char in _FULL_WIDTH_DIGITS + "．－～％"}
_FULL_WIDTH = re.compile("[\uff02-\uff07\uff0a\uff0b\uff0d-\uff19\uff1c-\uff1e\uff20-\uff5e"
                         "\u3000\uffe5]+")
_FOLD = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
                       "\u3000": " ", "\uffe5": "¥"})
_NOT_DIGIT = re.compile("[^0-9]")

_YEAR_MIN, _YEAR_MAX, _MAX_SPAN = 1990, 2099, 15
# A year is a horizon in a range, before 年前, or after a word that ends a plan: 到, by, d'ici.
# The lookbehinds (after the first digit, so the scan still skips to digits) only shortlist the
# last case; _END_PREFIX decides it.
_HORIZON = re.compile(r"""
    (?P<y1>[12](?<![0-9A-Za-z][12])
        (?P<after_word>(?<=[到至][12])|(?<=[到至]\s[12])|(?<=by\s[12])|(?<=of\s[12])
          |(?<=end[-\s][12])|(?<=ici\s[12])|(?<=à\s[12])|(?<=de\s[12])|(?<=fin\s[12])
          |(?<=née\s[12]))?
        [0-9]{3})(?![0-9])
    (?:\s*年?\s*(?:(?P<dash>[-‐‑‒–—―~〜－～]{1,2})|至|到|\s(?:to|through|à|au)\s)\s*
         (?P<y2>[12][0-9]{3}|[0-9]{2})(?![0-9])(?:\s*年)?
      |(?P<before>\s*年(?:底|末)?(?:以前|之前|前)(?![后後]))
      |(?(after_word)(?:\s*年(?:底|末)?)?|(?!))
    )
    (?!\s*年?\s*[0-9]{1,2}\s*月|[-/.][0-9])  # no date: 2020年1月至3月, 2020-10-01
    """, re.VERBOSE | re.IGNORECASE)
_END_PREFIX = re.compile(r"""(?:(?<!截)至|(?<!截止)到
    |(?<![A-Za-z])by\s+(?:the\s+)?(?:end[\s-]+(?:of\s+)?)?
    |(?<![A-Za-z])d['’]ici\s+(?:à\s+|(?:la\s+)?fin\s+(?:de\s+(?:l['’]année\s+)?|d['’]année\s+)?)?
    )\s*$""",
                         re.VERBOSE | re.IGNORECASE)
_FROM_PREFIX = re.compile(r"(?:(?<![A-Za-z])(?:from|de)\s+|[从從自]\s*)$", re.IGNORECASE)

_EN_MULTIPLIERS = {"thousand": 3, "mille": 3, "k": 3, "million": 6, "millions": 6, "m": 6,
                   "mn": 6, "mln": 6, "billion": 9, "billions": 9, "bn": 9, "milliard": 9,
                   "milliards": 9, "trillion": 12, "trillions": 12}
_LATIN_NOUNS = {
    "entity": "entity entities entité entités unit units unité unités organization organizations "
              "organisation organisations participant participants",
    "body": "body bodies organisme organismes agency agencies agence agences institution "
            "institutions department departments ministry ministries",
    "zone": "zone zones pilot pilots park parks parc parcs",
    "enterprise": "enterprise enterprises entreprise entreprises firm firms company companies "
                  "business businesses société sociétés",
    "project": "project projects projet projets programme programmes program programs",
    "region": "region regions région régions area areas",
    "province": "province provinces",
    "city": "city cities ville villes municipality municipalities",
    "platform": "platform platforms plateforme plateformes",
    "application": "application applications app apps scenario scenarios scénario scénarios",
    "item": "item items task tasks tâche tâches measure measures mesure mesures",
}
_LATIN_UNIT = {noun: unit for unit, nouns in _LATIN_NOUNS.items() for noun in nouns.split()}
_STOP = ["of", "the", "a", "an", "and", "or", "in", "on", "at", "to", "for", "by", "with", "per",
         "cent", "percent", "de", "des", "du", "la", "le", "les", "et", "ou", "en", "au", "aux",
         "par", "pour", "sur", "dans", "year", "years", "ans", "années", "mois", "months", "days",
         "jours"]
_NOT_YUAN = "(?![宇数數素件器])"  # 元宇宙, 元数据, 元素: no money
_WORD = r"[a-zà-ÿœæ'’-]+"
# A number is a fact with 元/yuan after it, a measure word (家, 个) or a counted noun after it, or a
# currency before it: the lookbehinds shortlist ¥, RMB, CNY, 人民币; _CURRENCY_PREFIX decides.
_NUMBER = re.compile(rf"""
    (?P<int>[0-9](?<![0-9A-Za-z.][0-9])(?<![0-9][,，][0-9])
        (?P<after_currency>(?<=[¥￥BYIbyi币幣:：][0-9])|(?<=[¥￥BYIbyi币幣:：]\s[0-9]))?
        (?>[0-9]{{0,2}}(?:[,，\u00a0\u202f\u2009\ ][0-9]{{3}})+(?![0-9])|[0-9]*))
    (?(after_currency)|(?=[\s.,余餘多十百千万萬亿億元圆圓家个個项項座所BbKkMmTt]))  # fail fast
    (?P<frac>[.,][0-9]++)?+
    [余餘多]?
    (?:\s?(?P<cn>[十百千]?[万萬亿億]{{1,2}}|千(?=[元圆圓]))(?P<rest>(?<=[亿億])[0-9]{{1,4}}[万萬])?
      |(?i:\s*(?P<en>thousand|millions?|billions?|trillions?|milliards?|mille)\b
        |\s?(?P<abbr>mn|mln|bn)(?![a-z])|(?P<m>[mk])(?![a-z]))
    )?
    [余餘多]?
    (?:\s?(?P<yuan>[元圆圓]{_NOT_YUAN}(?:人民币|人民幣)?整?)
      |(?i:\s*(?:de\s+|d['’]\s*)?(?P<cur>yuans?|renminbi|rmb|cny)\b)
      |\s?(?P<mw>[家个個项項座所])
      |(?i:\s+(?:(?!{trie_pattern(_STOP)}\b){_WORD}\s+){{0,2}}(?P<noun>{trie_pattern(_LATIN_UNIT)})\b)
      |(?(after_currency)|(?!))
    )
    """, re.VERBOSE)
_CURRENCY_PREFIX = re.compile(r"(?:[¥￥]|(?<![A-Za-z])(?:rmb|cny|renminbi)|人民币|人民幣)[\s:：]*$",
                              re.IGNORECASE)
_PREFIX_ENDS = frozenset("¥￥BbYyIi币幣:：")
_SECTION_PREFIX = re.compile(r"(?<![A-Za-z])(?:article|art\.|section|chapter|chapitre|paragraph|"
                             r"paragraphe|point|annex|annexe|no\.|n°|page|p\.|§|phase|stage|"
                             r"batch|round|tier)\s*$", re.I)

_YUAN = re.compile(rf"[元圆圓]{_NOT_YUAN}整?")
_NUMERALS = frozenset(NUMERAL_CHARS)
_CN_NOUN_UNITS = {
    "entity": "单位 單位 主体 主體 成员 成員",
    "body": "机构 機構 部门 部門 部委 组织 組織 高校 院校",
    "enterprise": "企业 企業 公司 厂商 廠商", "project": "项目 項目 工程",
    "zone": "试点 試點 试验区 試驗區 示范区 示範區 先导区 先導區 园区 園區 自贸区 自貿區 开发区 "
            "開發區 新区 新區 基地",
    "region": "地区 地區 区域 區域 自治区 自治區", "province": "省 省份 直辖市 直轄市",
    "city": "城市 市", "platform": "平台", "application": "应用 應用 场景 場景 案例",
    "item": "事项 事項 任务 任務 措施 条 條", "": "市场 市場",
}
_CN_UNIT = {noun: unit for unit, nouns in _CN_NOUN_UNITS.items() for noun in nouns.split()}
_CN_NOUN = re.compile("|".join(sorted(_CN_UNIT, key=len, reverse=True)))
_CN_PHRASE = re.compile(r"[^\s，。；、：,;:.!?！？()（）0-9和与與及或等的]{0,10}")
_MEASURE_DEFAULT = {"家": "entity", "所": "body", "项": "item", "項": "item"}
_NOT_COUNTED = re.compile(  # 3个月, 15个百分点: no count
    r"[多半]?"
    r"(?:月|小时|小時|工作日|百分点|百分點|季度|星期|周|週|年|天|点|點)")

_Found = tuple[int, int, str, str, str]  # start, end, kind, value, unit


MAX_DIGITS = 18  # the longest value kept (a 10^17-yuan amount is already implausible)


def find_facts(text: str, limit: int = 50) -> tuple[Fact, ...]:
    """Distinct facts by (kind, value, unit), in order of first appearance, at most `limit`."""
    folded = _folded(text)
    found = sorted([*_horizons(folded), *_numbers(folded), *_cn_money(folded)],
                   key=lambda item: (item[0], -item[1]))
    facts: dict[tuple[str, str, str], Fact] = {}
    end = 0
    for start, stop, kind, value, unit in found:
        if start < end:  # inside a longer fact
            continue
        if len(value) > MAX_DIGITS:  # 10^18 yuan is no real amount: a run of digits
            end = stop
            continue
        if len(facts) >= limit:
            break
        if (kind, value, unit) not in facts:
            facts[kind, value, unit] = Fact(kind, value, unit, text[start:stop].strip())
        end = stop
    return tuple(facts.values())


def _folded(text: str) -> str:
    """The text with full-width forms folded to ASCII, of the same length (spans carry over)."""
    if text.isascii() or not any(digit in text for digit in _FULL_WIDTH_DIGITS):
        return text
    for char, ascii_char in _FOLD_FIRST.items():
        if char in text:
            text = text.replace(char, ascii_char)
    if _FULL_WIDTH.search(text):
        text = _FULL_WIDTH.sub(lambda match: match[0].translate(_FOLD), text)
    return text


def _horizons(folded: str) -> list[_Found]:
    found = []
    for match in _HORIZON.finditer(folded):
        span = _horizon_span(match, folded)
        if span is not None:
            found.append((span[0], match.end(), "horizon", span[1], "year"))
    return found


def _horizon_span(match: re.Match[str], folded: str) -> tuple[int, str] | None:
    """Where the horizon starts (its 'by', 'from', 到 included) and its value."""
    start, first = match.start(), int(match["y1"])
    if not _YEAR_MIN <= first <= _YEAR_MAX:
        return None
    if match["y2"]:
        last = _range_end(first, match["y2"], match["dash"] is not None)
        if last is None:
            return None
        prefix = _FROM_PREFIX.search(folded, max(0, start - 6), start)
        return (prefix.start() if prefix else start), f"{first}-{last}"
    if match["before"]:
        return start, str(first)
    if folded[start - 1:start] in ("到", "至"):  # the common case, without a regex
        several = folded[start - 2:start] == "截至" or folded[start - 3:start] == "截止到"
        return None if several else (start - 1, str(first))
    prefix = _END_PREFIX.search(folded, max(0, start - 30), start)
    return (prefix.start(), str(first)) if prefix else None


def _range_end(first: int, written: str, dashed: bool) -> int | None:
    """The end year of a range, or None: '22' only after a dash and when it cannot be a month."""
    if len(written) == 2:
        if not dashed or int(written) <= 12:
            return None
        last = first // 100 * 100 + int(written)
    else:
        last = int(written)
    return last if first < last <= _YEAR_MAX and last - first <= _MAX_SPAN else None


def _numbers(folded: str) -> list[_Found]:
    found = []
    for match in _NUMBER.finditer(folded):
        tail = match.lastgroup
        if tail == "mw":
            item = _cn_count(match, folded)
        elif tail == "noun":
            item = _latin_count(match, folded)
        else:
            item = _money(match, folded, tail not in ("yuan", "cur"))
        if item is not None:
            found.append(item)
    return found


def _amount(match: re.Match[str]) -> tuple[int, int]:
    """The number as a fraction: numerator (multiplier applied) and a power of ten to divide by."""
    digits, fraction, cn, rest, *english = match.group(
        "int", "frac", "cn", "rest", "en", "abbr", "m")
    if not digits.isdigit():
        digits = _NOT_DIGIT.sub("", digits)
    digits = digits[:MAX_DIGITS + 1]  # a run of digits: kept short for int(), dropped later
    scale = 1
    if fraction:
        digits, scale = digits + fraction[1:], 10 ** (len(fraction) - 1)
    amount = int(digits)
    if cn:
        amount *= unit_product(cn)
        if rest:
            amount += int(rest[:-1]) * 10**4 * scale
    for multiplier in english:
        if multiplier:
            amount *= 10 ** _EN_MULTIPLIERS[multiplier.lower()]
    return amount, scale


def _money(match: re.Match[str], folded: str, prefix_needed: bool) -> _Found | None:
    start = match.start()
    prefix = None
    if folded[max(0, start - 3):start].rstrip()[-1:] in _PREFIX_ENDS:
        prefix = _CURRENCY_PREFIX.search(folded, max(0, start - 12), start)
    if prefix_needed and prefix is None:
        return None
    amount, scale = _amount(match)
    value = (2 * amount + scale) // (2 * scale)  # whole yuan, half up
    if value <= 0:
        return None
    return (prefix.start() if prefix else start), match.end(), "money", str(value), "CNY"


def _count_value(match: re.Match[str]) -> str | None:
    amount, scale = _amount(match)
    return str(amount // scale) if amount > 0 and amount % scale == 0 else None


def _cn_count(match: re.Match[str], folded: str) -> _Found | None:
    start, end = match.start(), match.end()
    measure = match["mw"]
    if folded[start - 1:start] == "第" or _after_range(folded, start) \
            or (measure in "个個" and _NOT_COUNTED.match(folded, end)):
        return None
    value = _count_value(match)
    if value is None:
        return None
    unit = _MEASURE_DEFAULT.get(measure, "")
    phrase = _CN_PHRASE.match(folded, end)
    heads = list(_CN_NOUN.finditer(folded, end, phrase.end() if phrase else end))
    if heads:
        unit, end = _CN_UNIT[heads[-1][0]], heads[-1].end()
    return start, end, "count", value, unit


def _after_range(folded: str, start: int) -> bool:
    """Whether a number ends a range (3至5个, 3-5 zones), which is no count."""
    return folded[start - 1:start] in ("-", "~", "～", "至", "到") \
        and folded[start - 2:start - 1].isdigit()


def _latin_count(match: re.Match[str], folded: str) -> _Found | None:
    start = match.start()
    if _after_range(folded, start) or _SECTION_PREFIX.search(folded, max(0, start - 12), start):
        return None
    plain = match["int"].isdigit() and not match["frac"] and not any(match.group("en", "abbr", "m"))
    if plain and 1900 <= int(match["int"]) <= _YEAR_MAX:  # a year, not a count
        return None
    value = _count_value(match)
    if value is None:
        return None
    return start, match.end(), "count", value, _LATIN_UNIT[match["noun"].lower()]


def _cn_money(folded: str) -> list[_Found]:
    """Amounts in Chinese numerals (一千万元, 人民币叁佰壹拾万元整), found from their 元."""
    found = []
    for char in "元圆圓":
        yuan = folded.find(char)
        while yuan != -1:
            item = _cn_amount(folded, yuan) if folded[yuan - 1:yuan] in _NUMERALS else None
            if item is not None:
                found.append(item)
            yuan = folded.find(char, yuan + 1)
    return found


def _cn_amount(folded: str, yuan: int) -> _Found | None:
    """The amount ending at a 元; none for one character (一元, 多元) or none written (数十万元)."""
    start = yuan
    while start > 0 and folded[start - 1] in _NUMERALS:
        start -= 1
    numeral = folded[start:yuan]
    several = folded[start - 1:start] in ("数", "數", "几", "幾")
    if len(numeral) < 2 or numeral[0] in "百千万萬亿億佰仟" or several:
        return None
    tail = _YUAN.match(folded, yuan)
    if tail is None:
        return None
    value = parse_chinese(numeral)
    if not value:
        return None
    prefix = _CURRENCY_PREFIX.search(folded, max(0, start - 6), start)
    return (prefix.start() if prefix else start), tail.end(), "money", str(value), "CNY"
