"""A pool of worker processes for CPU-heavy work (parsing, extraction), off the event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from monitor.errors import ExtractError

T = TypeVar("T")


class WorkerPool:
    """Runs picklable functions in worker processes; `workers=0` runs them in one thread."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None

    def _get(self) -> Executor:
        if self._executor is None:
            if self.workers > 0:
                context = multiprocessing.get_context("forkserver")
                self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
            else:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="extract")
        return self._executor

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in a worker; a crashed worker pool is replaced, the call fails."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._get(), function, *args)
        except BrokenProcessPool as error:
            self.close(wait=False)
            raise ExtractError(f"a worker process died: {error}") from error

    async def warm(self) -> None:
        """Start every worker now and load the extraction code in it, so the first new
        document of a daemon is not held up by the pool starting (about 2 s)."""
        if self.workers > 0:
            await asyncio.gather(*(self.run(_load_extraction) for _ in range(self.workers)))

    def close(self, *, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None


def _load_extraction() -> None:
    import trafilatura  # noqa: F401, PLC0415 (in the worker: what extraction loads lazily)

    import monitor.sources  # noqa: F401, PLC0415
