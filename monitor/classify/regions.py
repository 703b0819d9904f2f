"""The region gazetteer: which provinces and places of China a text names, and how often."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from monitor.errors import ConfigError

Loc = tuple[str | int, ...]

# Between the words of a Latin name any run of spaces or hyphens may stand, or none (Hong Kong,
# Hong-Kong, Hongkong); where a name has an apostrophe, any apostrophe or none (Xi'an, Xi’an, Xian).
_HYPHENS = "-\u2010\u2011"
_APOSTROPHES = "'\u2018\u2019\u02bc\u00b4\u2032`"
_SPACE_GAP = rf"[\s{re.escape(_HYPHENS)}]*"
_APOSTROPHE_GAP = f"[{re.escape(_APOSTROPHES)}]?"
_ANY_GAP = rf"[\s{re.escape(_HYPHENS + _APOSTROPHES)}]*"
_GAPS = re.compile(rf"[\s{re.escape(_HYPHENS + _APOSTROPHES)}]+")
# A Latin name neither starts nor ends inside a word ("Xian" is not in "Xiangyang"). The text is
# folded and lower-cased first, so Latin letters left are lower case or have no ASCII base (ß, ø).
# The Latin pattern takes the character before a name too, so re only tries a name after a space
# or a sign, never inside a word. A Chinese character does not count as a sign, so that Chinese
# text is skipped at once: 在Beijing is not found (Chinese text names places in Chinese), while
# （Beijing） and 。Beijing are.
_LETTER = "a-z0-9\u00df-\u024f"
_LATIN_START = f"[^{_LETTER}\u3400-\u9fff]"
_LATIN_END = f"(?![{_LETTER}])"
_HAN_NAME = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_LATIN_KEY = re.compile("[a-z0-9]+")
# Folded for matching, one character for one so offsets hold: full-width letters and digits as
# ASCII (ｂｅｉｊｉｎｇ), Latin letters without their accents (Pékin as Pekin). Chinese stays as is.
_FOLDABLE = re.compile("[\u00c0-\u024f\uff07\uff0d\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RegionMention:
    """A place named in a text: its province, how often it was named and where first."""

    province: str  # English name of the provincial-level division, e.g. "Hubei"
    place: str  # the place named, its English name, e.g. "Wuhan", "Hubei", "Xiong'an"
    count: int  # how many times places of this entry were named
    first: int  # offset of the first mention in the text searched


@dataclass(frozen=True)
class _Place:
    place: str
    province: str


@dataclass(frozen=True)
class _Names:
    """Spellings naming the same places: one place, a group (京津冀), or none (a common word)."""

    spellings: tuple[str, ...]
    places: tuple[_Place, ...]
    cased: tuple[str, ...] = ()  # spellings that count only with exactly this case


class Gazetteer:
    """Finds provinces, cities and new areas named in Chinese, English or French text.

    Made by `default()` (the packaged regions.yaml) or `from_file()`. Names are matched in one
    left-to-right pass, the longest name first and never overlapping: 浙江西部 is Zhejiang,
    not Jiangxi. Latin names match whole words, whatever their case or accents.
    """

    def __init__(self, provinces: Sequence[str], names: Iterable[_Names]) -> None:
        self._provinces = tuple(provinces)
        self._names: dict[str, _Names] = {}  # by key: lower case, without spaces
        self._cased: dict[str, set[str]] = {}  # key -> the only forms (with case) that count
        han, latin = _Node(), _Node()
        for entry in names:
            for spelling in entry.spellings:
                form = _searchable(spelling)
                self._names[_key(form)] = entry
                (han if _HAN_NAME.fullmatch(form) else latin).insert(form)
            for spelling in entry.cased:
                exact = _key(_folded(spelling))
                self._cased.setdefault(exact.lower(), set()).add(exact)
        # Two passes, one per script, as good as one: their matches cannot overlap.
        self._han = re.compile(_source(han) or "(?!)")
        self._latin = re.compile(f"{_LATIN_START}(?:{_source(latin) or '(?!)'})")

    @classmethod
    def default(cls) -> Gazetteer:
        """The gazetteer of the packaged data, loaded once."""
        return _default()

    @classmethod
    def from_file(cls, path: str | Path) -> Gazetteer:
        """A gazetteer from a file in the format of the packaged regions.yaml."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            problem = f"{path}: cannot read the region gazetteer: {error.strerror}"
            raise ConfigError([problem]) from error
        except UnicodeDecodeError as error:
            raise ConfigError([f"{path}: the region gazetteer is not UTF-8: {error}"]) from error
        return _parse(text, str(path))

    def provinces(self) -> tuple[str, ...]:
        """Every provincial-level division, in the conventional order."""
        return self._provinces

    def find(self, text: str) -> tuple[RegionMention, ...]:
        """One mention per place named, in the order of first mention."""
        tally: dict[_Place, list[int]] = {}  # place -> [first offset, count]
        for offset, places in self._hits(text):
            for place in places:
                if (seen := tally.get(place)) is None:
                    tally[place] = [offset, 1]
                else:
                    seen[1] += 1
        return tuple(RegionMention(place.province, place.place, count, first)
                     for place, (first, count) in tally.items())

    def provinces_in(self, text: str) -> dict[str, int]:
        """Province -> how often its places were named, in the order of first mention."""
        totals: dict[str, int] = {}
        for mention in self.find(text):
            totals[mention.province] = totals.get(mention.province, 0) + mention.count
        return totals

    def _hits(self, text: str) -> Iterator[tuple[int, tuple[_Place, ...]]]:
        """Offsets of the names in text, left to right, with the places each names."""
        folded = _folded(text)
        lowered = folded.lower()
        hits = [(hit.start(), hit.group()) for hit in self._han.finditer(lowered)]
        # With a space in front, the character a Latin match starts with is the one before
        # the name: the match's start in the searched text is the name's offset in text.
        latin = [(hit.start(), hit.group()[1:]) for hit in self._latin.finditer(" " + lowered)]
        if latin:
            hits = sorted(hits + latin) if hits else latin
        for offset, name in hits:
            key = _key(name) if name[0].isascii() else name
            cased = self._cased.get(key)
            if cased is None or _key(folded[offset:offset + len(name)]) in cased:
                yield offset, self._names[key].places


@functools.cache
def _default() -> Gazetteer:
    source = resources.files("monitor.classify") / "data" / "regions.yaml"
    return _parse(source.read_text(encoding="utf-8"), str(source))


# --- matching ---------------------------------------------------------------------------------


@functools.cache
def _fold_char(char: str) -> str:
    if char >= "\uff00":
        return unicodedata.normalize("NFKC", char)
    base = unicodedata.normalize("NFD", char)[0]
    return base if base.isascii() else char


def _fold_match(match: re.Match[str]) -> str:
    return _fold_char(match.group())


def _folded(text: str) -> str:
    """The text as matched, as long as the text: see _FOLDABLE."""
    return _FOLDABLE.sub(_fold_match, text)


def _searchable(name: str) -> str:
    """A name as the pattern spells it: folded and lower case."""
    return _folded(name).lower()


def _key(form: str) -> str:
    """What spellings of one name have in common: the letters, without spaces or apostrophes."""
    return _GAPS.sub("", form)


@dataclass
class _Node:
    """A trie of names, so the pattern tries only the names that begin with the next character."""

    children: dict[str, _Node] = field(default_factory=dict)
    terminal: bool = False
    spaces: bool = False  # a run of spaces or hyphens may come before the next character
    apostrophe: bool = False  # an apostrophe may come before the next character

    def insert(self, form: str) -> None:
        node = self
        for char in form:
            if char.isspace() or char in _HYPHENS:
                node.spaces = True
            elif char in _APOSTROPHES:
                node.apostrophe = True
            else:
                node = node.children.setdefault(char, _Node())
        node.terminal = True

    def gap(self) -> str:
        if self.spaces:
            return _ANY_GAP if self.apostrophe else _SPACE_GAP
        return _APOSTROPHE_GAP if self.apostrophe else ""


def _source(root: _Node) -> str:
    """Alternatives that each start with a literal, so re skips to where a name may start."""
    return "|".join(_branch(char, node) for char, node in sorted(root.children.items()))


def _branch(char: str, node: _Node) -> str:
    return re.escape(char) + _rest(node, char.isascii())


def _rest(node: _Node, latin: bool) -> str:
    """What may follow a node; a name ending here only if no longer one does (greedy `?`)."""
    rest = ""
    if node.children:
        alternatives = _source(node)
        rest = node.gap() + (alternatives if len(node.children) == 1 else f"(?:{alternatives})")
    if not node.terminal:
        return rest
    end = _LATIN_END if latin else ""
    return (f"(?:{rest})?" if rest else "") + end


# --- the data file ----------------------------------------------------------------------------


def _han(name: str) -> str:
    if not _HAN_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not written in Chinese characters only")
    return name


def _latin(name: str) -> str:
    if not _LATIN_KEY.fullmatch(_key(_searchable(name))):
        raise ValueError(f"{name!r} has characters other than Latin letters, digits, spaces, "
                         "hyphens and apostrophes")
    return name


def _any_script(name: str) -> str:
    return name if _HAN_NAME.fullmatch(name) else _latin(name)


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_HanName = Annotated[_Text, AfterValidator(_han)]
_LatinName = Annotated[_Text, AfterValidator(_latin)]
_AnyName = Annotated[_Text, AfterValidator(_any_script)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PlaceModel(_Strict):
    place: _Text
    province: _Text
    zh_hans: tuple[_HanName, ...] = Field(alias="zh-Hans", min_length=1)
    zh_hant: tuple[_HanName, ...] = Field(alias="zh-Hant", min_length=1)
    en: tuple[_LatinName, ...] = Field(min_length=1)
    fr: tuple[_LatinName, ...] = Field(min_length=1)
    cased: tuple[_LatinName, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        return (*self.zh_hans, *self.zh_hant, *self.en, *self.fr)


class _GroupModel(_Strict):
    names: tuple[_AnyName, ...] = Field(min_length=1)
    places: tuple[_Text, ...] = Field(min_length=1)


class _FileModel(_Strict):
    provinces: tuple[_Text, ...] = Field(min_length=1)
    places: tuple[_PlaceModel, ...] = Field(min_length=1)
    groups: tuple[_GroupModel, ...] = ()
    not_places: tuple[_AnyName, ...] = Field(default=(), alias="not-places")


def _parse(text: str, origin: str) -> Gazetteer:
    """The gazetteer of a data file's text; every problem names the file, line and entry."""
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        raise ConfigError([f"{origin}: invalid YAML: {error}"]) from error
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as error:
        problems = _model_problems(error)
    else:
        problems = _problems(model)
    if problems:
        root = yaml.compose(text, Loader=_LOADER)
        raise ConfigError([f"{origin}:{_line(root, loc)}: {_where(loc, data)}: {message}"
                           for loc, message in problems])
    return _gazetteer(model)


def _model_problems(error: ValidationError) -> list[tuple[Loc, str]]:
    """Pydantic's problems, but "too short" for a list whose one item was rejected."""
    problems = [(tuple(detail["loc"]), detail["msg"]) for detail in error.errors()]
    return [(loc, message) for loc, message in problems
            if not any(len(other) > len(loc) and other[:len(loc)] == loc for other, _ in problems)]


def _gazetteer(model: _FileModel) -> Gazetteer:
    places = {entry.place: _Place(entry.place, entry.province) for entry in model.places}
    names = [_Names(entry.spellings(), (places[entry.place],), entry.cased)
             for entry in model.places]
    names += [_Names(group.names, tuple(places[place] for place in group.places))
              for group in model.groups]
    names.append(_Names(model.not_places, ()))
    return Gazetteer(model.provinces, names)


def _problems(model: _FileModel) -> list[tuple[Loc, str]]:
    return [*_province_problems(model), *_place_problems(model), *_group_problems(model),
            *_spelling_problems(model)]


def _province_problems(model: _FileModel) -> list[tuple[Loc, str]]:
    provinces = model.provinces
    own = {entry.place for entry in model.places if entry.place == entry.province}
    return [*((("provinces", index), f"{name!r} is listed twice")
              for index, name in enumerate(provinces) if name in provinces[:index]),
            *((("provinces", index), f"{name!r} has no entry of its own under places "
               f"(one with place: {name} and province: {name})")
              for index, name in enumerate(provinces) if name not in own),
            *((("places", index, "province"), f"{entry.province!r} is not listed under provinces")
              for index, entry in enumerate(model.places) if entry.province not in provinces)]


def _place_problems(model: _FileModel) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(model.places):
        if (first := seen.setdefault(entry.place, index)) != index:
            problems.append((("places", index, "place"),
                             f"{entry.place!r} is already the place of places[{first}]"))
        problems.extend((("places", index, "cased"), f"{name!r} is not one of its en or fr names")
                        for name in entry.cased if name not in (*entry.en, *entry.fr))
    return problems


def _group_problems(model: _FileModel) -> list[tuple[Loc, str]]:
    known = {entry.place for entry in model.places}
    return [(("groups", index, "places"), f"{place!r} is not the place of any entry under places")
            for index, group in enumerate(model.groups) for place in group.places
            if place not in known]


def _spelling_problems(model: _FileModel) -> list[tuple[Loc, str]]:
    """The same name (ignoring case, accents, spaces and apostrophes) for two different things."""
    owners: dict[str, str] = {}
    problems: list[tuple[Loc, str]] = []
    for loc, label, spellings in _spelling_sources(model):
        for spelling in spellings:
            owner = owners.setdefault(_key(_searchable(spelling)), label)
            if owner != label:
                problems.append((loc, f"{spelling!r} also names {owner}"))
    return problems


def _spelling_sources(model: _FileModel) -> Iterator[tuple[Loc, str, tuple[str, ...]]]:
    for index, entry in enumerate(model.places):
        yield ("places", index), f"places[{index}] ({entry.place})", entry.spellings()
    for index, group in enumerate(model.groups):
        yield ("groups", index), f"groups[{index}] ({group.names[0]})", group.names
    for index, name in enumerate(model.not_places):
        yield ("not-places", index), f"not-places[{index}]", (name,)


def _line(node: yaml.Node | None, loc: Loc) -> int:
    """The line of the deepest node of loc that the file has."""
    line = node.start_mark.line + 1 if node is not None else 1
    for step in loc:
        node = _child(node, step)
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((value for key, value in node.value if key.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        child: yaml.Node = node.value[step]
        return child
    return None


def _where(loc: Loc, data: Any) -> str:
    """loc as a path with the entry named: places[12] (Wuhan).zh-Hant[0]."""
    path = ""
    for step in loc:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and step < len(data) else None
            path += f"[{step}]" + _label(data)
        else:
            data = data.get(step) if isinstance(data, dict) else None
            path += f".{step}" if path else step
    return path or "(top)"


def _label(entry: Any) -> str:
    if not isinstance(entry, dict):
        return ""
    names = entry.get("names")
    label = entry.get("place") or (names[0] if isinstance(names, list) and names else None)
    return f" ({label})" if isinstance(label, str) else ""
