"""Check passes over 2,000 list sources on a loopback portal that answers after 50 ms.

Run: .venv/bin/python bench/fetch/run.py [SOURCES] [--latency-ms MS] [--profile PASS]
                                         [--checks N]
     (defaults: 2000 sources, 50 ms; PASS is one of baseline, unchanged, new)

The portal (bench/portal_server.py, its own process) serves SOURCES list pages of 10 items
with ETags, and detail pages; every answer waits LATENCY ms first. The real App
(monitor.app.App, Options(..., workers=2)) checks every source of the generated config
at once, as `monitor check` does, in three passes:

  baseline   the first check: 10 new documents per source, each followed and extracted
  unchanged  (a) every list page answers 304                          target <= 10 s wall
  new        (b) 10 % of sources list one new item with a detail page  target >= 200 docs/s

The SOURCES sources stand for SOURCES different sites, but loopback is one host, so the
generated config lifts the per-host limits that would otherwise apply to all of them
together: `defaults: {allow_private: true, per_host_delay: 0s, per_host_concurrency: 10000}`.
(robots.txt is still honoured: one host means it is fetched once, not once per site.)

Per pass: wall time; CPU seconds of the monitor's process and of its worker processes
(utime + stime from /proc/PID/stat, before and after the pass); peak RSS of each (VmHWM,
reset at the start of the pass through /proc/PID/clear_refs). After the pool is shut down,
the forkserver's reaped-children CPU is printed as a cross-check of the worker total.
The portal's own CPU is not counted.

--profile PASS  runs cProfile over the monitor's process during that pass and prints the top
                functions (worker processes are not profiled).
--checks N      diagnostic only: replaces the Checker's bound on concurrent checks
                (monitor.pipeline.MAX_CONCURRENT_CHECKS) with N for this run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import multiprocessing.forkserver
import os
import pstats
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from monitor import pipeline
from monitor.app import App, Options
from monitor.config import parse_config

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))
from portal_server import portal_config  # noqa: E402 (bench/ is not a package)

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int | str) -> tuple[float, float]:
    """(own, reaped children) CPU seconds of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # after the command: state is fields[0]; utime, stime, cutime, cstime are 14–17 in stat(5)
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def peak_rss_mib(pid: int | str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak(pid: int | str) -> None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS


def worker_pids(app: App) -> list[int]:
    executor = app.pool._executor  # private, read for the benchmark only
    processes = getattr(executor, "_processes", None) or {}
    return [pid for pid in processes if os.path.exists(f"/proc/{pid}")]


@dataclass
class Snapshot:
    wall: float
    main_cpu: float
    workers_cpu: dict[int, float]


def snapshot(app: App) -> Snapshot:
    workers = {}
    for pid in worker_pids(app):
        with contextlib.suppress(OSError):  # a worker that just exited
            workers[pid] = proc_cpu(pid)[0]
    return Snapshot(time.perf_counter(), proc_cpu("self")[0], workers)


async def one_pass(app: App, label: str, profile: bool) -> None:
    reset_peak("self")
    for pid in worker_pids(app):
        reset_peak(pid)
    before = snapshot(app)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    reports = await asyncio.gather(*(app.checker.check(s) for s in app.settings.sources))
    if profiler:
        profiler.disable()
    after = snapshot(app)
    wall = after.wall - before.wall
    main_cpu = after.main_cpu - before.main_cpu
    workers_cpu = sum(cpu - before.workers_cpu.get(pid, 0.0)
                      for pid, cpu in after.workers_cpu.items())
    workers_rss = [peak_rss_mib(pid) for pid in after.workers_cpu]
    outcomes: dict[str, int] = {}
    for report in reports:
        outcomes[report.outcome.value] = outcomes.get(report.outcome.value, 0) + 1
    new = sum(r.new for r in reports)
    print(f"{label:<10} wall {wall:6.2f} s  cpu main {main_cpu:6.2f} s + workers "
          f"{workers_cpu:6.2f} s  peak RSS main {peak_rss_mib('self'):5.0f} MiB, workers "
          f"{' + '.join(f'{r:.0f}' for r in workers_rss) or '-'} MiB  "
          f"{len(reports) / wall:5.0f} sources/s  new docs {new:6d} ({new / wall:6.1f}/s)  "
          f"{outcomes}", flush=True)
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        print(out.getvalue(), flush=True)


async def run(sources: int, port: int, state: Path, profile: str | None) -> None:
    settings = parse_config(portal_config(sources, port), "bench.yaml", {})
    app = App(Options(Path("bench.yaml"), state, workers=2), settings)
    try:
        await one_pass(app, "baseline", profile == "baseline")
        await one_pass(app, "unchanged", profile == "unchanged")
        urllib.request.urlopen(f"http://127.0.0.1:{port}/publish").read()
        await one_pass(app, "new", profile == "new")
        total_workers = sum(proc_cpu(pid)[0] for pid in worker_pids(app))
    finally:
        await app.aclose()
    server_pid = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if server_pid:
        time.sleep(0.2)  # let the forkserver reap the workers
        reaped = proc_cpu(server_pid)[1]
        print(f"workers' CPU over the run: {total_workers:.2f} s by /proc before shutdown, "
              f"{reaped:.2f} s reaped by the forkserver after it")
    own = resource.getrusage(resource.RUSAGE_SELF)  # ru_maxrss follows the VmHWM resets
    print(f"main process: cpu {own.ru_utime + own.ru_stime:.2f} s in all (start-up included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="?", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--profile", choices=["baseline", "unchanged", "new"])
    parser.add_argument("--checks", type=int, help="diagnostic: concurrent checks bound")
    args = parser.parse_args()
    if args.checks:
        pipeline.MAX_CONCURRENT_CHECKS = args.checks  # read when the Checker is built
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(BENCH / "portal_server.py"),
                               str(args.sources), str(port), str(args.latency_ms)],
                              stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        print(f"{args.sources} sources x 10 items, follow: true, {args.latency_ms:g} ms per "
              f"request, {os.cpu_count()} cores, 2 workers, "
              f"{pipeline.MAX_CONCURRENT_CHECKS} concurrent checks", flush=True)
        with tempfile.TemporaryDirectory() as state:
            asyncio.run(run(args.sources, port, Path(state), args.profile))
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
