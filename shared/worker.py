"""One helper for every long-running loop of a service: run a step, wait, repeat, stop cleanly.

A step returns True when it may have more to do at once (it runs again without waiting), False
when it is idle (the worker waits `interval_s`, or until stopped). A failing step is logged with
its traceback and retried after `backoff_s`: Redis away for a moment never ends a worker.
"""

import asyncio
from collections.abc import Awaitable, Callable

from shared.logging import get_logger

log = get_logger(__name__)

Step = Callable[[], Awaitable[bool]]


class Periodic:
    def __init__(self, name: str, step: Step, interval_s: float, backoff_s: float = 1.0) -> None:
        self.name = name
        self.step = step
        self.interval_s = interval_s
        self.backoff_s = backoff_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)  # let others run between busy steps
            return
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker step failed; retrying", worker=self.name)
                await self._pause(self.backoff_s)
                continue
            await self._pause(0 if busy else self.interval_s)
