"""Check passes over 2,000 list sources on a loopback portal that answers after 50 ms.

Run: .venv/bin/python bench/fetch/run.py [SOURCES] [--latency-ms MS] [--stored N]
                                         [--new-first] [--profile PASS] [--checks N]
                                         [--gc-freeze]
     (defaults: 2000 sources, 50 ms, nothing stored; PASS is baseline, unchanged or new)

The portal (bench/portal_server.py, its own process) serves SOURCES list pages of 10 items
with ETags, and detail pages (each a different text); every answer waits LATENCY ms first.
The real App (monitor.app.App, Options(..., workers=2)) checks every source of the generated
config at once, as `monitor check` does, in three passes:

  baseline   the first check: 10 new documents per source, each followed and extracted
  unchanged  (a) every list page answers 304                          target <= 10 s wall
  new        (b) 10 % of sources list one new item with a detail page  target >= 200 docs/s
             (every tenth source; with --new-first the first 10 %, as before issue 6: those
             are checked first and hold every check slot while their pages are extracted)

The SOURCES sources stand for SOURCES different sites, but loopback is one host, so the
generated config lifts the per-host limits that would otherwise apply to all of them
together: `defaults: {allow_private: true, per_host_delay: 0s, per_host_concurrency: 10000}`.
(robots.txt is still honoured: one host means it is fetched once, not once per site.)
The baseline pages name no topic term, so the first relevant document comes in pass (b);
the table MinHash builds once per process at its first fingerprint (~0.1-0.2 s, paid in a
daemon's own baseline) is built before the passes and its time printed.

Per pass: wall time; CPU seconds of the monitor's process and of its worker processes
(utime + stime from /proc/PID/stat, before and after the pass); peak RSS of each (VmHWM,
reset at the start of the pass through /proc/PID/clear_refs); the time the main process
spent in its garbage collector (gc.callbacks); the portal's CPU, printed apart (it shares the
machine's cores, but a real site's CPU is not ours). After the pool is shut down, the
forkserver's reaped-children CPU is printed as a cross-check of the worker total. Before the
passes the main process's RSS is printed after imports, after the config is parsed and after
the App is built. Each check's report is dropped as soon as it is counted, as a daemon drops
it (`monitor check` keeps all 2,000 reports, with their documents, until the pass ends).

--stored N      first fill the state database with N documents of history (bench/fetch/
                history.py: ~2 KB of text each, 10 % with matches and story prints).
--profile PASS  runs cProfile over the monitor's process during that pass and prints the top
                functions (worker processes are not profiled).
--checks N      diagnostic only: replaces the Checker's bound on concurrent checks
                (monitor.pipeline.MAX_CONCURRENT_CHECKS) with N for this run.
--gc-freeze     diagnostic only: gc.freeze() once the App is built (and filled), as a
                composition root could do, so start-up objects are not scanned again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
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
from monitor.classify.similarity import fingerprint
from monitor.config import parse_config
from monitor.sources import SourceConfig

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "fetch"))
from portal_server import portal_config  # noqa: E402 (bench/ is not a package)

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int | str) -> tuple[float, float]:
    """(own, reaped children) CPU seconds of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # after the command: state is fields[0]; utime, stime, cutime, cstime are 14–17 in stat(5)
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def peak_rss_mib(pid: int | str, field: str = "VmHWM") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mib() -> float:
    return peak_rss_mib("self", "VmRSS")


class GcClock:
    """Seconds the main process spends in its garbage collector."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._tick)

    def _tick(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


GC = GcClock()
PORTAL: list[int] = []  # the portal server's pid, once started


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


async def summary(app: App, source: SourceConfig) -> tuple[str, int]:
    """Check one source, keeping only its outcome and new documents (as a daemon keeps nothing
    of a finished check; `monitor check` keeps every report until all are done)."""
    report = await app.checker.check(source)
    return report.outcome.value, report.new


async def one_pass(app: App, label: str, profile: bool) -> float:
    """One pass over every source; prints its figures and returns its wall time."""
    reset_peak("self")
    for pid in worker_pids(app):
        reset_peak(pid)
    before, gc_before = snapshot(app), GC.seconds
    portal_before = proc_cpu(PORTAL[0])[0] if PORTAL else 0.0
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    reports = await asyncio.gather(*(summary(app, source) for source in app.settings.sources))
    if profiler:
        profiler.disable()
    after = snapshot(app)
    portal_cpu = proc_cpu(PORTAL[0])[0] - portal_before if PORTAL else 0.0
    wall = after.wall - before.wall
    main_cpu = after.main_cpu - before.main_cpu
    workers_cpu = sum(cpu - before.workers_cpu.get(pid, 0.0)
                      for pid, cpu in after.workers_cpu.items())
    workers_rss = [peak_rss_mib(pid) for pid in after.workers_cpu]
    outcomes: dict[str, int] = {}
    for outcome, _ in reports:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    new = sum(count for _, count in reports)
    print(f"{label:<10} wall {wall:6.2f} s  cpu main {main_cpu:6.2f} s + workers "
          f"{workers_cpu:6.2f} s (portal {portal_cpu:4.2f} s)  "
          f"peak RSS main {peak_rss_mib('self'):5.0f} MiB, workers "
          f"{' + '.join(f'{r:.0f}' for r in workers_rss) or '-'} MiB  "
          f"{len(reports) / wall:5.0f} sources/s  new docs {new:6d} ({new / wall:6.1f}/s)  "
          f"gc {GC.seconds - gc_before:4.2f} s  {outcomes}", flush=True)
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("cumulative").print_stats(OURS, 60)
        print(out.getvalue(), flush=True)
    return wall


OURS = (r"pipeline|ledger|store|hot_path|stories|similarity|classify|topics|detect|health|"
        r"workers|polite|httpx_fetcher|transport|queries|rows")


async def run(sources: int, port: int, state: Path, *, profile: str | None, stored: int,
              freeze: bool, new_first: bool) -> dict[str, float]:
    """The three passes over a fresh App in `state`; their wall times by label."""
    if stored:  # in a process of its own: the fill's memory is not the monitor's
        subprocess.run([sys.executable, str(BENCH / "fetch" / "history.py"), "--fill",
                        str(state / "monitor.db"), "--stored", str(stored),
                        "--sources", str(sources)], check=True)
    print(f"main process RSS: {rss_mib():.0f} MiB after imports", end="", flush=True)
    settings = parse_config(portal_config(sources, port), "bench.yaml", {})
    print(f", {rss_mib():.0f} after the config", end="", flush=True)
    app = App(Options(Path("bench.yaml"), state, workers=2), settings)
    print(f", {rss_mib():.0f} after the App", flush=True)
    walls = {}
    try:
        started = time.perf_counter()
        fingerprint("", "预热") or fingerprint("预热", "区块链" * 8)
        print(f"MinHash tables built in {time.perf_counter() - started:.2f} s", flush=True)
        if freeze:
            gc.freeze()
        walls["baseline"] = await one_pass(app, "baseline", profile == "baseline")
        walls["unchanged"] = await one_pass(app, "unchanged", profile == "unchanged")
        which = "/first" if new_first else ""
        urllib.request.urlopen(f"http://127.0.0.1:{port}/publish{which}").read()
        walls["new"] = await one_pass(app, "new", profile == "new")
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
    return walls


def bench(sources: int, latency_ms: float, *, stored: int = 0, profile: str | None = None,
          freeze: bool = False, new_first: bool = False) -> dict[str, float]:
    """Start the portal, run the passes in a temporary state directory, stop the portal."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(BENCH / "portal_server.py"),
                               str(sources), str(port), str(latency_ms)],
                              stdout=subprocess.PIPE)
    PORTAL[:] = [server.pid]
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        print(f"{sources} sources x 10 items, follow: true, {latency_ms:g} ms per request, "
              f"{stored} documents stored first, {os.cpu_count()} cores, 2 workers, "
              f"{pipeline.MAX_CONCURRENT_CHECKS} concurrent checks; load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        with tempfile.TemporaryDirectory() as state:
            return asyncio.run(run(sources, port, Path(state), profile=profile, stored=stored,
                                   freeze=freeze, new_first=new_first))
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="?", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--stored", type=int, default=0, help="documents stored first")
    parser.add_argument("--profile", choices=["baseline", "unchanged", "new"])
    parser.add_argument("--checks", type=int, help="diagnostic: concurrent checks bound")
    parser.add_argument("--new-first", action="store_true", help="new items on the first 10 %%")
    parser.add_argument("--gc-freeze", action="store_true", help="diagnostic: gc.freeze()")
    args = parser.parse_args()
    if args.checks:
        pipeline.MAX_CONCURRENT_CHECKS = args.checks  # read when the Checker is built
    bench(args.sources, args.latency_ms, stored=args.stored, profile=args.profile,
          freeze=args.gc_freeze, new_first=args.new_first)


if __name__ == "__main__":
    main()
