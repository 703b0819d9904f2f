"""The `monitor` command line: validate, check, run, digest, deliveries, export, status…"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from monitor.app import App, Options, build_fetcher
from monitor.backfill import BackfillProgress, backfill, print_progress
from monitor.classify.regions import Gazetteer
from monitor.config import HtmlListSource, Settings, Subscription, json_schema, load_config
from monitor.domain import (
    Digest,
    DigestItem,
    Evidence,
    Fact,
    OutboundMessage,
    RenderedMessage,
)
from monitor.errors import ConfigError, DeliveryError, MonitorError
from monitor.explain import explain_json, explain_text
from monitor.export import write_export
from monitor.logs import setup_logging
from monitor.notify import DigestRenderer
from monitor.outbox import SendReport, unsubscribe_urls
from monitor.pipeline import CheckReport, fetch_policy, source_timeout
from monitor.probe import ProbeReport, ProbeRules, describe, probe
from monitor.report import as_csv, as_html, as_text, coverage
from monitor.scheduler import HEARTBEAT_MAX_AGE, heartbeat_age, run_daemon
from monitor.sources.urls import canonical_url
from monitor.store import DeliveryRow, SourceState
from monitor.store.leases import SourceLease, SourceLeases
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
    max_age = int(HEARTBEAT_MAX_AGE.total_seconds())
    health.add_argument("--max-age", type=int, default=max_age,
                        help=f"seconds (default {max_age})")
    _add_deliveries(commands)
    notify = _add(commands, "test-notify", cmd_test_notify,
                  "send a sample digest through a subscription's channel now (not queued)")
    notify.add_argument("subscription", metavar="SUBSCRIPTION")
    return parser


def _add_deliveries(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deliveries = commands.add_parser("deliveries", help="show and re-send outbox messages",
                                     description="show and re-send outbox messages")
    actions = deliveries.add_subparsers(required=True, metavar="ACTION")
    listing = _add(actions, "list", cmd_deliveries_list, "outbox messages, oldest first")
    listing.add_argument("--status", choices=["pending", "sent", "dead"])
    listing.add_argument("--subscription", metavar="ID")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    retry = _add(actions, "retry", cmd_deliveries_retry,
                 "dead messages back to pending, due now, with the same idempotency key")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, metavar="ID")
    which.add_argument("--all-dead", action="store_true", help="every dead message")
    replay = _add(actions, "replay", cmd_deliveries_replay,
                  "send a sent message again, as a new message with a new idempotency key")
    replay.add_argument("id", type=int, metavar="ID")


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
    if not dry_run:
        app.fingerprint_old_documents()
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
        leases = SourceLeases(app.engine).all()
        now = datetime.now(UTC)
        lines = [_source_line(source.id, states.get(source.id))
                 + _next_run(leases.get(source.id), source.enabled, now)
                 for source in app.settings.sources]
        counts = app.store.delivery_counts()
        return lines + [f"deliveries {status}: {counts.get(status, 0)}"
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


def _next_run(lease: SourceLease | None, enabled: bool, now: datetime) -> str:
    """The status line's tail: when the source is checked next, or who is checking it."""
    if not enabled:
        return "\n  disabled"
    if lease is None:
        return "\n  next check: when `monitor run` starts"
    if lease.held(now):
        return f"\n  being checked by {lease.leased_by}"
    when = "now (overdue)" if lease.next_due <= now else lease.next_due.isoformat(
        timespec="seconds")
    return f"\n  next check: {when}"


def cmd_healthcheck(args: argparse.Namespace, options: Options) -> int:
    age = heartbeat_age(options.state_dir)
    if age is None or age > timedelta(seconds=args.max_age):
        print(f"unhealthy: heartbeat {'missing' if age is None else f'{age} old'}")
        return 1
    print(f"healthy: heartbeat {int(age.total_seconds())}s old")
    return 0


def cmd_deliveries_list(args: argparse.Namespace, options: Options) -> int:
    async def rows(app: App) -> list[DeliveryRow]:
        return app.store.deliveries(args.status, args.subscription)

    found = _with_app(options, rows)
    if args.format == "json":
        print(json.dumps([_delivery_json(row) for row in found], ensure_ascii=False, indent=2))
    else:
        print("\n".join(_delivery_text(row) for row in found) if found else "no deliveries")
    return 0


def _delivery_json(row: DeliveryRow) -> dict[str, object]:
    return {"id": row.id, "subscription": row.subscription_id, "status": row.status,
            "attempts": row.attempts, "next_attempt_at": _iso(_next_attempt(row)),
            "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at),
            "last_error": row.last_error, "subject": row.message.subject,
            "idempotency_key": row.idempotency_key}


def _delivery_text(row: DeliveryRow) -> str:
    line = (f"#{row.id} {row.subscription_id} {row.status}, {row.attempts} attempt(s), "
            f"next {_iso(_next_attempt(row)) or '-'}, created {_iso(row.created_at)}, "
            f"sent {_iso(row.sent_at) or '-'}\n  subject: {row.message.subject}")
    return line + (f"\n  last error: {row.last_error}" if row.last_error else "")


def _next_attempt(row: DeliveryRow) -> datetime | None:
    """When a pending message is tried next (while claimed: when the claim lapses)."""
    return row.next_attempt_at if row.status == "pending" else None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def cmd_deliveries_retry(args: argparse.Namespace, options: Options) -> int:
    async def retry(app: App) -> list[DeliveryRow]:
        if args.id is not None:
            _must_be(app.store.delivery(args.id), args.id, "dead",
                     "`monitor deliveries replay` sends a sent message again")
        ids = set(app.store.requeue_dead(None if args.all_dead else [args.id],
                                         datetime.now(UTC)))
        rows = [row for row in app.store.deliveries("pending") if row.id in ids]
        _warn_unconfigured(app.settings, rows)
        return rows

    requeued = _with_app(options, retry)
    for row in requeued:
        print(f"#{row.id} {row.subscription_id}: pending again, due now, with a fresh count "
              f"of attempts and the same idempotency key {row.idempotency_key}")
    print(f"{len(requeued)} message(s) requeued; `monitor check` or the running daemon "
          "sends them" if requeued else "no dead deliveries")
    return 0


def cmd_deliveries_replay(args: argparse.Namespace, options: Options) -> int:
    async def replay(app: App) -> DeliveryRow:
        _must_be(app.store.delivery(args.id), args.id, "sent",
                 "`monitor deliveries retry` re-sends a dead message")
        row = app.store.replay(args.id, datetime.now(UTC))
        if row is None:
            raise MonitorError(f"delivery {args.id} changed meanwhile; try again")
        _warn_unconfigured(app.settings, [row])
        return row

    row = _with_app(options, replay)
    print(f"#{row.id} {row.subscription_id}: replay of #{args.id} queued, due now, new "
          f"idempotency key {row.idempotency_key}")
    return 0


def _must_be(row: DeliveryRow | None, delivery_id: int, status: str, hint: str) -> None:
    if row is None:
        raise MonitorError(f"no delivery {delivery_id}")
    if row.status != status:
        raise MonitorError(f"delivery {delivery_id} is {row.status}, not {status}; {hint}")


def _warn_unconfigured(settings: Settings, rows: list[DeliveryRow]) -> None:
    configured = {sub.id for sub in settings.subscriptions}
    for missing in sorted({row.subscription_id for row in rows} - configured):
        print(f"warning: subscription '{missing}' is not in the config: its messages are "
              "kept but not sent", file=sys.stderr)


def cmd_test_notify(args: argparse.Namespace, options: Options) -> int:
    async def send(app: App) -> DeliveryError | None:
        subscription = next((s for s in app.settings.subscriptions
                             if s.id == args.subscription), None)
        if subscription is None:
            raise ConfigError([f"unknown subscription '{args.subscription}'"])
        now = datetime.now(UTC)
        rendered = DigestRenderer(app.template_dirs()).render(
            sample_digest(subscription, app.settings.topics[0].id, now))
        message = RenderedMessage(f"[test] {rendered.subject}", rendered.text, rendered.html,
                                  {**rendered.payload, "test": True})
        outbound = OutboundMessage(0, f"test-{uuid.uuid4().hex}", subscription.id, message,
                                   now, unsubscribe_urls(app.settings).get(subscription.id))
        try:
            await app.sender.notifiers[subscription.id].send(outbound)
        except DeliveryError as error:
            return error
        return None

    failure = _with_app(options, send)
    if failure is not None:
        kind = "retryable" if failure.retryable else "permanent"
        print(f"{args.subscription}: sample message NOT delivered ({kind}): {failure.reason}")
        return 1
    print(f"{args.subscription}: sample message delivered")
    return 0


def sample_digest(subscription: Subscription, default_topic: str, now: datetime) -> Digest:
    """A digest with one Chinese and one French item, to see how a channel shows both."""
    topic = subscription.topics[0] if subscription.topics else default_topic
    zh_title = "浙江省人民政府办公厅关于印发区块链技术应用创新行动计划（2024—2026年）的通知"
    zh = DigestItem(
        url="https://www.example.gov.cn/zcwj/2024/qkl-xdjh.html", title=zh_title,
        source_id="sample", source_name="浙江省人民政府门户网站（示例）",
        published=now - timedelta(days=1), language="zh", change="new", topics=(topic,),
        evidence=(Evidence("区块链", "title", zh_title),
                  Evidence("区块链", "text", "推动区块链与政务服务、跨境贸易深度融合，"
                                                "设立1000万元专项资金支持应用示范。")),
        category="plan", regions=("Zhejiang",), score=0.92,
        facts=(Fact("horizon", "2024-2026", "year", "2024—2026年"),
               Fact("money", "10000000", "CNY", "1000万元")),
        also=(("示例新闻网", "https://news.example.cn/2024/qkl.html"),))
    fr_title = "Le Guangdong désigne quinze zones pilotes « blockchain » pour l'État numérique"
    fr = DigestItem(
        url="https://fr.example.org/actualites/guangdong-zones-pilotes-blockchain",
        title=fr_title, source_id="sample-fr", source_name="Exemple d'actualités (démo)",
        published=now - timedelta(hours=5), language="fr", change="new", topics=(topic,),
        evidence=(Evidence("blockchain", "text", "Ces zones pilotes testeront la blockchain "
                                                 "dans les services publics & les douanes."),),
        category="pilot", regions=("Guangdong",), score=0.81,
        facts=(Fact("count", "15", "zone", "quinze zones pilotes"),))
    return Digest(subscription.id, subscription.mode, (zh, fr), now,
                  timezone=subscription.timezone)
