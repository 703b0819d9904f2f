"""Times charset.decode on typical pages. Run: PYTHONPATH=. .venv/bin/python bench/fetch_bench.py"""

from __future__ import annotations

import time
from collections.abc import Callable

from monitor.fetch import decode

SENTENCE = "为进一步防范区块链虚拟货币交易炒作风险，各地区各部门要加强监测预警，及时处置风险。"
# Big5 bytes that GB18030 decodes too, and GBK bytes that Big5 decodes too: both are compared.
BIG5_SENTENCE = "特區政府今日發布政策宣言，推動區塊鏈技術的應用。"
GBK_VALID_BIG5 = "国务院办公厅印发数字经济发展规划，推动产业转型升级。"
GBK_NOT_BIG5 = "金融机构和非银行支付机构不得为虚拟货币相关业务活动提供服务。"  # 0xC8.. is not Big5
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
    for label, sentence, meta, codec in (
            ("meta gb2312, bytes big5", BIG5_SENTENCE, "gb2312", "big5"),
            ("declared big5, bytes big5", BIG5_SENTENCE, "big5", "big5"),
            ("declared gbk, gbk also valid big5", GBK_VALID_BIG5, "gbk", "gbk"),
            ("declared gbk, gbk not valid big5", GBK_NOT_BIG5, "gbk", "gbk")):
        body = _page(sentence, meta).encode(codec)
        timed(label, lambda body=body: decode(body))  # type: ignore[misc]


def _page(sentence: str, meta: str) -> str:
    return PAGE.replace(SENTENCE, sentence).format(meta=f'<meta charset="{meta}">')


if __name__ == "__main__":
    main()
