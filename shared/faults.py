"""Faults on cue: one Redis hash of fault settings that every service reads, each fault with a
value (a delay, a share, a duration), off unless set, expiring on its own when given a duration.

A workshop breaks the stack with `tipline chaos set KIND TARGET VALUE` (the tracker's admin API
writes the hash); each service reads it every half second (`FaultWatcher`) and applies what is
meant for it where the real failure would happen:

    slow       a service          its consumer handles every entry VALUE ms slower
    fail       a service          a share VALUE (0..1) of its deliveries fail, then are retried
                                  and dead-lettered as real failures are
    capacity   an agency          the agency works at a share VALUE of its normal capacity
    silent     an agency          the agency stops acknowledging (cases it receives stay open)
    degrade    an ESP             the ESP's reports arrive without their location (VALUE 1) or
                                  without verified contact (VALUE 2), or without both (3)
    kill       a service          `tipline up` kills it (SIGKILL) and starts it again after VALUE s
    pause      a service          `tipline up` stops it (SIGSTOP) for VALUE s
    redis-down the stack          `tipline up` stops its Redis for VALUE s and starts it again
                                  from its append-only file; on a cluster of its own, it kills
                                  the pipeline's master (its replica takes over) and starts the
                                  node again after VALUE s

Poison entries are not a standing fault: `tipline chaos poison STREAM COUNT` writes them at once.
Every active fault is listed at /v1/faults and shown on the dashboard while it lasts.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from shared.clock import Clock
from shared.logging import get_logger
from shared.topology import Topology
from shared.worker import Periodic

log = get_logger(__name__)

SERVICES = ("intake", "triage", "router", "agencies", "tracker")
CONSUMERS = ("triage", "router", "agencies", "tracker")  # the services that read streams
LOCATION, CONTACT = 1, 2  # what a degraded ESP's reports lose (a bit each)


@dataclass(frozen=True)
class Kind:
    """One kind of fault: what it targets, what its value means and its bounds, what the room
    should look for while it lasts."""

    name: str
    target: str  # "service", "agency", "esp" or "stack"
    value: str
    low: float
    high: float
    look_for: str
    by_supervisor: bool = False  # carried out by `tipline up`, not by the services themselves


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("slow", "service", "ms per entry", 1, 60_000,
         "the pipeline view: the service's consumer groups fall behind (lag grows), then catch "
         "up when it is cleared"),
    Kind("fail", "service", "share of deliveries that fail (0..1]", 0.0001, 1,
         "retries (pending entries), then dead letters piling up on the dashboard; tipline dlq "
         "list shows them, tipline dlq replay puts one back after the fix"),
    Kind("capacity", "agency", "share of its normal capacity (0..1]", 0.01, 1,
         "the agency's queue on the dashboard: time to acknowledgement rises, cases go dark past "
         "their SLA, SLA escalations fire for priority 1"),
    Kind("silent", "agency", "1 (on)", 1, 1,
         "the agency acknowledges nothing: its open cases and dark cases grow, priority-1 cases "
         "are re-notified, then escalated to the federal partner"),
    Kind("degrade", "esp", "1 location, 2 verified contact, 3 both", 1, 3,
         "the ESP's row in the data-quality table: its unassigned share rises (location) or its "
         "actionability falls (contact); unassigned reasons grow"),
    Kind("kill", "service", "seconds before it is started again", 1, 3600,
         "the service's box goes dark on the pipeline view and its groups' backlog grows; after "
         "the restart it catches up and nothing is lost or doubled", by_supervisor=True),
    Kind("pause", "service", "seconds stopped (SIGSTOP)", 1, 3600,
         "the service's backlog grows while it is stopped; past the reclaim time another replica "
         "(if any) takes its pending entries over", by_supervisor=True),
    Kind("redis-down", "stack", "seconds Redis is away", 1, 600,
         "every service waits for Redis and intake answers 503 with Retry-After; when Redis is "
         "back from its append-only file everything resumes, nothing lost (on a cluster: the "
         "pipeline's master is killed and its replica takes over within seconds)",
         by_supervisor=True),
)}

TARGET = re.compile(r"^[a-z0-9][a-z0-9:_.-]{0,79}$")


class FaultError(ValueError):
    """A fault that cannot be set: unknown kind, a target or value out of bounds."""


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str
    value: float
    set_at: float
    until: float | None = None  # epoch seconds; None: until cleared

    @property
    def field(self) -> str:
        return f"{self.kind}:{self.target}"

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Fault":
        return cls(**json.loads(text))


def fault(kind: str, target: str, value: float, now: float, seconds: float | None = None,
          targets: Mapping[str, Iterable[str]] | None = None) -> Fault:
    """A checked fault: a known kind, a target of its kind (one of `targets[kind.target]` when
    given), a value within the kind's bounds."""
    known = KINDS.get(kind)
    if known is None:
        raise FaultError(f"no fault kind {kind!r}; the kinds are {', '.join(KINDS)}")
    if known.target == "stack":
        target = "stack"
    if not TARGET.match(target):
        raise FaultError(f"{target!r} is not a {known.target} name")
    services = SERVICES if known.by_supervisor else CONSUMERS  # slow and fail: a consumer's
    if known.target == "service" and target not in services:
        what = "runs" if known.by_supervisor else "reads streams"
        raise FaultError(f"{kind} targets a service that {what}: one of {', '.join(services)}")
    allowed = set((targets or {}).get(known.target, ()))
    if allowed and target not in allowed:
        played = " played by the simulator" if known.target == "agency" else ""
        raise FaultError(f"no {known.target} {target!r}{played}")
    if not known.low <= value <= known.high:
        raise FaultError(f"{kind}: {known.value}, between {known.low:g} and {known.high:g}")
    if known.by_supervisor:  # the value is the duration
        seconds = value
    if seconds is not None and seconds <= 0:
        raise FaultError("a fault lasts a positive number of seconds")
    return Fault(kind, target, float(value), now, None if seconds is None else now + seconds)


@dataclass(frozen=True)
class Faults:
    """The faults in force at one moment: what each service asks of them."""

    active: tuple[Fault, ...] = ()
    _by_field: dict[str, Fault] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_field.update({f.field: f for f in self.active})

    def value(self, kind: str, target: str) -> float | None:
        found = self._by_field.get(f"{kind}:{target}")
        return None if found is None else found.value

    def slow_ms(self, service: str) -> float:
        return self.value("slow", service) or 0.0

    def failure_share(self, service: str) -> float:
        return self.value("fail", service) or 0.0

    def capacity_share(self, agency: str) -> float:
        return self.value("capacity", agency) or 1.0

    def silent(self, agency: str) -> bool:
        return self.value("silent", agency) is not None

    def degraded(self, esp: str) -> int:
        """What the ESP's reports lose: a combination of LOCATION and CONTACT (0: nothing)."""
        return int(self.value("degrade", esp) or 0)

    def __bool__(self) -> bool:
        return bool(self.active)


NONE = Faults()


class FaultStore:
    """The fault hash in Redis (TIPLINE_PREFIX:faults): field KIND:TARGET, value the fault."""

    def __init__(self, redis: Redis, topology: Topology) -> None:
        self.redis = redis
        self.key = topology.faults

    async def set(self, fault: Fault) -> None:
        await self.redis.hset(self.key, fault.field, fault.to_json())

    async def clear(self, kind: str | None = None, target: str | None = None) -> int:
        """Clear one fault, every fault of a kind, or (neither given) every fault."""
        fields = [f.field for f in await self.all()
                  if (kind is None or f.kind == kind) and (target is None or f.target == target)]
        return int(await self.redis.hdel(self.key, *fields)) if fields else 0

    async def all(self) -> list[Fault]:
        found = []
        for _, value in (await self.redis.hgetall(self.key)).items():
            try:
                found.append(Fault.from_json(value))
            except (ValueError, TypeError):
                continue  # not a fault this version writes: ignored, as if cleared
        return sorted(found, key=lambda f: (f.kind, f.target))

    async def active(self, now: float) -> Faults:
        return Faults(tuple(f for f in await self.all() if f.active(now)))

    async def drop_expired(self, now: float) -> int:
        expired = [f.field for f in await self.all() if not f.active(now)]
        return int(await self.redis.hdel(self.key, *expired)) if expired else 0


class FaultWatcher:
    """Keeps a service's view of the faults in force, read every `interval_s`. A Redis that does
    not answer leaves the last view in place (its consumers are waiting for Redis anyway)."""

    def __init__(self, store: FaultStore, clock: Clock, interval_s: float = 0.5,
                 on_change: Callable[[Faults], None] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.interval_s = interval_s
        self.current: Faults = NONE
        self.on_change = on_change

    def __call__(self) -> Faults:
        return self.current

    async def read_once(self) -> bool:
        now = self.clock.now()
        found = await self.store.active(now)
        if found.active != self.current.active:
            log.info("faults in force", faults=[f"{f.kind}:{f.target}={f.value:g}"
                                                 for f in found.active])
            if self.on_change:
                self.on_change(found)
        self.current = found
        return False

    def worker(self) -> Periodic:
        return Periodic("fault-watcher", self.read_once, self.interval_s)


def fails(entry_id: bytes, delivery: int, share: float) -> bool:
    """Whether an entry's delivery is one of the `share` that fail: decided by the entry and the
    delivery, so the same delivery fails wherever it is handled and a retry may succeed."""
    if share <= 0:
        return False
    digest = hash_fraction(entry_id + b"/" + str(delivery).encode())
    return digest < share


def hash_fraction(data: bytes) -> float:
    import hashlib

    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") / 2**64


class InjectedFailure(RuntimeError):
    """A failure a `fail` fault injected: handled exactly as a handler's own error."""


def describe(f: Fault) -> dict[str, Any]:
    """A fault as the API and the dashboard show it."""
    kind = KINDS.get(f.kind)
    return {"kind": f.kind, "target": f.target, "value": f.value, "setAt": f.set_at,
            "until": f.until, "meaning": kind.value if kind else "",
            "lookFor": kind.look_for if kind else ""}
