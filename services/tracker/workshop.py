"""The workshop's Redis side, kept by the tracker: the faults in force (shared.faults), the
scenario running now and its step, whether a `tipline up` supervises the stack, the simulated
clock's epoch, and poison entries written on cue."""

import json
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from shared.faults import Fault, Faults, FaultStore
from shared.publishing import queue_poison
from shared.topology import Topology


class Workshop:
    def __init__(self, redis: Redis, topology: Topology, of_the_stack: Callable[[str], bool]
                 ) -> None:
        self.redis = redis
        self.topology = topology
        self.faults = FaultStore(redis, topology)
        self.of_the_stack = of_the_stack

    async def set_fault(self, fault: Fault) -> None:
        await self.faults.set(fault)

    async def clear_faults(self, kind: str | None = None, target: str | None = None) -> int:
        return await self.faults.clear(kind, target)

    async def active_faults(self, now: float) -> Faults:
        return await self.faults.active(now)

    async def supervised(self) -> dict[str, Any] | None:
        """What the supervising `tipline up` said of itself (it renews this every second), or
        None when nothing supervises the stack."""
        raw = await self.redis.get(self.topology.supervisor)
        return json.loads(raw) if raw else None

    async def scenario(self) -> dict[str, Any] | None:
        raw = await self.redis.get(self.topology.scenario)
        return json.loads(raw) if raw else None

    async def set_scenario(self, banner: dict[str, Any], ttl_s: int = 3600) -> None:
        await self.redis.set(self.topology.scenario, json.dumps(banner), ex=ttl_s)

    async def clear_scenario(self) -> None:
        await self.redis.delete(self.topology.scenario)

    async def poison(self, stream: str, count: int) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            queue_poison(pipe, stream, count, self.of_the_stack)
            await pipe.execute()
        return count

    async def epoch(self, now: float) -> float:
        """When simulated time began for this stack: the first time anyone asked (kept)."""
        key = self.topology.key("sim-epoch")
        await self.redis.set(key, repr(now), nx=True)
        return float(await self.redis.get(key) or now)
