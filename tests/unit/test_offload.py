"""CPU-bound checks run in worker threads, with a bounded queue: beyond it, Busy at once."""

import asyncio
import threading

import pytest

from shared.offload import Busy, Offload


async def test_work_runs_off_the_event_loop_and_beyond_the_queue_is_refused():
    offload = Offload(threads=1, waiting=1)
    release = threading.Event()
    loop_thread = threading.get_ident()
    ran_in: list[int] = []

    def work() -> str:
        ran_in.append(threading.get_ident())
        release.wait(10)
        return "done"

    running = asyncio.ensure_future(offload.run(work))
    waiting = asyncio.ensure_future(offload.run(work))
    await asyncio.sleep(0)  # both taken in hand
    with pytest.raises(Busy, match="retry later"):
        await offload.run(work)
    release.set()
    assert await asyncio.gather(running, waiting) == ["done", "done"]
    assert ran_in and loop_thread not in ran_in
    assert await offload.run(lambda: 42) == 42  # room again once they are done
