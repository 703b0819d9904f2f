"""WebhookNotifier and SlackNotifier against the real fixture HTTP server."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from monitor.config import SlackChannel, WebhookChannel
from monitor.domain import Digest, OutboundMessage
from monitor.errors import DeliveryError
from monitor.notify.slack import SlackNotifier
from monitor.notify.webhook import WebhookNotifier
from monitor.outbox import OutboxSender, RetryPolicy
from monitor.store import NewDelivery, Store, make_engine, upgrade_schema
from tests.fixture_server import FixtureServer, Route
from tests.test_notify_render import CHINESE_TITLE, NOW, make_digest, make_item, make_outbound


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def webhook(server: FixtureServer, client: httpx.AsyncClient) -> WebhookNotifier:
    channel = WebhookChannel(kind="webhook", url=server.url("/hook"),
                             headers={"Authorization": "Bearer t0k"},
                             timeout=timedelta(seconds=0.5))
    return WebhookNotifier(channel, client, clock=lambda: 1714982400.9)


def slack(server: FixtureServer, client: httpx.AsyncClient) -> SlackNotifier:
    channel = SlackChannel(kind="slack", url=SecretStr(server.url("/slack")))
    return SlackNotifier(channel, client, part_pause=0)


async def test_webhook_posts_json_with_id_and_timestamp(
        http_server: FixtureServer, client: httpx.AsyncClient) -> None:
    http_server.set("/hook", "ok")
    message = make_outbound(make_digest(2))
    await webhook(http_server, client).send(message)
    [request] = http_server.requests_to("/hook")
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == "alice-7-k3y"
    assert request.headers["webhook-timestamp"] == "1714982400"
    assert request.headers["Authorization"] == "Bearer t0k"
    assert CHINESE_TITLE.encode("utf-8") in request.body  # ensure_ascii=False
    assert json.loads(request.body) == message.message.payload


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True),
                                                   (408, True), (400, False), (404, False)])
async def test_webhook_status_decides_retry(http_server: FixtureServer,
                                            client: httpx.AsyncClient, status: int,
                                            retryable: bool) -> None:
    http_server.set("/hook", "boom " * 100, status=status, content_type="text/plain")
    with pytest.raises(DeliveryError) as caught:
        await webhook(http_server, client).send(make_outbound())
    assert caught.value.retryable is retryable
    assert f"HTTP {status}" in caught.value.reason
    assert "boom" in caught.value.reason and len(caught.value.reason) < 300


async def test_webhook_timeout_is_retryable(http_server: FixtureServer,
                                            client: httpx.AsyncClient) -> None:
    http_server.set("/hook", "late", delay=1.5)
    with pytest.raises(DeliveryError) as caught:
        await webhook(http_server, client).send(make_outbound())
    assert caught.value.retryable is True


async def test_webhook_connection_refused_is_retryable(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = WebhookChannel(kind="webhook", url=f"http://127.0.0.1:{port}/hook")
    with pytest.raises(DeliveryError) as caught:
        await WebhookNotifier(channel, client).send(make_outbound())
    assert caught.value.retryable is True


def many(count: int) -> OutboundMessage:
    items = tuple(make_item(f"Item {index} <b>&</b>", index=index) for index in range(count))
    return make_outbound(Digest("alice", "digest", items, NOW))


async def test_slack_splits_60_items_into_2_ordered_posts(
        http_server: FixtureServer, client: httpx.AsyncClient) -> None:
    http_server.set("/slack", "ok", content_type="text/plain")
    await slack(http_server, client).send(many(60))
    bodies = [json.loads(request.body) for request in http_server.requests_to("/slack")]
    assert len(bodies) == 2
    assert all(len(body["blocks"]) <= 50 for body in bodies)
    sections = [block["text"]["text"] for body in bodies for block in body["blocks"]
                if block["type"] == "section"]
    assert [text.split("|")[1].split(">*")[0] for text in sections] == [
        f"Item {index} &lt;b&gt;&amp;&lt;/b&gt;" for index in range(60)]
    assert bodies[0]["blocks"][0]["type"] == "header"
    assert bodies[0]["text"] == "60 new blockchain policy documents: crypto-ban"


async def test_slack_escapes_mrkdwn(http_server: FixtureServer,
                                    client: httpx.AsyncClient) -> None:
    http_server.set("/slack", "ok", content_type="text/plain")
    await slack(http_server, client).send(many(1))
    [request] = http_server.requests_to("/slack")
    section = json.loads(request.body)["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert section["text"].startswith(
        "*<https://www.pbc.gov.cn/doc/0.html?a=1&amp;b=2|Item 0 &lt;b&gt;&amp;&lt;/b&gt;>*")
    assert "中国人民银行 · 2024-05-01 · new" in section["text"]
    assert "`虚拟货币`" in section["text"]


async def test_slack_error_is_classified_and_hides_the_url(
        http_server: FixtureServer, client: httpx.AsyncClient) -> None:
    http_server.set("/slack", "invalid_blocks", status=400, content_type="text/plain")
    with pytest.raises(DeliveryError) as caught:
        await slack(http_server, client).send(many(2))
    assert caught.value.retryable is False
    assert "invalid_blocks" in caught.value.reason
    assert "/slack" not in caught.value.reason


async def test_a_split_slack_message_resumes_after_the_parts_already_posted(
        http_server: FixtureServer, client: httpx.AsyncClient, tmp_path: Path) -> None:
    """Part 2 of 2 fails once: the outbox recorded part 1, so the retry posts part 2 only."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_schema(engine)
    store = Store(engine)
    store.add_delivery(NewDelivery("alice", many(60).message, (), NOW))
    clock = [NOW]
    sender = OutboxSender(store, {"alice": slack(http_server, client)},
                          RetryPolicy(base=timedelta(seconds=1), ceiling=timedelta(seconds=1)),
                          clock=lambda: clock[0])
    answers = iter([Route(b"ok", 200, {}), Route(b"slow down", 503, {})])
    http_server.answer("/slack", lambda _request: next(answers, Route(b"ok", 200, {})))
    assert (await sender.send_due()).retried == 1
    clock[0] = NOW + timedelta(seconds=5)
    assert (await sender.send_due()).sent == 1
    bodies = [request.body for request in http_server.requests_to("/slack")]
    assert len(bodies) == 3, "part 1, part 2 (503), part 2 again: part 1 never twice"
    assert bodies[2] == bodies[1] != bodies[0]
