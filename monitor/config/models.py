"""The sources.yaml schema: pydantic models, unknown keys rejected."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta
from typing import Annotated, Literal

import soupsieve
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from monitor.config.types import (
    ByteSize,
    Duration,
    Fraction,
    HttpUrl,
    Identifier,
    TimeZoneName,
    parse_duration,
)

# A pause that may be 0s, e.g. between requests to one host.
Pause = Annotated[timedelta, BeforeValidator(parse_duration), Field(ge=timedelta(0))]
# A host name for allowed_hosts; `*.example.org` (or example.org) also allows its subdomains.
HostName = Annotated[str, Field(pattern=r"^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")]
# One exact host name (or IPv4 address), as a key of `hosts:`.
ExactHost = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")]


def _compile_css(selector: str) -> None:
    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as error:
        reason = str(error).splitlines()[0]
        raise ValueError(f"invalid CSS selector '{selector}': {reason}") from None


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
    max_failures: int = Field(default=3, gt=0)  # failed checks in a row before "failing"
    per_host_concurrency: int = Field(default=2, gt=0)  # requests at once to one host
    per_host_delay: Pause = timedelta(seconds=1)  # between the starts of requests to one host
    retries: int = Field(default=2, ge=0)  # more attempts after a transient failure
    allow_private: bool = False  # may sources fetch private or loopback addresses


class HostSettings(StrictModel):
    """One host's own limits, for every source's requests to it; unset keys keep the defaults'.

    A source's own `per_host_delay` still wins for that source's requests.
    """

    per_host_concurrency: int | None = Field(default=None, gt=0)  # requests at once
    per_host_delay: Pause | None = None  # between the starts of requests to this host


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
    timezone: TimeZoneName = "Asia/Shanghai"  # dates written without an offset are local here
    robots: bool = True  # honour robots.txt (false: ignored, with a warning)
    allow_private: bool | None = None  # overrides defaults.allow_private
    allowed_hosts: list[HostName] = []  # other hosts followed links may go to
    per_host_delay: Pause | None = None  # overrides defaults.per_host_delay for this source
    max_failures: int | None = Field(default=None, gt=0)  # overrides defaults.max_failures
    expect_every: Duration | None = None  # no new item for longer than this: "quiet"
    attachments: bool = True  # followed pages: read linked PDF/DOCX/XLSX/OFD into the text
    max_attachments: int = Field(default=5, ge=0)  # attachments read per page
    max_attachment_size: ByteSize = 20 * 10**6  # larger files are skipped (so is max_body)


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
            _compile_css(selector)
        return selector


class Pagination(StrictModel):
    """How `monitor backfill` finds older list pages: a next-link selector or a URL pattern."""

    next: str | None = None  # CSS selector of the link to the next (older) page
    pattern: str | None = None  # e.g. "index_{n}.html", resolved against the source URL
    start: int = 1  # n of the second page (the first is the source URL): index_1.html
    max_pages: int = Field(default=50, gt=0)

    @model_validator(mode="after")
    def _one_way(self) -> Pagination:
        if (self.next is None) == (self.pattern is None):
            raise ValueError("give exactly one of `next` (a CSS selector) or `pattern`")
        if self.pattern is not None:
            try:
                self.pattern.format(n=self.start)
            except (KeyError, IndexError, ValueError):
                raise ValueError("`pattern` may hold only {n}, where the page number goes"
                                 ) from None
            if "{n}" not in self.pattern:
                raise ValueError("`pattern` needs {n} where the page number goes")
        if self.next is not None:
            _compile_css(self.next)
        return self


class HtmlListSource(SourceBase):
    """A list page without a feed: items found by CSS selectors."""

    kind: Literal["html-list"]
    items: ItemSelectors
    pagination: Pagination | None = None  # used by `monitor backfill`


class RssSource(SourceBase):
    """An RSS or Atom feed."""

    kind: Literal["rss"]


class SitemapSource(SourceBase):
    """A sitemap.xml, a sitemap index (its newest child sitemaps are read) or a .xml.gz."""

    kind: Literal["sitemap"]
    include: str | None = None  # regex a URL must match (re.search) to become an item
    max_sitemaps: int = Field(default=5, gt=0)  # child sitemaps of an index read per check

    @field_validator("include")
    @classmethod
    def _valid_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"invalid regular expression '{pattern}': {error}") from None
        return pattern


class JsonSource(SourceBase):
    """A JSON API that lists items: dotted paths find the list and each item's fields."""

    kind: Literal["json"]
    items: str = ""  # dotted path to the list, e.g. data.list; '' is the document itself
    link: str = "url"  # path inside an item
    title: str = "title"
    date: str | None = None
    text: str | None = None  # a summary or the full text, when the API carries it
    base_url: HttpUrl | None = None  # relative links resolve against it (default: url)


class PageSource(SourceBase):
    """One page watched as a whole: its main text is one document, changes are reported."""

    kind: Literal["page"]


AnySource = HtmlListSource | RssSource | SitemapSource | JsonSource | PageSource
Source = Annotated[AnySource, Field(discriminator="kind")]


Term = Annotated[str, Field(min_length=1)]
CategoryName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=40)]
TermsByLanguage = dict[str, list[Term]]  # language → terms; each is searched in every text


class Topic(StrictModel):
    """What to look for, in layers: topic terms, then who and where, category cues and guards.

    Only `terms` is required: a topic with terms alone matches any document naming one of
    them. The other layers turn that into a scored decision (see README, "Classification").
    """

    id: Identifier
    name: str | None = None
    terms: TermsByLanguage
    authorities: TermsByLanguage = {}  # government bodies and documents; one must be named
    places: TermsByLanguage = {}  # words for the country (中国, China), besides region names
    elsewhere: TermsByLanguage = {}  # other countries: when they outnumber ours, not ours
    categories: dict[CategoryName, TermsByLanguage] = {}  # category → its cues, best first
    guards: TermsByLanguage = {}  # what looks like the topic but is not (prices, hacks, mining)
    threshold: Fraction = 0.5  # the relevance score a document needs to match

    @field_validator("terms")
    @classmethod
    def _some_terms(cls, terms: dict[str, list[str]]) -> dict[str, list[str]]:
        if not any(terms.values()):
            raise ValueError("a topic needs at least one term")
        return terms

    def layered(self) -> bool:
        """Whether any layer beyond the terms is configured."""
        return bool(self.authorities or self.places or self.categories or self.guards)


class FileChannel(StrictModel):
    """Write each message as .eml and .json files (default: <state>/outbox)."""

    kind: Literal["file"]
    dir: str | None = None


class SmtpChannel(StrictModel):
    """Send e-mail through the `smtp` server section."""

    kind: Literal["smtp"]
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)


class WebhookChannel(StrictModel):
    """POST a JSON payload to any HTTP endpoint, signed per Standard Webhooks with `secret`."""

    kind: Literal["webhook"]
    url: HttpUrl
    headers: dict[str, SecretStr] = {}  # e.g. Authorization; masked in logs and repr
    secret: SecretStr | None = None  # whsec_<base64>: adds the webhook-signature header
    timeout: Duration = timedelta(seconds=10)

    @field_validator("secret")
    @classmethod
    def _standard_webhooks_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None:
            value = secret.get_secret_value()
            body = value.removeprefix("whsec_")
            try:
                valid = value.startswith("whsec_") and bool(
                    base64.b64decode(body + "=" * (-len(body) % 4), validate=True))
            except binascii.Error:
                valid = False
            if not valid:
                raise ValueError("a webhook secret is 'whsec_' followed by base64 "
                                 "(e.g. whsec_ + 32 random bytes, base64-encoded)")
        return secret


class SlackChannel(StrictModel):
    """Post to a Slack incoming webhook."""

    kind: Literal["slack"]
    url: SecretStr
    timeout: Duration = timedelta(seconds=10)


class AppriseChannel(StrictModel):
    """Any service apprise knows (Teams, Discord, Telegram, DingTalk, Feishu, WeCom, …)."""

    kind: Literal["apprise"]
    url: SecretStr  # an apprise URL, e.g. tgram://bottoken/ChatID; masked in logs and repr
    timeout: Duration = timedelta(seconds=30)


Channel = Annotated[
    FileChannel | SmtpChannel | WebhookChannel | SlackChannel | AppriseChannel,
    Field(discriminator="kind"),
]


class Subscription(StrictModel):
    """Who gets told about what, how, and when."""

    id: Identifier
    topics: list[str] = []  # empty: every topic
    sources: list[str] = []  # empty: every source
    categories: list[str] = []  # empty: every category (plan, pilot, gov_report, …)
    regions: list[str] = []  # provincial-level divisions (English names); empty: anywhere
    languages: list[str] = []  # document languages (zh, en, fr); empty: any
    min_score: Fraction = 0.0  # relevance score a match needs for this subscription
    unsubscribe_url: HttpUrl | None = None  # List-Unsubscribe (+ RFC 8058 one-click) in e-mail
    mode: Literal["digest", "immediate"] = "digest"
    schedule: str = "0 8 * * *"
    timezone: TimeZoneName = "UTC"
    max_items: int = Field(default=50, gt=0)
    send_empty: bool = False
    operator_alerts: bool = False  # also tell this subscription when sources fail or go quiet
    channel: Channel

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, expression: str) -> str:
        from monitor.cron import cron_trigger  # noqa: PLC0415 (keeps import light)

        try:
            cron_trigger(expression, "UTC")
        except ValueError as error:
            raise ValueError(f"invalid cron schedule '{expression}': {error}") from None
        return expression


class DeliverySettings(StrictModel):
    """How long the outbox keeps trying a message before it goes to the dead letters."""

    max_attempts: int = Field(default=12, gt=0)
    max_age: Duration = timedelta(days=2)  # since the message was composed


class ObserveSettings(StrictModel):
    """The HTTP endpoint of `monitor run`: /healthz, /readyz and Prometheus /metrics."""

    enabled: bool = True
    host: str = Field(default="127.0.0.1", min_length=1)  # 0.0.0.0 to be scraped from outside
    port: int = Field(default=9108, ge=0, lt=65536)  # 0: any free port (see <state>/observe.addr)


class ReplicaSettings(StrictModel):
    """How `monitor run` processes sharing one database split the work (also with just one)."""

    lease: Duration = timedelta(seconds=60)  # a claimed source unrenewed this long: others take it
    claim_every: Duration = timedelta(seconds=1)  # how often due sources are looked for
    max_checks: int = Field(default=256, gt=0)  # sources one process holds at a time

    @model_validator(mode="after")
    def _renewable(self) -> ReplicaSettings:
        if self.lease < timedelta(seconds=3):
            raise ValueError("lease must be at least 3s (it is renewed every third of it)")
        return self


class SmtpServer(StrictModel):
    """The mail server used by `smtp` channels."""

    host: str
    port: int = Field(default=587, gt=0, lt=65536)  # 465 when `security: tls` and unset
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "monitor@localhost"
    timeout: Duration = timedelta(seconds=30)
    ca_file: str | None = None  # PEM bundle to trust instead of the system's (a private CA)

    @model_validator(mode="before")
    @classmethod
    def _implicit_tls_port(cls, data: object) -> object:
        if isinstance(data, dict) and "port" not in data and data.get("security") == "tls":
            return {**data, "port": 465}
        return data


class Settings(StrictModel):
    """The whole sources.yaml."""

    version: Literal[1]
    defaults: Defaults = Defaults()
    hosts: dict[ExactHost, HostSettings] = {}  # host name -> its own per-host limits
    sources: list[Source] = Field(min_length=1)
    topics: list[Topic] = Field(min_length=1)
    subscriptions: list[Subscription] = []
    smtp: SmtpServer | None = None
    delivery: DeliverySettings = DeliverySettings()
    observe: ObserveSettings = ObserveSettings()
    replicas: ReplicaSettings = ReplicaSettings()
    templates_dir: str | None = None

    @field_validator("hosts")
    @classmethod
    def _lower_case_hosts(cls, hosts: dict[str, HostSettings]) -> dict[str, HostSettings]:
        lowered = {name.lower(): limits for name, limits in hosts.items()}
        if len(lowered) < len(hosts):
            raise ValueError("a host is listed twice (host names are case-insensitive)")
        return lowered

    def categories_for(self, subscription: Subscription) -> tuple[str, ...]:
        """The categories the subscription's topics (every topic when it names none) define,
        in the order they are configured: the order digests group items in."""
        topics = [topic for topic in self.topics
                  if not subscription.topics or topic.id in subscription.topics]
        return tuple(dict.fromkeys(name for topic in topics for name in topic.categories))

    def secret_values(self) -> list[str]:
        """Every secret the config holds (passwords, tokens, chat URLs), to mask in logs."""
        found = [self.smtp.password] if self.smtp and self.smtp.password else []
        for subscription in self.subscriptions:
            channel = subscription.channel
            if isinstance(channel, WebhookChannel):
                found += [*channel.headers.values(), *([channel.secret] if channel.secret else [])]
            elif isinstance(channel, SlackChannel | AppriseChannel):
                found.append(channel.url)
        return [secret.get_secret_value() for secret in found]

    def source(self, source_id: str) -> AnySource:
        """The source with this id; KeyError when there is none."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)
