"""The project's one exception hierarchy.

    MonitorError
    ├── ConfigError            sources.yaml is invalid (names file, line and key path)
    ├── FetchError             a URL could not be fetched; `retryable` says if trying later may help
    │   ├── NotModified        the server answered 304: the cached copy is still current
    │   └── BodyTooLarge       the body passed the configured cap
    ├── ExtractError           fetched content held no usable items or text
    │   └── EmptyListError     a list selector matched nothing (never "everything was removed")
    ├── StoreError             the database refused an operation
    └── DeliveryError          a notification was not delivered; `retryable` says if a retry helps

Third-party exceptions are translated into these where the call is made, with the cause kept.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid; the message names file, line and key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class FetchError(MonitorError):
    """A URL could not be fetched."""

    def __init__(self, url: str, reason: str, *, retryable: bool = True,
                 retry_after: float | None = None) -> None:
        self.url = url
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After)
        super().__init__(f"{url}: {reason}")


class NotModified(FetchError):
    """The server answered 304 Not Modified."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "not modified", retryable=False)


class BodyTooLarge(FetchError):
    """The response body passed the configured cap."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(url, f"body larger than {limit} bytes", retryable=False)


class ExtractError(MonitorError):
    """Fetched content could not be turned into items or text."""


class EmptyListError(ExtractError):
    """A list page yielded no items: an error, never "everything was removed"."""


class StoreError(MonitorError):
    """The database refused an operation."""


class DeliveryError(MonitorError):
    """A notification was not delivered."""

    def __init__(self, reason: str, *, retryable: bool,
                 retry_after: float | None = None) -> None:
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the receiver asked to wait (429 Retry-After)
        super().__init__(reason)


RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})


def http_status_retryable(status: int) -> bool:
    """Whether asking again later may get another answer: 5xx, 408, 425 and 429."""
    return status >= 500 or status in RETRYABLE_HTTP_STATUSES
