"""HttpFetcher against real servers on 127.0.0.1: validators, errors, caps, redirects, deadlines."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from monitor.domain import Validators
from monitor.errors import BodyTooLarge, FetchError, NotModified
from monitor.fetch import Fetcher, HttpFetcher
from tests.fixture_server import FixtureServer

UA = "monitor-test/1.0 (+https://example.org/bot)"
PAGE = "<html><body>关于区块链政策的通知</body></html>"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def fetcher() -> AsyncIterator[HttpFetcher]:
    async with HttpFetcher(user_agent=UA) as fetcher:
        yield fetcher


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A tiny server on 127.0.0.1 for what the fixture server cannot do (chunked, trickling)."""
    tasks: list[asyncio.Task[None]] = []

    async def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.append(asyncio.create_task(_closing(handler, reader, writer)))

    server = await asyncio.start_server(track, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)


async def _closing(handler: Handler, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        await handler(reader, writer)
    except ConnectionError:
        pass  # the client hung up, as it should
    finally:
        writer.close()


async def endless_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    for _ in range(20_000):  # 10 MB if nobody stops reading
        writer.write(b"200\r\n" + b"x" * 512 + b"\r\n")
        await writer.drain()


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):  # one byte every 0.05 s: each read is quick, the whole takes 5 s
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def fetch_error(fetcher: Fetcher, url: str, timeout: float = 5.0) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url, timeout=timeout)
    return caught.value


async def test_200_returns_body_headers_and_validators(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/page", PAGE, headers={"ETag": '"v1"',
                                            "Last-Modified": "Mon, 06 May 2024 08:00:00 GMT"})
    fetched = await fetcher.fetch(http_server.url("/page"))
    assert fetched.status == 200
    assert fetched.body == PAGE.encode()
    assert fetched.url == http_server.url("/page")
    assert fetched.content_type == "text/html; charset=utf-8"
    assert fetched.validators == Validators('"v1"', "Mon, 06 May 2024 08:00:00 GMT")
    assert fetched.elapsed > 0


async def test_sends_user_agent_and_accept_encoding(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/page", PAGE)
    await fetcher.fetch(http_server.url("/page"))
    headers = http_server.requests_to("/page")[0].headers
    assert headers["User-Agent"] == UA
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in headers


async def test_missing_headers_give_empty_content_type_and_no_validators(fetcher: Fetcher) -> None:
    async def bare(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with raw_server(bare) as url:
        fetched = await fetcher.fetch(url)
    assert (fetched.content_type, fetched.validators, fetched.body) == ("", Validators(), b"ok")


async def test_conditional_get_sends_validators_and_304_raises_not_modified(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/feed", b"", status=304, headers={"ETag": '"v1"'})
    validators = Validators('"v1"', "Mon, 06 May 2024 08:00:00 GMT")
    with pytest.raises(NotModified) as caught:
        await fetcher.fetch(http_server.url("/feed"), validators=validators)
    assert caught.value.retryable is False
    headers = http_server.requests_to("/feed")[0].headers
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Mon, 06 May 2024 08:00:00 GMT"


async def test_gzip_body_is_decoded(http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/gz", gzip.compress(PAGE.encode()), headers={"Content-Encoding": "gzip"})
    assert (await fetcher.fetch(http_server.url("/gz"))).body == PAGE.encode()


async def test_body_past_the_cap_raises_body_too_large(http_server: FixtureServer) -> None:
    http_server.set("/big", b"x" * 5000)
    async with HttpFetcher(user_agent=UA, max_body=1000) as fetcher:
        with pytest.raises(BodyTooLarge) as caught:
            await fetcher.fetch(http_server.url("/big"))
        http_server.set("/small", b"x" * 1000)
        assert len((await fetcher.fetch(http_server.url("/small"))).body) == 1000
    assert caught.value.retryable is False


async def test_decompressed_size_counts_against_the_cap(http_server: FixtureServer) -> None:
    http_server.set("/bomb", gzip.compress(b"x" * 100_000), headers={"Content-Encoding": "gzip"})
    async with HttpFetcher(user_agent=UA, max_body=1000) as fetcher:
        with pytest.raises(BodyTooLarge):
            await fetcher.fetch(http_server.url("/bomb"))


async def test_streamed_body_stops_as_soon_as_the_cap_is_passed() -> None:
    async with raw_server(endless_chunks) as url, HttpFetcher(user_agent=UA,
                                                              max_body=1000) as fetcher:
        started = time.monotonic()
        with pytest.raises(BodyTooLarge):
            await fetcher.fetch(url)
    assert time.monotonic() - started < 2


class GigabyteServer:
    """Answers with a 1 GiB body in 64 KiB writes, no Content-Length, ended only by closing.

    `sent` counts the bytes written; `hung_up` is set when the client closed the connection.
    """

    SIZE = 1 << 30

    def __init__(self) -> None:
        self.sent = 0
        self.hung_up = asyncio.Event()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
        chunk = b"<p>" + b"x" * (65536 - 7) + b"</p>"
        try:
            while self.sent < self.SIZE:
                writer.write(chunk)
                await writer.drain()
                self.sent += len(chunk)
        except ConnectionError:
            self.hung_up.set()


async def test_a_1_gb_body_without_content_length_stops_at_the_cap() -> None:
    server = GigabyteServer()
    async with raw_server(server) as url, HttpFetcher(user_agent=UA) as fetcher:
        with pytest.raises(BodyTooLarge) as caught:
            await fetcher.fetch(url, timeout=60)
        await asyncio.wait_for(server.hung_up.wait(), timeout=10)
    assert caught.value.retryable is False
    assert fetcher.max_body == 10_000_000  # the default cap
    assert server.sent < 100_000_000, "the client stopped reading long before 1 GiB"


async def test_redirect_is_followed_and_final_url_reported(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/old", status=301, headers={"Location": "/middle"})
    http_server.set("/middle", status=302, headers={"Location": http_server.url("/new")})
    http_server.set("/new", PAGE)
    fetched = await fetcher.fetch(http_server.url("/old"))
    assert fetched.url == http_server.url("/new")
    assert fetched.body == PAGE.encode()


async def test_redirect_loop_is_a_fetch_error_that_is_not_retryable(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    """A loop answers the same next time: the configured URL needs fixing, not a retry."""
    http_server.set("/a", status=302, headers={"Location": "/b"})
    http_server.set("/b", status=302, headers={"Location": "/a"})
    error = await fetch_error(fetcher, http_server.url("/a"))
    assert error.retryable is False
    assert "redirect" in error.reason
    assert isinstance(error.__cause__, httpx.TooManyRedirects)


async def test_redirect_to_ftp_is_refused(http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/away", status=302, headers={"Location": "ftp://example.org/file"})
    assert (await fetch_error(fetcher, http_server.url("/away"))).retryable is False


@pytest.mark.parametrize(("status", "retryable"), [
    (404, False), (403, False), (410, False), (429, True), (500, True), (503, True),
])
async def test_error_statuses(http_server: FixtureServer, fetcher: HttpFetcher,
                              status: int, retryable: bool) -> None:
    http_server.set("/status", b"no", status=status)
    error = await fetch_error(fetcher, http_server.url("/status"))
    assert error.retryable is retryable
    assert str(status) in error.reason


async def test_unknown_path_404_is_not_retryable(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    error = await fetch_error(fetcher, http_server.url("/missing"))
    assert (error.retryable, error.url) == (False, http_server.url("/missing"))


async def test_hanging_server_times_out_retryably_within_the_timeout(
        http_server: FixtureServer, fetcher: HttpFetcher) -> None:
    http_server.set("/slow", PAGE, delay=3.0)
    started = time.monotonic()
    error = await fetch_error(fetcher, http_server.url("/slow"), timeout=0.4)
    assert error.retryable is True
    assert time.monotonic() - started < 1.4


async def test_trickling_body_hits_the_total_deadline(fetcher: HttpFetcher) -> None:
    async with raw_server(trickle) as url:
        started = time.monotonic()
        error = await fetch_error(fetcher, url, timeout=0.5)
    assert error.retryable is True
    assert isinstance(error.__cause__, TimeoutError)
    assert time.monotonic() - started < 1.5


async def test_connection_refused_is_a_retryable_fetch_error(fetcher: HttpFetcher) -> None:
    error = await fetch_error(fetcher, f"http://127.0.0.1:{free_port()}/")
    assert error.retryable is True
    assert isinstance(error.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("url", ["ftp://example.org/file", "file:///etc/passwd",
                                 "example.org/page", "http:///nohost",
                                 "http://[::1/broken"])
async def test_non_http_urls_are_refused_without_io(fetcher: HttpFetcher, url: str) -> None:
    error = await fetch_error(fetcher, url)
    assert (error.retryable, error.url) == (False, url)


async def test_transport_is_injectable() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=request.headers["User-Agent"])

    async with HttpFetcher(user_agent=UA, transport=httpx.MockTransport(answer)) as fetcher:
        fetched = await fetcher.fetch("https://www.gov.cn/zhengce/")
    assert (fetched.body, fetched.url) == (UA.encode(), "https://www.gov.cn/zhengce/")
