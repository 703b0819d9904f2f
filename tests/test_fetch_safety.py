"""Where fetches may go: no private addresses without opt-in, followed links stay on the site."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from monitor.cli import main
from monitor.errors import FetchError
from monitor.fetch import FetchPolicy, HttpFetcher, PoliteFetcher
from monitor.fetch.safety import check_address, link_refusal
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer

UA = "monitor-test/1.0 (+https://example.org/bot)"
CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    kind: html-list
    url: {base}/list.html
    items: {{selector: "ul li"}}
    follow: true
    baseline: false
    allowed_hosts: {allowed}
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
"""
PAGE = "<html><body><h1>区块链政策</h1><p>关于推进区块链技术应用的通知全文。</p></body></html>"


@pytest.fixture
def other_server() -> Iterator[FixtureServer]:
    server = FixtureServer(host="127.0.0.2").start()
    yield server
    server.stop()


async def test_a_private_address_is_refused_unless_the_source_opts_in(
        http_server: FixtureServer) -> None:
    http_server.set("/page", "intranet")
    fetcher = PoliteFetcher(HttpFetcher(user_agent=UA), user_agent=UA, delay=0.0)
    with pytest.raises(FetchError, match="loopback address") as caught:
        await fetcher.fetch(http_server.url("/page"), timeout=5, policy=FetchPolicy())
    assert not caught.value.retryable and http_server.received == []
    opted_in = FetchPolicy(allow_private=True)
    assert (await fetcher.fetch(http_server.url("/page"), policy=opted_in)).body == b"intranet"
    await fetcher.aclose()


def redirecting(chain: dict[str, str], seen: list[str]) -> httpx.MockTransport:
    """Answers each URL in `chain` with a 302 to its value, any other URL with 200 'landed'."""
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        target = chain.get(str(request.url))
        if target is None:
            return httpx.Response(200, text="landed")
        return httpx.Response(302, headers={"Location": target})
    return httpx.MockTransport(answer)


PUBLIC = "http://93.184.216.34/zhengce/"
NO_ROBOTS = FetchPolicy(robots=False)


@pytest.mark.parametrize("target", [
    "http://127.0.0.1/admin", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/", "http://localhost/"])
async def test_a_redirect_to_a_private_address_is_refused(target: str) -> None:
    seen: list[str] = []
    inner = HttpFetcher(user_agent=UA, transport=redirecting({PUBLIC: target}, seen))
    fetcher = PoliteFetcher(inner, user_agent=UA, delay=0.0)
    with pytest.raises(FetchError, match=r"redirected to .* address") as caught:
        await fetcher.fetch(PUBLIC, timeout=5, policy=NO_ROBOTS)
    assert caught.value.retryable is False and caught.value.url == PUBLIC
    assert seen == [PUBLIC], "the private target was never asked"
    await fetcher.aclose()


async def test_a_redirect_to_a_private_address_is_followed_when_the_source_opts_in() -> None:
    seen: list[str] = []
    inner = HttpFetcher(user_agent=UA, transport=redirecting({PUBLIC: "http://10.1.2.3/"}, seen))
    fetcher = PoliteFetcher(inner, user_agent=UA, delay=0.0)
    policy = FetchPolicy(robots=False, allow_private=True)
    fetched = await fetcher.fetch(PUBLIC, timeout=5, policy=policy)
    assert (fetched.url, fetched.body) == ("http://10.1.2.3/", b"landed")
    await fetcher.aclose()


async def test_a_later_hop_of_a_redirect_chain_is_checked_too() -> None:
    seen: list[str] = []
    chain = {PUBLIC: "http://93.184.216.35/a", "http://93.184.216.35/a": "/b",
             "http://93.184.216.35/b": "http://192.168.1.1/router"}
    fetcher = PoliteFetcher(HttpFetcher(user_agent=UA, transport=redirecting(chain, seen)),
                            user_agent=UA, delay=0.0)
    with pytest.raises(FetchError, match=r"redirected to http://192\.168\.1\.1/router: .*private"):
        await fetcher.fetch(PUBLIC, timeout=5, policy=NO_ROBOTS)
    assert seen == [PUBLIC, "http://93.184.216.35/a", "http://93.184.216.35/b"]
    await fetcher.aclose()


@pytest.mark.parametrize("target", ["ftp://93.184.216.34/file.pdf", "file:///etc/passwd",
                                    "gopher://93.184.216.34/"])
async def test_a_redirect_to_another_scheme_is_refused(target: str) -> None:
    seen: list[str] = []
    fetcher = HttpFetcher(user_agent=UA, transport=redirecting({PUBLIC: target}, seen))
    policy = FetchPolicy(allow_private=True)  # the scheme is checked even for opted-in sources
    with pytest.raises(FetchError, match="unsupported URL scheme") as caught:
        await fetcher.fetch(PUBLIC, timeout=5, policy=policy)
    assert caught.value.retryable is False and seen == [PUBLIC]
    await fetcher.aclose()


@pytest.mark.parametrize(("hops", "followed"), [(5, True), (6, False)])
async def test_at_most_five_redirects_are_followed(hops: int, followed: bool) -> None:
    urls = [f"http://93.184.216.34/{n}" for n in range(hops + 1)]
    seen: list[str] = []
    chain = dict(itertools.pairwise(urls))
    fetcher = HttpFetcher(user_agent=UA, transport=redirecting(chain, seen))
    if followed:
        assert (await fetcher.fetch(urls[0], policy=NO_ROBOTS)).url == urls[-1]
    else:
        with pytest.raises(FetchError, match="too many redirects") as caught:
            await fetcher.fetch(urls[0], policy=NO_ROBOTS)
        assert caught.value.retryable is False
    assert len(seen) == min(hops, 5) + 1
    await fetcher.aclose()


@pytest.mark.parametrize("url", [
    "http://localhost/", "http://10.1.2.3/", "http://192.168.0.1/", "http://169.254.169.254/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/",
    "http://224.0.0.1/"])
async def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="address"):
        await check_address(url, FetchPolicy())


async def test_public_addresses_and_opted_in_sources_pass() -> None:
    await check_address("https://93.184.216.34/zhengce/", FetchPolicy())
    await check_address("http://10.1.2.3/", FetchPolicy(allow_private=True))


async def test_only_http_and_https_are_fetched() -> None:
    with pytest.raises(FetchError, match="unsupported URL scheme"):
        await check_address("file:///etc/passwd", FetchPolicy(allow_private=True))


@pytest.mark.parametrize(("link", "allowed", "ok"), [
    ("https://www.beijing.gov.cn/zhengce/1.htm", [], True),
    ("http://beijing.gov.cn/a.htm", [], True),  # http or https, www. or not
    ("https://fgw.beijing.gov.cn/a.htm", [], True),  # a subdomain of the source's site
    ("https://www.gov.cn/a.htm", [], False),  # a parent domain is another site
    ("https://evilbeijing.gov.cn/a.htm", [], False),
    ("https://www.shanghai.gov.cn/a.htm", [], False),
    ("https://www.shanghai.gov.cn/a.htm", ["shanghai.gov.cn"], True),
    ("https://fgw.shanghai.gov.cn/a.htm", ["*.shanghai.gov.cn"], True),
    ("ftp://www.beijing.gov.cn/a.pdf", [], False),
])
def test_followed_links_stay_on_the_sources_site(link: str, allowed: list[str],
                                                  ok: bool) -> None:
    refusal = link_refusal(link, "https://www.beijing.gov.cn/zhengce/", allowed)
    assert (refusal is None) is ok


def _list_linking_to(server: FixtureServer, link: str) -> None:
    server.set("/list.html", f'<html><body><ul><li><a href="{link}">区块链通知</a></li></ul>'
                             "</body></html>")


def test_a_followed_link_to_another_host_is_skipped(
        use_config: UseConfig, http_server: FixtureServer, other_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url, allowed="[]"))
    _list_linking_to(http_server, other_server.url("/doc.html"))
    other_server.set("/doc.html", PAGE)
    main(["check", "--dry-run"])
    captured = capsys.readouterr()
    assert captured.out.startswith("portal: unchanged (0 new")
    assert "not followed: the link leaves the source's host 127.0.0.1" in captured.err
    assert '"skipped": 1' in captured.err, "counted like a page that failed"
    assert other_server.received == []


def test_a_followed_link_to_an_allowed_host_is_fetched(
        use_config: UseConfig, http_server: FixtureServer, other_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url, allowed="[127.0.0.2]"))
    _list_linking_to(http_server, other_server.url("/doc.html"))
    other_server.set("/doc.html", PAGE)
    main(["check", "--dry-run"])
    assert "portal: new (1 new" in capsys.readouterr().out
    assert [r.path for r in other_server.received] == ["/robots.txt", "/doc.html"]
