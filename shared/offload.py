"""A request's CPU-bound work (checking an XML document against the schema, validating a batch's
reports) run off the event loop, in a few worker threads, so that one costly request never holds
the others or `/healthz`: the loop keeps its turn while a worker computes.

At most `threads` jobs run at once and `waiting` more queue for a thread; a request beyond that is
refused at once (Busy, answered 503 with Retry-After) instead of growing an unbounded queue.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Busy(RuntimeError):
    """Every worker thread busy and the queue full: nothing was done, the caller retries."""


class Offload:
    def __init__(self, threads: int, waiting: int) -> None:
        self.threads = threads
        self.capacity = threads + waiting
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="offload")
        self._held = 0

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._held >= self.capacity:
            raise Busy(f"{self.threads} checks in hand and {self.capacity - self.threads} "
                       "waiting; nothing was done, retry later")
        self._held += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: work(*args, **kwargs))
        finally:
            self._held -= 1

