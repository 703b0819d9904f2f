"""The store's side of checks running together: their reads in one query, their outcomes in one
transaction.

Each check reads its source's state and list validators when it starts, and records one outcome
when it ends. Checks that start (or end) within WINDOW (2 ms) of one another are served by one
query (or one transaction), which costs far less per check than one of each per check: a pass
over 2,000 sources where most answer 304 is mostly these reads and writes. A batch never waits
to fill: it is served WINDOW after its first request, so a lone check waits 2 ms at most.

A check's `record` returns only once its outcome is committed, with its documents and the
alerts they owe in the same transaction (the outbox rule), so a kill at any moment loses at
most checks that had not finished anyway. If a batch fails, its outcomes are written one by
one, so one bad row costs only its own check. Outcomes with operator notices go to
`Store.apply_check`, on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from monitor.domain import Validators
from monitor.errors import StoreError
from monitor.store import CheckIntent, SourceState, Store
from monitor.store.hot_path import (
    read_follow_failures,
    read_source_states_many,
    read_validators_many,
    write_checks_many,
)

WINDOW = 0.002  # seconds a batch stays open after its first request
K = TypeVar("K")
V = TypeVar("V")


class _Batch(Generic[K, V]):
    """Requests made within `window` seconds of the first, answered together by `serve`."""

    def __init__(self, serve: Callable[[Sequence[K]], Sequence[V | Exception]],
                 window: float = WINDOW) -> None:
        self._serve = serve
        self._window = window
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def ask(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        if loop is not self._loop:  # another command's loop: its unserved checks were cancelled
            self._waiting, self._loop = [], loop
        if not self._waiting:
            loop.call_later(self._window, self._flush)
        self._waiting.append((key, future))
        return await future

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            answers = self._serve([key for key, _ in waiting])
        except Exception as error:  # every waiter sees the failure, as if asked alone
            answers = [error] * len(waiting)
        for (_, future), answer in zip(waiting, answers, strict=True):
            if future.done():  # its check was cancelled meanwhile
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)


class CheckLedger:
    """Reads and records checks for the `Checker`, batching those that run at the same time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._starts: _Batch[tuple[str, str], tuple[SourceState, Validators | None]] = (
            _Batch(self._read))
        self._outcomes: _Batch[CheckIntent, int] = _Batch(self._write)

    async def start(self, source_id: str, url: str) -> tuple[SourceState, Validators | None]:
        """The source's state and the validators kept for its URL."""
        return await self._starts.ask((source_id, url))

    async def record(self, intent: CheckIntent) -> int:
        """Record one check's outcome (and documents, alerts, notices); returns alerts made.

        Raises StoreError when the database does not take it.
        """
        if intent.notices:
            return self.store.apply_check(intent)
        return await self._outcomes.ask(intent)

    def follow_failures(self, urls: Collection[str]) -> dict[str, int]:
        """How many checks in a row failed to fetch each of these pages (absent: none)."""
        if not urls:
            return {}
        with self.store.engine.connect() as connection:
            return read_follow_failures(connection, urls)

    def _read(self, keys: Sequence[tuple[str, str]]) -> list[tuple[SourceState,
                                                                   Validators | None]]:
        with self.store.engine.connect() as connection:
            states = read_source_states_many(connection, {source_id for source_id, _ in keys})
            validators = read_validators_many(connection, {url for _, url in keys})
        return [(states[source_id], validators.get(url)) for source_id, url in keys]

    def _write(self, intents: Sequence[CheckIntent]) -> list[int | Exception]:
        try:
            with self.store.engine.begin() as connection:
                return list(write_checks_many(connection, intents))
        except SQLAlchemyError as error:
            if len(intents) == 1:
                return [_store_error(intents[0], error)]
            return [answer for intent in intents for answer in self._write([intent])]


def _store_error(intent: CheckIntent, error: SQLAlchemyError) -> StoreError:
    failure = StoreError(f"cannot record check of {intent.source_id}: {error}")
    failure.__cause__ = error
    return failure
