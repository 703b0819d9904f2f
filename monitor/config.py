"""The sources.yaml schema (pydantic) and its loading: env substitution, file:line:key errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from monitor.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$", re.IGNORECASE)
_SIZE_FACTOR = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20,
                "gib": 2**30}


def parse_duration(value: object) -> object:
    """'30m', '1h', '20s', '500ms', '2d' or a number of seconds -> timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"'{value}' is not a duration like 30s, 10m, 1h or 1d")
        return timedelta(seconds=float(found.group(1)) * _UNIT_SECONDS[found.group(2)])
    return value


def parse_fraction(value: object) -> object:
    """'10%' or 0.1 -> 0.1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return value


def parse_size(value: object) -> object:
    """'10MB', '512KiB' or a number of bytes -> int."""
    if isinstance(value, str):
        found = _SIZE.match(value)
        if not found:
            raise ValueError(f"'{value}' is not a size like 10MB or 512KiB")
        return int(float(found.group(1)) * _SIZE_FACTOR[(found.group(2) or "b").lower()])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Fraction = Annotated[float, BeforeValidator(parse_fraction), Field(ge=0, le=1)]
ByteSize = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+.*$")]


class StrictModel(BaseModel):
    """Base for config models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(StrictModel):
    """Settings every source inherits unless it sets its own."""

    interval: Duration = timedelta(minutes=30)
    jitter: Fraction = 0.1
    timeout: Duration = timedelta(seconds=20)
    max_body: ByteSize = 10 * 10**6
    user_agent: str = "monitor/0.1 (+https://github.com/monitor-policy/monitor)"


class SourceBase(StrictModel):
    """Fields shared by every source kind."""

    id: Identifier
    url: HttpUrl
    name: str | None = None
    follow: bool = False
    interval: Duration | None = None
    jitter: Fraction | None = None
    timeout: Duration | None = None
    baseline: bool = True  # the first check records what exists and alerts nothing
    language: str | None = None  # hint when pages do not say
    enabled: bool = True


class ItemSelectors(StrictModel):
    """CSS selectors that find the items of a list page and their fields."""

    selector: str
    link: str = "a"
    title: str | None = None  # default: the link's text
    date: str | None = None


class HtmlListSource(SourceBase):
    """A list page without a feed: items found by CSS selectors."""

    kind: Literal["html-list"]
    items: ItemSelectors


class RssSource(SourceBase):
    """An RSS or Atom feed."""

    kind: Literal["rss"]


Source = Annotated[HtmlListSource | RssSource, Field(discriminator="kind")]


class Topic(StrictModel):
    """What to look for: terms per language code."""

    id: Identifier
    name: str | None = None
    terms: dict[str, list[Annotated[str, Field(min_length=1)]]]

    @field_validator("terms")
    @classmethod
    def _some_terms(cls, terms: dict[str, list[str]]) -> dict[str, list[str]]:
        if not any(terms.values()):
            raise ValueError("a topic needs at least one term")
        return terms


class FileChannel(StrictModel):
    """Write each message as .eml and .json files (default: <state>/outbox)."""

    kind: Literal["file"]
    dir: str | None = None


class SmtpChannel(StrictModel):
    """Send e-mail through the `smtp` server section."""

    kind: Literal["smtp"]
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)


class WebhookChannel(StrictModel):
    """POST a JSON payload to any HTTP endpoint."""

    kind: Literal["webhook"]
    url: HttpUrl
    headers: dict[str, str] = {}
    timeout: Duration = timedelta(seconds=10)


class SlackChannel(StrictModel):
    """Post to a Slack incoming webhook."""

    kind: Literal["slack"]
    url: SecretStr
    timeout: Duration = timedelta(seconds=10)


Channel = Annotated[
    FileChannel | SmtpChannel | WebhookChannel | SlackChannel, Field(discriminator="kind")
]


class Subscription(StrictModel):
    """Who gets told about what, how, and when."""

    id: Identifier
    topics: list[str] = []  # empty: every topic
    sources: list[str] = []  # empty: every source
    mode: Literal["digest", "immediate"] = "digest"
    schedule: str = "0 8 * * *"
    timezone: str = "UTC"
    max_items: int = Field(default=50, gt=0)
    send_empty: bool = False
    channel: Channel

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{name}'") from None
        return name

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, expression: str) -> str:
        from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 (keeps import light)

        try:
            CronTrigger.from_crontab(expression)
        except ValueError as error:
            raise ValueError(f"invalid cron schedule '{expression}': {error}") from None
        return expression


class SmtpServer(StrictModel):
    """The mail server used by `smtp` channels."""

    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "monitor@localhost"
    timeout: Duration = timedelta(seconds=30)


class Settings(StrictModel):
    """The whole sources.yaml."""

    version: Literal[1]
    defaults: Defaults = Defaults()
    sources: list[Source] = Field(min_length=1)
    topics: list[Topic] = Field(min_length=1)
    subscriptions: list[Subscription] = []
    smtp: SmtpServer | None = None
    templates_dir: str | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        _unique("sources", [source.id for source in self.sources])
        _unique("topics", [topic.id for topic in self.topics])
        _unique("subscriptions", [sub.id for sub in self.subscriptions])
        topic_ids = {topic.id for topic in self.topics}
        source_ids = {source.id for source in self.sources}
        for sub in self.subscriptions:
            _known(f"subscription '{sub.id}' topics", sub.topics, topic_ids)
            _known(f"subscription '{sub.id}' sources", sub.sources, source_ids)
            if sub.channel.kind == "smtp" and self.smtp is None:
                raise ValueError(f"subscription '{sub.id}' uses smtp but no `smtp:` section is set")
        return self

    def source(self, source_id: str) -> HtmlListSource | RssSource:
        """The source with this id; KeyError when there is none."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)


def _unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what}: id '{item}' is used twice")
        seen.add(item)


def _known(what: str, names: list[str], known: set[str]) -> None:
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValueError(f"{what}: unknown id(s) {', '.join(unknown)}")


def load_config(path: Path, env: Mapping[str, str]) -> Settings:
    """Read, substitute ${ENV} references in, and validate a sources.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from error
    return parse_config(text, str(path), env)


def parse_config(text: str, filename: str, env: Mapping[str, str]) -> Settings:
    """Validate YAML text; every problem names the file, the line and the key path."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{filename}{line}: invalid YAML: {error}"]) from error
    if root is None or not isinstance(data, dict):
        raise ConfigError([f"{filename}:1: expected a mapping with version, sources and topics"])
    problems: list[tuple[tuple[str | int, ...], str]] = []
    data = _substitute_env(data, (), env, problems)
    if problems:
        raise ConfigError([f"{filename}:{_line_of(root, loc)}: {_dotted(loc)}: {msg}"
                           for loc, msg in problems])
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, root, data, filename)) from error


def _substitute_env(value: Any, loc: tuple[str | int, ...], env: Mapping[str, str],
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


def _describe(error: ValidationError, root: yaml.Node, data: Any, filename: str) -> list[str]:
    problems = []
    for detail in error.errors():
        loc, message = _yaml_loc(detail["loc"], data), _message(detail)
        if detail["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            loc = (*loc, "kind")
        problems.append(f"{filename}:{_line_of(root, loc)}: {_dotted(loc) or '(top)'}: {message}")
    return problems


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
    return detail["msg"]


def _yaml_loc(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
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


def _line_of(root: yaml.Node, loc: tuple[str | int, ...]) -> int:
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


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def json_schema() -> dict[str, Any]:
    """The JSON Schema of sources.yaml."""
    return Settings.model_json_schema()
