"""`tipline up` as the workshop's supervisor: it carries out the faults only whoever started the
processes can (kill, pause, redis-down), each for the seconds it was set for, then puts things
back: starts the service again, lets it run on, starts Redis again from its append-only file.
On a Redis Cluster of its own (`tipline up --cluster`), redis-down kills the master serving the
pipeline: its replica is promoted, and the node, started again, rejoins as a replica.

It says it is there (the `supervisor` key, renewed every second, naming whether the stack's
Redis is its own) so that the tracker's API refuses those faults when nothing would carry them
out, instead of accepting a fault that silently does nothing.
"""

import json
import os
import signal
import time
from dataclasses import dataclass, field

import redis

from shared.clock import SYSTEM, Clock
from shared.connect import CLUSTER_UNAVAILABLE, connect
from shared.faults import KINDS, Fault
from shared.logging import get_logger
from shared.topology import Topology
from tipline.stack import SERVICES, RedisServer, Stack, instance_name

log = get_logger(__name__)


@dataclass
class Carried:
    fault: Fault
    names: list[str]  # the processes it stopped or killed
    ends_at: float
    node: RedisServer | None = None  # the cluster node a redis-down killed


@dataclass
class Supervisor:
    stack: Stack
    topology: Topology
    clock: Clock = SYSTEM
    carrying: dict[str, Carried] = field(default_factory=dict)
    _client: redis.Redis | None = field(default=None, repr=False)
    done: set[str] = field(default_factory=set)  # faults carried out and put back
    said: list[str] = field(default_factory=list)  # what it did, for `tipline up` to print

    @property
    def expected_down(self) -> set[str]:
        """The processes that are down because a fault says so (not a crash)."""
        return {n for c in self.carrying.values() for n in c.names}

    def _redis(self) -> redis.Redis:
        if self._client is None:
            self._client = connect(self.stack.redis_url or "", socket_timeout=1,
                                   socket_connect_timeout=1)
        return self._client  # type: ignore[no-any-return]

    def step(self) -> None:
        """Renew the heartbeat, start carrying out new faults, put back the ones that ended."""
        now = self.clock.now()
        for key, carried in list(self.carrying.items()):
            if now >= carried.ends_at:
                self._put_back(carried)
                del self.carrying[key]
                self.done.add(key)
        try:
            r = self._redis()
            r.set(self.topology.supervisor, json.dumps({
                "pid": os.getpid(), "ownsRedis": self._owns_redis,
                "services": list(self.stack.names)}), ex=5)
            faults = [Fault.from_json(v) for v in r.hgetall(self.topology.faults).values()]
            for key in list(self.done):  # put back: no longer in force, gone from the hash
                r.hdel(self.topology.faults, key)
                self.done.discard(key)
        except (redis.RedisError, *CLUSTER_UNAVAILABLE, OSError, ValueError):
            return  # Redis away (perhaps on purpose): what is carried is put back on time
        for f in faults:
            kind = KINDS.get(f.kind)
            if kind and kind.by_supervisor and f.field not in self.carrying and f.active(now):
                self._carry_out(f, now)

    @property
    def _owns_redis(self) -> bool:
        return self.stack.redis_server is not None or self.stack.cluster is not None

    def _names(self, service: str) -> list[str]:
        return [instance_name(s, n) for s, n in self.stack.instances() if s == service]

    def _carry_out(self, f: Fault, now: float) -> None:
        ends = f.until if f.until is not None else now + f.value
        if f.kind == "kill" and f.target in SERVICES:
            names = self._names(f.target)
            for name in names:
                proc = self.stack.processes.get(name)
                if proc and proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
            self._say(f"fault: {f.target} killed (SIGKILL); started again in {ends - now:.0f}s")
        elif f.kind == "pause" and f.target in SERVICES:
            names = self._names(f.target)
            for name in names:
                proc = self.stack.processes.get(name)
                if proc and proc.poll() is None:
                    os.kill(proc.pid, signal.SIGSTOP)
            names = []  # stopped, not dead
            self._say(f"fault: {f.target} paused (SIGSTOP) for {ends - now:.0f}s")
        elif f.kind == "redis-down" and self.stack.cluster is not None:
            # a cluster's outage is its master's crash: the pipeline's master is killed and its
            # replica takes over; the node comes back as the new master's replica
            node = self.stack.cluster.master_of(self.topology.key("reports"))
            node.stop(kill=True)
            self._say(f"fault: the Redis Cluster's master of the pipeline (port {node.port}) "
                      f"killed (SIGKILL); its replica takes over; started again in "
                      f"{ends - now:.0f}s")
            self.carrying[f.field] = Carried(f, [], ends, node)
            return
        elif f.kind == "redis-down" and self.stack.redis_server is not None:
            names = ["redis"]
            self.stack.redis_server.stop()  # SIGTERM: it writes its append-only file and goes
            self._say(f"fault: Redis stopped; started again in {ends - now:.0f}s")
        else:
            log.warning("a fault this supervisor cannot carry out", kind=f.kind, target=f.target)
            return
        self.carrying[f.field] = Carried(f, names, ends)

    def _put_back(self, carried: Carried) -> None:
        f = carried.fault
        if f.kind == "kill":
            for service, number in self.stack.instances():
                if service == f.target:
                    self.stack.start_service(service, number)
            self._say(f"fault over: {f.target} started again")
        elif f.kind == "pause":
            for name in self._names(f.target):
                proc = self.stack.processes.get(name)
                if proc and proc.poll() is None:
                    os.kill(proc.pid, signal.SIGCONT)
            self._say(f"fault over: {f.target} running again")
        elif f.kind == "redis-down" and carried.node is not None:
            carried.node.start()
            self._say(f"fault over: the killed cluster node (port {carried.node.port}) started "
                      "again; it rejoins as a replica")
        elif f.kind == "redis-down" and self.stack.redis_server is not None:
            self.stack.redis_server.start()
            self._say("fault over: Redis started again from its append-only file")

    def _say(self, text: str) -> None:
        self.said.append(text)  # `tipline up` prints it

    def run_for(self, seconds: float, interval_s: float = 0.25) -> None:
        """Supervise for a while (the `tipline up` loop does the same, forever)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.step()
            time.sleep(interval_s)

    def stop(self) -> None:
        """On the way out of `tipline up`: a paused service runs again (so that it can stop);
        what was killed or stopped stays so."""
        for carried in self.carrying.values():
            if carried.fault.kind == "pause":
                self._put_back(carried)
        self.carrying.clear()
