"""Unchanged passes inside one long-lived monitor process: what a pass costs `monitor run`.

Run: .venv/bin/python bench/ops/daemon_pass.py CONFIG STATE [--passes 3]

Builds the real App once (as the daemon does at start-up), then checks every enabled source
of CONFIG at once, PASSES times, and prints one JSON line per pass: wall seconds and the
process's CPU seconds. Start-up (imports, config, App) is paid once and not counted, as in a
daemon that has been running; urlwatch_compare.py runs it beside urlwatch and `monitor check`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path

from monitor.app import App, Options


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def passes(config: Path, state: Path, count: int) -> None:
    app = App.load(Options(config, state, workers=2, env={}))
    try:
        sources = [source for source in app.settings.sources if source.enabled]
        for _ in range(count):
            started, cpu = time.perf_counter(), cpu_seconds()
            reports = await asyncio.gather(*(app.checker.check(s) for s in sources))
            outcomes: dict[str, int] = {}
            for report in reports:
                outcomes[report.outcome.value] = outcomes.get(report.outcome.value, 0) + 1
            print(json.dumps({"wall": time.perf_counter() - started,
                              "cpu": cpu_seconds() - cpu, "outcomes": outcomes}), flush=True)
    finally:
        await app.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("state", type=Path)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(passes(args.config, args.state, args.passes))


if __name__ == "__main__":
    main()
