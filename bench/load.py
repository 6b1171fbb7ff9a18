"""The benchmark's load: reports as intake leaves them, written straight to the lanes, or posted
to intake over HTTP by a minimal client."""

import asyncio
import json
import time
from typing import NamedTuple

import redis

from services.intake.contract import contract as intake_contract
from shared import bodies
from shared.devkeys import ESP_KEY
from shared.publishing import Publisher
from shared.schemas.events import ReportSubmitted
from shared.schemas.report import FiledReport
from shared.synthetic import scenario, synthetic_report
from shared.topology import Topology

T = Topology()
KEY = {"Authorization": f"Bearer {ESP_KEY}"}


class Accepted(NamedTuple):
    """A report as intake leaves it: its body, stored once, and its event on a lane."""

    report_id: int
    stream: str
    event: ReportSubmitted
    body: bytes


def report_events(n: int, start_id: int = 1, informational_only: bool = False,
                  t: Topology = T) -> list[Accepted]:
    """n accepted reports, cycling through 1,000 synthetic ones."""
    sources = ([synthetic_report("informational", f"flood-{i}") for i in range(1000)]
               if informational_only else scenario(1000, seed=7))
    reports = [FiledReport.model_validate(b) for b in sources]
    encoded = [r.model_dump_json(exclude_defaults=True).encode() for r in reports]
    events = []
    for i in range(n):
        report = reports[i % len(reports)]
        lane = "escalated" if report.escalated else "standard"
        event = ReportSubmitted(report_id=start_id + i, producer="bench", esp="bench", lane=lane)
        events.append(Accepted(start_id + i, t.submitted[lane], event,
                               bodies.pack(own_person(encoded[i % len(reports)],
                                                      i // len(reports)))))
    return events


def own_person(body: bytes, cycle: int) -> bytes:
    """A cycled report's person reported made its own again (its account and email renamed for
    the cycle), so that linking groups the recurring offenders' reports and not copies of one
    report; an offender's identifiers (`repeat-user-...`) are kept."""
    return body if cycle == 0 else body.replace(b'"user', b'"user%dx' % cycle)


def preload(r: redis.Redis, events: list[Accepted], chunk: int = 2000, t: Topology = T
            ) -> float:
    """Write the reports as intake does (body and event), pipelined."""
    started = time.monotonic()
    intake = Publisher(intake_contract(t))
    for i in range(0, len(events), chunk):
        pipe = r.pipeline(transaction=False)
        for accepted in events[i:i + chunk]:
            pipe.set(t.report_body(accepted.report_id), accepted.body)
            intake.queue(pipe, accepted.stream, accepted.event)
        pipe.execute()
    return time.monotonic() - started


async def post_all(url: str, bodies: list[bytes], concurrency: int, path: str) -> tuple[int, float]:
    """POST every body over `concurrency` keep-alive connections. A minimal HTTP/1.1 client on
    asyncio streams: a general-purpose client in the same process would be the bottleneck."""
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    accepted = 0
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {KEY['Authorization']}\r\n"
            "Content-Type: application/json\r\nContent-Length: ").encode()

    async def worker() -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                body = queue.get_nowait()
                writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
                status_line = await reader.readline()
                status = int(status_line.split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                payload = await reader.readexactly(length)
                if status == 202:
                    accepted += 1
                elif status == 200:
                    accepted += json.loads(payload)["accepted"]
                else:
                    raise RuntimeError(f"intake refused a bench request: {status} {payload[:200]!r}")
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return accepted, time.monotonic() - started
