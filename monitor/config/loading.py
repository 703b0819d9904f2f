"""Loading sources.yaml: YAML with line numbers, ${ENV} substitution, file:line:key errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from monitor.config.models import Settings
from monitor.config.references import reference_problems
from monitor.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Loc = tuple[str | int, ...]


def load_config(path: Path, env: Mapping[str, str]) -> Settings:
    """Read, substitute ${ENV} references in, and validate a sources.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from error
    return parse_config(text, str(path), env)


def parse_config(text: str, filename: str, env: Mapping[str, str]) -> Settings:
    """Validate YAML text; every problem names the file, the line and the key path."""
    root, data = _parse_yaml(text, filename)
    problems: list[tuple[Loc, str]] = []
    data = _substitute_env(data, (), env, problems)
    if not problems:
        try:
            settings = Settings.model_validate(data)
        except ValidationError as error:
            problems = [(_problem_loc(detail, data), _message(detail))
                        for detail in error.errors()]
        else:
            problems = reference_problems(settings)
    if problems:
        raise ConfigError([f"{filename}:{_line_of(root, loc)}: {_dotted(loc) or '(top)'}: {msg}"
                           for loc, msg in problems])
    return settings


def _parse_yaml(text: str, filename: str) -> tuple[yaml.Node, dict[str, Any]]:
    """The node tree (for line numbers) and the data; duplicate keys are errors."""
    loader = _StrictLoader(text)
    try:
        root = loader.get_single_node()  # parsed once: the nodes give lines, then the data
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{filename}{line}: invalid YAML: {error}"]) from error
    finally:
        loader.dispose()
    if root is None or not isinstance(data, dict):
        raise ConfigError([f"{filename}:1: expected a mapping with version, sources and topics"])
    return root, data


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses a key given twice in one mapping (YAML keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice", key_node.start_mark)
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _substitute_env(value: Any, loc: Loc, env: Mapping[str, str],
                    problems: list[Any]) -> Any:
    if isinstance(value, dict):
        return {key: _substitute_env(item, (*loc, key), env, problems)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_env(item, (*loc, index), env, problems)
                for index, item in enumerate(value)]
    if isinstance(value, str):
        def replace(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append((loc, f"environment variable {name} is not set"))
            return ""
        return _ENV_REF.sub(replace, value)
    return value


def _problem_loc(detail: ErrorDetails, data: Any) -> Loc:
    loc = _yaml_loc(detail["loc"], data)
    if detail["type"] in {"union_tag_invalid", "union_tag_not_found"}:
        loc = (*loc, "kind")
    return loc


def _message(detail: ErrorDetails) -> str:
    """Pydantic's message, said the way a person editing YAML thinks of it."""
    kind = detail["type"]
    context = detail.get("ctx", {})
    if kind in {"missing", "union_tag_not_found"}:
        return "field required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "union_tag_invalid":
        return f"unknown kind '{context['tag']}', expected one of {context['expected_tags']}"
    if kind == "value_error":
        return str(context.get("error", detail["msg"]))
    return detail["msg"]


def _yaml_loc(loc: Loc, data: Any) -> Loc:
    """Drop the parts pydantic adds (union tags, validator names) that are not YAML keys."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and part == node.get("kind"):
            continue  # the discriminated-union tag, e.g. 'html-list'
        kept.append(part)
        node = _step(node, part)
    return tuple(kept)


def _step(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _line_of(root: yaml.Node, loc: Loc) -> int:
    """1-based line of the deepest YAML node that exists along `loc`."""
    node = root
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def json_schema() -> dict[str, Any]:
    """The JSON Schema of sources.yaml."""
    return Settings.model_json_schema()
