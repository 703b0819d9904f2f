"""The notify stage: render digests and deliver them by file, e-mail, webhook or Slack."""

from __future__ import annotations

from monitor.notify.base import Notifier
from monitor.notify.file import FileNotifier
from monitor.notify.mime import build_email
from monitor.notify.registry import build_notifier
from monitor.notify.render import DigestRenderer, default_template_dirs
from monitor.notify.slack import SlackNotifier
from monitor.notify.smtp import SmtpNotifier
from monitor.notify.webhook import WebhookNotifier

__all__ = [
    "DigestRenderer",
    "FileNotifier",
    "Notifier",
    "SlackNotifier",
    "SmtpNotifier",
    "WebhookNotifier",
    "build_email",
    "build_notifier",
    "default_template_dirs",
]
