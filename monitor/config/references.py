"""Checks across sections of sources.yaml: unique ids, and references that resolve."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from monitor.config.models import Settings, Subscription

Problem = tuple[tuple[str | int, ...], str]  # (key path, message)


def reference_problems(settings: Settings) -> list[Problem]:
    """Every duplicate id and dangling reference, each with the key path it is at."""
    problems = [*_duplicates("sources", [s.id for s in settings.sources]),
                *_duplicates("topics", [t.id for t in settings.topics]),
                *_duplicates("subscriptions", [s.id for s in settings.subscriptions])]
    topics = {topic.id for topic in settings.topics}
    sources = {source.id for source in settings.sources}
    for index, sub in enumerate(settings.subscriptions):
        at = ("subscriptions", index)
        problems += _unknown((*at, "topics"), sub.topics, topics, "topic")
        problems += _unknown((*at, "sources"), sub.sources, sources, "source")
        problems += _filter_problems(settings, sub, at)
        if sub.channel.kind == "smtp" and settings.smtp is None:
            problems.append(((*at, "channel", "kind"),
                             "smtp channels need an `smtp:` section (host, port, …)"))
    return problems


def _duplicates(section: str, ids: list[str]) -> Iterable[Problem]:
    first: dict[str, int] = {}
    for index, item in enumerate(ids):
        if item in first:
            yield ((section, index, "id"),
                   f"id '{item}' is already used by {section}[{first[item]}]")
        first.setdefault(item, index)


def _unknown(at: tuple[str | int, ...], names: list[str], known: set[str],
             what: str) -> Iterable[Problem]:
    for index, name in enumerate(names):
        if name not in known:
            yield (*at, index), f"unknown {what} '{name}'"


_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _filter_problems(settings: Settings, sub: Subscription,
                     at: tuple[str | int, ...]) -> list[Problem]:
    """Categories its topics define (or "other"), the gazetteer's provinces, language codes."""
    categories = [*settings.categories_for(sub), "other"]
    return [*_unlisted((*at, "categories"), sub.categories, categories, "category"),
            *_unlisted((*at, "regions"), sub.regions, _provinces() if sub.regions else [],
                       "region"),
            *_languages((*at, "languages"), sub.languages)]


def _provinces() -> list[str]:
    from monitor.classify.regions import Gazetteer  # noqa: PLC0415 (loads data: only when used)

    return list(Gazetteer.default().provinces())


def _unlisted(at: tuple[str | int, ...], names: list[str], known: Sequence[str],
              what: str) -> Iterable[Problem]:
    """Like `_unknown`, and says what was probably meant, or what there is to choose from."""
    for index, name in enumerate(names):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1) or [
            k for k in known if k.lower() == name.lower()]
        hint = f"did you mean '{close[0]}'?" if close else "expected one of " + ", ".join(known)
        yield (*at, index), f"unknown {what} '{name}': {hint}"


def _languages(at: tuple[str | int, ...], codes: list[str]) -> Iterable[Problem]:
    for index, code in enumerate(codes):
        if not _LANGUAGE.fullmatch(code):
            primary = re.split(r"[-_]", code)[0].lower()
            yield ((*at, index), f"language '{code}': documents carry primary language codes "
                                 f"only (zh, en, fr); write '{primary}'")
