"""Checks across sections of sources.yaml: unique ids, and references that resolve."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.config.models import Settings

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
