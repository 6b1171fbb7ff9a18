"""Runs the whole stack without Docker: Redis (given, or started here) and every service as a process."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.agencies.config import AgenciesSettings
from services.intake.config import IntakeSettings
from services.router.config import RouterSettings
from services.tracker.config import TrackerSettings
from services.triage.config import TriageSettings

SERVICES = ("tracker", "triage", "router", "agencies", "intake")
# The ledger and the agency simulator are off the path a report takes to an agency: under load
# they yield the CPU to intake, triage and the router (they catch up afterwards).
OFF_PATH_NICE = {"tracker": "5", "agencies": "5"}


class StackError(RuntimeError):
    pass


def service_ports() -> dict[str, int]:
    """Each service's port, as its own settings read it (defaults or TIPLINE_<SERVICE>_PORT)."""
    return {
        "intake": IntakeSettings().intake_port,
        "triage": TriageSettings().triage_port,
        "router": RouterSettings().router_port,
        "tracker": TrackerSettings().tracker_port,
        "agencies": AgenciesSettings().agencies_port,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Stack:
    state_dir: Path
    redis_url: str | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start_redis(self) -> str:
        """A redis-server of our own on a free port, with its own data directory and AOF on."""
        binary = shutil.which("redis-server")
        if not binary:
            raise StackError(
                "no TIPLINE_REDIS_URL is set and no redis-server is on PATH: "
                "install Redis (apt-get install redis-server) or point TIPLINE_REDIS_URL at one"
            )
        port = free_port()
        data = self.state_dir / f"redis-{port}"
        data.mkdir(parents=True, exist_ok=True)
        log = open(self.state_dir / "logs" / "redis.log", "ab")
        self.processes["redis"] = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
             "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not redis_answers(port):
            if self.processes["redis"].poll() is not None or time.monotonic() > deadline:
                raise StackError(f"redis-server did not start; see {log.name}")
            time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TIPLINE_REDIS_URL"] = self.redis_url or ""
        env.setdefault("TIPLINE_LOG_FORMAT", "json")
        return env

    def start(self, timeout: float = 60.0) -> None:
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        if not self.redis_url:
            self.redis_url = os.environ.get("TIPLINE_REDIS_URL") or self.start_redis()
        env = self.env()
        self.ports = service_ports()
        for name in SERVICES:
            log = open(self.state_dir / "logs" / f"{name}.log", "ab")
            own_env = {**env, "TIPLINE_NICE": env.get("TIPLINE_NICE", OFF_PATH_NICE.get(name, "0"))}
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], env=own_env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.wait_ready(timeout)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(SERVICES)
        with httpx.Client(timeout=1.0) as client:
            while waiting:
                for name in sorted(waiting):
                    proc = self.processes[name]
                    if proc.poll() is not None:
                        raise StackError(
                            f"{name} exited with code {proc.returncode} during start-up; "
                            f"see {self.state_dir / 'logs' / (name + '.log')}"
                        )
                    try:
                        if client.get(self.url(name) + "/readyz").status_code == 200:
                            waiting.discard(name)
                    except httpx.HTTPError:
                        pass
                if waiting and time.monotonic() > deadline:
                    raise StackError(f"not ready after {timeout:.0f}s: {', '.join(sorted(waiting))}")
                time.sleep(0.1)

    def dead(self) -> list[str]:
        return [n for n, p in self.processes.items() if p.poll() is not None]

    def stop(self, timeout: float = 20.0) -> dict[str, int | None]:
        """SIGTERM every service (they drain in-flight work), then Redis last; SIGKILL stragglers."""
        order = [n for n in reversed(SERVICES) if n in self.processes]
        order += ["redis"] if "redis" in self.processes else []
        codes: dict[str, int | None] = {}
        for group in (order[:-1] if "redis" in order else order, ["redis"] if "redis" in order else []):
            for name in group:
                if self.processes[name].poll() is None:
                    self.processes[name].send_signal(signal.SIGTERM)
            for name in group:
                try:
                    codes[name] = self.processes[name].wait(timeout)
                except subprocess.TimeoutExpired:
                    self.processes[name].kill()
                    codes[name] = self.processes[name].wait()
        return codes
