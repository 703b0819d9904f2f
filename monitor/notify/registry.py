"""Building the Notifier for a subscription's channel: one factory per channel kind."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from monitor.config import (
    AppriseChannel,
    FileChannel,
    Settings,
    SlackChannel,
    SmtpChannel,
    WebhookChannel,
)
from monitor.errors import ConfigError
from monitor.notify.apprise import AppriseNotifier, check_apprise_url
from monitor.notify.base import Notifier
from monitor.notify.file import FileNotifier
from monitor.notify.slack import SlackNotifier
from monitor.notify.smtp import SmtpNotifier
from monitor.notify.webhook import WebhookNotifier

AnyChannel = FileChannel | SmtpChannel | WebhookChannel | SlackChannel | AppriseChannel


@dataclass(frozen=True)
class _Context:
    settings: Settings
    state_dir: Path
    client: httpx.AsyncClient


def build_notifier(channel: AnyChannel, *, settings: Settings, state_dir: Path,
                   client: httpx.AsyncClient) -> Notifier:
    """The notifier for `channel`; HTTP notifiers share `client`."""
    factory = _FACTORIES[channel.kind]
    return factory(channel, _Context(settings, state_dir, client))


def _file(channel: FileChannel, context: _Context) -> Notifier:
    if channel.dir is None:
        return FileNotifier(context.state_dir / "outbox")
    return FileNotifier(context.state_dir / Path(channel.dir).expanduser())


def _smtp(channel: SmtpChannel, context: _Context) -> Notifier:
    if context.settings.smtp is None:
        raise ConfigError(["an smtp channel is configured but there is no `smtp:` section"])
    server = context.settings.smtp
    tls_context = ssl.create_default_context(cafile=server.ca_file) if server.ca_file else None
    return SmtpNotifier(server, channel.to, tls_context=tls_context)


def _webhook(channel: WebhookChannel, context: _Context) -> Notifier:
    try:
        return WebhookNotifier(channel, context.client)
    except ValueError as error:  # the secret is malformed; the message never quotes it
        raise ConfigError([f"{_where(channel, context)}.secret: {error}"]) from error


def _slack(channel: SlackChannel, context: _Context) -> Notifier:
    return SlackNotifier(channel, context.client)


def _apprise(channel: AppriseChannel, context: _Context) -> Notifier:
    try:
        check_apprise_url(channel.url.get_secret_value())
    except ValueError as error:  # the message names the scheme only, never the URL
        raise ConfigError([f"{_where(channel, context)}.url: {error}"]) from error
    return AppriseNotifier(channel)


def _where(channel: AnyChannel, context: _Context) -> str:
    """`subscription 'id': channel` for the subscription whose channel this is."""
    for subscription in context.settings.subscriptions:
        if subscription.channel is channel:
            return f"subscription '{subscription.id}': channel"
    return f"{channel.kind} channel"


# A new notifier kind: one module, plus one line here.
_FACTORIES: dict[str, Callable[[Any, _Context], Notifier]] = {
    "file": _file,
    "smtp": _smtp,
    "webhook": _webhook,
    "slack": _slack,
    "apprise": _apprise,
}
