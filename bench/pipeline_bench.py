"""Times check passes over N loopback list pages: baseline, unchanged (all 304), 10 % new.

Run: .venv/bin/python bench/pipeline_bench.py [SOURCES] [--httpcore]   (default 500 sources)
The portal runs in its own process (bench/portal_server.py); figures are for the monitor only.
--httpcore swaps the default transport (aiohttp engine) for httpx's own, for comparison.
The N sources stand for N sites, so the per-host limits are lifted (one loopback host serves all).
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
from portal_server import portal_config  # beside this file

from monitor.app import App, Options
from monitor.config import parse_config
from monitor.fetch import HttpFetcher, PoliteFetcher
from monitor.fetch.transport import LIMITS

HERE = Path(__file__).parent


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def one_pass(app: App, label: str) -> None:
    started_wall, started_cpu = time.perf_counter(), cpu_seconds()
    reports = await asyncio.gather(*(app.checker.check(s) for s in app.settings.sources))
    wall = time.perf_counter() - started_wall
    outcomes: dict[str, int] = {}
    for report in reports:
        outcomes[report.outcome.value] = outcomes.get(report.outcome.value, 0) + 1
    new = sum(r.new for r in reports)
    print(f"{label:<22} wall {wall:6.2f} s  cpu(main) {cpu_seconds() - started_cpu:6.2f} s  "
          f"{len(reports) / wall:7.0f} sources/s  new docs {new:5d}  {outcomes}")


async def run(sources: int, port: int, state: Path, httpcore: bool) -> None:
    settings = parse_config(portal_config(sources, port), "bench.yaml", {})
    app = App(Options(Path("bench.yaml"), state, workers=2), settings)
    if httpcore:
        await app.fetcher.aclose()
        http = HttpFetcher(user_agent="bench", transport=httpx.AsyncHTTPTransport(limits=LIMITS))
        app.fetcher = app.checker.fetcher = PoliteFetcher(
            http, user_agent="bench", concurrency=sources * 4, delay=0.0)
    try:
        await one_pass(app, "baseline (all new)")
        await one_pass(app, "unchanged (all 304)")
        urllib.request.urlopen(f"http://127.0.0.1:{port}/publish").read()
        await one_pass(app, "10 % with a new item")
    finally:
        await app.aclose()


def main() -> None:
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    sources = int(numbers[0]) if numbers else 500
    httpcore = "--httpcore" in sys.argv
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(HERE / "portal_server.py"), str(sources),
                               str(port)], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        transport = "httpx AsyncHTTPTransport" if httpcore else "FastTransport (aiohttp)"
        print(f"{sources} sources x 10 items, follow: true, {os.cpu_count()} cores, {transport}")
        with tempfile.TemporaryDirectory() as state:
            asyncio.run(run(sources, port, Path(state), httpcore))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
