"""The ops benchmarks' portal: bench/portal_server.py's pages with counters, answer times and
topical items added to one source at a time.

Run: python bench/ops/live_portal.py SOURCES PORT [LATENCY_MS]
     (PORT 0: any free port; prints "ready PORT" once listening)

It serves bench/portal_server.py's list and detail pages (10 items per list page, ETags, 304
to a matching If-None-Match, every answer LATENCY_MS late) through that module's own request
handler; on top of it:
  GET /_stats    JSON counts of the answers so far: {"list 200": n, "list 304": n, "detail": n}
  GET /_add/S    one new topical item on source S's list page (JSON: {"url": its detail page})
The benchmarks that need answer times (bench/ops/latency.py) run `LivePortal` in their own
process instead and read `LivePortal.answered`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from portal_server import ITEMS, TITLE, Portal, handle  # bench/ is not a package

PROVINCES = ["广东省", "浙江省", "江苏省", "山东省", "河南省", "四川省", "湖北省", "湖南省",
             "福建省", "安徽省", "河北省", "陕西省", "江西省", "辽宁省", "云南省", "贵州省",
             "山西省", "吉林省", "甘肃省", "海南省", "青海省", "黑龙江省", "北京市", "上海市",
             "天津市", "重庆市", "广西壮族自治区", "内蒙古自治区", "宁夏回族自治区",
             "新疆维吾尔自治区", "西藏自治区"]


@dataclass(frozen=True)
class Post:
    """A topical item: an action plan on 区块链 issued by a provincial government."""

    title: str
    date: str
    paragraphs: tuple[str, ...]


def topical_post(n: int) -> Post:
    """The n-th topical post; each names another province, horizon and amounts.

    Posts of different provinces are different stories (one template filled in by two provinces
    is two stories), so every one of them alerts.
    """
    province = PROVINCES[n % len(PROVINCES)]
    start = 2020 + n // len(PROVINCES)
    end = start + 2
    plan = f"{province}区块链技术应用创新发展行动计划（{start}—{end}年）"
    return Post(
        title=f"{province}人民政府办公厅关于印发{plan}的通知",
        date=f"{start}-07-{1 + n % 28:02d}",
        paragraphs=(
            f"各市、县人民政府，省政府各部门、各直属机构：经{province}人民政府同意，现将《{plan}》"
            "印发给你们，请结合实际认真贯彻执行。",
            "为贯彻落实国家关于把区块链作为核心技术自主创新重要突破口的部署，加快推动区块链技术"
            "在政务服务、数字金融和城市治理中的应用，制定本行动计划。",
            f"到{end}年，全省培育区块链骨干企业{20 + n}家以上，建设区块链产业园区{2 + n % 5}个，"
            "形成一批可复制推广的应用示范。",
            f"设立区块链产业发展专项资金，对符合条件的项目给予最高{1000 + 10 * n}万元支持。",
            f"{province}人民政府办公厅 {start}年7月{1 + n % 28}日",
        ),
    )


class LivePortal(Portal):
    """Portal pages plus topical items added per source, answer counts and answer times."""

    def __init__(self, sources: int) -> None:
        super().__init__(sources)
        self.posts: dict[tuple[int, int], Post] = {}
        self.counts: Counter[str] = Counter()
        self.pending: dict[int, int] = {}  # source -> item not yet served on a list page
        self.answered: dict[tuple[int, int], float] = {}  # (source, item) -> time.time()

    def add(self, source: int, post: Post) -> str:
        """Put `post` on top of source's list page; the path of its detail page."""
        item = ITEMS + self.extra.get(source, 0)
        self.extra[source] = self.extra.get(source, 0) + 1
        self.posts[(source, item)] = post
        self.pending[source] = item
        return f"/s{source}/{item}.html"

    def list_page(self, source: int) -> bytes:
        """bench/portal_server.py's page, byte for byte, until an item is added to it."""
        count = ITEMS + self.extra.get(source, 0)
        if not any((source, j) in self.posts for j in range(ITEMS, count)):
            return super().list_page(source)
        items = "".join(self._entry(source, j) for j in range(count))
        nav = '<div class="nav"><a href="/">首页</a><a href="/qkl/">区块链专题</a></div>'
        return (f'<html><head><meta charset="utf-8"><title>政策文件</title></head><body>{nav}'
                f'<ul class="list">{items}</ul></body></html>').encode()

    def _entry(self, source: int, item: int) -> str:
        post = self.posts.get((source, item))
        title = post.title if post else f"第{item}号 {TITLE}"
        date = post.date if post else f"2020-06-{1 + item % 28:02d}"
        return f'<li><a href="/s{source}/{item}.html">{title}</a><span>{date}</span></li>'

    def detail_page(self, source: int, item: int) -> bytes:
        post = self.posts.get((source, item))
        if post is None:
            return super().detail_page(source, item)
        body = "".join(f"<p>{text}</p>" for text in post.paragraphs)
        return (f'<html><head><meta charset="utf-8"><title>{post.title}</title></head><body>'
                f'<div class="nav"><a href="/">首页</a></div><article><h1>{post.title}</h1>'
                f'<div class="info">发布日期：{post.date}</div>{body}</article>'
                '<div class="footer">版权所有</div></body></html>').encode()

    def answer(self, path: str, if_none_match: str | None) -> tuple[int, bytes, str]:
        if path.startswith("/_"):
            return 200, self._control(path), ""
        status, body, etag = super().answer(path, if_none_match)
        source = int(path.strip("/").split("/")[0][1:])
        if path.endswith("/list.html"):
            self.counts[f"list {status}"] += 1
            if status == 200 and source in self.pending:
                self.answered[(source, self.pending.pop(source))] = time.time()
        else:
            self.counts["detail"] += 1
        return status, body, etag

    def _control(self, path: str) -> bytes:
        if path.startswith("/_add/"):
            source = int(path.rsplit("/", 1)[1])
            return json.dumps({"url": self.add(source, topical_post(len(self.posts)))}).encode()
        return json.dumps(dict(self.counts)).encode()


async def serve(portal: Portal, port: int, latency: float = 0.0) -> asyncio.Server:
    """Start serving `portal` on 127.0.0.1:port with bench/portal_server.py's handler."""
    return await asyncio.start_server(lambda r, w: handle(portal, r, w, latency),
                                      "127.0.0.1", port)


async def _main(sources: int, port: int, latency: float) -> None:
    server = await serve(LivePortal(sources), port, latency)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    latency_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    asyncio.run(_main(int(sys.argv[1]), int(sys.argv[2]), latency_ms / 1000))
