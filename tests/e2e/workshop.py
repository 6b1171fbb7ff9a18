"""A workshop's stack for the tests: `tipline up` started as a facilitator starts it (its own Redis,
its supervisor), the workshop's commands run as the guide writes them, and what the room looks at
(the gap, the pipeline, the faults, each service's view of them) read through the API."""

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.helpers import ADMIN, ANALYST, ESP
from tipline.stack import SERVICES

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
EOF = "<the end of its output>"


def until(check: Callable[[], T], timeout: float, what: str, every: float = 0.25) -> T:
    """Poll `check` until it returns something true; fail saying `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}")
        time.sleep(every)


@dataclass
class Workshop:
    proc: subprocess.Popen
    urls: dict[str, str]
    state: Path
    env: dict[str, str]
    ran: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # what `tipline up` printed once ready

    def read_on(self) -> None:
        for line in self.proc.stdout or []:
            self.said.append(line.rstrip())
        self.said.append(EOF)

    @property
    def intake(self) -> str:
        return self.urls["intake"]

    @property
    def tracker(self) -> str:
        return self.urls["tracker"]

    # ---- the commands, as written in docs/workshop.md ----

    def argv(self, command: str) -> list[str]:
        words = shlex.split(command)
        assert words[0] == "tipline", command
        return [sys.executable, "-m", "tipline", *words[1:]]

    def cli_env(self) -> dict[str, str]:
        """The commands find the stack on its ports as they find `tipline up`'s by default."""
        return {**self.env, **{f"TIPLINE_{s.upper()}_PORT": self.urls[s].rsplit(":", 1)[1]
                               for s in SERVICES}}

    def run(self, command: str, timeout: float = 120, ok: bool = True
            ) -> subprocess.CompletedProcess:
        self.ran.append(command)
        done = subprocess.run(self.argv(command), env=self.cli_env(), cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)
        if ok:
            assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
        return done

    def start(self, command: str) -> subprocess.Popen:
        """A command that runs on while the test watches (a load)."""
        self.ran.append(command)
        return subprocess.Popen(self.argv(command), env=self.cli_env(), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    # ---- what the room looks at ----

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.tracker}{path}", headers=ANALYST, params=params, timeout=15)
        r.raise_for_status()
        return r.json()

    def gap(self) -> dict[str, Any]:
        return self.get("/v1/gap")

    def placed(self) -> int:
        g = self.gap()
        return g["routed"] + g["unassigned"] + g["bundled"]

    def row(self, table: str, name: str) -> dict[str, Any]:
        return next((r for r in self.gap()[table] if r["name"] == name),
                    {"forwarded": 0, "acknowledged": 0, "unassigned": 0, "open": 0, "dark": 0})

    def group(self, group: str) -> dict[str, int]:
        """A consumer group over all its streams: lag, pending, entries read."""
        rows = [r for r in self.get("/v1/pipeline") if r["group"] == group]
        return {k: sum(r[k] for r in rows) for k in ("lag", "pending", "entriesRead")}

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.get("/v1/dead-letters", limit=1000)

    def faults(self) -> list[dict[str, Any]]:
        return self.get("/v1/faults")

    def sees(self, service: str, kind: str, target: str) -> bool:
        """Whether a service has the fault in force (its /metrics says so)."""
        try:
            text = httpx.get(f"{self.urls[service]}/metrics", timeout=5).text
        except httpx.HTTPError:
            return False
        return f'tipline_faults_in_force{{kind="{kind}",target="{target}"}}' in text

    def clear_all(self) -> None:
        httpx.delete(f"{self.tracker}/v1/faults", headers=ADMIN, timeout=10).raise_for_status()

    # ---- reports of our own ----

    def submit(self, reports: list[dict[str, Any]], esp_headers: dict[str, str] | None = None
               ) -> list[int]:
        r = httpx.post(f"{self.intake}/v1/reports/batch", json={"reports": reports},
                       headers=esp_headers or ESP, timeout=30)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert all(x["status"] == 202 for x in results), results
        return [x["reportId"] for x in results]

    def stages(self, report_id: int) -> set[str]:
        r = httpx.get(f"{self.tracker}/v1/reports/{report_id}", headers=ANALYST, timeout=10)
        return {s["stage"] for s in r.json()["stages"]} if r.status_code == 200 else set()

    def all_reached(self, ids: list[int], stage: str) -> bool:
        return all(stage in self.stages(i) for i in ids)

    def stop(self) -> str:
        """Ctrl-C, as a facilitator stops it; what it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        until(lambda: self.said and self.said[-1] == EOF, 10, "the end of tipline up's output")
        return "\n".join(self.said)


def up(state: Path, settings: dict[str, str]) -> Workshop:
    """`tipline up` with its own Redis, every service on a port the system picks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update({f"TIPLINE_{s.upper()}_PORT": "0" for s in SERVICES})
    env.update(settings)
    command = f"tipline up --state-dir {state}"
    proc = subprocess.Popen([sys.executable, "-m", *shlex.split(command)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    urls: dict[str, str] = {}
    for line in proc.stdout or []:
        name, _, rest = line.partition(":")
        if name in SERVICES and rest.strip().startswith("http://"):
            urls[name] = rest.split()[0]
        if line.startswith("logs:"):
            break
    if set(urls) != set(SERVICES):
        proc.kill()
        raise AssertionError(f"tipline up did not start: {proc.communicate(timeout=30)[0]}")
    workshop = Workshop(proc, urls, state, env)
    threading.Thread(target=workshop.read_on, daemon=True).start()
    # the supervisor says it is there within a second of the services being ready
    until(lambda: workshop.get("/v1/clock")["supervised"], 20, "the supervisor's heartbeat")
    return workshop


def summary(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
