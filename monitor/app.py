"""The composition root: builds every object from the config and hands them down."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from monitor.classify import TopicClassifier
from monitor.compose import Composer
from monitor.config import Settings, load_config
from monitor.detect import story_clue
from monitor.errors import ConfigError
from monitor.fetch import Fetcher, HttpFetcher, PoliteFetcher
from monitor.fetch.polite import HostLimits
from monitor.health import HealthMonitor
from monitor.logs import mask_secrets
from monitor.notify import DigestRenderer, Notifier, build_notifier, default_template_dirs
from monitor.observe import Metrics
from monitor.outbox import OutboxSender
from monitor.pipeline import Checker
from monitor.store import Store, database_url, make_engine, upgrade_schema
from monitor.workers import WorkerPool

log = logging.getLogger("monitor.app")


@dataclass(frozen=True)
class Options:
    """Where things are: from the command line and the environment."""

    config_path: Path
    state_dir: Path
    database_url: str | None = None
    workers: int = 2
    env: Mapping[str, str] | None = None

    @classmethod
    def from_env(cls, config: str | None, state: str | None,
                 env: Mapping[str, str]) -> Options:
        return cls(
            config_path=Path(config or env.get("MONITOR_CONFIG") or "sources.yaml"),
            state_dir=Path(state or env.get("MONITOR_STATE_DIR") or "state"),
            database_url=env.get("DATABASE_URL") or None,
            workers=_workers(env.get("MONITOR_WORKERS")), env=env)


def build_fetcher(settings: Settings) -> Fetcher:
    """One fetcher for every source, so that per-host limits hold across sources."""
    defaults = settings.defaults
    http = HttpFetcher(user_agent=defaults.user_agent, max_body=defaults.max_body)
    return PoliteFetcher(http, user_agent=defaults.user_agent,
                         concurrency=defaults.per_host_concurrency,
                         delay=defaults.per_host_delay.total_seconds(), retries=defaults.retries,
                         hosts=_host_limits(settings))


def _host_limits(settings: Settings) -> dict[str, HostLimits]:
    """The `hosts:` map of the config, as the fetcher's per-host limits."""
    return {name: HostLimits(
                concurrency=limits.per_host_concurrency,
                delay=None if limits.per_host_delay is None
                else limits.per_host_delay.total_seconds())
            for name, limits in settings.hosts.items()}


def _workers(value: str | None) -> int:
    """MONITOR_WORKERS: extraction processes (0 runs extraction in a thread); default cores ≤ 4."""
    if not value:
        return min(os.cpu_count() or 1, 4)
    if not value.isdigit():
        raise ConfigError([f"MONITOR_WORKERS: expected a number of processes, got '{value}'"])
    return int(value)


class App:
    """Every long-lived object of a running monitor; close it when done."""

    def __init__(self, options: Options, settings: Settings) -> None:
        self.options = options
        self.settings = settings
        options.state_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(database_url(options.state_dir, options.database_url))
        upgrade_schema(self.engine)
        self.store = Store(self.engine)
        self.metrics = Metrics(self.store, [source.id for source in settings.sources])
        self.pool = WorkerPool(options.workers)
        self.fetcher = build_fetcher(settings)
        self.http = httpx.AsyncClient(headers={"User-Agent": settings.defaults.user_agent})
        renderer = DigestRenderer(self.template_dirs())
        self.checker = Checker(settings, self.store, self.fetcher,
                               TopicClassifier(settings.topics), self.pool,
                               health=HealthMonitor(settings, renderer))
        self.composer = Composer(settings, self.store, renderer)
        self.sender = OutboxSender.from_settings(self.store, self._notifiers(), settings)

    @classmethod
    def load(cls, options: Options) -> App:
        """The app for the config at options.config_path; its secrets are masked in logs."""
        settings = load_config(options.config_path, options.env or {})
        mask_secrets(settings.secret_values())
        return cls(options, settings)

    def fingerprint_old_documents(self) -> None:
        """Relevant documents stored before stories existed (schema 0005) join the story
        matching; `check` and `run` call it before checking (a no-op once done)."""
        if done := self.store.fingerprint_old_documents(story_clue):
            log.info("fingerprinted %d document(s) stored before stories existed", done)

    def template_dirs(self) -> list[Path]:
        """The user's templates directory (relative to the config file) first, then ours."""
        user = self.settings.templates_dir
        dirs = [self.options.config_path.parent / user] if user else []
        return dirs + default_template_dirs()

    def _notifiers(self) -> dict[str, Notifier]:
        return {sub.id: build_notifier(sub.channel, settings=self.settings,
                                       state_dir=self.options.state_dir, client=self.http)
                for sub in self.settings.subscriptions}

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        await self.http.aclose()
        self.pool.close()
        self.engine.dispose()
