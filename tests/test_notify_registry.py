"""build_notifier: one notifier per channel kind, built from config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from monitor.config import FileChannel, Settings, SlackChannel, SmtpChannel, WebhookChannel
from monitor.errors import ConfigError
from monitor.notify import (
    FileNotifier,
    SlackNotifier,
    SmtpNotifier,
    WebhookNotifier,
    build_notifier,
)


def settings(*, smtp: bool = True) -> Settings:
    return Settings.model_validate({
        "version": 1,
        "sources": [{"id": "pbc", "kind": "rss", "url": "https://www.pbc.gov.cn/rss"}],
        "topics": [{"id": "crypto", "terms": {"zh": ["虚拟货币"]}}],
        **({"smtp": {"host": "mail.example.org"}} if smtp else {}),
    })


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


@pytest.mark.parametrize(("channel", "kind"), [
    (FileChannel(kind="file"), FileNotifier),
    (SmtpChannel(kind="smtp", to=["a@example.org"]), SmtpNotifier),
    (WebhookChannel(kind="webhook", url="https://example.org/hook"), WebhookNotifier),
    (SlackChannel(kind="slack", url="https://hooks.slack.com/x"), SlackNotifier),
])
async def test_each_kind_has_a_notifier(channel: object, kind: type,
                                        client: httpx.AsyncClient, tmp_path: Path) -> None:
    notifier = build_notifier(channel, settings=settings(), state_dir=tmp_path,  # type: ignore[arg-type]
                              client=client)
    assert isinstance(notifier, kind)


async def test_file_directory_defaults_to_outbox_and_is_relative_to_state(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    def directory(channel: FileChannel) -> Path:
        notifier = build_notifier(channel, settings=settings(), state_dir=tmp_path, client=client)
        assert isinstance(notifier, FileNotifier)
        return notifier.directory

    assert directory(FileChannel(kind="file")) == tmp_path / "outbox"
    assert directory(FileChannel(kind="file", dir="mail")) == tmp_path / "mail"
    assert directory(FileChannel(kind="file", dir="/var/x")) == Path("/var/x")


async def test_smtp_without_server_section_is_a_config_error(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_notifier(SmtpChannel(kind="smtp", to=["a@example.org"]),
                       settings=settings(smtp=False), state_dir=tmp_path, client=client)
