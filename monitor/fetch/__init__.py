"""Fetching: bytes from a URL (with cache validators) and decoding them into text."""

from __future__ import annotations

from monitor.fetch.base import Fetcher
from monitor.fetch.charset import Decoded, decode
from monitor.fetch.httpx_fetcher import HttpFetcher

__all__ = ["Decoded", "Fetcher", "HttpFetcher", "decode"]
