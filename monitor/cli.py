"""The `monitor` command line: validate, check, run, digest, export, explain, report, status…"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from monitor.app import App, Options, build_fetcher
from monitor.backfill import BackfillProgress, backfill, print_progress
from monitor.classify.regions import Gazetteer
from monitor.config import HtmlListSource, json_schema, load_config
from monitor.domain import RenderedMessage
from monitor.errors import ConfigError, MonitorError
from monitor.explain import explain_json, explain_text
from monitor.export import write_export
from monitor.logs import setup_logging
from monitor.outbox import SendReport
from monitor.pipeline import CheckReport, fetch_policy, source_timeout
from monitor.probe import ProbeReport, ProbeRules, describe, probe
from monitor.report import as_csv, as_html, as_text, coverage
from monitor.scheduler import heartbeat_age, run_daemon
from monitor.sources.urls import canonical_url
from monitor.store import SourceState
from monitor.workers import WorkerPool

Command = Callable[[argparse.Namespace, Options], int]
T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        options = Options.from_env(args.config, args.state, os.environ)
        command: Command = args.command
        return command(args, options)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except MonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitor", description=__doc__)
    parser.add_argument("--config", help="sources.yaml (env MONITOR_CONFIG; ./sources.yaml)")
    parser.add_argument("--state", help="state directory (env MONITOR_STATE_DIR; ./state)")
    parser.add_argument("--log-level", default=os.environ.get("MONITOR_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _add(commands, "validate", cmd_validate, "check sources.yaml and exit")
    config = _add(commands, "config", cmd_config_schema, "configuration tools")
    config.add_argument("what", choices=["schema"], help="schema: print the JSON Schema")
    check = _add(commands, "check", cmd_check, "check sources once, send what is due, exit")
    check.add_argument("sources", nargs="*", metavar="SOURCE", help="source ids (default all)")
    check.add_argument("--dry-run", action="store_true", help="write and send nothing")
    check.add_argument("--digests", choices=["all", "due", "none"], default="all",
                       help="digests to compose: all pending (default), due by schedule, none")
    probe_source = _add(commands, "test-source", cmd_test_source,
                        "show what a source yields: items, fields, charset, timings")
    probe_source.add_argument("source", metavar="SOURCE")
    probe_source.add_argument("--follow", type=int, default=3, metavar="N",
                              help="item pages to read when the source follows (default 3)")
    history = _add(commands, "backfill", cmd_backfill,
                   "store a source's older pages (pagination) without alerting")
    history.add_argument("source", metavar="SOURCE")
    history.add_argument("--since", required=True, type=date.fromisoformat, metavar="DATE",
                         help="oldest publication date to keep, YYYY-MM-DD")
    _add(commands, "run", cmd_run, "run the daemon until SIGTERM or SIGINT")
    digest = _add(commands, "digest", cmd_digest, "show the digest a subscription would get")
    digest.add_argument("--preview", required=True, metavar="SUBSCRIPTION")
    digest.add_argument("--html", action="store_true", help="print the HTML part")
    export = _add(commands, "export", cmd_export, "export documents or matches")
    export.add_argument("what", choices=["documents", "matches"])
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--output", "-o", help="file to write (default stdout)")
    explain = _add(commands, "explain", cmd_explain,
                   "why a stored document matched a topic or not: score, reasons, facts, story")
    explain.add_argument("url", metavar="URL")
    explain.add_argument("--format", choices=["text", "json"], default="text")
    report = _add(commands, "report", cmd_report, "analyst reports from the stored matches")
    report.add_argument("what", choices=["coverage"],
                        help="coverage: per region and year, did a category's documents name "
                             "the topic, and how often")
    report.add_argument("--topic", required=True)
    report.add_argument("--by", default="region,year", choices=["region,year", "year,region"])
    report.add_argument("--category", default="gov_report",
                        help="category of documents counted (default gov_report)")
    report.add_argument("--format", choices=["text", "csv", "html"], default="text")
    report.add_argument("--output", "-o", help="file to write (default stdout)")
    _add(commands, "status", cmd_status, "each source's last outcome and the outbox")
    health = _add(commands, "healthcheck", cmd_healthcheck, "exit 0 when the daemon is alive")
    health.add_argument("--max-age", type=int, default=180, help="seconds (default 180)")
    return parser


def _add(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
         command: Command, help_text: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(command=command)
    return parser


def cmd_validate(_args: argparse.Namespace, options: Options) -> int:
    settings = load_config(options.config_path, options.env or {})
    print(f"{options.config_path}: ok ({len(settings.sources)} sources, "
          f"{len(settings.topics)} topics, {len(settings.subscriptions)} subscriptions)")
    return 0


def cmd_config_schema(_args: argparse.Namespace, _options: Options) -> int:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_check(args: argparse.Namespace, options: Options) -> int:
    fresh = not options.database_url and not (options.state_dir / "monitor.db").exists()
    if args.dry_run and fresh:  # nothing to compare with: use a scratch database, keep no state
        with tempfile.TemporaryDirectory(prefix="monitor-dry-run-") as scratch:
            return _check(args, replace(options, state_dir=Path(scratch)))
    return _check(args, options)


def _check(args: argparse.Namespace, options: Options) -> int:
    reports, sent = _with_app(options, lambda app: _check_once(app, args.sources, args.dry_run,
                                                                args.digests))
    for report in reports:
        print(_describe(report, args.dry_run))
    if not args.dry_run:
        print(f"deliveries: {sent.sent} sent, {sent.retried} to retry, {sent.dead} dead")
    failed = any(report.error for report in reports) or sent.retried or sent.dead
    return 1 if failed else 0


def _with_app(options: Options, work: Callable[[App], Awaitable[T]]) -> T:
    """Build the app, run `work` on it, and close it, all inside one event loop."""
    async def run() -> T:
        app = App.load(options)
        try:
            return await work(app)
        finally:
            await app.aclose()
    return asyncio.run(run())


async def _check_once(app: App, wanted: list[str], dry_run: bool,
                      digests: str) -> tuple[list[CheckReport], SendReport]:
    unknown = set(wanted) - {source.id for source in app.settings.sources}
    if unknown:
        raise ConfigError([f"unknown source id(s): {', '.join(sorted(unknown))}"])
    sources = [s for s in app.settings.sources if (s.id in wanted if wanted else s.enabled)]
    reports = await asyncio.gather(*(app.checker.check(s, dry_run=dry_run) for s in sources))
    if dry_run:
        return list(reports), SendReport()
    now = datetime.now(UTC)
    app.composer.compose_all(now, which=digests)  # type: ignore[arg-type]
    return list(reports), await app.sender.send_due()


def _describe(report: CheckReport, dry_run: bool) -> str:
    line = (f"{report.source_id}: {report.outcome.value} ({report.new} new, "
            f"{report.changed} changed, {report.alerts} alerts) {report.seconds:.2f}s")
    if report.error:
        line += f"\n  error: {report.error}"
    if dry_run:
        for write in report.documents:
            topics = ", ".join(m.topic_id for m in write.matches) or "-"
            line += f"\n  {write.change}: {write.document.title} <{write.document.url}> [{topics}]"
    return line


def cmd_test_source(args: argparse.Namespace, options: Options) -> int:
    settings = load_config(options.config_path, options.env or {})
    source = next((s for s in settings.sources if s.id == args.source), None)
    if source is None:
        raise ConfigError([f"unknown source id: {args.source}"])
    timeout = source_timeout(source, settings.defaults)

    async def run() -> ProbeReport:
        fetcher, pool = build_fetcher(settings), WorkerPool(0)
        rules = ProbeRules(fetcher, pool, fetch_policy(source, settings.defaults), timeout)
        try:
            return await probe(source, rules, follow=args.follow)
        finally:
            await fetcher.aclose()
            pool.close()

    report = asyncio.run(run())
    print(describe(report))
    return 1 if report.error else 0


def cmd_backfill(args: argparse.Namespace, options: Options) -> int:
    async def run(app: App) -> BackfillProgress:
        source = next((s for s in app.settings.sources if s.id == args.source), None)
        if not isinstance(source, HtmlListSource):
            raise ConfigError([f"backfill needs an html-list source id, got '{args.source}'"])
        return await backfill(app, source, args.since, print_progress)

    progress = _with_app(options, run)
    print(f"\n{args.source}: {progress.pages} page(s), {progress.items} items, "
          f"{progress.stored} new documents stored (no alerts)")
    return 0


def cmd_run(_args: argparse.Namespace, options: Options) -> int:
    _with_app(options, run_daemon)
    return 0


def cmd_digest(args: argparse.Namespace, options: Options) -> int:
    async def preview(app: App) -> RenderedMessage:
        subscription = next((s for s in app.settings.subscriptions if s.id == args.preview),
                            None)
        if subscription is None:
            raise ConfigError([f"unknown subscription '{args.preview}'"])
        return app.composer.preview(subscription, datetime.now(UTC))

    message = _with_app(options, preview)
    print(f"Subject: {message.subject}\n")
    print(message.html if args.html else message.text)
    return 0


def cmd_export(args: argparse.Namespace, options: Options) -> int:
    async def export(app: App) -> int:
        if not args.output:
            return write_export(app.store, args.what, args.format, sys.stdout)
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            return write_export(app.store, args.what, args.format, out)

    _with_app(options, export)
    return 0


def cmd_explain(args: argparse.Namespace, options: Options) -> int:
    async def explain(app: App) -> str:
        stored = app.store.stored_document(canonical_url(args.url))
        if stored is None:
            raise MonitorError(f"{args.url} is not stored; `monitor check` stores what "
                               "the sources list")
        if args.format == "json":
            return json.dumps(explain_json(stored), ensure_ascii=False, indent=2)
        return explain_text(stored, {topic.id: topic for topic in app.settings.topics})

    print(_with_app(options, explain))
    return 0


def cmd_report(args: argparse.Namespace, options: Options) -> int:
    async def report(app: App) -> str:
        if args.topic not in {topic.id for topic in app.settings.topics}:
            raise ConfigError([f"unknown topic '{args.topic}'"])
        rows, columns = args.by.split(",")
        table = coverage(app.store.iter_matches(args.topic), Gazetteer.default().provinces(),
                         args.topic, args.category, (rows, columns))
        return {"text": as_text, "csv": as_csv, "html": as_html}[args.format](table)

    output = _with_app(options, report)
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        print(output, end="" if output.endswith("\n") else "\n")
    return 0


def cmd_status(_args: argparse.Namespace, options: Options) -> int:
    async def status(app: App) -> list[str]:
        states = {state.source_id: state for state in app.store.source_states()}
        lines = [_source_line(source.id, states.get(source.id))
                 for source in app.settings.sources]
        return lines + [f"deliveries {status}: {len(app.store.deliveries(status))}"
                        for status in ("pending", "sent", "dead")]

    print("\n".join(_with_app(options, status)))
    return 0


def _source_line(source_id: str, state: SourceState | None) -> str:
    if state is None or state.last_checked_at is None:
        return f"{source_id}: never checked"
    line = (f"{source_id}: {state.last_outcome} at "
            f"{state.last_checked_at.isoformat(timespec='seconds')}, "
            f"{state.consecutive_failures} failure(s) in a row")
    if state.health.failing:
        line += ", FAILING"
    if state.health.quiet_since:
        line += f", quiet since {state.health.quiet_since.isoformat(timespec='seconds')}"
    return line + (f"\n  last error: {state.last_error}" if state.last_error else "")


def cmd_healthcheck(args: argparse.Namespace, options: Options) -> int:
    age = heartbeat_age(options.state_dir)
    if age is None or age > timedelta(seconds=args.max_age):
        print(f"unhealthy: heartbeat {'missing' if age is None else f'{age} old'}")
        return 1
    print(f"healthy: heartbeat {int(age.total_seconds())}s old")
    return 0
