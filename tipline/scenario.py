"""Workshop scenarios as data: steps of load and faults on a timeline, and the effect each scenario
expects, as checks on the gap's figures before and after (tipline/scenarios/*.yaml).

    tipline scenario list            every scenario, one line each
    tipline scenario run NAME        run it against `tipline up`: the current step on screen, then
                                     the gap before and after, and each check's result

A scenario's times are wall seconds from its start; its rates are reports per second. A rate
written `per_day: N` is N reports per simulated day, spread over the stack's own simulated hours
(a day in a minute at the default speed), capped at `--max-rate` (the reports then sample the day
and the run says so). `--time-scale` and `--rate-scale` shrink a scenario (the test suite runs
every scenario scaled down).
"""

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared import devkeys
from shared.synthetic import EspProfile, Mix
from tipline import dead_letters, load

SCENARIOS = Path(__file__).parent / "scenarios"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DailyVolume(_Data):
    """Reports per simulated day, shaped over the day's hours (quiet at night, busiest in the
    evening): the rate follows the stack's simulated clock."""

    per_day: float = Field(gt=0)
    days: float = Field(default=1, gt=0)


class LoadStep(_Data):
    rate: float | str | DailyVolume = Field(description="reports/s, seconds:rate points, or "
                                            "per_day")
    for_s: float | None = Field(default=None, alias="for", gt=0)
    count: int | None = Field(default=None, gt=0)
    mix: dict[str, float] = Field(default_factory=dict)
    esps: list[dict[str, Any]] = Field(default_factory=list)
    api: Literal["json", "xml"] = "json"

    @model_validator(mode="after")
    def _bounded(self) -> "LoadStep":
        if self.for_s is None and self.count is None and not isinstance(self.rate, DailyVolume):
            raise ValueError("a load step needs 'for' (seconds) or 'count'")
        Mix.named(self.mix)  # a bad mix is refused when the file is read
        for esp in self.esps:
            EspProfile(**esp)
        return self


class FaultStep(_Data):
    kind: str
    target: str = "stack"
    value: float = 1
    for_s: float | None = Field(default=None, alias="for", gt=0)


class ClearStep(_Data):
    kind: str | None = None
    target: str | None = None


class PoisonStep(_Data):
    stream: str
    count: int = Field(default=1, ge=1, le=100)


class Step(_Data):
    at: float = Field(ge=0, description="seconds from the scenario's start")
    title: str
    load: LoadStep | None = None
    fault: FaultStep | None = None
    clear: ClearStep | None = None
    poison: PoisonStep | None = None
    replay_dead_letters: bool = False
    say: str | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> "Step":
        done = [x for x in (self.load, self.fault, self.clear, self.poison) if x is not None]
        if len(done) + self.replay_dead_letters > 1:
            raise ValueError(f"step {self.title!r} does more than one thing")
        return self


class Check(_Data):
    """A figure of the gap after the scenario (`value`), its change over the scenario
    (`change`), or that change per report the scenario's loads filed (`per_accepted`: scaled
    down or not, the same bound holds), or per the change of another figure (`per`: an agency's
    new dark cases per case it was handed), compared with a bound; `why` says what it shows."""

    figure: str
    measure: Literal["change", "value", "per_accepted"] = "change"
    per: str | None = Field(default=None, description="the change is divided by this figure's")
    at_least: float | None = None
    at_most: float | None = None
    why: str

    @model_validator(mode="after")
    def _bounded(self) -> "Check":
        if self.at_least is None and self.at_most is None:
            raise ValueError(f"check {self.figure}: at_least or at_most")
        if self.per is not None and self.measure != "change":
            raise ValueError(f"check {self.figure}: per divides a change")
        return self


class Scenario(_Data):
    name: str
    title: str
    summary: str
    question: str
    look_at: str
    steps: list[Step]
    settle_s: float = Field(default=120, gt=0, description="how long the end may take to settle")
    checks: list[Check]

    @property
    def length_s(self) -> float:
        return max((s.at + (s.load.for_s or 0 if s.load else 0)
                    + (s.fault.for_s or 0 if s.fault else 0) for s in self.steps), default=0)


class ScenarioError(ValueError):
    pass


def read(path: Path) -> Scenario:
    try:
        return Scenario.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors(include_url=False)[:10])
        raise ScenarioError(f"{path}: {problems}") from None


def available(folder: Path = SCENARIOS) -> dict[str, Scenario]:
    return {s.name: s for s in (read(p) for p in sorted(folder.glob("*.yaml")))}


def find(name: str, folder: Path = SCENARIOS) -> Scenario:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return read(path)
    found = available(folder)
    if name not in found:
        raise ScenarioError(f"no scenario {name!r}; the scenarios are {', '.join(found)}")
    return found[name]


# ---- figures of the gap ----

def figure(gap: dict[str, Any], path: str) -> float | None:
    """A figure of the gap by its path: `bundled`, `timeToAck.p90`, `byEsp[load:poor].
    unassignedShare`, `byLane[p1].dark`; the derived `placed` (routed, unassigned or bundled)."""
    if path == "placed":
        return float(gap["routed"] + gap["unassigned"] + gap["bundled"])
    node: Any = gap
    for part in path.split("."):
        name, _, selector = part.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        if selector:
            wanted = selector.rstrip("]")
            node = next((row for row in node or [] if row.get("name") == wanted), None)
        if node is None:
            return None
    return float(node) if isinstance(node, int | float) else None


@dataclass
class Result:
    check: Check
    before: float | None
    after: float | None
    accepted: int = 0
    per: float | None = None  # the change of the check's `per` figure

    @property
    def measured(self) -> float | None:
        if self.check.measure == "value":
            return self.after
        if self.after is None:
            return None
        change = self.after - (self.before or 0)
        if self.check.measure == "per_accepted":
            return round(change / self.accepted, 4) if self.accepted else None
        if self.check.per is not None:
            return round(change / self.per, 4) if self.per else None
        return change

    @property
    def passed(self) -> bool:
        m = self.measured
        if m is None:
            return False
        return (self.check.at_least is None or m >= self.check.at_least) and (
            self.check.at_most is None or m <= self.check.at_most)


def judge(scenario: Scenario, before: dict[str, Any], after: dict[str, Any],
          accepted: int) -> list[Result]:
    def change(path: str | None) -> float | None:
        late = None if path is None else figure(after, path)
        return None if late is None else late - (figure(before, path) or 0)  # type: ignore[arg-type]

    return [Result(c, figure(before, c.figure), figure(after, c.figure), accepted, change(c.per))
            for c in scenario.checks]


# ---- running ----

DAILY_SHAPE = (0.3, 0.2, 0.15, 0.15, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.2,
               1.2, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.6, 1.3, 0.9, 0.5)  # mean 0.95


@dataclass
class Options:
    intake: str
    tracker: str
    analyst_key: str = devkeys.ANALYST_KEY
    admin_key: str = devkeys.ADMIN_KEY
    time_scale: float = 1.0
    rate_scale: float = 1.0
    max_rate: float = 400.0


@dataclass
class Run:
    scenario: Scenario
    options: Options
    seconds_per_hour: float = 2.5
    step: str = "starting"
    loads: list[load.Progress] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def plan(self, step: LoadStep, seed: int) -> load.Plan:
        """The load of a step on this stack: rates scaled, a daily volume spread over the
        stack's simulated hours."""
        o = self.options
        duration = None if step.for_s is None else step.for_s * o.time_scale
        if isinstance(step.rate, DailyVolume):
            hour_s = self.seconds_per_hour
            mean = step.rate.per_day / (24 * hour_s) * o.rate_scale
            peak = mean * max(DAILY_SHAPE) / (sum(DAILY_SHAPE) / 24)
            scale = min(1.0, o.max_rate / peak)
            if scale < 1:
                self.notes.append(f"{step.rate.per_day:,.0f} reports a simulated day need "
                                  f"{peak:,.0f}/s at the busiest hour on this stack: sending "
                                  f"{scale:.0%} of them (--max-rate {o.max_rate:g})")
            day_s = 24 * hour_s
            points = tuple((h * hour_s * o.time_scale, mean * scale * DAILY_SHAPE[h % 24]
                            / (sum(DAILY_SHAPE) / 24))
                           for h in range(int(24 * step.rate.days) + 1))
            curve = load.Curve(points)
            duration = duration or step.rate.days * day_s * o.time_scale
        elif isinstance(step.rate, str):
            base = load.Curve.parse(step.rate)
            curve = load.Curve(tuple((t * o.time_scale, r * o.rate_scale) for t, r in base.points))
        else:
            curve = load.Curve.constant(step.rate * o.rate_scale)
        count = None if step.count is None else max(1, math.ceil(step.count * o.rate_scale))
        return load.Plan(curve=curve, duration_s=duration, count=count, mix=Mix.named(step.mix),
                         profiles=tuple(EspProfile(**e) for e in step.esps)
                         or (EspProfile("workshop"),), api=step.api, seed=seed)


class Api:
    """The stack as the runner sees it: the tracker's API, with the analyst and admin keys."""

    def __init__(self, options: Options) -> None:
        self.client = httpx.AsyncClient(base_url=options.tracker, timeout=15)
        self.analyst = {"Authorization": f"Bearer {options.analyst_key}"}
        self.admin = {"Authorization": f"Bearer {options.admin_key}"}

    async def gap(self) -> dict[str, Any]:
        return (await self.call("GET", "/v1/gap", headers=self.analyst)).json()

    async def call(self, method: str, path: str, headers: dict[str, str] | None = None,
                   **kwargs: Any) -> httpx.Response:
        """A request, retried while the stack answers 503 or not at all (Redis restarting, a
        service coming back: what a scenario does on purpose), for up to a minute."""
        deadline = time.monotonic() + 60
        while True:
            try:
                r = await self.client.request(method, path, headers=headers or self.admin,
                                              **kwargs)
                if r.status_code != 503:
                    break
            except httpx.TransportError:
                r = None
            if time.monotonic() > deadline:
                raise ScenarioError(f"{method} {path}: the stack did not answer for a minute")
            await asyncio.sleep(0.5)
        if r.status_code >= 400:
            raise ScenarioError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r

    async def banner(self, run: Run, index: int, of: int) -> None:
        await self.call("PUT", "/v1/scenario", json={
            "name": run.scenario.name, "title": run.scenario.title, "step": run.step,
            "index": index, "of": of})

    async def close(self) -> None:
        await self.client.aclose()


async def execute(scenario: Scenario, options: Options,
                  show: Callable[[Run, float], None] | None = None) -> tuple[Run, dict, dict,
                                                                            list[Result]]:
    """Run a scenario: every step at its time, then wait for the pipeline to settle; the gap
    before and after, and the checks."""
    api = Api(options)
    try:
        before = await api.gap()
        run = Run(scenario, options, seconds_per_hour=float(
            (await api.call("GET", "/v1/clock")).json()["secondsPerHour"]))
        started = time.monotonic()
        running: list[asyncio.Task[load.Progress]] = []
        steps = sorted(scenario.steps, key=lambda s: s.at)
        for index, step in enumerate(steps, 1):
            while (elapsed := time.monotonic() - started) < step.at * options.time_scale:
                if show:
                    show(run, elapsed)
                await asyncio.sleep(0.2)
            run.step = step.title
            if show:
                show(run, time.monotonic() - started)
            await api.banner(run, index, len(steps))
            await _do(step, run, api, running, seed=index)
        while any(not t.done() for t in running):
            if show:
                show(run, time.monotonic() - started)
            await asyncio.sleep(0.2)
        for task in running:
            task.result()  # a load that failed fails the run
        run.step = "settling: every report placed"
        if show:
            show(run, time.monotonic() - started)
        await api.banner(run, len(steps), len(steps))
        accepted = sum(p.accepted for p in run.loads)
        deadline = time.monotonic() + scenario.settle_s
        while True:
            after = await api.gap()
            placed = (figure(after, "placed") or 0) - (figure(before, "placed") or 0)
            if placed >= accepted or time.monotonic() > deadline:
                break
            if show:
                show(run, time.monotonic() - started)
            await asyncio.sleep(0.5)
        await api.call("DELETE", "/v1/faults")  # a scenario leaves no fault behind
        await api.call("DELETE", "/v1/scenario")
        after["urgent"] = await _waits(api, run)
        after["load"] = {"retried": sum(p.retried for p in run.loads),
                         "refused": sum(p.refused for p in run.loads)}
        return run, before, after, judge(scenario, before, after, accepted)
    finally:
        await api.close()


async def _waits(api: Api, run: Run) -> dict[str, float | None]:
    """How long the run's reports took from acceptance to being routed (wall seconds, from
    their timelines): every escalated report's p99 and longest, and the p90 of (a sample of up
    to 300 of) the informational ones, the flood an urgent report must not wait behind."""
    async def routed_after(ids: list[int]) -> list[float]:
        waits = []
        for report_id in ids:
            r = await api.client.get(f"/v1/reports/{report_id}", headers=api.analyst)
            if r.status_code != 200:
                continue  # not in the ledger (yet): not counted
            at = {s["stage"]: s["at"] for s in r.json()["stages"]}
            if "submitted" in at and "routed" in at:
                waits.append((datetime.fromisoformat(at["routed"]) - datetime.fromisoformat(
                    at["submitted"])).total_seconds())
        return sorted(waits)

    urgent = await routed_after([i for p in run.loads for i in p.ids.get("escalated", [])])
    flood = [i for p in run.loads for i in p.ids.get("informational", [])]
    sample = await routed_after(flood[::max(1, len(flood) // 300)])
    return {"routedP99Seconds": _quantile(urgent, 0.99),
            "routedMaxSeconds": urgent[-1] if urgent else None, "reports": len(urgent),
            "floodRoutedP90Seconds": _quantile(sample, 0.9)}


def _quantile(values: list[float], q: float) -> float | None:
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


async def _do(step: Step, run: Run, api: Api, running: list[asyncio.Task[load.Progress]],
              seed: int) -> None:
    if step.load is not None:
        plan = run.plan(step.load, seed)

        async def go() -> load.Progress:
            progress = await load.run(plan, run.options.intake, on_tick=None,
                                      run_id=f"{run.scenario.name}-{seed}-{int(time.time())}")
            return progress

        task = asyncio.create_task(go())
        running.append(task)
        task.add_done_callback(lambda t: run.loads.append(t.result()) if not t.exception()
                               else None)
    elif step.fault is not None:
        f = step.fault
        body: dict[str, Any] = {"value": f.value}
        if f.for_s is not None:
            body["seconds"] = f.for_s * run.options.time_scale
        await api.call("PUT", f"/v1/faults/{f.kind}/{f.target}", json=body)
    elif step.clear is not None:
        path = "/v1/faults" + (f"/{step.clear.kind}" if step.clear.kind else "") + (
            f"/{step.clear.target}" if step.clear.target else "")
        await api.call("DELETE", path)
    elif step.poison is not None:
        await api.call("POST", "/v1/faults/poison", json={"stream": step.poison.stream,
                                                          "count": step.poison.count})
    elif step.replay_dead_letters:
        replayed, _ = await asyncio.to_thread(dead_letters.replay_all, run.options.tracker,
                                              run.options.admin_key)
        run.notes.append(f"{step.title}: {replayed} dead letter(s) replayed")


def comparison(scenario: Scenario, before: dict[str, Any], after: dict[str, Any],
               results: list[Result]) -> str:
    """The gap before and after, then each check with its verdict."""
    rows = ["", f"{'figure':<34}{'before':>12}{'after':>12}{'change':>12}"]
    for name in FIGURES:
        b, a = figure(before, name), figure(after, name)
        change = "" if a is None or b is None else f"{a - b:+,.1f}"
        rows.append(f"{name:<34}{_fmt(b):>12}{_fmt(a):>12}{change:>12}")
    rows += ["", f"checks of {scenario.name}:"]
    for r in results:
        bound = " and ".join(filter(None, [
            f"at least {r.check.at_least:g}" if r.check.at_least is not None else "",
            f"at most {r.check.at_most:g}" if r.check.at_most is not None else ""]))
        per = f" per {r.check.per}" if r.check.per else ""
        rows.append(f"  {'PASS' if r.passed else 'FAIL'}  {r.check.measure} of {r.check.figure}{per} "
                    f"= {_fmt(r.measured)} (expected {bound}): {r.check.why}")
    return "\n".join(rows)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


FIGURES = ("submitted", "placed", "forwarded", "acknowledged", "unassigned", "bundled", "dark",
           "slaBreaches", "escalations", "deadLetters", "timeToAck.p50", "timeToAck.p90")


def summary(run: Run, before: dict[str, Any], after: dict[str, Any],
            results: list[Result]) -> dict[str, Any]:
    """What a run found, as `--json` writes it: the loads, the gap's figures before and after,
    every check with its measure."""
    return {"scenario": run.scenario.name, "passed": all(r.passed for r in results),
            "ran_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "options": {"time_scale": run.options.time_scale,
                        "rate_scale": run.options.rate_scale, "max_rate": run.options.max_rate,
                        "seconds_per_hour": run.seconds_per_hour},
            "loads": [p.summary(time.monotonic()) for p in run.loads], "notes": run.notes,
            "figures": {name: {"before": figure(before, name), "after": figure(after, name)}
                        for name in FIGURES},
            "urgent": after.get("urgent"),
            "checks": [{"figure": r.check.figure, "measure": r.check.measure, "per": r.check.per,
                        "at_least": r.check.at_least, "at_most": r.check.at_most,
                        "measured": r.measured, "passed": r.passed, "why": r.check.why}
                       for r in results]}
