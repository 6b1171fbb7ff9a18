"""tipline as a sandbox in an ESP's own test suite: the whole stack in one container (Redis inside),
started with testcontainers, and a way to read what was filed.

In the ESP's `conftest.py`:

    pytest_plugins = ["tipline.testing"]

and in a test, with the ESP's real reporting client pointed at the sandbox:

    def test_our_client_files_an_escalated_report(tipline_sandbox):
        client = OurCyberTiplineClient(tipline_sandbox.ispws_url, tipline_sandbox.ispws_user,
                                       tipline_sandbox.ispws_password)
        report_id = client.file(escalated_report)
        timeline = tipline_sandbox.timeline(report_id, until={"routed"})
        assert timeline["priority"] == 1 and timeline["lane"] == "p1"

The image is the `sandbox` target of tipline's Dockerfile (`docker build --target sandbox -t
tipline-sandbox:local .`); `tipline_sandbox` builds it from this source tree when it is missing.
Needs the `testing` extra (testcontainers). See docs/ispws.md.
"""

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared import devkeys

IMAGE = os.environ.get("TIPLINE_SANDBOX_IMAGE", "tipline-sandbox:local")
SOURCE = Path(__file__).resolve().parents[1]  # the tree holding the Dockerfile, when run from one
INTAKE_PORT = 8001
TRACKER_PORT = 8004
# Quick simulated time, so that agencies acknowledge within seconds of a test.
DEFAULT_ENV = {"TIPLINE_SIM_SECONDS_PER_HOUR": "0.05", "TIPLINE_LOG_LEVEL": "WARNING"}


@dataclass(frozen=True)
class Sandbox:
    """Where a running sandbox answers, the credentials it takes (the development ones), and the
    tracker's view of what was filed."""

    intake_url: str
    tracker_url: str
    ispws_user: str = devkeys.ESP
    ispws_password: str = devkeys.ISPWS_PASSWORD
    esp_key: str = devkeys.ESP_KEY
    analyst_key: str = devkeys.ANALYST_KEY

    @property
    def ispws_url(self) -> str:
        """The base URL of the XML reporting API: give it to the ESP's client."""
        return f"{self.intake_url}/ispws"

    @property
    def ispws_auth(self) -> tuple[str, str]:
        return (self.ispws_user, self.ispws_password)

    def timeline(self, report_id: int, until: Iterable[str] = ("submitted",),
                 timeout: float = 60.0) -> dict[str, Any]:
        """The tracker's timeline of a report (priority, lane, agency, stages...) once it holds
        every stage in `until` (e.g. {"routed"} or {"acknowledged"}); AssertionError after
        `timeout` seconds, with the last answer."""
        wanted = set(until)
        deadline = time.monotonic() + timeout
        last = ""
        with httpx.Client(timeout=5) as client:
            while True:
                try:
                    r = client.get(f"{self.tracker_url}/v1/reports/{report_id}",
                                   headers={"Authorization": f"Bearer {self.analyst_key}"})
                    if r.status_code == 200 and wanted <= self.stage_names(r.json()):
                        return r.json()
                    last = f"{r.status_code} {r.text[:500]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                if time.monotonic() > deadline:
                    raise AssertionError(f"report {report_id} did not reach {sorted(wanted)} "
                                         f"within {timeout:g}s; last answer: {last}")
                time.sleep(0.2)

    @staticmethod
    def stage_names(timeline: Mapping[str, Any]) -> set[str]:
        return {stage["stage"] for stage in timeline.get("stages", [])}

    def wait_ready(self, timeout: float = 120.0) -> "Sandbox":
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while True:
                try:
                    if all(client.get(f"{url}/readyz").status_code == 200
                           for url in (self.intake_url, self.tracker_url)):
                        return self
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the sandbox was not ready within {timeout:g}s")
                time.sleep(0.5)


def build_image(tag: str = IMAGE, source: Path = SOURCE) -> str:
    """Build the sandbox image from a tipline source tree (the Dockerfile's `sandbox` target)."""
    import docker

    if not (source / "Dockerfile").exists():
        raise FileNotFoundError(f"no Dockerfile in {source}: build the image from a tipline "
                                "checkout (docker build --target sandbox -t "
                                f"{tag} .) or set TIPLINE_SANDBOX_IMAGE")
    docker.from_env().images.build(path=str(source), target="sandbox", tag=tag, rm=True)
    return tag


def image_present(tag: str) -> bool:
    import docker
    from docker.errors import ImageNotFound

    try:
        docker.from_env().images.get(tag)
        return True
    except ImageNotFound:
        return False


@dataclass
class SandboxOptions:
    image: str = IMAGE
    env: dict[str, str] = field(default_factory=dict)
    build: bool = True  # build the image from this source tree when it is missing


@contextmanager
def sandbox_container(options: SandboxOptions | None = None) -> Iterator[Sandbox]:
    """Start the sandbox container, wait until intake and the tracker answer, stop it after."""
    from testcontainers.core.container import DockerContainer

    options = options or SandboxOptions()
    if options.build and not image_present(options.image):
        build_image(options.image)
    container = DockerContainer(options.image).with_exposed_ports(INTAKE_PORT, TRACKER_PORT)
    for name, value in {**DEFAULT_ENV, **options.env}.items():
        container = container.with_env(name, value)
    container.start()
    try:
        host = container.get_container_host_ip()
        sandbox = Sandbox(
            intake_url=f"http://{host}:{container.get_exposed_port(INTAKE_PORT)}",
            tracker_url=f"http://{host}:{container.get_exposed_port(TRACKER_PORT)}")
        try:
            yield sandbox.wait_ready()
        except TimeoutError:
            logs = b"".join(container.get_logs()).decode(errors="replace")[-4000:]
            raise TimeoutError(f"the sandbox was not ready; its log ends:\n{logs}") from None
    finally:
        container.stop()


try:
    import pytest
except ImportError:  # used without pytest: sandbox_container() still works
    pass
else:

    @pytest.fixture(scope="session")
    def tipline_sandbox() -> Iterator[Sandbox]:
        """The tipline sandbox, one per test session: intake (JSON and /ispws) and tracker URLs,
        the development credentials, `timeline(report_id, until=...)`."""
        with sandbox_container() as sandbox:
            yield sandbox
