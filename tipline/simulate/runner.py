"""Runs variants on every core: each variant's volume split into partitions, one a core (a
partition is a smaller copy of the world, see `engine`), the partitions' statistics added up."""

import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from tipline.simulate.engine import POOL_SIZE, Engine
from tipline.simulate.model import Simulation
from tipline.simulate.shapes import build_pool, keep
from tipline.simulate.stats import Stats

Progress = Callable[[str, float, int, float], None]  # variant, share of days done, reports, s

_progress: "multiprocessing.Queue[tuple[int, int, int]] | None" = None


def _init(q: "multiprocessing.Queue[tuple[int, int, int]]") -> None:
    global _progress
    _progress = q


def _partition(sim: Simulation, share: float, seed: int, part: int) -> Stats:
    def tell(day: int, reports: int) -> None:
        if _progress is not None:
            _progress.put((part, day, reports))

    return Engine(sim, share=share, seed=seed, on_day=tell).run()


@dataclass(frozen=True)
class Outcome:
    sim: Simulation
    sample: float
    summary: dict[str, Any]
    wall_s: float
    reports: int

    @property
    def per_second(self) -> float:
        return self.reports / self.wall_s if self.wall_s else 0.0


class Runner:
    """Worker processes for every variant of a run. The report pools every variant draws from
    are decided first, on every core, and the workers start with them."""

    def __init__(self, sims: list[Simulation], workers: int | None = None) -> None:
        self.workers = workers or min(2, os.cpu_count() or 1)
        ctx = multiprocessing.get_context("fork")
        keys = sorted(set().union(*(Engine(s).pools_needed() for s in sims)))
        with ProcessPoolExecutor(self.workers, mp_context=ctx) as builders:
            for key, shapes in zip(keys, builders.map(build_pool, keys, [POOL_SIZE] * len(keys)),
                                   strict=True):
                keep(key, POOL_SIZE, shapes)
        self.progress: multiprocessing.Queue[tuple[int, int, int]] = ctx.Queue()
        self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init,
                                        initargs=(self.progress,))

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(cancel_futures=True)

    def run(self, sim: Simulation, sample: float = 1.0, on_progress: Progress | None = None
            ) -> Outcome:
        started = time.monotonic()
        parts = self.workers
        futures = [self.pool.submit(_partition, sim, sample / parts, sim.load.seed * 1000 + i, i)
                   for i in range(parts)]
        days = max(1.0, sim.load.hours / 24 + sim.load.settle_days)
        done: dict[int, tuple[int, int]] = {}
        while not all(f.done() for f in futures):
            try:
                part, day, reports = self.progress.get(timeout=0.25)
                done[part] = (day, reports)
            except queue.Empty:
                pass
            if on_progress and done:
                on_progress(sim.name, min(d for d, _ in done.values()) / days,
                            sum(n for _, n in done.values()), time.monotonic() - started)
        total = Stats()
        for f in futures:
            total.merge(f.result())
        while True:  # what the workers said last
            try:
                self.progress.get_nowait()
            except queue.Empty:
                break
        wall = time.monotonic() - started
        return Outcome(sim, sample, total.summary(sim.policy.sla_hours), wall,
                       total.counts.get("submitted", 0))
