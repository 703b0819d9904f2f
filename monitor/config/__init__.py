"""Configuration: the sources.yaml schema and its loading."""

from monitor.config.loading import json_schema, load_config, parse_config
from monitor.config.models import (
    Channel,
    Defaults,
    FileChannel,
    HtmlListSource,
    ItemSelectors,
    Pagination,
    RssSource,
    Settings,
    SlackChannel,
    SmtpChannel,
    SmtpServer,
    Source,
    SourceBase,
    Subscription,
    Topic,
    WebhookChannel,
)
from monitor.config.types import parse_duration, parse_fraction, parse_size

__all__ = [
    "Channel",
    "Defaults",
    "FileChannel",
    "HtmlListSource",
    "ItemSelectors",
    "Pagination",
    "RssSource",
    "Settings",
    "SlackChannel",
    "SmtpChannel",
    "SmtpServer",
    "Source",
    "SourceBase",
    "Subscription",
    "Topic",
    "WebhookChannel",
    "json_schema",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_fraction",
    "parse_size",
]
