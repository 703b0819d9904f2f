"""AppriseNotifier: the subject and text digest to any service apprise knows, by one URL."""

from __future__ import annotations

import asyncio
import functools
import re
import warnings
from typing import TYPE_CHECKING

from monitor.config import AppriseChannel
from monitor.domain import OutboundMessage
from monitor.errors import DeliveryError

if TYPE_CHECKING:
    from apprise import Apprise, AppriseAsset, AppriseResult, NotifyBase

_GRACE = 1.0  # seconds past the channel timeout before we stop waiting on apprise ourselves
_URL_WORDS = re.compile(r"[^/:@?&=#;,+\s]{3,}")
_DETAIL = 200


class AppriseNotifier:
    """Sends `subject` as the title and the text digest as the body through apprise.

    apprise is synchronous at heart; its `async_notify` runs the plugin off the event loop.
    Apprise has no idempotency key: a retry after an unrecorded success sends a second message.
    """

    def __init__(self, channel: AppriseChannel) -> None:
        self.channel = channel

    def __repr__(self) -> str:
        return f"AppriseNotifier(scheme={url_scheme(self.channel.url.get_secret_value())!r})"

    async def send(self, message: OutboundMessage) -> None:
        """Notify once; an unusable URL is permanent, any other failure retryable."""
        url = self.channel.url.get_secret_value()
        timeout = self.channel.timeout.total_seconds()
        manager = _manager(url, timeout)
        try:
            async with asyncio.timeout(timeout + _GRACE):
                result = await manager.async_notify(
                    body=message.message.text, title=message.message.subject,
                    body_format="text", timeout=timeout)
        except TimeoutError as error:
            raise DeliveryError(f"{_label(url)}: timed out after {timeout:g} s",
                                retryable=True) from error
        if not result:
            raise DeliveryError(f"{_label(url)}: {_failure(result, url, timeout)}",
                                retryable=True)


def check_apprise_url(url: str) -> None:
    """Raise ValueError (never quoting the URL) unless apprise can build a service from it."""
    if _instantiate(url) is None:
        raise ValueError(f"{_label(url)}: {_UNUSABLE}")


def url_scheme(url: str) -> str:
    """The scheme of an apprise URL (e.g. `tgram`): the one part of it safe to show."""
    scheme, separator, _ = url.partition("://")
    return scheme.lower() if separator and scheme.isalnum() else "?"


_UNUSABLE = "apprise cannot use this URL (check its scheme and parts)"


def _manager(url: str, timeout: float) -> Apprise:
    """An Apprise holding the one service of `url`, its sockets bounded by `timeout`."""
    service = _instantiate(url)
    if service is None:
        raise DeliveryError(f"{_label(url)}: {_UNUSABLE}", retryable=False)
    service.socket_connect_timeout = service.socket_read_timeout = timeout
    from apprise import Apprise  # noqa: PLC0415 (loaded by _instantiate; keeps import light)

    manager = Apprise(asset=_asset())
    manager.add(service)
    return manager


def _instantiate(url: str) -> NotifyBase | None:
    _load_plugins()
    from apprise import Apprise  # noqa: PLC0415 (keeps import light)

    return Apprise.instantiate(url, asset=_asset())


def _failure(result: AppriseResult | bool, url: str, timeout: float) -> str:
    """Why apprise did not deliver, without any part of the URL (it holds the secrets)."""
    if isinstance(result, bool):  # apprise 1.x answers True or False only
        return "the service reported a failure"
    if result.status.name == "TIMEOUT":
        return f"timed out after {timeout:g} s"
    problems = [entry.message for entry in result.logs()
                if entry.level in {"WARNING", "ERROR"}]
    detail = _redact(problems[-1], url) if problems else "the service reported a failure"
    return detail if len(detail) <= _DETAIL else detail[: _DETAIL - 1] + "…"


def _redact(text: str, url: str) -> str:
    """`text` with every word of `url` (host, path parts, tokens, passwords) masked."""
    scheme = url_scheme(url)
    for word in sorted(set(_URL_WORDS.findall(url)), key=len, reverse=True):
        if word.lower() != scheme:
            text = text.replace(word, "***")
    return " ".join(text.split())


def _label(url: str) -> str:
    return f"apprise {url_scheme(url)}"


@functools.cache
def _asset() -> AppriseAsset:
    """In-memory state only: apprise writes nothing to disk for us."""
    from apprise import AppriseAsset  # noqa: PLC0415 (keeps import light)

    return AppriseAsset(storage_mode="memory")


@functools.cache
def _load_plugins() -> None:
    """Import apprise and its plugins once, on first use.

    Loading the plugins imports the deprecated `imghdr` module on apprise's behalf; that
    warning is apprise's, not ours, so it is silenced here rather than everywhere.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from apprise.manager_plugins import NotificationManager  # noqa: PLC0415

        NotificationManager().load_modules()  # type: ignore[no-untyped-call]
