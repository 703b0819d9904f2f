"""A fast asyncio HTTP/1.1 portal for benchmarks: N list pages with ETags, and detail pages.

Run: python bench/portal_server.py SOURCES PORT [LATENCY_MS]   (prints "ready" once listening)
LATENCY_MS (default 0: answer at once) delays every answer but /publish's by that many
milliseconds, as a distant site would; requests wait concurrently, not in turn. GET /publish
adds one new item to 10 % of the sources, every tenth one (s0, s10, s20, …); /publish/first
to the first 10 % instead (s0 … s199 of 2,000: checked first, they take every check slot
while their pages are read, a worst case for the other sources' checks).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys

ITEMS = 10
TITLE = "关于印发某市数字政府建设方案的通知"
# Each detail page's text is drawn from these characters, seeded by its source and item: pages
# of different sites are different documents (not near-duplicates of one another), as they are
# on real portals; the pages of one site share its template (title, menu, footer) only.
CHARACTERS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你"
              "主发年动同工能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如"
              "水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前"
              "外天政四日那社义事平形相全表间样与关各重新线内数正心反明看原又么利比或但质气第"
              "向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员"
              "革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手"
              "角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规"
              "热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单"
              "风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信")
SENTENCES_PER_PAGE = 8


def detail_text(source: int, item: int) -> str:
    """The paragraphs of one detail page: 8 sentences of 24–40 characters."""
    pick = random.Random(source * 1000 + item)
    sentences = ("".join(pick.choices(CHARACTERS, k=pick.randint(24, 40))) + "。"
                 for _ in range(SENTENCES_PER_PAGE))
    return "".join(f"<p>{sentence}</p>" for sentence in sentences)


class Portal:
    """Pages by path; `publish()` adds one new item to 10 % of the sources."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self.extra: dict[int, int] = {}

    def publish(self, *, first: bool = False) -> None:
        chosen = range(self.sources // 10) if first else range(0, self.sources, 10)
        self.extra.update({source: self.extra.get(source, 0) + 1 for source in chosen})

    def list_page(self, source: int) -> bytes:
        count = ITEMS + self.extra.get(source, 0)
        items = "".join(f'<li><a href="/s{source}/{j}.html">第{j}号 {TITLE}</a>'
                        f"<span>2020-06-{1 + j % 28:02d}</span></li>" for j in range(count))
        nav = '<div class="nav"><a href="/">首页</a><a href="/qkl/">区块链专题</a></div>'
        return (f'<html><head><meta charset="utf-8"><title>政策文件</title></head><body>{nav}'
                f'<ul class="list">{items}</ul></body></html>').encode()

    def detail_page(self, source: int, item: int) -> bytes:
        topic = "<p>支持区块链技术在政务服务中的应用。</p>" if item >= ITEMS else ""
        return (f'<html><head><meta charset="utf-8"><title>第{item}号通知</title></head><body>'
                f'<div class="nav"><a href="/">首页</a><a href="/qkl/">区块链专题</a></div>'
                f"<article><h1>第{item}号 {TITLE}</h1>{detail_text(source, item)}{topic}"
                f'</article><div class="footer">版权所有</div></body></html>').encode()

    def answer(self, path: str, if_none_match: str | None) -> tuple[int, bytes, str]:
        parts = path.strip("/").split("/")
        source = int(parts[0][1:])
        if parts[1] == "list.html":
            body = self.list_page(source)
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            return (304, b"", etag) if if_none_match == etag else (200, body, etag)
        return 200, self.detail_page(source, int(parts[1].split(".")[0])), ""


def portal_config(sources: int, port: int) -> str:
    """A sources.yaml for the portal: N html-list sources that follow their items.

    The N sources stand for N different sites on one loopback host, so per-host politeness is
    lifted (each real site would keep its own delay and limit).
    """
    lines = ["version: 1", "defaults: {timeout: 30s, allow_private: true, per_host_delay: 0s, "
             f"per_host_concurrency: {max(sources * 4, 10000)}}}", "sources:"]
    for i in range(sources):
        lines += [f"  - id: s{i}", "    kind: html-list",
                  f"    url: http://127.0.0.1:{port}/s{i}/list.html",
                  '    items: {selector: "ul.list li"}', "    follow: true"]
    lines += ["topics:", "  - id: blockchain-policy", "    terms: {zh: [区块链]}",
              "subscriptions:", "  - id: files", "    channel: {kind: file}"]
    return "\n".join(lines) + "\n"


async def handle(portal: Portal, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, latency: float = 0.0) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
            if latency and not path.startswith("/publish"):
                await asyncio.sleep(latency)
            if path.startswith("/publish"):
                portal.publish(first=path == "/publish/first")
                status, body, etag = 200, b"ok", ""
            elif path == "/robots.txt":  # none: every path may be fetched
                status, body, etag = 404, b"", ""
            else:
                status, body, etag = portal.answer(path, headers.get("if-none-match"))
            reason = {200: "OK", 304: "Not Modified"}.get(status, "Not Found")
            extra = f"ETag: {etag}\r\n" if etag else ""
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8"
                         f"\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def serve(sources: int, port: int, latency: float = 0.0) -> None:
    portal = Portal(sources)
    server = await asyncio.start_server(lambda r, w: handle(portal, r, w, latency),
                                        "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    latency_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), latency_ms / 1000))
