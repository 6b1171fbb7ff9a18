"""Agencies' responses posted over HTTP, published on the responses stream as the simulated
agencies' are: the ledger records both the same way."""

from collections.abc import Sequence

from pydantic import BaseModel
from redis.asyncio import Redis

from shared.publishing import Publisher
from shared.topology import Topology
from shared.tracing import current_traceparent


class Responses:
    """Agencies' responses posted over HTTP, published on the responses stream as the simulated
    agencies' are: the ledger records both the same way."""

    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher) -> None:
        self.redis = redis
        self.topology = topology
        self.publisher = publisher

    async def publish(self, events: Sequence[BaseModel]) -> None:
        traceparent = current_traceparent()
        async with self.redis.pipeline(transaction=True) as pipe:
            for event in events:
                self.publisher.queue(pipe, self.topology.agency_responses, event, traceparent)
            await pipe.execute()
