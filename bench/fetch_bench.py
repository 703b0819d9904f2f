"""Times charset.decode on typical pages. Run: PYTHONPATH=. .venv/bin/python bench/fetch_bench.py"""

from __future__ import annotations

import time
from collections.abc import Callable

from monitor.fetch import decode

SENTENCE = "为进一步防范区块链虚拟货币交易炒作风险，各地区各部门要加强监测预警，及时处置风险。"
PARAGRAPHS = f"<p>{SENTENCE * 10}</p>" * 20
PAGE = "<html><head>{meta}</head><body>" + PARAGRAPHS + "</body></html>"


def timed(label: str, run: Callable[[], object], repeat: int = 200) -> None:
    started = time.perf_counter()
    for _ in range(repeat):
        run()
    per_call = (time.perf_counter() - started) / repeat * 1000
    print(f"{label:<36} {per_call:8.3f} ms/page")


def main() -> None:
    declared = PAGE.format(meta='<meta charset="gbk">').encode("gbk")
    lying = PAGE.format(meta='<meta charset="gb2312">').encode("utf-8")
    undeclared = PAGE.format(meta="").encode("gbk")
    print(f"page size ≈ {len(declared) // 1024} KiB")
    timed("declared gbk, bytes gbk", lambda: decode(declared))
    timed("meta gb2312, bytes utf-8", lambda: decode(lying))
    timed("no declaration, bytes gbk (detect)", lambda: decode(undeclared), repeat=20)


if __name__ == "__main__":
    main()
