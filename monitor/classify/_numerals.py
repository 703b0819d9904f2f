"""Chinese numerals (一千万, 叁佰壹拾万, 二〇二〇) read as integers, for the fact extractor."""

from __future__ import annotations

DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2,
    "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
UNITS = SMALL_UNITS | BIG_UNITS
NUMERAL_CHARS = "".join([*DIGITS, *SMALL_UNITS, *BIG_UNITS])


def unit_product(units: str) -> int:
    """The multiplier written by a run of unit characters: 千万 is 10**7, 万亿 is 10**12."""
    product = 1
    for char in units:
        product *= UNITS[char]
    return product


def parse_chinese(numeral: str) -> int | None:
    """The value of a Chinese numeral, or None when it is not one number (三五万: 3 to 5)."""
    if not numeral or any(char not in DIGITS and char not in UNITS for char in numeral):
        return None
    if all(char in DIGITS for char in numeral):
        return int("".join(str(DIGITS[char]) for char in numeral))
    return _positional(numeral)


def _positional(numeral: str) -> int | None:
    total, section, digit = 0, 0, None
    for char in numeral:
        if char in DIGITS:
            if digit:  # two digits in a row without a unit between them
                return None
            digit = DIGITS[char]
        elif char in SMALL_UNITS:
            section += (1 if digit is None else digit) * SMALL_UNITS[char]
            digit = None
        else:
            section += digit or 0
            total = (total + section) * BIG_UNITS[char] if char in "亿億" else \
                total + section * BIG_UNITS[char]
            section, digit = 0, None
    return total + section + (digit or 0)
