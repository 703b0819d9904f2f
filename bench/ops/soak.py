"""Soak: the resident memory of a `monitor run` daemon polling 2,000 sources for an hour.

Run: .venv/bin/python bench/ops/soak.py [--minutes 60] [--sources 2000] [--interval 60s]
                                        [--documents 100000] [--publish-every 30]
                                        [--latency-ms 50] [--csv FILE] [--keep DIR]

The portal (bench/ops/live_portal.py in its own process: bench/portal_server.py's pages, every
answer LATENCY ms late) serves SOURCES list pages of 10 items. The config is
bench/portal_server.portal_config's (html-list, `follow: true`, per-host limits lifted, a file
digest subscription) with `interval: INTERVAL` (default 60 s, the default 10 % jitter), so
the daemon polls continuously: SOURCES / INTERVAL checks a second, nearly all answered 304.
`monitor check` records the baseline first (10 documents per source). With --documents N,
N more documents (DocumentRecord rows, ~740 Chinese characters each, spread over the sources)
are then inserted into the state database with one SQLAlchemy Core bulk insert, so the
daemon runs over a realistic store. During the soak one topical item (a provincial 区块链 action
plan) is put on another source every PUBLISH_EVERY seconds (0: none), so items are followed,
extracted in the worker processes, classified and stored all along.

Every 10 s the bench samples VmRSS (/proc/PID/status) of the daemon and of every process
under it (the forkserver and the extraction workers) into the CSV (elapsed seconds; RSS of
the daemon, its children and both in KiB; number of children; CPU seconds of the daemon and of
its live children from /proc/PID/stat; list and detail pages the portal answered so far; load
average; each child as role:pid:KiB, role being forkserver, resource_tracker or worker).
At the end (SIGTERM to the daemon) it prints RSS after the 5-minute warm-up (in a run shorter
than 10 minutes: at its middle) and at the end, the growth between the two (%, and % per
hour) and the peak, for the daemon, its children and both; the same for the processes alive at
both samples (the extraction pool starts its workers on demand, so a worker that starts after
the warm-up is a step, not a leak: it is listed apart); and the daemon's CPU per list page
polled after the warm-up.
Target: growth <= 5 %/hour.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from portal_server import portal_config  # bench/ is not a package

OPS = Path(__file__).resolve().parent
MONITOR = str(Path(sys.executable).with_name("monitor"))
SAMPLE_EVERY = 10.0
WARM_UP = 300.0
FIELDS = ["seconds", "daemon_kib", "children_kib", "total_kib", "children", "daemon_cpu_s",
          "children_cpu_s", "list_requests", "detail_requests", "load1", "processes"]
TICKS = os.sysconf("SC_CLK_TCK")
FILLER = ("为推动数字经济高质量发展，本市将加快建设新型基础设施，完善数据要素市场，"
          "提升政务服务效能，优化营商环境，促进产业转型升级。") * 12


def soak_config(sources: int, port: int, interval: str) -> str:
    """portal_config's sources, checked every `interval`."""
    config = portal_config(sources, port)
    return config.replace("defaults: {", f"defaults: {{interval: {interval}, ", 1)


def populate(state: Path, documents: int, sources: int) -> float:
    """Insert `documents` DocumentRecord rows (Core, batches of 5,000); seconds taken."""
    from sqlalchemy import create_engine, insert

    from monitor.store.records import DocumentRecord

    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{state / 'monitor.db'}")
    table = DocumentRecord.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for start in range(0, documents, 5000):
            rows = [_document(n, sources, now) for n in range(start, min(documents, start + 5000))]
            connection.execute(insert(table), rows)
    engine.dispose()
    return time.perf_counter() - started


def _document(n: int, sources: int, now: datetime) -> dict[str, object]:
    text = f"第{n}号文件。{FILLER}"
    digest = hashlib.sha256(text.encode()).hexdigest()
    return {"url": f"https://archive.example.gov.cn/s{n % sources}/{n}.html",
            "source_id": f"s{n % sources}", "title": f"关于印发第{n}号数字政府建设方案的通知",
            "text": text, "published": now, "language": "zh", "item_hash": digest,
            "content_hash": digest, "first_seen_at": now}


def descendants(root: int) -> dict[int, int]:
    """Every process under `root`, with its parent (by /proc/*/stat)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid in (pid for pid, of in parents.items() if of == parent):
            found[pid] = parent
            todo.append(pid)
    return found


def role(pid: int, parent: int, daemon: int) -> str:
    """forkserver or resource_tracker (the daemon's children), worker (the forkserver's)."""
    if parent != daemon:
        return "worker"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
    except OSError:
        return "child"
    for name in ("forkserver", "resource_tracker"):
        if name.encode() in command:
            return name
    return "child"


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def portal_get(port: int, path: str) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as answer:
        return json.load(answer)  # type: ignore[no-any-return]


def sample(daemon: int, port: int, elapsed: float) -> dict[str, Any]:
    children = descendants(daemon)
    sizes = {pid: rss_kib(pid) for pid in children}
    own = rss_kib(daemon)
    served = portal_get(port, "/_stats")
    return {"seconds": round(elapsed, 1), "daemon_kib": own, "children_kib": sum(sizes.values()),
            "total_kib": own + sum(sizes.values()), "children": len(children),
            "daemon_cpu_s": cpu_seconds(daemon),
            "children_cpu_s": round(sum(cpu_seconds(pid) for pid in children), 2),
            "list_requests": served.get("list 200", 0) + served.get("list 304", 0),
            "detail_requests": served.get("detail", 0), "load1": round(os.getloadavg()[0], 2),
            "processes": " ".join(f"{role(pid, parent, daemon)}:{pid}:{sizes[pid]}"
                                  for pid, parent in sorted(children.items()))}


def soak(args: argparse.Namespace, daemon: subprocess.Popen[bytes], port: int,
         ) -> list[dict[str, Any]]:
    """Sample every 10 s and publish every PUBLISH_EVERY s, for MINUTES; the samples."""
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    next_publish = started + args.publish_every if args.publish_every else float("inf")
    published = 0
    with args.csv.open("w", newline="") as out:
        writer = csv.DictWriter(out, FIELDS)
        writer.writeheader()
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited with {daemon.returncode}")
            if time.monotonic() >= next_publish:
                portal_get(port, f"/_add/{published * 7919 % args.sources}")
                published += 1
                next_publish += args.publish_every
            rows.append(sample(daemon.pid, port, elapsed))
            writer.writerow(rows[-1])
            out.flush()
            time.sleep(SAMPLE_EVERY - (time.monotonic() - started) % SAMPLE_EVERY)
    print(f"published {published} topical items during the soak")
    return rows


def summarise(rows: list[dict[str, Any]]) -> None:
    after = min(WARM_UP, rows[-1]["seconds"] / 2)  # a run shorter than 10 min: its middle
    warm = next(row for row in rows if row["seconds"] >= after)
    end = rows[-1]
    hours = max((end["seconds"] - warm["seconds"]) / 3600, 1e-9)
    for key, label in (("total_kib", "daemon + children"), ("daemon_kib", "daemon alone"),
                       ("children_kib", "children")):
        growth = (end[key] - warm[key]) / warm[key] * 100 if warm[key] else 0.0
        peak = max(rows, key=lambda row: row[key])
        print(f"{label:<18} RSS at {warm['seconds']:5.0f} s {warm[key] / 1024:7.1f} MiB, at end "
              f"({end['seconds']:5.0f} s) {end[key] / 1024:7.1f} MiB: growth {growth:+5.1f} % "
              f"({growth / hours:+5.1f} %/hour); peak {peak[key] / 1024:7.1f} MiB at "
              f"{peak['seconds']:.0f} s")
    like_for_like(rows, warm, end)
    checks = end["list_requests"] - warm["list_requests"]
    cpu = end["daemon_cpu_s"] - warm["daemon_cpu_s"]
    print(f"after warm-up: {checks:.0f} list pages polled ({checks / hours / 3600:.1f}/s), "
          f"{end['detail_requests'] - warm['detail_requests']:.0f} detail pages; daemon CPU "
          f"{cpu:.1f} s = {cpu / max(checks, 1) * 1000:.2f} ms per list page polled "
          f"({cpu / hours / 36:.1f} % of one core); {len(rows)} samples; "
          "target: growth <= 5 %/hour")


def _processes(row: dict[str, Any]) -> dict[int, tuple[str, int]]:
    found = {}
    for entry in row["processes"].split():
        name, pid, kib = entry.split(":")
        found[int(pid)] = (name, int(kib))
    return found


def like_for_like(rows: list[dict[str, Any]], warm: dict[str, Any], end: dict[str, Any],
                  ) -> None:
    """Growth of the processes alive at both samples; processes started or gone between."""
    before, after = _processes(warm), _processes(end)
    same = before.keys() & after.keys()
    first = warm["daemon_kib"] + sum(before[pid][1] for pid in same)
    last = end["daemon_kib"] + sum(after[pid][1] for pid in same)
    print(f"processes alive at both ({len(same) + 1}, daemon included): {first / 1024:.1f} -> "
          f"{last / 1024:.1f} MiB ({(last - first) / first * 100:+.1f} %)")
    for pid in sorted(after.keys() - before.keys()):
        seen = next(row["seconds"] for row in rows if f":{pid}:" in row["processes"])
        print(f"  started after {warm['seconds']:.0f} s: {after[pid][0]} {pid} (first seen at "
              f"{seen:.0f} s), {after[pid][1] / 1024:.1f} MiB at the end")
    for pid in sorted(before.keys() - after.keys()):
        print(f"  gone by the end: {before[pid][0]} {pid}, {before[pid][1] / 1024:.1f} MiB")


def prepare(args: argparse.Namespace, port: int, tmp: Path) -> tuple[Path, Path]:
    config, state = tmp / "sources.yaml", tmp / "state"
    config.write_text(soak_config(args.sources, port, args.interval), "utf-8")
    started = time.perf_counter()
    subprocess.run([MONITOR, "--config", str(config), "--state", str(state), "check"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    print(f"baseline: monitor check, {time.perf_counter() - started:.1f} s", flush=True)
    if args.documents:
        seconds = populate(state, args.documents, args.sources)
        print(f"populated {args.documents} documents in {seconds:.1f} s; database "
              f"{(state / 'monitor.db').stat().st_size / 2**20:.0f} MiB", flush=True)
    return config, state


def run(args: argparse.Namespace, port: int, tmp: Path) -> None:
    config, state = prepare(args, port, tmp)
    with (tmp / "daemon.log").open("ab") as log:
        daemon = subprocess.Popen([MONITOR, "--config", str(config), "--state", str(state),
                                   "run"], stdout=log, stderr=log)
    try:
        rows = soak(args, daemon, port)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    errors = sum('"level": "error"' in line
                 for line in (tmp / "daemon.log").read_text("utf-8", "replace").splitlines())
    print(f"daemon exit {daemon.returncode}; {errors} error lines in its log; CSV {args.csv}")
    summarise(rows)


def start_portal(portal: subprocess.Popen[bytes]) -> int:
    """The port of a live_portal.py process, once it is listening."""
    assert portal.stdout is not None
    return int(portal.stdout.readline().split()[1])  # "ready PORT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--interval", default="60s")
    parser.add_argument("--documents", type=int, default=0, help="extra stored documents")
    parser.add_argument("--publish-every", type=float, default=30.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--csv", type=Path,
                        default=Path(tempfile.gettempdir()) / f"monitor-soak-{os.getpid()}.csv")
    parser.add_argument("--keep", type=Path, help="a new directory for config, state and log")
    args = parser.parse_args()
    with subprocess.Popen([sys.executable, str(OPS / "live_portal.py"), str(args.sources), "0",
                           str(args.latency_ms)], stdout=subprocess.PIPE) as portal:
        try:
            port = start_portal(portal)
            print(f"{args.sources} sources every {args.interval}, {args.minutes:g} min, "
                  f"{os.cpu_count()} cores; load {os.getloadavg()}", flush=True)
            if args.keep:
                args.keep.mkdir(parents=True)
                run(args, port, args.keep)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    run(args, port, Path(tmp))
        finally:
            portal.kill()
    print(f"load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
