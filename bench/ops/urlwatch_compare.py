"""An unchanged pass over 2,000 list pages (50 ms each): urlwatch 2.29 against `monitor check`.

Run: .venv/bin/python bench/ops/urlwatch_compare.py [SOURCES] [--latency-ms 50]
                                                    [--urlwatch-workers 10,128] [--repeat 2]
     (defaults: 2000 sources, 50 ms; urlwatch is installed on first use into
      ~/.cache/monitor-bench/urlwatch-venv: `python3 -m venv` + `pip install urlwatch==2.29`)

One portal (bench/ops/live_portal.py in its own process: bench/portal_server.py's pages byte
for byte, served by that module's handler, plus a request counter) serves SOURCES list pages
of 10 items with ETags; every answer waits LATENCY ms. Both tools watch the same list pages.

urlwatch: urls.yaml has one `url:` job per list page (no filters: the whole page is compared);
its config turns every reporter off; its cache is a temporary minidb file. A first run fills
the cache (2,000 bodies and their ETags). The timed passes are unchanged: urlwatch sends
If-None-Match (the cached ETag) and If-Modified-Since (the cached time) through `requests`, a
new connection per job (requests.request, no shared session), and the portal answers 304.
urlwatch 2.29 has no option for its parallelism: its worker threads are the module constant
urlwatch.worker.MAX_WORKERS (10). 10 runs the `urlwatch` command as installed; any other value
runs the same main() with that constant set first (a two-line launcher), e.g. 128.

monitor: the config bench/fetch/run.py uses (bench/portal_server.portal_config: html-list,
`follow: true`, defaults allow_private, per_host_delay 0s, per_host_concurrency 10000, a file
subscription), in a temporary state directory. `monitor check` records the baseline (20,000
documents followed and extracted; timed, for information); the timed passes are unchanged:
each source sends If-None-Match over pooled keep-alive connections, the portal answers 304,
and the check is recorded in SQLite (outcome, validators); robots.txt is asked for once.

Both run as subprocesses; each figure is the whole command, start-up included. Per pass: wall
time, CPU (user + system of the command and the children it reaped, resource.getrusage
RUSAGE_CHILDREN before and after), the requests the portal answered (by its counter), requests
per second of wall time, and the ratios urlwatch / monitor. Target: monitor >= 10x faster.
For scale, each tool's fixed cost is timed last: one job (`urlwatch ... 1`), one source
(`monitor check s0`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from portal_server import portal_config  # bench/ is not a package

OPS = Path(__file__).resolve().parent
URLWATCH_VERSION = "2.29"
VENV = Path.home() / ".cache" / "monitor-bench" / "urlwatch-venv"
DEFAULT_WORKERS = 10  # urlwatch.worker.MAX_WORKERS in 2.29
LAUNCHER = ("import sys; import urlwatch.worker as w; w.MAX_WORKERS = int(sys.argv.pop(1)); "
            f"sys.argv[0] = {str(VENV / 'bin' / 'urlwatch')!r}; "
            "from urlwatch.cli import main; main()")
MONITOR = str(Path(sys.executable).with_name("monitor"))


def ensure_urlwatch() -> None:
    """urlwatch URLWATCH_VERSION in VENV, installed from PyPI if missing."""
    urlwatch = VENV / "bin" / "urlwatch"
    if urlwatch.exists():
        version = subprocess.run([str(urlwatch), "--version"], capture_output=True,
                                 text=True, check=False)
        if version.stdout.split()[-1:] == [URLWATCH_VERSION]:
            return
    print(f"installing urlwatch {URLWATCH_VERSION} into {VENV}", flush=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet",
                    f"urlwatch=={URLWATCH_VERSION}"], check=True)


def urlwatch_files(tmp: Path, sources: int, port: int) -> list[str]:
    """urls.yaml, a config with every reporter off, a cache path: urlwatch's file options."""
    jobs = [f"name: s{i}\nurl: http://127.0.0.1:{port}/s{i}/list.html\n" for i in range(sources)]
    (tmp / "urls.yaml").write_text("---\n".join(jobs), "utf-8")
    config = {"display": {"new": False, "error": True, "unchanged": False},
              "report": {"stdout": {"enabled": False}}}  # the only reporter on by default
    (tmp / "urlwatch.yaml").write_text(json.dumps(config), "utf-8")  # JSON is YAML
    return ["--urls", str(tmp / "urls.yaml"), "--config", str(tmp / "urlwatch.yaml"),
            "--cache", str(tmp / "cache.db"), "--hooks", str(tmp / "hooks.py")]


def urlwatch_command(workers: int, files: list[str]) -> list[str]:
    if workers == DEFAULT_WORKERS:
        return [str(VENV / "bin" / "urlwatch"), *files]
    return [str(VENV / "bin" / "python"), "-c", LAUNCHER, str(workers), *files]


@dataclass
class Pass:
    label: str
    wall: float
    cpu: float
    requests: int
    exit: int

    def line(self) -> str:
        return (f"{self.label:<28} wall {self.wall:7.2f} s  cpu {self.cpu:6.2f} s  "
                f"requests {self.requests:5d}  {self.requests / self.wall:7.0f} req/s  "
                f"exit {self.exit}")


def served(port: int) -> Counter[str]:
    """Requests the portal answered so far: list pages by status, detail pages."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats") as answer:
        return Counter(json.load(answer))


def timed(label: str, command: list[str], port: int, log: Path) -> Pass:
    """Run `command` to its end: wall, children's CPU, requests the portal answered."""
    before_requests = served(port)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("ab") as out:
        done = subprocess.run(command, stdout=out, stderr=out, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    answered = served(port) - before_requests
    result = Pass(label, wall, cpu, answered.total(), done.returncode)
    print(result.line(), dict(sorted(answered.items())), flush=True)
    return result


def run(args: argparse.Namespace, port: int, tmp: Path) -> None:
    files = urlwatch_files(tmp, args.sources, port)
    log = tmp / "commands.log"
    timed("urlwatch: fill the cache", urlwatch_command(DEFAULT_WORKERS, files), port, log)
    watched: dict[int, list[Pass]] = {}
    for workers in args.urlwatch_workers:
        watched[workers] = [timed(f"urlwatch unchanged, {workers:3d} thr",
                                  urlwatch_command(workers, files), port, log)
                            for _ in range(args.repeat)]
    config, state = tmp / "sources.yaml", tmp / "state"
    config.write_text(portal_config(args.sources, port), "utf-8")
    monitor = [MONITOR, "--config", str(config), "--state", str(state), "check"]
    timed("monitor check: baseline", monitor, port, log)
    ours = [timed("monitor check: unchanged", monitor, port, log) for _ in range(args.repeat)]
    daemon = daemon_passes(config, state, args.repeat, port)
    timed("start-up: urlwatch, job 1", [*urlwatch_command(DEFAULT_WORKERS, files), "1"], port,
          log)
    timed("start-up: monitor check s0", [*monitor, "s0"], port, log)
    print_ratios(watched, ours, "monitor check")
    print_ratios(watched, daemon, "monitor run's pass")
    failed = [p for p in [*ours, *(p for ps in watched.values() for p in ps)] if p.exit]
    if failed:
        print(f"non-zero exits: see {log}\n" + log.read_text("utf-8", "replace")[-3000:])


def daemon_passes(config: Path, state: Path, repeat: int, port: int) -> list[Pass]:
    """Unchanged passes inside one long-lived process (bench/ops/daemon_pass.py): the daemon's
    case, start-up paid once and not counted."""
    before = served(port)
    command = [sys.executable, str(Path(__file__).with_name("daemon_pass.py")), str(config),
               str(state), "--passes", str(repeat)]
    lines = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    results = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
    per_pass = (served(port) - before).total() // max(len(results), 1)
    found = [Pass("monitor run: unchanged pass", r["wall"], r["cpu"], per_pass, 0)
             for r in results]
    for result, raw in zip(found, results, strict=True):
        print(result.line(), raw["outcomes"], flush=True)
    return found


def print_ratios(watched: dict[int, list[Pass]], ours: list[Pass], name: str) -> None:
    best = min(p.wall for p in ours)
    best_cpu = min(p.cpu for p in ours)
    for workers, passes in watched.items():
        wall = min(p.wall for p in passes)
        cpu = min(p.cpu for p in passes)
        print(f"urlwatch ({workers} threads) / {name}, best of each: wall {wall / best:5.1f}x, "
              f"cpu {cpu / best_cpu:5.1f}x  (target: wall >= 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="?", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--urlwatch-workers", default=f"{DEFAULT_WORKERS},128",
                        type=lambda text: [int(n) for n in text.split(",")])
    parser.add_argument("--repeat", type=int, default=2, help="unchanged passes of each")
    args = parser.parse_args()
    ensure_urlwatch()
    portal = subprocess.Popen([sys.executable, str(OPS / "live_portal.py"), str(args.sources),
                               "0", str(args.latency_ms)], stdout=subprocess.PIPE)
    try:
        assert portal.stdout is not None
        port = int(portal.stdout.readline().split()[1])  # "ready PORT"
        print(f"{args.sources} list pages, {args.latency_ms:g} ms per request, "
              f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            run(args, port, Path(tmp))
    finally:
        portal.kill()
        portal.wait()
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
