"""Where the next (older) list page is: a next-link selector or a numbered URL pattern."""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup

from monitor.config.models import Pagination
from monitor.domain import Fetched
from monitor.fetch.charset import decode


def next_page_url(fetched: Fetched, pagination: Pagination, source_url: str,
                  page: int) -> str | None:
    """The URL of list page `page + 1` (page 1 is the source URL), or None at the end."""
    if page >= pagination.max_pages:
        return None
    if pagination.pattern is not None:  # page 2 is `start`, page 3 is `start + 1`, …
        return urljoin(source_url, pagination.pattern.format(n=pagination.start + page - 1))
    return _next_link(fetched, pagination.next or "")


def _next_link(fetched: Fetched, selector: str) -> str | None:
    soup = BeautifulSoup(decode(fetched.body, fetched.content_type).text, "lxml")
    link = soup.select_one(selector)
    href = link.get("href") if link is not None else None
    if not isinstance(href, str) or not href.strip() or href.startswith(("javascript:", "#")):
        return None
    return urljoin(fetched.url, href.strip())
