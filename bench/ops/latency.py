"""Detection to delivery: from the list page that shows a new item to the webhook that reports it.

Run: .venv/bin/python bench/ops/latency.py [--sources 200] [--trials 24] [--interval 5s]
                                            [--latency-ms 50] [--warmup 1] [--keep DIR]

The bench process serves the portal (bench/ops/live_portal.py: bench/portal_server.py's pages,
every answer LATENCY ms late) and a webhook receiver, both on 127.0.0.1. It writes a config of
SOURCES html-list sources (`follow: true`, `interval: INTERVAL`, the default 10 % jitter, which
the daemon rounds up to at least 1 s) with the layered blockchain-policy topic and one
`mode: immediate` subscription whose channel is a webhook to the receiver; records the baseline
with `monitor check`; then starts the daemon (`monitor run`) and waits until it has polled
every source once.

Each trial puts one new item on another source's list page: a provincial government's 区块链
action plan (live_portal.topical_post; each names another province, so each is its own story
and alerts). The portal notes when it answered the list page that first showed the item
(time.time(), after its latency); the receiver notes when the webhook naming the item's URL
arrived. Latency = arrival - answer: the daemon's detail-page fetch (another LATENCY ms),
extraction in a worker process, storage, classification, composing and the POST. The wait
for the next poll (publish to answer) is printed apart. Target: <= 2 s.
The first WARMUP trials (default 1) are printed but not counted: the daemon's first new
document also starts the worker pool (lazily: forkserver, processes, their imports).
At the end, `monitor explain` on the first trial's URL shows why it was relevant.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_portal import LivePortal, serve, topical_post

MONITOR = str(Path(sys.executable).with_name("monitor"))
TOPIC = """\
topics:
  - id: blockchain-policy
    terms: {zh: [区块链]}
    authorities: {zh: [政府, 办公厅, 印发, 国务院]}
    places: {zh: [中国, 全国, 国家]}
    categories:
      pilot: {zh: [试点, 名单]}
      funding: {zh: [专项资金, 补贴]}
      plan: {zh: [行动计划, 实施方案]}
    guards: {zh: [比特币, 挖矿]}
    threshold: 0.5
"""


def latency_config(sources: int, port: int, hook: str, interval: str) -> str:
    """SOURCES html-list sources on the portal, one immediate webhook subscription."""
    lines = ["version: 1",
             f"defaults: {{interval: {interval}, timeout: 30s, allow_private: true, "
             "per_host_delay: 0s, per_host_concurrency: 10000}",
             "observe: {port: 0}", "sources:"]
    for i in range(sources):
        lines += [f"  - id: s{i}", "    kind: html-list",
                  f"    url: http://127.0.0.1:{port}/s{i}/list.html",
                  '    items: {selector: "ul.list li"}', "    follow: true"]
    lines += [TOPIC.rstrip(), "subscriptions:", "  - id: alerts", "    mode: immediate",
              "    topics: [blockchain-policy]", f"    channel: {{kind: webhook, url: {hook}}}"]
    return "\n".join(lines) + "\n"


@dataclass
class Receiver:
    """The webhook endpoint: when each item URL first arrived."""

    arrived: dict[str, float] = field(default_factory=dict)
    got: asyncio.Event = field(default_factory=asyncio.Event)

    async def hook(self, request: web.Request) -> web.Response:
        payload = await request.json()
        now = time.time()
        for item in payload.get("items", []):
            self.arrived.setdefault(item["url"], now)
        self.got.set()
        return web.Response(status=204)


async def start_receiver(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook"


async def monitor(config: Path, state: Path, *args: str, log: Path | None = None,
                  ) -> asyncio.subprocess.Process:
    """`monitor ARGS` on the config and state; output to `log`, else piped."""
    command = [MONITOR, "--config", str(config), "--state", str(state), *args]
    if log is None:
        return await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(*command, stdout=out, stderr=out)


async def wait_polled(portal: LivePortal, sources: int, timeout: float) -> None:
    """Until every source's list page has been asked for again (answered 304) once."""
    deadline = time.monotonic() + timeout
    while portal.counts["list 304"] < sources:
        if time.monotonic() > deadline:
            raise SystemExit(f"the daemon polled {portal.counts['list 304']} of {sources} "
                             f"sources within {timeout:.0f} s")
        await asyncio.sleep(0.2)


@dataclass
class Trial:
    source: int
    published: float
    answered: float
    arrived: float

    @property
    def latency(self) -> float:
        return self.arrived - self.answered


@dataclass
class Rig:
    """The portal and the receiver, in this process."""

    portal: LivePortal
    receiver: Receiver
    base: str  # the portal's http://127.0.0.1:PORT

    async def trial(self, n: int, source: int, timeout: float) -> Trial:
        """Publish the n-th topical post on `source`; wait for its webhook."""
        published = time.time()
        path = self.portal.add(source, topical_post(n))
        url = self.base + path
        deadline = time.monotonic() + timeout
        while url not in self.receiver.arrived:
            if time.monotonic() > deadline:
                raise SystemExit(f"no webhook for {url} within {timeout:.0f} s")
            self.receiver.got.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.receiver.got.wait(), 0.5)
        item = int(path.rsplit("/", 1)[1].split(".")[0])
        return Trial(source, published, self.portal.answered[(source, item)],
                     self.receiver.arrived[url])


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(trials: list[Trial]) -> None:
    latencies = [t.latency for t in trials]
    waits = [t.answered - t.published for t in trials]
    print(f"detection -> delivery over {len(trials)} trials: median "
          f"{statistics.median(latencies):.3f} s, p95 {nearest_rank(latencies, 0.95):.3f} s, "
          f"max {max(latencies):.3f} s, min {min(latencies):.3f} s (target <= 2 s)")
    print(f"publish -> next poll (not counted): median {statistics.median(waits):.2f} s, "
          f"max {max(waits):.2f} s")


async def run(args: argparse.Namespace, tmp: Path) -> None:
    portal = LivePortal(args.sources)
    server = await serve(portal, 0, args.latency_ms / 1000)
    port = server.sockets[0].getsockname()[1]
    receiver = Receiver()
    runner, hook = await start_receiver(receiver)
    config, state, log = tmp / "sources.yaml", tmp / "state", tmp / "daemon.log"
    config.write_text(latency_config(args.sources, port, hook, args.interval), "utf-8")
    started = time.perf_counter()
    check = await monitor(config, state, "check")
    _, err = await check.communicate()
    print(f"baseline: monitor check of {args.sources} sources, exit {check.returncode}, "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    if check.returncode:
        raise SystemExit(err.decode()[-2000:])
    daemon = await monitor(config, state, "run", log=log)
    try:
        await run_trials(args, Rig(portal, receiver, f"http://127.0.0.1:{port}"))
    finally:
        daemon.send_signal(signal.SIGTERM)
        await daemon.wait()
        await runner.cleanup()
        server.close()
    url = f"http://127.0.0.1:{port}/s0/10.html"
    explain = await monitor(config, state, "explain", url)
    out, _ = await explain.communicate()
    print(f"monitor explain {url}:\n" + "\n".join(out.decode().splitlines()[:12]))


async def run_trials(args: argparse.Namespace, rig: Rig) -> None:
    portal = rig.portal
    portal.counts.clear()
    await wait_polled(portal, args.sources, 120)
    print(f"daemon running: every source polled once ({portal.counts})", flush=True)
    total = args.warmup + args.trials
    step = max(1, args.sources // total)
    trials = []
    for n in range(total):
        done = await rig.trial(n, (n * step) % args.sources, 60)
        trials.append(done)
        label = "warm-up" if n < args.warmup else f"trial {n - args.warmup + 1:2d}"
        print(f"{label:<8} source s{done.source:<4d} latency {done.latency:6.3f} s  "
              f"(waited {done.answered - done.published:5.2f} s for the poll)", flush=True)
    summarise(trials[args.warmup:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--interval", default="5s")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--warmup", type=int, default=1, help="first trials, not counted")
    parser.add_argument("--keep", type=Path, help="a new directory for the config, state and "
                        "the daemon's log (daemon.log), kept afterwards")
    args = parser.parse_args()
    print(f"{args.sources} sources, interval {args.interval}, {args.latency_ms:g} ms per "
          f"request, {os.cpu_count()} cores; load: {os.getloadavg()}", flush=True)
    if args.keep:
        args.keep.mkdir(parents=True)
        asyncio.run(run(args, args.keep))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
