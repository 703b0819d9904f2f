"""Near-duplicates: MinHash signatures and LSH band keys that collapse reposts into one story.

Pure functions only; storing band keys and looking candidates up belongs to the store.

Pipeline of `fingerprint`:

1. Text: `title + "\\n" + text`, cut to `MAX_CHARS` characters, NFKC, lowercased (character by
   character through a table: 25 times faster than `unicodedata.normalize` on Chinese text).
2. Tokens: each CJK ideograph (and kana) is one token; each run of other letters and digits is
   one token; everything else (punctuation, whitespace, symbols) only separates tokens. At most
   `MAX_TOKENS` tokens are used, so the cost of a document is bounded (about 6 ms for the longest).
   A token's id is its code point (ideographs) or a 64-bit polynomial hash of its code points
   (words), computed with numpy over the whole text at once.
3. Shingles: every window of `SHINGLE_SIZE` consecutive tokens, so Chinese gets character 3-grams
   and English or French word 3-grams. A shingle's hash is exactly
   `xxhash.xxh64_intdigest(struct.pack("<3Q", *ids))`, computed by a numpy transcription of XXH64
   over all windows at once (one xxhash call per shingle alone would cost ~0.5 ms per 5,000
   characters, half the budget). The shingles form a set: repeats do not change a minimum.
4. MinHash: `NUM_PERM` functions h(x) = ((a*x + b) mod 2**64) >> 32 of the shingle hash's top 32
   bits, with a, b 64-bit constants from a fixed-seed splitmix64 (Dietzfelbinger's
   multiply-add-shift, strongly universal from 32 to 32 bits). uint64 products wrap, which *is* the
   mod 2**64, so there is no overflow to guard against; shifting after the minimum gives the same
   result as shifting before. Neither Python's `hash()` nor numpy's random streams are used, so
   signatures are the same in every process and version.
5. Bands: the signature cut into `BANDS` bands of `ROWS` values; a band's key is the xxh64 of its
   16 bytes seeded with the band index, read as a signed 64-bit int (a BIGINT column).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import xxhash

NUM_PERM = 128
# Two documents become candidates when all ROWS values of at least one band agree:
# P(candidate | Jaccard s) = 1 - (1 - s**ROWS)**BANDS, an S-curve whose steepest point is near
# (1/BANDS)**(1/ROWS) = 0.42 for 32 x 4.
#     s:    0.1     0.2    0.3    0.4    0.5    0.6    0.7      0.8
#     P:    0.003   0.05   0.23   0.56   0.87   0.99   0.9998   1 - 5e-8
# Reposts (new byline, editor's note, a paragraph dropped, light rewording) measure 0.8-0.95, where
# recall is 0.99 and more; unrelated documents (s < 0.05) almost never collide, and same-topic
# documents sharing boilerplate (0.1-0.3) are candidates only some of the time and are then turned
# down by `is_duplicate`. 64 x 2 (threshold 0.13) would make most same-topic pairs candidates;
# 16 x 8 (threshold 0.71) would miss a quarter of the reposts at s = 0.6.
BANDS = 32
ROWS = 4
# Estimated Jaccard of 3-gram shingle sets at which two documents are one story. A repost keeps
# most shingles: editing k tokens changes at most 3k of them, and dropping one paragraph of five
# leaves 0.8. Documents on one topic share boilerplate phrases but rarely a third of their
# shingles. Measured on the tests' articles (~250 words, ~800 characters in Chinese): a new
# byline, an editor's note, a dropped paragraph or five rewordings 0.80-0.93, byline and note
# together 0.85; two provinces' plans written on one template 0.17-0.24; all four edits at once
# on one short article 0.56, the limit. The estimate's standard deviation, sqrt(s(1-s)/128), is
# 0.035-0.044 here, so 0.5 lies 5 or more deviations from both kinds.
DUPLICATE_SIMILARITY = 0.5

SHINGLE_SIZE = 3
MIN_SHINGLES = 8  # fewer distinct shingles (under ~10 Chinese characters): too short to judge
MAX_TOKENS = 20_000  # only the first 20,000 tokens count: a bounded cost for very long documents
MAX_CHARS = 8 * MAX_TOKENS  # characters read at most (20,000 words of French need ~130,000)

_SIGNATURE_DTYPE = np.dtype("<u4")
_SIGNATURE_BYTES = NUM_PERM * _SIGNATURE_DTYPE.itemsize
_SEED = 0x6D6F6E69746F7231  # b"monitor1"; changing it changes every stored band key
_BLOCK = 16  # permutations per vectorised block: keeps the (block, shingles) product in cache

_SEPARATOR, _WORD, _IDEOGRAPH, _NEEDS_NFKC = 0, 1, 2, 3
_TABLE_SIZE = 0x40000  # code points past planes 0-3 are neither letters nor ideographs
# Code points that are one token each (only the letters among them: not 〃, ・, …).
_IDEOGRAPH_RANGES = (
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x323AF),  # CJK extensions B-H
)
_IDEOGRAPH_TAG = 1 << 32  # keeps an ideograph's id apart from a one-letter word's
_WORD_BASE = 0x100000001B3  # odd multiplier of the polynomial word hash
_MASK64 = (1 << 64) - 1

_U64 = npt.NDArray[np.uint64]
_Scalar = TypeVar("_Scalar", bound=np.generic)


@dataclass(frozen=True)
class Fingerprint:
    """A document's MinHash signature (a storable blob) and its LSH band keys."""

    signature: bytes  # NUM_PERM little-endian uint32 minima
    bands: tuple[int, ...]  # BANDS signed 64-bit keys, band index mixed in


def fingerprint(title: str, text: str) -> Fingerprint | None:
    """The fingerprint of a document, or None when it has too few shingles to judge."""
    shingles = _shingle_hashes(_token_ids(_code_points(title, text)))
    if not _has_distinct(shingles, MIN_SHINGLES):
        return None
    signature = _minhash(shingles >> np.uint64(32)).astype(_SIGNATURE_DTYPE).tobytes()
    return Fingerprint(signature, band_keys(signature))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the documents two signatures were made from."""
    equal = int(np.count_nonzero(_signature_array(a) == _signature_array(b)))
    return equal / NUM_PERM


def is_duplicate(a: bytes, b: bytes) -> bool:
    """Whether two signatures' documents are the same story."""
    return similarity(a, b) >= DUPLICATE_SIMILARITY


def band_keys(signature: bytes) -> tuple[int, ...]:
    """The BANDS keys of a signature, each a signed 64-bit int seeded with its band's index."""
    bands = _signature_array(signature).reshape(BANDS, ROWS)
    return tuple(
        _signed64(xxhash.xxh64_intdigest(band.tobytes(), index))
        for index, band in enumerate(bands)
    )


def _signature_array(signature: bytes) -> npt.NDArray[np.uint32]:
    if len(signature) != _SIGNATURE_BYTES:
        raise ValueError(f"a signature has {_SIGNATURE_BYTES} bytes, not {len(signature)}")
    return np.frombuffer(signature, dtype=_SIGNATURE_DTYPE)


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _code_points(title: str, text: str) -> npt.NDArray[np.uint32]:
    """The document's code points, NFKC-normalised and lowercased, at most MAX_CHARS."""
    raw = f"{title}\n{text}"[:MAX_CHARS]
    fold, classes = _char_tables()
    code_points = _utf32(raw)
    unsure = np.flatnonzero(classes[code_points] == _NEEDS_NFKC)
    if unsure.size:
        code_points = _utf32(_normalised_around(raw, unsure))[:MAX_CHARS]
    folded: npt.NDArray[np.uint32] = fold[code_points]
    return folded


def _normalised_around(text: str, unsure: npt.NDArray[np.intp]) -> str:
    """The text with NFKC applied to each run of unsure characters and the character before it.

    The same as NFKC of the whole text: the other characters neither expand nor compose.
    """
    breaks = np.flatnonzero(np.diff(unsure) > 1) + 1
    starts = unsure[np.concatenate(([0], breaks))] - 1
    ends = unsure[np.concatenate((breaks - 1, [-1]))] + 1
    pieces, done = [], 0
    for start, end in zip(np.maximum(starts, 0).tolist(), ends.tolist(), strict=True):
        pieces += [text[done:start], unicodedata.normalize("NFKC", text[start:end])]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _utf32(text: str) -> npt.NDArray[np.uint32]:
    """Code points, those past the tables' end as one that is no letter."""
    code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return np.minimum(code_points, np.uint32(_TABLE_SIZE - 1))


# --- tokens -----------------------------------------------------------------------------------


def _token_ids(code_points: npt.NDArray[np.uint32]) -> _U64:
    """One id per token, in order, at most MAX_TOKENS."""
    classes = _char_tables()[1][code_points]
    in_word = classes == _WORD
    word_start = in_word.copy()
    word_start[1:] &= ~in_word[:-1]
    starts = np.flatnonzero(word_start | (classes == _IDEOGRAPH))[:MAX_TOKENS]
    ids = code_points[starts].astype(np.uint64) | np.uint64(_IDEOGRAPH_TAG)
    is_word = word_start[starts]
    ids[is_word] = _word_hashes(code_points[in_word], np.flatnonzero(word_start[in_word]))[
        : np.count_nonzero(is_word)
    ]
    return ids


def _word_hashes(letters: npt.NDArray[np.uint32], starts: npt.NDArray[np.intp]) -> _U64:
    """sum((c_i + 1) * B**i) mod 2**64 over each word, given the words' letters end to end."""
    if starts.size == 0:
        return np.empty(0, dtype=np.uint64)
    lengths = np.diff(starts, append=letters.size)
    position = np.arange(letters.size) - np.repeat(starts, lengths)
    terms = (letters.astype(np.uint64) + np.uint64(1)) * _powers()[position]
    hashes: _U64 = np.add.reduceat(terms, starts)
    return hashes


@functools.cache
def _powers() -> _U64:
    """_WORD_BASE ** i mod 2**64 for every position a word's letter can take."""
    powers = np.full(MAX_CHARS, _WORD_BASE, dtype=np.uint64)
    powers[0] = 1
    return _read_only(np.cumprod(powers, dtype=np.uint64))


# --- characters: NFKC and lowercase by table lookup ----------------------------------------------


@functools.cache
def _char_tables() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]]:
    """By code point: what NFKC and lowercasing make of it, and that character's class.

    Built once (~0.1 s). NFKC of a whole string is slow (~0.1 us a character) as soon as the
    string holds anything it changes, and Chinese text always does (full-width punctuation), so
    characters are folded one by one through this table instead. That equals NFKC of the whole
    string unless a character expands to several letters (ligatures, ㎡, ℃) or can compose with
    its neighbour (combining marks, Hangul jamo): such characters are _NEEDS_NFKC, and only they
    and the character before them go through NFKC. Past U+1FFFF only CJK ideographs are letters.
    """
    size = 0x20000
    folded = [_fold_char(chr(c)) for c in range(size)]
    fold = np.arange(_TABLE_SIZE, dtype=np.uint32)
    fold[:size] = [point for point, _ in folded]
    for c in range(0x2F800, 0x2FA20):  # compatibility ideographs: NFKC makes them unified ones
        fold[c] = ord(unicodedata.normalize("NFKC", chr(c)))
    classes = np.full(_TABLE_SIZE, _SEPARATOR, dtype=np.uint8)
    classes[:size] = [kind for _, kind in folded]
    classes[0x20000:0x323B0] = _WORD
    ideograph = np.zeros(_TABLE_SIZE, dtype=bool)
    for low, high in _IDEOGRAPH_RANGES:
        ideograph |= (fold >= low) & (fold <= high)
    classes[ideograph & (classes == _WORD)] = _IDEOGRAPH
    return _read_only(fold), _read_only(classes)


def _fold_char(char: str) -> tuple[int, int]:
    """What NFKC and lowercase make of one character, and whether it is a letter or digit."""
    compatible = unicodedata.normalize("NFKC", char)
    if _composes(char) or (compatible != char and any(map(_composes, compatible))):
        return ord(char), _NEEDS_NFKC
    if len(compatible) != 1:
        letters = any(c.isalnum() for c in compatible)
        return ord(char), _NEEDS_NFKC if letters else _SEPARATOR
    lowered = compatible.lower()[0]  # İ lowers to i and a combining dot: keep the i
    return ord(lowered), _WORD if lowered.isalnum() else _SEPARATOR


def _composes(char: str) -> bool:
    """Whether NFKC can merge the character into the one before it."""
    return unicodedata.category(char)[0] == "M" or 0x1160 <= ord(char) <= 0x11FF


def _read_only(array: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
    """A table built once and shared by every thread."""
    array.flags.writeable = False
    return array


# --- shingles: XXH64 of three little-endian uint64 token ids, vectorised --------------------------

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = 0x27D4EB2F165667C5


def _shingle_hashes(ids: _U64) -> _U64:
    """xxh64_intdigest(pack("<3Q", ids[i], ids[i+1], ids[i+2])) for every window i."""
    count = ids.size - SHINGLE_SIZE + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    state = np.full(count, (_P5 + 8 * SHINGLE_SIZE) & _MASK64, dtype=np.uint64)
    for lane in range(SHINGLE_SIZE):
        state ^= _rotl(ids[lane:lane + count] * _P2, 31) * _P1
        state = _rotl(state, 27) * _P1 + _P4
    state ^= state >> np.uint64(33)
    state *= _P2
    state ^= state >> np.uint64(29)
    state *= _P3
    state ^= state >> np.uint64(32)
    return state


def _rotl(values: _U64, bits: int) -> _U64:
    rotated: _U64 = (values << np.uint64(bits)) | (values >> np.uint64(64 - bits))
    return rotated


def _has_distinct(values: _U64, needed: int) -> bool:
    """Whether values hold `needed` distinct ones; usually decided on a short prefix."""
    if values.size < needed:
        return False
    return np.unique(values[:8 * needed]).size >= needed or np.unique(values).size >= needed


# --- MinHash ------------------------------------------------------------------------------------


@functools.cache
def _permutations() -> tuple[_U64, _U64]:
    """The multipliers a and offsets b of the NUM_PERM hash functions, as columns."""
    state, values = _SEED, []
    for _ in range(2 * NUM_PERM):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        values.append(_splitmix64(state))
    columns = _read_only(np.array(values, dtype=np.uint64).reshape(2, NUM_PERM, 1))
    return columns[0], columns[1]


def _splitmix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _minhash(keys: _U64) -> _U64:
    """min over keys of ((a*k + b) mod 2**64) >> 32, for each of the NUM_PERM functions."""
    multipliers, offsets = _permutations()
    minima = np.empty(NUM_PERM, dtype=np.uint64)
    block = np.empty((_BLOCK, keys.size), dtype=np.uint64)
    for low in range(0, NUM_PERM, _BLOCK):
        np.multiply(multipliers[low:low + _BLOCK], keys, out=block)
        block += offsets[low:low + _BLOCK]
        block.min(axis=1, out=minima[low:low + _BLOCK])
    shifted: _U64 = minima >> np.uint64(32)
    return shifted
