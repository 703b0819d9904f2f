"""Canonical URLs: the identity of a document, free of tracking noise and cosmetic variants."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from monitor.domain import Item

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = frozenset({
    "spm", "from", "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid",
    "mc_eid", "_hsenc", "_hsmi", "scm", "share_token", "wt.mc_id", "_ga",
})


def canonical_url(url: str, base: str | None = None) -> str:
    """Resolve `url` against `base` and normalise it so equal documents get equal URLs."""
    absolute = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    return urlunsplit((
        scheme,
        _netloc(scheme, parts.netloc),
        parts.path or "/",
        _clean_query(parts.query),
        "",
    ))


def _netloc(scheme: str, netloc: str) -> str:
    userinfo, _, hostport = netloc.rpartition("@")
    host, port = _split_port(hostport.lower())
    if port and _DEFAULT_PORTS.get(scheme) == int(port):
        port = ""
    rebuilt = f"{host}:{port}" if port else host
    return f"{userinfo}@{rebuilt}" if userinfo else rebuilt


def _split_port(hostport: str) -> tuple[str, str]:
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit() or host.endswith(":"):  # no port, or a bare IPv6 address
        return hostport, ""
    return host, port


def _clean_query(query: str) -> str:
    kept = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return "&".join(kept)


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).strip().lower()
    return name.startswith("utm_") or name in _TRACKING


def unique_by_url(items: Iterable[Item | None]) -> list[Item]:
    """Items without the Nones and the repeats of a URL, first occurrence kept, order kept."""
    seen: dict[str, Item] = {}
    for item in items:
        if item is not None and item.url not in seen:
            seen[item.url] = item
    return list(seen.values())
