"""AppriseNotifier through apprise's json:// service to a real local receiver."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.config import AppriseChannel, Settings
from monitor.domain import OutboundMessage, RenderedMessage
from monitor.errors import ConfigError, DeliveryError
from monitor.notify.apprise import AppriseNotifier, check_apprise_url
from monitor.notify.registry import build_notifier
from tests.fixture_server import FixtureServer

SUBJECT = "3 份新的区块链政策文件：2 项规划，1 项试点"
TEXT = "中国人民银行关于虚拟货币的通知\nhttps://www.pbc.gov.cn/a.html\n\nArrêté « blockchain »"


def outbound() -> OutboundMessage:
    rendered = RenderedMessage(SUBJECT, TEXT, "<p>html</p>", {"version": 1, "items": []})
    return OutboundMessage(7, "alice-7-k3y", "alice", rendered, datetime(2024, 5, 6, tzinfo=UTC))


def notifier(url: str, *, timeout: float = 5.0) -> AppriseNotifier:
    return AppriseNotifier(AppriseChannel(kind="apprise", url=url,
                                          timeout=timedelta(seconds=timeout)))


def json_url(server: FixtureServer, path: str, *, auth: str = "") -> str:
    return f"json://{auth}{server.base_url.removeprefix('http://')}{path}"


def free_port() -> int:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_the_receiver_gets_title_and_body(http_server: FixtureServer) -> None:
    http_server.set("/notify", "ok", content_type="text/plain")
    await notifier(json_url(http_server, "/notify")).send(outbound())
    [request] = http_server.requests_to("/notify")
    assert request.method == "POST"
    body = json.loads(request.body)
    assert body["title"] == SUBJECT
    assert body["message"] == TEXT


async def test_sending_does_not_block_the_event_loop(http_server: FixtureServer) -> None:
    http_server.set("/notify", "ok", content_type="text/plain", delay=0.4)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.02)

    ticker = asyncio.create_task(tick())
    await notifier(json_url(http_server, "/notify")).send(outbound())
    ticker.cancel()
    assert ticks >= 10


async def test_a_500_is_retryable_and_the_reason_hides_the_url(
        http_server: FixtureServer) -> None:
    path = "/s3cret-path"
    http_server.set(path, "boom", status=500, content_type="text/plain")
    url = json_url(http_server, path, auth="bob:p4ssw0rd@")
    with pytest.raises(DeliveryError) as caught:
        await notifier(url).send(outbound())
    assert caught.value.retryable is True
    assert caught.value.reason.startswith("apprise json: ")
    assert "500" in caught.value.reason
    for secret in ("s3cret", "p4ssw0rd", "bob", str(http_server.base_url.rsplit(":", 1)[1])):
        assert secret not in caught.value.reason
    assert len(http_server.requests_to(path)) == 1  # apprise does not retry on its own


async def test_an_unreachable_receiver_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        await notifier(f"json://127.0.0.1:{free_port()}/notify").send(outbound())
    assert caught.value.retryable is True


async def test_a_hanging_receiver_times_out_retryably(http_server: FixtureServer) -> None:
    http_server.set("/notify", "late", content_type="text/plain", delay=3.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await notifier(json_url(http_server, "/notify"), timeout=0.5).send(outbound())
    assert caught.value.retryable is True
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("url", ["nope://host/x", "json://", "not a url", "tgram://"])
async def test_an_unusable_url_is_permanent(url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        await notifier(url).send(outbound())
    assert caught.value.retryable is False
    assert "apprise cannot use this URL" in caught.value.reason
    with pytest.raises(ValueError, match="apprise cannot use this URL"):
        check_apprise_url(url)


def settings_with(url: str) -> Settings:
    return Settings.model_validate({
        "version": 1,
        "sources": [{"id": "pbc", "kind": "rss", "url": "https://www.pbc.gov.cn/rss"}],
        "topics": [{"id": "crypto", "terms": {"zh": ["虚拟货币"]}}],
        "subscriptions": [{"id": "team-chat", "topics": ["crypto"],
                           "channel": {"kind": "apprise", "url": url}}],
    })


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def test_the_registry_builds_an_apprise_notifier(client: httpx.AsyncClient,
                                                       tmp_path: Path) -> None:
    settings = settings_with("json://127.0.0.1:9/notify")
    built = build_notifier(settings.subscriptions[0].channel, settings=settings,
                           state_dir=tmp_path, client=client)
    assert isinstance(built, AppriseNotifier)
    assert repr(built) == "AppriseNotifier(scheme='json')"


async def test_an_unusable_url_is_a_config_error_at_build_time(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    settings = settings_with("nope://t0ken@host/x")
    with pytest.raises(ConfigError) as caught:
        build_notifier(settings.subscriptions[0].channel, settings=settings,
                       state_dir=tmp_path, client=client)
    [problem] = caught.value.problems
    assert problem.startswith("subscription 'team-chat': channel.url: ")
    assert "t0ken" not in problem
