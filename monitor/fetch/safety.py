"""Where fetches may go: public http(s) hosts, and followed links on the source's own site."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from monitor.errors import FetchError
from monitor.fetch.base import FetchPolicy, check_scheme

__all__ = ["check_address", "link_refusal", "same_site"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


async def check_address(url: str, policy: FetchPolicy) -> None:
    """Refuse a URL whose host resolves to a private, loopback, link-local or reserved address.

    A source opts in with `allow_private: true` (intranet portals, tests). The host is resolved
    with the event loop's getaddrinfo; every address it resolves to must be public. The HTTP
    client resolves again when it connects, so this guards against configuration mistakes and
    links to internal hosts, not against a DNS server that answers differently the second time.
    """
    check_scheme(url)
    if policy.allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    for address in await _resolve(url, host, _port(parts)):
        if not _public(address):
            raise FetchError(url, f"{host} is a {_kind(address)} address ({address}); set "
                                  "allow_private: true on the source to fetch it",
                             retryable=False)


def check_link(link: str, source_url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuse (not retryable) a followed link that leaves the source's site."""
    reason = link_refusal(link, source_url, allowed_hosts)
    if reason is not None:
        raise FetchError(link, f"not followed: {reason}", retryable=False)


def link_refusal(link: str, source_url: str, allowed_hosts: Iterable[str] = ()) -> str | None:
    """Why a followed link may not be fetched, or None when it may.

    A link may go to the source's host and its subdomains (`www.` dropped first: a list on
    www.gov.cn may link to gov.cn and fgw.gov.cn), or to a host in `allowed_hosts` (an entry
    also allows its subdomains). The registrable domain is not used: it needs the Public Suffix
    List, where gov.cn and com.cn are suffixes, and would quietly widen what a source reaches.
    """
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https"):
        return "the link is not http(s)"
    host = (parts.hostname or "").lower()
    source_host = (urlsplit(source_url).hostname or "").lower()
    if same_site(host, source_host) or any(_within(host, _bare(entry))
                                           for entry in allowed_hosts):
        return None
    return (f"the link leaves the source's host {source_host}; add {host} to the source's "
            "allowed_hosts to follow it")


def same_site(host: str, source_host: str) -> bool:
    """Whether `host` is the source's host or one of its subdomains, ignoring a leading www."""
    return _within(host.lower(), source_host.lower().removeprefix("www."))


def _within(host: str, domain: str) -> bool:
    return bool(domain) and (host == domain or host.endswith("." + domain))


def _bare(entry: str) -> str:
    """An allowed_hosts entry as a domain: `*.example.org` and `.example.org` are example.org."""
    return entry.strip().lower().removeprefix("*").removeprefix(".")


async def _resolve(url: str, host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(url, f"could not resolve host {host}: {exc}", retryable=True) from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:  # check_scheme let it through; the HTTP client will refuse it
        port = None
    return port or (443 if parts.scheme.lower() == "https" else 80)


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def _kind(address: Address) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _kind(address.ipv4_mapped)
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"
