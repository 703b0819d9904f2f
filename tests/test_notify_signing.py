"""Standard Webhooks signing, retries with one webhook-id, Retry-After, and masked reprs."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from monitor.config import AppriseChannel, Settings, SlackChannel, WebhookChannel, parse_config
from monitor.domain import OutboundMessage, RenderedMessage
from monitor.errors import ConfigError, DeliveryError
from monitor.notify.apprise import AppriseNotifier
from monitor.notify.registry import build_notifier
from monitor.notify.slack import SlackNotifier
from monitor.notify.webhook import WebhookNotifier, check_status
from tests.fixture_server import FixtureServer, Received, Route

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
NOW = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
PAYLOAD: dict[str, object] = {
    "version": 1, "subscription": "alice", "mode": "digest", "omitted": 0,
    "items": [{"title": "中国人民银行关于虚拟货币的通知", "url": "https://www.pbc.gov.cn/a.html",
               "source_name": "中国人民银行"},
              {"title": "Arrêté relatif à la « blockchain »", "url": "https://x.fr/é",
               "source_name": "Légifrance"}],
}


def outbound(key: str = "alice-7-k3y") -> OutboundMessage:
    rendered = RenderedMessage("2 new documents", "text body", "<p>html</p>", PAYLOAD)
    return OutboundMessage(7, key, "alice", rendered, NOW)


def headers_of(request: Received) -> dict[str, str]:
    return dict(request.headers.items())


def consumer(secret: str) -> Callable[[Received], Route]:
    """A webhook consumer: 204 for a valid Standard Webhooks signature, 401 otherwise."""
    def answer(request: Received) -> Route:
        try:
            Webhook(secret).verify(request.body, headers_of(request))
        except WebhookVerificationError as error:
            return Route(str(error).encode(), 401, {"Content-Type": "text/plain"})
        return Route(b"", 204)
    return answer


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def signed(server: FixtureServer, client: httpx.AsyncClient, *,
           secret: str | None = SECRET) -> WebhookNotifier:
    channel = WebhookChannel(kind="webhook", url=server.url("/hook"), secret=secret,
                             headers={"Authorization": SecretStr("Bearer t0k")},
                             timeout=timedelta(seconds=2))
    return WebhookNotifier(channel, client)


async def test_signed_post_verifies_at_the_consumer(http_server: FixtureServer,
                                                    client: httpx.AsyncClient) -> None:
    http_server.answer("/hook", consumer(SECRET))
    await signed(http_server, client).send(outbound())
    [request] = http_server.requests_to("/hook")
    headers = headers_of(request)
    assert headers["webhook-id"] == "alice-7-k3y"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["Authorization"] == "Bearer t0k"
    assert Webhook(SECRET).verify(request.body, headers) == PAYLOAD
    assert "中国人民银行".encode() in request.body  # the exact UTF-8 bytes were signed


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
async def test_the_consumer_rejects_tampering(http_server: FixtureServer,
                                              client: httpx.AsyncClient, tamper: str) -> None:
    http_server.set("/capture", "", status=204)
    capture = WebhookChannel(kind="webhook", url=http_server.url("/capture"), secret=SECRET)
    await WebhookNotifier(capture, client).send(outbound())
    [original] = http_server.requests_to("/capture")
    body, headers = original.body, headers_of(original)
    if tamper == "body":
        body = body.replace("虚拟货币".encode(), "数字货币".encode())
    elif tamper == "id":
        headers["webhook-id"] = "alice-8-k3y"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    other = "whsec_" + base64.b64encode(b"another secret, 32 bytes long!!!").decode()
    http_server.answer("/hook", consumer(other if tamper == "secret" else SECRET))
    response = await client.post(http_server.url("/hook"), content=body, headers=headers)
    assert response.status_code == 401


async def test_a_retry_keeps_the_webhook_id(http_server: FixtureServer,
                                            client: httpx.AsyncClient) -> None:
    verify = consumer(SECRET)
    answers = iter([Route(b"busy", 503, {"Retry-After": "7"})])
    http_server.answer("/hook", lambda request: next(answers, None) or verify(request))
    notifier = signed(http_server, client)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(outbound())
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    await notifier.send(outbound())  # the outbox's retry: the same message again
    first, second = http_server.requests_to("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "alice-7-k3y"
    assert first.body == second.body


async def test_no_secret_means_no_signature(http_server: FixtureServer,
                                            client: httpx.AsyncClient) -> None:
    http_server.set("/hook", "", status=204)
    await signed(http_server, client, secret=None).send(outbound())
    [request] = http_server.requests_to("/hook")
    assert request.headers["webhook-id"] == "alice-7-k3y"
    assert request.headers["webhook-signature"] is None


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_in_seconds(http_server: FixtureServer, client: httpx.AsyncClient,
                                      status: int) -> None:
    http_server.set("/hook", "slow down", status=status, headers={"Retry-After": "120"})
    with pytest.raises(DeliveryError) as caught:
        await signed(http_server, client).send(outbound())
    assert caught.value.retryable is True
    assert caught.value.retry_after == 120.0


async def test_retry_after_as_an_http_date(http_server: FixtureServer,
                                           client: httpx.AsyncClient) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    http_server.set("/hook", "slow down", status=429, headers={"Retry-After": when})
    with pytest.raises(DeliveryError) as caught:
        await signed(http_server, client).send(outbound())
    assert caught.value.retry_after is not None
    assert 590 <= caught.value.retry_after <= 600


@pytest.mark.parametrize(("status", "header", "expected"), [
    (500, "30", None),  # only 429 and 503 carry a Retry-After we honour
    (429, None, None),
    (429, "soon", None),
    (503, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: retry now
])
def test_retry_after_edge_cases(status: int, header: str | None,
                                expected: float | None) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    response = httpx.Response(status, headers=headers, text="no")
    with pytest.raises(DeliveryError) as caught:
        check_status(response, "webhook example.org")
    assert caught.value.retry_after == expected
    assert caught.value.retryable is True


async def test_slack_429_carries_retry_after(http_server: FixtureServer,
                                             client: httpx.AsyncClient) -> None:
    http_server.set("/slack", "rate_limited", status=429, headers={"Retry-After": "30"})
    notifier = SlackNotifier(SlackChannel(kind="slack", url=http_server.url("/slack")), client)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(outbound())
    assert caught.value.retryable is True
    assert caught.value.retry_after == 30.0


async def test_reprs_hide_paths_queries_headers_and_secrets(client: httpx.AsyncClient) -> None:
    webhook = WebhookChannel(kind="webhook", url="https://hooks.example.org/p4th/t0ken?sig=s3cr3t",
                             headers={"Authorization": "Bearer h3ader"}, secret=SECRET)
    slack = SlackChannel(kind="slack", url="https://hooks.slack.com/services/T0/B0/x0x0")
    apprise = AppriseChannel(kind="apprise", url="tgram://123456:b0tt0ken/987654")
    shown = " ".join(repr(notifier) for notifier in (
        WebhookNotifier(webhook, client), SlackNotifier(slack, client),
        AppriseNotifier(apprise)))
    assert "hooks.example.org" in shown and "tgram" in shown
    for secret in ("p4th", "t0ken", "s3cr3t", "h3ader", SECRET[6:], "x0x0", "b0tt0ken",
                   "987654"):
        assert secret not in shown


def settings_with(channel: dict[str, object]) -> Settings:
    return Settings.model_validate({
        "version": 1,
        "sources": [{"id": "pbc", "kind": "rss", "url": "https://www.pbc.gov.cn/rss"}],
        "topics": [{"id": "crypto", "terms": {"zh": ["虚拟货币"]}}],
        "subscriptions": [{"id": "ops-hook", "topics": ["crypto"], "channel": channel}],
    })


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64!",
                                    "whsec_", "whsec_abcde"])
def test_a_bad_secret_is_a_config_error_with_file_line_and_key(secret: str) -> None:
    text = (f"version: 1\nsources:\n  - {{id: pbc, kind: rss, url: 'https://www.pbc.gov.cn/rss'}}\n"
            "topics:\n  - {id: crypto, terms: {zh: [虚拟货币]}}\nsubscriptions:\n"
            "  - id: ops-hook\n    channel:\n      kind: webhook\n"
            f"      url: https://example.org/h\n      secret: '{secret}'\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "sources.yaml", {})
    [problem] = caught.value.problems
    assert problem.startswith("sources.yaml:11: subscriptions[0].channel.secret: ")
    assert "whsec_" in problem
    hidden = secret.removeprefix("whsec_")
    assert not hidden or hidden not in problem


async def test_a_good_secret_builds_a_signing_notifier(client: httpx.AsyncClient,
                                                       tmp_path: Path) -> None:
    settings = settings_with({"kind": "webhook", "url": "https://example.org/h", "secret": SECRET})
    notifier = build_notifier(settings.subscriptions[0].channel, settings=settings,
                              state_dir=tmp_path, client=client)
    assert repr(notifier) == "WebhookNotifier(host='example.org', signed=True)"

