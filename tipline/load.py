"""A load you can shape, against a running stack: reports at a rate (or a rate curve), for a time
or a count, of a mix of kinds, from ESPs each with its own data quality, through the JSON API or
the XML reporting API.

Every report it sends is synthetic load: sent with the `Tipline-Load` header, it enters the
pipeline as the report of ESP `load:<profile>`, so the gap shows load apart from everything
else. Sending is paced by the clock (a report is sent when its time has come, as many at once as
have come due, in batches through the JSON API), answers of 503 and failed connections are
retried with the same Idempotency-Key (nothing is filed twice), and the run stops by itself at
its end.
"""

import asyncio
import base64
import json
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml

from shared import devkeys
from shared.synthetic import LOAD_KINDS, RECURRING_SHARE, EspProfile, LoadKind, Mix, load_report

HEADER = "Tipline-Load"
Api = Literal["json", "xml"]
MAX_REPORTS = 2_000_000  # no load runs for ever, whatever it is asked


@dataclass(frozen=True)
class Curve:
    """Reports per second over time: (seconds from the start, rate) points, linear in between,
    the last rate held after the last point."""

    points: tuple[tuple[float, float], ...]

    @classmethod
    def constant(cls, rate: float) -> "Curve":
        return cls(((0.0, float(rate)),))

    @classmethod
    def parse(cls, text: str) -> "Curve":
        """`50` (a constant rate) or `0:10,30:200,60:10` (seconds:rate, piecewise linear)."""
        try:
            if ":" not in text:
                return cls.constant(float(text))
            points = tuple(sorted((float(t), float(r)) for t, r in
                                  (p.split(":", 1) for p in text.split(",") if p.strip())))
        except ValueError:
            raise ValueError(f"a rate is reports/s, or seconds:rate pairs (0:10,30:200): {text!r}"
                             ) from None
        if not points:
            raise ValueError("a rate curve needs at least one seconds:rate point")
        return cls(points)

    def __post_init__(self) -> None:
        if any(r < 0 for _, r in self.points) or any(t < 0 for t, _ in self.points):
            raise ValueError("rates and times are at least zero")

    def rate_at(self, t: float) -> float:
        points = self.points
        if t <= points[0][0]:
            return points[0][1]
        for (t0, r0), (t1, r1) in zip(points, points[1:], strict=False):
            if t <= t1:
                return r0 + (r1 - r0) * (t - t0) / (t1 - t0) if t1 > t0 else r1
        return points[-1][1]

    def due(self, start: float, end: float, step: float = 0.01) -> float:
        """How many reports fall due between two times (the rate integrated)."""
        total, t = 0.0, start
        while t < end:
            dt = min(step, end - t)
            total += self.rate_at(t + dt / 2) * dt
            t += dt
        return total


@dataclass(frozen=True)
class Plan:
    curve: Curve
    duration_s: float | None = 60.0
    count: int | None = None
    mix: Mix = field(default_factory=Mix)
    profiles: tuple[EspProfile, ...] = (EspProfile("load"),)
    api: Api = "json"
    seed: int = 1
    max_batch: int = 200  # reports in one JSON batch request when several fall due at once
    concurrency: int = 8
    recurring_share: float = RECURRING_SHARE  # reports by a recurring offender (0: none)

    def __post_init__(self) -> None:
        if self.duration_s is None and self.count is None:
            raise ValueError("a load needs a duration or a count: it stops by itself")
        if self.count is not None and not 0 < self.count <= MAX_REPORTS:
            raise ValueError(f"a count between 1 and {MAX_REPORTS:,}")
        if self.duration_s is not None and not 0 < self.duration_s <= 7 * 24 * 3600:
            raise ValueError("a duration between 0 and a week, in seconds")
        if not 0 <= self.recurring_share <= 1:
            raise ValueError("a recurring share between 0 and 1")

    def finished(self, elapsed: float, made: int) -> bool:
        return (self.count is not None and made >= self.count) or (
            self.duration_s is not None and elapsed >= self.duration_s) or made >= MAX_REPORTS


@dataclass
class Progress:
    """What the load has done so far: `per_second` holds the reports accepted in each second (of
    the answer), `sent_per_second` the same reports by the second they were sent (the load's own
    pace, whatever the time intake took to answer)."""

    started: float
    made: int = 0
    accepted: int = 0
    refused: int = 0
    retried: int = 0
    failed: int = 0
    in_flight: int = 0
    behind: int = 0  # reports due but not yet sent
    per_second: dict[int, int] = field(default_factory=dict)
    sent_per_second: dict[int, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)  # accepted report ids by kind

    def count_accepted(self, n: int, now: float, sent_at: float) -> None:
        self.accepted += n
        for counts, at in ((self.per_second, now), (self.sent_per_second, sent_at)):
            second = int(at - self.started)
            counts[second] = counts.get(second, 0) + n

    def recent_rate(self, now: float, window: int = 5) -> float:
        last = int(now - self.started)
        seconds = [s for s in range(last - window, last) if s >= 0]
        return sum(self.per_second.get(s, 0) for s in seconds) / len(seconds) if seconds else 0.0

    def summary(self, now: float) -> dict[str, Any]:
        elapsed = max(now - self.started, 1e-9)
        return {"seconds": round(elapsed, 1), "made": self.made, "accepted": self.accepted,
                "refused": self.refused, "retried": self.retried, "failed": self.failed,
                "rate": round(self.accepted / elapsed, 1), "refusals": dict(self.refusals),
                "per_second": [self.per_second.get(s, 0) for s in range(int(elapsed) + 1)],
                "sent_per_second": [self.sent_per_second.get(s, 0)
                                    for s in range(int(elapsed) + 1)]}


def profiles_from(path: Path) -> tuple[Mix | None, tuple[EspProfile, ...]]:
    """A YAML file of `mix:` (shares of each kind) and `esps:` (one entry per ESP: name, weight,
    location, verified_contact, victim_details)."""
    data = yaml.safe_load(path.read_text()) or {}
    mix = Mix.named(data["mix"]) if "mix" in data else None
    esps = tuple(EspProfile(**e) for e in data.get("esps", []))
    return mix, esps


class Generator:
    """The reports of a plan, one after another: kinds drawn from the mix, ESPs by weight."""

    def __init__(self, plan: Plan, people: str = "") -> None:
        self.plan = plan
        self.people = people  # the run's own persons (see shared.synthetic.load_report)
        self.rng = random.Random(plan.seed)
        self.n = 0

    def next(self) -> tuple[EspProfile, LoadKind, dict[str, Any]]:
        """A report: its ESP profile, its kind and its JSON form."""
        self.n += 1
        profile = self.rng.choices(self.plan.profiles,
                                   weights=[p.weight for p in self.plan.profiles])[0]
        kind = self.rng.choices(LOAD_KINDS, weights=self.plan.mix.weights())[0]
        return profile, kind, load_report(kind, profile, f"{self.plan.seed}-{self.n}",
                                          self.plan.recurring_share, self.people)


class Sender:
    """Sends reports to intake and counts what became of them; retries what may be retried."""

    def __init__(self, client: httpx.AsyncClient, progress: Progress, key: str,
                 basic: tuple[str, str], run_id: str, deadline_s: float = 60) -> None:
        self.client, self.progress, self.run_id = client, progress, run_id
        self.bearer = {"Authorization": f"Bearer {key}"}
        self.basic = {"Authorization": "Basic " + base64.b64encode(
            f"{basic[0]}:{basic[1]}".encode()).decode()}
        self.deadline_s = deadline_s
        self.batches = 0

    def _refused(self, why: str, n: int = 1) -> None:
        self.progress.refused += n
        self.progress.refusals[why] = self.progress.refusals.get(why, 0) + n

    async def _post(self, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response | None:
        """POST until answered with something other than 503 or a failed connection, or until
        the deadline (then counted failed)."""
        deadline = time.monotonic() + self.deadline_s
        pause = 0.2
        while True:
            try:
                r = await self.client.post(path, headers=headers, **kwargs)
                if r.status_code != 503:
                    return r
                pause = float(r.headers.get("Retry-After", pause))
            except httpx.HTTPError:
                pass
            if time.monotonic() + pause > deadline:
                return None
            self.progress.retried += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def json_batch(self, items: list[tuple[EspProfile, LoadKind, dict[str, Any]]]) -> None:
        """Reports of one ESP profile in one batch request (the Idempotency-Key names the batch:
        a retry files nothing twice)."""
        self.batches += 1
        profile = items[0][0]
        headers = {**self.bearer, HEADER: profile.name,
                   "Idempotency-Key": f"{self.run_id}-{self.batches}"}
        sent_at = time.monotonic()
        r = await self._post("/v1/reports/batch", headers,
                             json={"reports": [report for _, _, report in items]})
        now = time.monotonic()
        if r is None:
            self.progress.failed += len(items)
            return
        if r.status_code != 200:
            self._refused(f"HTTP {r.status_code}", len(items))
            return
        body = r.json()
        self.progress.count_accepted(body["accepted"], now, sent_at)
        for result in body["results"]:
            if result["status"] != 202:
                self._refused(f"HTTP {result['status']}")
            else:
                kind = items[result["index"]][1]
                self.progress.ids.setdefault(kind, []).append(result["reportId"])

    async def xml(self, profile: EspProfile, kind: LoadKind, report: dict[str, Any]) -> None:
        """One report through the XML reporting API: submit, upload its file's bytes, finish."""
        from shared.schemas import xml as xml_io
        from shared.schemas.report import Report

        sent_at = time.monotonic()
        files = report.pop("files", [])
        headers = {**self.basic, HEADER: profile.name}
        document = xml_io.write(Report.model_validate(report))
        opened = await self._post("/ispws/submit", {**headers, "Content-Type": "text/xml"},
                                  content=document)
        code, report_id = _answer(opened)
        if code != 0 or report_id is None:
            self._refused(f"code {code}")
            return
        for i, _ in enumerate(files or [None]):
            up = await self._post("/ispws/upload", headers, data={"id": report_id},
                                  files={"file": (f"f{i}.bin", f"synthetic {report_id} {i}".encode())})
            if _answer(up)[0] != 0:
                self._refused(f"code {_answer(up)[0]}")
                return
        done = await self._post("/ispws/finish", headers, data={"id": report_id})
        code = _answer(done)[0]
        if code in (0, 5102):  # 5102: a retried finish of a report already filed
            self.progress.count_accepted(1, time.monotonic(), sent_at)
            self.progress.ids.setdefault(kind, []).append(int(report_id))
        else:
            self._refused(f"code {code}")


def _answer(r: httpx.Response | None) -> tuple[int | None, str | None]:
    if r is None:
        return None, None
    from xml.etree import ElementTree as ET

    try:
        root = ET.fromstring(r.content)
    except ET.ParseError:
        return None, None
    code = root.findtext("responseCode")
    return (int(code) if code and code.isdigit() else None), root.findtext("reportId")


async def run(plan: Plan, intake_url: str, *, key: str = devkeys.ESP_KEY,
              basic: tuple[str, str] = (devkeys.ESP, devkeys.ISPWS_PASSWORD),
              on_tick: Callable[[Progress], None] | None = None,
              run_id: str | None = None) -> Progress:
    """Send the plan's load; `on_tick` sees the progress every half second."""
    progress = Progress(started=time.monotonic())
    run_id = run_id or f"load-{int(time.time() * 1000):x}-{plan.seed}"
    generator = Generator(plan, people=f"{run_id}:")  # each run reports people of its own
    queue: deque[tuple[EspProfile, LoadKind, dict[str, Any]]] = deque()
    limits = httpx.Limits(max_connections=plan.concurrency * 2)
    async with httpx.AsyncClient(base_url=intake_url, timeout=30, limits=limits) as client:
        sender = Sender(client, progress, key, basic, run_id)
        tasks: set[asyncio.Task[None]] = set()  # requests in flight, at most plan.concurrency

        async def send(batch: list[tuple[EspProfile, LoadKind, dict[str, Any]]]) -> None:
            progress.in_flight += len(batch)
            try:
                if plan.api == "json":
                    await sender.json_batch(batch)
                else:
                    await asyncio.gather(*(sender.xml(p, k, r) for p, k, r in batch))
            finally:
                progress.in_flight -= len(batch)

        owed, last, next_tick = 0.0, 0.0, 0.0
        while True:
            elapsed = time.monotonic() - progress.started
            if not plan.finished(elapsed, progress.made):
                owed += plan.curve.due(last, elapsed)
                last = elapsed
                while owed >= 1 and not plan.finished(elapsed, progress.made):
                    queue.append(generator.next())
                    progress.made += 1
                    owed -= 1
            progress.behind = len(queue)
            while queue and len(tasks) < plan.concurrency:
                profile = queue[0][0]
                batch = []
                limit = plan.max_batch if plan.api == "json" else max(1, plan.concurrency)
                while queue and len(batch) < limit and queue[0][0] == profile:
                    batch.append(queue.popleft())
                task = asyncio.create_task(send(batch))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if on_tick and elapsed >= next_tick:
                on_tick(progress)
                next_tick = elapsed + 0.5
            if plan.finished(elapsed, progress.made) and not queue and not tasks:
                break
            await asyncio.sleep(0.005)
    if on_tick:
        on_tick(progress)
    return progress


def progress_line(progress: Progress, plan: Plan) -> str:
    now = time.monotonic()
    elapsed = now - progress.started
    end = f"/{plan.duration_s:g}s" if plan.duration_s else f", {progress.made}/{plan.count}"
    return (f"{elapsed:5.1f}s{end}  rate {progress.recent_rate(now):6.1f}/s "
            f"(target {plan.curve.rate_at(elapsed):g}/s)  accepted {progress.accepted}  "
            f"refused {progress.refused}  retried {progress.retried}  failed {progress.failed}  "
            f"in flight {progress.in_flight}  behind {progress.behind}")


def report_json(progress: Progress) -> str:
    return json.dumps(progress.summary(time.monotonic()))
