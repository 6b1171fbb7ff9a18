"""Runs the whole stack without Docker: Redis (given, or started here) and every service as a process.

One helper for `tipline up`, the tests and the benchmark. Settings are passed explicitly (a dict of
TIPLINE_* values given to the child processes); nothing here changes this process's environment.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import redis
from redis.crc import key_slot

from tipline import cluster

SERVICES = ("tracker", "triage", "router", "agencies", "intake")
DEFAULT_PORTS = {"intake": 8001, "triage": 8002, "router": 8003, "tracker": 8004, "agencies": 8005}
# The ledger and the agency simulator are off the path a report takes to an agency: under load
# they yield the CPU to intake, triage and the router (they catch up afterwards).
OFF_PATH_NICE = {"tracker": "5", "agencies": "5"}


class StackError(RuntimeError):
    pass


class PortTaken(StackError):
    """The port chosen was taken before the server could bind it."""


def free_port() -> int:
    """A port free now (for a server that cannot take a listening socket, like redis-server: it
    may be taken before the server binds it, so the caller retries on another)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port() -> int:
    """A port free now for a cluster node: at most 55535, with its cluster bus port (10,000
    above) free as well."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 55535:
            port -= 10000 * ((port - 55535) // 10000 + 1)
        if port < 1024:
            continue
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise StackError("no free port pair for a cluster node in a hundred tries")


def listening(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port` (0: any free port), to hand to a service process."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StackError(f"port {port} is taken ({exc.strerror}): set TIPLINE_<SERVICE>_PORT to "
                         "another, or 0 for any free port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def masked(url: str) -> str:
    """A Redis URL fit to print: its password replaced (a cluster's URL of several hosts too)."""
    parts = urlsplit(url)
    auth, at, hosts = parts.netloc.rpartition("@")
    if not at or ":" not in auth:
        return url
    user = auth.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}"))


# How our own Redis keeps small hashes: a report's timeline (a hash of a few stages, each its
# detail deflated to under a few hundred bytes) as one listpack instead of a hash table, about
# 30% less memory a timeline (518 bytes against 723 on 400 synthetic timelines). Redis's default
# keeps only values of 64 bytes or less in a listpack; a hash of longer values, or of more than
# 128 fields, becomes a hash table as before. The compose file's Redis takes the same settings (a
# test checks it).
MEMORY_SETTINGS = ("--hash-max-listpack-value", "1024")


@dataclass
class RedisServer:
    """A redis-server of our own, with its own data directory (AOF on by default), on `port` or
    (0) on a free one: redis-server binds the port itself, so a port taken between choosing it
    and binding it is given up for another. Once started, it keeps its port across restarts."""

    data_dir: Path
    port: int = 0
    appendonly: bool = True
    fsync: str = "everysec"
    password: str | None = None
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    fixed: bool = False  # the port is this server's: a restart takes it again
    extra_args: tuple[str, ...] = ()  # more redis-server options (a cluster node's)
    choose_port: Callable[[], int] = free_port

    def __post_init__(self) -> None:
        self.fixed = self.port != 0

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        """Whether this server answers on its port (another process's server on it does not
        count)."""
        try:
            client = redis.Redis.from_url(self.url, socket_timeout=0.5)
            pid = int(client.info("server")["process_id"])
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        return self.proc is None or pid == self.proc.pid

    def start(self, timeout: float = 10.0) -> "RedisServer":
        if self.port:
            return self._start(self.port, timeout)
        for _ in range(10):
            try:
                return self._start(self.choose_port(), timeout)
            except PortTaken:
                continue
        raise StackError("redis-server found no free port in ten tries")

    def _start(self, port: int, timeout: float) -> "RedisServer":
        binary = shutil.which("redis-server")
        if not binary:
            raise StackError(
                "no TIPLINE_REDIS_URL is set and no redis-server is on PATH: "
                "install Redis (apt-get install redis-server) or point TIPLINE_REDIS_URL at one")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", self.fsync,
                "--save", "", *MEMORY_SETTINGS, *self.extra_args,
                "--daemonize", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        log_path = self.log_path or self.data_dir / "redis.log"
        started_at = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.port = port
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None:
                with open(log_path, "rb") as log:
                    log.seek(started_at)
                    said = log.read().decode(errors="replace")
                if "Address already in use" in said and not self.fixed:
                    self.port = 0
                    raise PortTaken(port)
                raise StackError(f"redis-server did not start on port {port}; see {log_path}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise StackError(f"redis-server did not answer on port {port} within "
                                 f"{timeout:g}s; see {log_path}")
            time.sleep(0.02)
        self.fixed = True
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(15)

    def restart(self, kill: bool = True) -> None:
        """Stop (by default abruptly) and start again on the same port and data directory."""
        self.stop(kill=kill)
        self.start()


@dataclass
class LocalCluster:
    """A Redis Cluster of our own: `masters` masters with one replica each, every node a
    redis-server on a free port with its own data directory (append-only files on), joined by
    `tipline.cluster.join` (what `redis-cli --cluster create` does). A node that stops is
    noticed by the others within `node_timeout_ms`; its replica then takes over its slots."""

    data_dir: Path
    masters: int = 3
    node_timeout_ms: int = 2000
    password: str | None = None
    log_dir: Path | None = None
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"redis+cluster://{auth}{hosts}"

    def start(self, timeout: float = 30.0) -> "LocalCluster":
        if self.masters < 3:
            raise StackError("a Redis Cluster needs at least 3 masters")
        try:
            return self._start(timeout)
        except BaseException:
            self.stop(kill=True)  # the nodes started so far
            raise

    def _start(self, timeout: float) -> "LocalCluster":
        auth = ("--masterauth", self.password) if self.password else ()
        for n in range(2 * self.masters):
            node_dir = self.data_dir / f"node-{n + 1}"
            if (node_dir / "nodes.conf").exists():  # a cluster that ran before: begin afresh
                shutil.rmtree(node_dir)
            self.nodes.append(RedisServer(
                node_dir, password=self.password,
                log_path=(self.log_dir or node_dir) / f"redis-node-{n + 1}.log",
                extra_args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", str(self.node_timeout_ms), *auth),
                choose_port=free_cluster_port).start())
        try:
            cluster.join([("127.0.0.1", node.port) for node in self.nodes], 1, self.password,
                         timeout)
        except cluster.ClusterError as exc:
            raise StackError(f"the Redis Cluster did not form: {exc}") from None
        self.wait_ok(timeout)
        return self

    def client(self, node: RedisServer) -> redis.Redis:
        return redis.Redis(port=node.port, password=self.password, socket_timeout=1)

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok and every master serving slots has a
        replica in sync with it (so that WAIT can be answered)."""
        try:
            cluster.until(self._ok, timeout, "the Redis Cluster to be ok")
        except cluster.ClusterError as exc:
            raise StackError(str(exc)) from None

    def live(self) -> list[RedisServer]:
        return [node for node in self.nodes if node.proc and node.proc.poll() is None]

    def _ok(self) -> bool:
        return cluster.ready([self.client(node) for node in self.live()])

    def master_of(self, key: str) -> RedisServer:
        """The node serving `key`'s slot now, as the first node that answers sees it."""
        slot = key_slot(key.encode())
        for node in self.live():
            try:
                slots = self.client(node).execute_command("CLUSTER", "SLOTS")
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                continue
            port = next((int(m[1]) for start, end, m, *_ in slots if start <= slot <= end), None)
            if port is not None:
                return next(n for n in self.nodes if n.port == port)
        raise StackError("no node of the cluster answers")

    def stop(self, kill: bool = False) -> int | None:
        """Stop every node; the first exit code that was not a clean one (0), else 0. A node
        already dead (killed by a test) counts by how it ended."""
        for node in self.nodes:
            node.stop(kill=kill)
        codes = [node.proc.returncode for node in self.nodes if node.proc]
        return next((c for c in codes if c != 0), 0)


def instance_name(service: str, number: int) -> str:
    """A service's process name: `router` for the first replica, `router-2` for the second."""
    return service if number == 1 else f"{service}-{number}"


def parse_replicas(spec: str) -> dict[str, int]:
    """`triage=2,router=2` -> {"triage": 2, "router": 2}; unknown services and counts below 1 are
    errors."""
    replicas: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, count = part.partition("=")
        if not sep or name not in SERVICES or not count.isdigit() or int(count) < 1:
            raise StackError(f"--replicas: {part!r} is not service=count with a service of "
                             f"{', '.join(SERVICES)} and a count of at least 1")
        replicas[name] = int(count)
    return replicas


@dataclass
class Stack:
    """Redis and every service. `settings` are TIPLINE_* values for every service process;
    `replicas` how many processes run each service (one by default: every replica joins the
    service's consumer groups); `ports` each process's HTTP port (defaults: 8001-8005, a replica's
    100 above the one before); `cluster_masters` (3 or more) starts a local Redis Cluster of that
    many masters, each with a replica, instead of one redis-server."""

    state_dir: Path
    settings: Mapping[str, str] = field(default_factory=dict)
    redis_url: str | None = None
    replicas: Mapping[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    redis_password: str | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis_server: RedisServer | None = None
    cluster_masters: int = 0
    cluster: LocalCluster | None = None
    _sockets: dict[str, socket.socket] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.cluster_masters and self.redis_url:
            raise StackError("a cluster of our own (--cluster) or a Redis given (--redis-url, "
                             "TIPLINE_REDIS_URL): not both")
        if self.cluster_masters and self.cluster_masters < 3:
            raise StackError("--cluster: a Redis Cluster needs at least 3 masters")
        for service, number in self.instances():
            self.ports.setdefault(instance_name(service, number),
                                  DEFAULT_PORTS[service] + 100 * (number - 1))

    @classmethod
    def on_free_ports(cls, state_dir: Path, **kwargs: Any) -> "Stack":
        """Every service on a port the system picks when the stack starts (no race for it)."""
        stack = cls(state_dir, **kwargs)
        stack.ports = {name: 0 for name in stack.ports}
        return stack

    def bind(self, names: tuple[str, ...] | None = None) -> None:
        """Bind these processes' ports now (0: any free one, known from then on), every one's by
        default: each process is started with its socket and serves on it."""
        for name in names or self.names:
            if name not in self._sockets:
                sock = listening(self.settings.get("TIPLINE_HOST", "127.0.0.1"), self.ports[name])
                self._sockets[name] = sock
                self.ports[name] = sock.getsockname()[1]

    def instances(self) -> list[tuple[str, int]]:
        """(service, replica number) of every service process, in start order."""
        return [(s, n) for s in SERVICES for n in range(1, self.replicas.get(s, 1) + 1)]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(instance_name(s, n) for s, n in self.instances())

    def env(self, service: str, number: int = 1, consumer_name: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
        env["TIPLINE_LOG_FORMAT"] = "json"
        env["TIPLINE_NICE"] = OFF_PATH_NICE.get(service, "0")
        env.update(self.settings)
        env["TIPLINE_REDIS_URL"] = self.redis_url or ""
        if self.cluster is not None:  # a report answered 202 is on two nodes of our cluster
            env.setdefault("TIPLINE_ACCEPT_REPLICAS", "1")
        for other in SERVICES:  # every service's first port: the services find each other there
            env[f"TIPLINE_{other.upper()}_PORT"] = str(self.ports[other])
        env[f"TIPLINE_{service.upper()}_PORT"] = str(self.ports[instance_name(service, number)])
        if consumer_name:
            env["TIPLINE_CONSUMER_NAME"] = consumer_name
        return env

    def logs(self) -> Path:
        path = self.state_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_redis(self) -> str:
        if self.cluster_masters:
            self.cluster = LocalCluster(self.state_dir / "redis-cluster", self.cluster_masters,
                                        password=self.redis_password,
                                        log_dir=self.logs()).start()
            return self.cluster.url
        self.redis_server = RedisServer(self.state_dir / "redis", password=self.redis_password,
                                        log_path=self.logs() / "redis.log").start()
        self.processes["redis"] = self.redis_server.proc  # type: ignore[assignment]
        return self.redis_server.url

    def start(self, timeout: float = 60.0) -> None:
        self.bind()
        if not self.redis_url:
            self.redis_url = self.start_redis()
        for service, number in self.instances():
            self.start_service(service, number)
        self.wait_ready(timeout)

    def start_service(self, service: str, number: int = 1,
                      consumer_name: str | None = None) -> subprocess.Popen[bytes]:
        """Start (or start again) one process of a service; its log is appended to."""
        name = instance_name(service, number)
        self.bind((name,))
        sock = self._sockets.pop(name)  # the process's own from now on; a restart binds again
        env = self.env(service, number, consumer_name)
        env["TIPLINE_HTTP_FD"] = str(sock.fileno())
        with open(self.logs() / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"], env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, pass_fds=[sock.fileno()],
            )
        sock.close()
        return self.processes[name]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, timeout: float, names: tuple[str, ...] | None = None) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(names or self.names)
        with httpx.Client(timeout=1.0) as client:
            while waiting:
                for name in sorted(waiting):
                    proc = self.processes[name]
                    if proc.poll() is not None:
                        raise StackError(
                            f"{name} exited with code {proc.returncode} during start-up; "
                            f"see {self.logs() / (name + '.log')}")
                    try:
                        if client.get(self.url(name) + "/readyz").status_code == 200:
                            waiting.discard(name)
                    except httpx.HTTPError:
                        pass
                if waiting and time.monotonic() > deadline:
                    raise StackError(f"not ready after {timeout:.0f}s: {', '.join(sorted(waiting))}")
                time.sleep(0.1)

    def dead(self) -> list[str]:
        self._current_redis()
        return [n for n, p in self.processes.items() if p.poll() is not None]

    def _current_redis(self) -> None:
        """Our own Redis is the process it runs now (a restart starts a new one)."""
        if self.redis_server is not None and self.redis_server.proc is not None:
            self.processes["redis"] = self.redis_server.proc

    def stop(self, timeout: float = 20.0) -> dict[str, int | None]:
        """SIGTERM every service (they drain in-flight work), then Redis last; SIGKILL stragglers."""
        for sock in self._sockets.values():  # bound for a process that never started
            sock.close()
        self._sockets.clear()
        self._current_redis()
        services = [n for n in reversed(self.names) if n in self.processes]
        codes: dict[str, int | None] = {}
        for group in (services, ["redis"] if "redis" in self.processes else []):
            for name in group:
                if self.processes[name].poll() is None:
                    self.processes[name].send_signal(signal.SIGTERM)
            for name in group:
                try:
                    codes[name] = self.processes[name].wait(timeout)
                except subprocess.TimeoutExpired:
                    self.processes[name].kill()
                    codes[name] = self.processes[name].wait()
        if self.cluster is not None:
            codes["redis-cluster"] = self.cluster.stop()
        return codes
