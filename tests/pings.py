"""A minimal consumer for tests of the consume loop: Ping events in, doubled Pings out."""

import json

from pydantic import BaseModel, ConfigDict

from shared.contracts import Channel, Contract, dead_letters
from shared.effects import Effects
from shared.service import StreamService
from shared.topology import Topology


class Ping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    report_id: int
    n: int


def contract(topology: Topology) -> Contract:
    return Contract(service=f"loop-test-{topology.prefix}", summary="test", port=0,
                    consumes=[Channel(topology.key("in"), Ping, "in")],
                    produces=[Channel(topology.key("out"), Ping, "out"), dead_letters(topology)])


def service_with(handler, settings, topology: Topology, prepare=None) -> StreamService:
    service = StreamService(contract(topology), settings)
    service.consume(service.contract.consumes[0], handler, prepare=prepare)
    return service


def ping(n: int, event_id: str | None = None) -> dict[bytes, bytes]:
    return {b"data": json.dumps({"event_id": event_id or f"e{n}", "report_id": n, "n": n}).encode()}


def doubler(topology: Topology):
    def double(event: Ping, out: Effects) -> None:
        out.publish(topology.key("out"), Ping(event_id=f"d{event.event_id}",
                                              report_id=event.report_id, n=event.n * 2))
    return double


def collecting(into: list[int]):
    """A handler that notes each Ping's number and produces nothing."""
    def collect(event: Ping, out: Effects) -> None:
        into.append(event.n)
    return collect
