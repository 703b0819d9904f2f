"""The sources.yaml schema: pydantic models, unknown keys rejected."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import soupsieve
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from monitor.config.types import ByteSize, Duration, Fraction, HttpUrl, Identifier


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

    @field_validator("selector", "link", "title", "date")
    @classmethod
    def _valid_css(cls, selector: str | None) -> str | None:
        if selector is not None:
            try:
                soupsieve.compile(selector)
            except soupsieve.SelectorSyntaxError as error:
                reason = str(error).splitlines()[0]
                raise ValueError(f"invalid CSS selector '{selector}': {reason}") from None
        return selector


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

    def source(self, source_id: str) -> HtmlListSource | RssSource:
        """The source with this id; KeyError when there is none."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)
