"""A simulation as data: the load (volume per day with its daily and weekly shape, the mix of
kinds, each ESP's data quality, viral bursts) and the policy (agency capacities, SLA hours per
lane, bundling, preservation, the share of reports with a location or a verified contact).

A simulator file holds `name`, `title`, `load:` and `policy:`. A what-if holds only what it
changes: its `load:` and `policy:` are laid over the baseline's (mappings merged key by key,
anything else replaced). A workshop scenario (tipline/scenarios/*.yaml) is read as a load too:
each load step becomes a stream of reports at its time, each capacity, degrade or silent fault
a window of the policy; faults of the infrastructure (kill, pause, slow, Redis) do not exist in
the simulator and are listed in the run's notes.
"""

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.synthetic import EspProfile, Mix
from tipline import scenario as workshop
from tipline.load import Curve

LANES = ("p1", "p2", "p3", "informational")
WEEKLY_SHAPE = (1.05, 1.05, 1.0, 1.0, 1.0, 0.95, 0.95)  # Monday first


class SimulationError(ValueError):
    pass


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _mix(shares: dict[str, float]) -> dict[str, float]:
    try:
        Mix.named(shares)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return shares


class Burst(_Data):
    """A viral burst: extra viral reports from one ESP for some hours."""

    day: float = Field(ge=0, description="the day it starts (0: the first)")
    hours: float = Field(gt=0)
    per_day: float = Field(gt=0, description="extra reports a day while it lasts")
    esp: str | None = Field(default=None, description="the ESP it comes from; none: the first")


class Stream(_Data):
    """Reports at a rate for a while: `per_hour` reports an hour from `start_hours` for `hours`,
    shaped by the hour of the day and the day of the week when the shapes are given."""

    start_hours: float = Field(ge=0)
    hours: float = Field(gt=0)
    per_hour: float | None = Field(default=None, ge=0)
    curve: str | None = Field(default=None, description="seconds:rate points of a workshop step")
    seconds_per_hour: float = 2.5
    daily_shape: tuple[float, ...] | None = None
    weekly_shape: tuple[float, ...] | None = None
    mix: dict[str, float] = Field(default_factory=dict)
    esps: tuple[EspProfile, ...] = ()

    def expected(self, hour: int) -> float:
        """Reports expected in simulated hour `hour` (counted from the run's start)."""
        lo, hi = max(hour, self.start_hours), min(hour + 1, self.start_hours + self.hours)
        if hi <= lo:
            return 0.0
        if self.curve is not None:
            s = self.seconds_per_hour
            return Curve.parse(self.curve).due((lo - self.start_hours) * s,
                                               (hi - self.start_hours) * s)
        rate = (self.per_hour or 0.0) * (hi - lo)
        if self.daily_shape:
            rate *= self.daily_shape[hour % 24] * 24 / sum(self.daily_shape)
        if self.weekly_shape:
            rate *= self.weekly_shape[(hour // 24) % 7] * 7 / sum(self.weekly_shape)
        return rate


class Load(_Data):
    per_day: float = Field(default=100_000, ge=0, description="reports a day, on average")
    days: float = Field(default=365, gt=0, le=3660)
    daily_shape: tuple[float, ...] = Field(default=workshop.DAILY_SHAPE, min_length=24,
                                           max_length=24)
    weekly_shape: tuple[float, ...] = Field(default=WEEKLY_SHAPE, min_length=7, max_length=7)
    mix: dict[str, float] = Field(default_factory=dict)
    esps: tuple[EspProfile, ...] = (EspProfile("esp"),)
    bursts: tuple[Burst, ...] = ()
    extra: tuple[Stream, ...] = Field(default=(), description="streams of a workshop scenario")
    settle_days: float = Field(default=0, ge=0, description="days run on after the last report")
    seed: int = 1

    @field_validator("mix")
    @classmethod
    def _known_kinds(cls, shares: dict[str, float]) -> dict[str, float]:
        return _mix(shares)

    @field_validator("daily_shape", "weekly_shape")
    @classmethod
    def _shape(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if any(v < 0 for v in values) or not sum(values):
            raise ValueError("a shape's factors are at least zero, some above zero")
        return values

    @model_validator(mode="after")
    def _esps_named(self) -> "Load":
        names = [e.name for e in self.esps]
        if len(set(names)) != len(names):
            raise ValueError(f"ESP names repeat: {names}")
        for burst in self.bursts:
            if burst.esp is not None and burst.esp not in names:
                raise ValueError(f"a burst's esp {burst.esp!r} is not one of the load's: {names}")
        return self

    def streams(self) -> tuple[Stream, ...]:
        main = Stream(start_hours=0, hours=self.days * 24, per_hour=self.per_day / 24,
                      daily_shape=self.daily_shape, weekly_shape=self.weekly_shape, mix=self.mix,
                      esps=self.esps) if self.per_day else None
        bursts = tuple(Stream(start_hours=b.day * 24, hours=b.hours, per_hour=b.per_day / 24,
                              mix={"viral": 1.0},
                              esps=tuple(e for e in self.esps if e.name == (b.esp or
                                                                            self.esps[0].name)))
                       for b in self.bursts)
        return ((main,) if main else ()) + bursts + self.extra

    @property
    def hours(self) -> float:
        return max(s.start_hours + s.hours for s in self.streams()) if self.streams() else 0.0


class Window(_Data):
    """A fault of the workshop in the simulator: from `start_hours` for `hours`."""

    kind: str = Field(pattern="^(capacity|degrade|silent)$")
    target: str
    value: float = 1.0
    start_hours: float = 0.0
    hours: float | None = None

    def active(self, t: float) -> bool:
        return self.start_hours <= t and (self.hours is None or t < self.start_hours + self.hours)


class Policy(_Data):
    capacity_scale: float = Field(default=1.0, gt=0, description="every agency's capacity times this")
    capacity: dict[str, float] = Field(default_factory=dict,
                                       description="agency id -> a factor on its capacity")
    sla_hours: dict[str, float | None] = Field(
        default_factory=lambda: {"p1": 4.0, "p2": 72.0, "p3": 720.0, "informational": None})
    bundling: bool = True
    bundle_window_days: float = Field(default=30, gt=0)
    preservation_days: float = Field(default=365, gt=0)
    lost_sight_days: float = Field(default=30, gt=0)
    location: float | None = Field(default=None, ge=0, le=1,
                                   description="every ESP's share of reports with a location")
    verified_contact: float | None = Field(default=None, ge=0, le=1,
                                           description="every ESP's share with a verified contact")
    windows: tuple[Window, ...] = ()

    @field_validator("sla_hours")
    @classmethod
    def _lanes(cls, hours: dict[str, float | None]) -> dict[str, float | None]:
        unknown = set(hours) - set(LANES)
        if unknown:
            raise ValueError(f"no lane {', '.join(sorted(unknown))}; the lanes are "
                             f"{', '.join(LANES)}")
        if any(h is not None and h <= 0 for h in hours.values()):
            raise ValueError("SLA hours are above zero (or null: no SLA)")
        return {**{"p1": 4.0, "p2": 72.0, "p3": 720.0, "informational": None}, **hours}

    @field_validator("capacity")
    @classmethod
    def _factors(cls, factors: dict[str, float]) -> dict[str, float]:
        if any(f <= 0 for f in factors.values()):
            raise ValueError("capacity factors are above zero")
        return factors


class Simulation(_Data):
    name: str
    title: str = ""
    load: Load = Load()
    policy: Policy = Policy()
    notes: tuple[str, ...] = ()


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                     for e in exc.errors(include_url=False)[:10])


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SimulationError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise SimulationError(f"{path}: a mapping with name, load and policy")
    return data


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid over `base`: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def parse(data: dict[str, Any], where: str) -> Simulation:
    try:
        return Simulation.model_validate(data)
    except ValidationError as exc:
        raise SimulationError(f"{where}: {_problems(exc)}") from None


def read(path: Path, over: Path | None = None) -> tuple[Simulation, dict[str, Any]]:
    """A simulator file (or a workshop scenario), with a what-if laid over it; also the data
    read, for a what-if to be laid over in turn."""
    data = _read_yaml(path)
    if "steps" in data:  # a workshop scenario
        data = from_scenario(workshop.read(path)).model_dump()
    if over is not None:
        change = _read_yaml(over)
        data = merged(data, {**change, "name": change.get("name", Path(over).stem)})
        return parse(data, str(over)), data
    return parse(data, str(path)), data


# ---- a workshop scenario as simulator input ----

def from_scenario(s: workshop.Scenario, seconds_per_hour: float = 2.5) -> Simulation:
    """A workshop scenario on the stack's simulated clock (`seconds_per_hour` wall seconds a
    simulated hour): its loads as streams, its capacity, degrade and silent faults as windows,
    its time to settle after the last step."""
    streams: list[Stream] = []
    windows: list[Window] = []
    notes: list[str] = []
    for step in sorted(s.steps, key=lambda x: x.at):
        start = step.at / seconds_per_hour
        if step.load is not None:
            esps = tuple(EspProfile(**e) for e in step.load.esps) or (EspProfile("workshop"),)
            rate = step.load.rate
            if isinstance(rate, workshop.DailyVolume):
                streams.append(Stream(start_hours=start, hours=rate.days * 24,
                                      per_hour=rate.per_day / 24, daily_shape=workshop.DAILY_SHAPE,
                                      mix=step.load.mix, esps=esps))
                continue
            hours = (step.load.for_s or 0) / seconds_per_hour
            if step.load.count is not None:
                per_s = float(rate) if not isinstance(rate, str) else Curve.parse(rate).rate_at(0)
                hours = step.load.count / per_s / seconds_per_hour if per_s else 0
            if isinstance(rate, str):
                streams.append(Stream(start_hours=start, hours=hours, curve=rate,
                                      seconds_per_hour=seconds_per_hour, mix=step.load.mix,
                                      esps=esps))
            else:
                streams.append(Stream(start_hours=start, hours=hours,
                                      per_hour=float(rate) * seconds_per_hour, mix=step.load.mix,
                                      esps=esps))
        elif step.fault is not None:
            f = step.fault
            hours = None if f.for_s is None else f.for_s / seconds_per_hour
            if f.kind in ("capacity", "degrade", "silent"):
                windows.append(Window(kind=f.kind, target=f.target, value=f.value,
                                      start_hours=start, hours=hours))
            else:
                notes.append(f"step {step.title!r}: the {f.kind} fault is the infrastructure's; "
                             "the simulator has none")
        elif step.clear is not None or step.poison is not None or step.replay_dead_letters:
            notes.append(f"step {step.title!r}: not modelled (no streams, no dead letters)")
    return Simulation(name=s.name, title=s.title,
                      load=Load(per_day=0, days=max((x.start_hours + x.hours for x in streams),
                                                    default=1) / 24 or 1, extra=tuple(streams),
                                esps=streams[0].esps if streams else (EspProfile("workshop"),),
                                settle_days=s.settle_s / seconds_per_hour / 24),
                      policy=Policy(windows=tuple(windows)), notes=tuple(notes))

