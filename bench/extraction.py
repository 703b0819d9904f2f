"""Timing of extract_article on the project's own detail-page fixtures."""

from __future__ import annotations

import sys
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sources"


def main(rounds: int = 50) -> None:
    """Print the median milliseconds per call for each detail page fixture."""
    from monitor.sources import extract_article

    for page in sorted(FIXTURES.glob("detail_*.html")):
        body = page.read_bytes()
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            extract_article(body, "text/html", f"https://example.gov.cn/{page.name}")
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        print(f"{page.name}: median {timings[rounds // 2]:.1f} ms, max {timings[-1]:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
