"""A fast asyncio HTTP/1.1 portal for benchmarks: N list pages with ETags, and detail pages.

Run: python bench/portal_server.py SOURCES PORT [LATENCY_MS]   (prints "ready" once listening)
LATENCY_MS (default 0: answer at once) delays every answer but /publish's by that many
milliseconds, as a distant site would; requests wait concurrently, not in turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

ITEMS = 10
PARAGRAPH = "<p>为推动数字经济发展，本市将加快建设新型基础设施，完善数据要素市场。</p>" * 8
TITLE = "关于印发某市数字政府建设方案的通知"


class Portal:
    """Pages by path; `publish(n)` adds one new item to the first n sources."""

    def __init__(self, sources: int) -> None:
        self.sources = sources
        self.extra: dict[int, int] = {}

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
                f"<article><h1>第{item}号 {TITLE}</h1>{PARAGRAPH}{topic}"
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
            if latency and path != "/publish":
                await asyncio.sleep(latency)
            if path == "/publish":
                portal.extra = {i: 1 for i in range(portal.sources // 10)}
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
