"""Fetching: bytes from a URL (with cache validators) and decoding them into text."""

from __future__ import annotations

from monitor.fetch.base import Fetcher, FetchPolicy
from monitor.fetch.charset import Decoded, decode
from monitor.fetch.httpx_fetcher import HttpFetcher
from monitor.fetch.polite import PoliteFetcher

__all__ = ["Decoded", "FetchPolicy", "Fetcher", "HttpFetcher", "PoliteFetcher", "decode"]
