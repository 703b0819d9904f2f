"""sources.yaml validation: file:line:key errors, env references, the README example."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import json_schema, load_config, parse_config
from monitor.errors import ConfigError

ROOT = Path(__file__).parents[1]

VALID = """\
version: 1
sources:
  - id: a
    kind: html-list
    url: https://example.org/list
    items: {selector: "ul li"}
topics:
  - id: t
    terms: {zh: [区块链]}
"""


def _errors(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "sources.yaml", env or {})
    return caught.value.problems


def test_missing_field_names_file_line_and_key_path() -> None:
    text = VALID + """\
  - id: b
    terms: {en: [x]}
"""
    text = text.replace('items: {selector: "ul li"}', "items: {link: a}")
    assert _errors(text) == ["sources.yaml:6: sources[0].items.selector: field required"]


def test_unknown_key_is_rejected_with_its_line() -> None:
    text = VALID.replace("    url:", "    colour: blue\n    url:")
    assert _errors(text) == ["sources.yaml:5: sources[0].colour: unknown key"]


def test_bad_values_are_named() -> None:
    text = VALID.replace("version: 1", "version: 1\ndefaults: {interval: soon}")
    (problem,) = _errors(text)
    assert problem.startswith("sources.yaml:2: defaults.interval:")
    assert "'soon' is not a duration" in problem


def test_env_references_are_substituted_or_reported() -> None:
    text = VALID.replace("https://example.org/list", "${BASE}/list")
    settings = parse_config(text, "sources.yaml", {"BASE": "https://portal.example"})
    assert settings.sources[0].url == "https://portal.example/list"
    assert _errors(text) == [
        "sources.yaml:5: sources[0].url: environment variable BASE is not set"]


def test_every_cross_reference_problem_has_its_line_and_key() -> None:
    text = VALID + """\
  - id: t
    terms: {en: [x]}
subscriptions:
  - id: s
    topics: [t, nope]
    sources: [gone]
    channel: {kind: smtp, to: [a@example.org]}
"""
    assert _errors(text) == [
        "sources.yaml:10: topics[1].id: id 't' is already used by topics[0]",
        "sources.yaml:14: subscriptions[0].topics[1]: unknown topic 'nope'",
        "sources.yaml:15: subscriptions[0].sources[0]: unknown source 'gone'",
        "sources.yaml:16: subscriptions[0].channel.kind: smtp channels need an `smtp:` "
        "section (host, port, …)",
    ]


def test_invalid_css_selector_and_zero_durations_are_refused() -> None:
    text = VALID.replace('"ul li"', '"ul li["').replace("version: 1",
                                                          "version: 1\ndefaults: {interval: 0s}")
    assert _errors(text) == [
        "sources.yaml:2: defaults.interval: must be longer than 0s",
        "sources.yaml:7: sources[0].items.selector: invalid CSS selector 'ul li[': "
        "Malformed attribute selector at position 5",
    ]


def test_a_key_given_twice_is_an_error() -> None:
    (problem,) = _errors(VALID.replace("    kind: html-list", "    kind: html-list\n    kind: rss"))
    assert problem.startswith("sources.yaml:5: invalid YAML") and "given twice" in problem


def test_invalid_yaml_names_the_line() -> None:
    (problem,) = _errors("version: 1\nsources: [\n")
    assert problem.startswith("sources.yaml:3: invalid YAML")


def test_durations_and_fractions_parse() -> None:
    text = VALID.replace("version: 1", "version: 1\ndefaults: {interval: 1h, jitter: 10%}")
    settings = parse_config(text, "sources.yaml", {})
    assert settings.defaults.interval == timedelta(hours=1)
    assert settings.defaults.jitter == pytest.approx(0.1)


def test_shipped_sources_yaml_is_valid() -> None:
    settings = load_config(ROOT / "sources.yaml", {})
    assert len(settings.sources) >= 8
    assert any(sub.channel.kind == "file" for sub in settings.subscriptions)


def test_readme_configuration_example_is_valid() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert blocks, "README shows a sources.yaml example"
    for block in blocks:
        parse_config(block, "README.md", {})


def test_json_schema_describes_sources() -> None:
    schema = json_schema()
    assert "sources" in schema["properties"]
    assert "html-list" in str(schema)
