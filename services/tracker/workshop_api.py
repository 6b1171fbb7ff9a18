"""The workshop's API: faults on cue (admin sets and clears them, anyone with an analyst key sees
them, with what to look for while they last), poison entries, the running scenario's banner, and
the simulated clock the dashboard shows."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path
from pydantic import BaseModel, BeforeValidator, Field
from starlette.convertors import StringConvertor, register_url_convertor

from services.tracker.api import Admin, Analyst
from services.tracker.deps import Tracker, TrackerDeps
from shared.faults import KINDS, FaultError, describe, fault
from shared.http import Problem, ValidationProblem, responses
from shared.schemas.camel import CamelModel

router = APIRouter(prefix="/v1", tags=["workshop"])

class _FaultKind(StringConvertor):
    """A path segment that is a fault's kind: /v1/faults/kinds and /v1/faults/poison are other
    resources, not kinds (a DELETE there is 405, not a clearing of kind `kinds`)."""

    regex = "|".join(KINDS)


register_url_convertor("fault_kind", _FaultKind())
KindName = Annotated[Literal[tuple(KINDS)], Path(description="The fault's kind.")]
Target = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9:_.-]{0,79}$",
                             description="A service, an agency id, an ESP, or `stack`.")]


class ActiveFault(CamelModel):
    kind: str
    target: str
    value: float
    set_at: float
    until: float | None
    meaning: str
    look_for: str


class FaultKind(CamelModel):
    kind: str
    target: str
    value: str
    low: float
    high: float
    look_for: str
    needs_supervisor: bool = Field(description="Carried out by `tipline up`: refused when no "
                                   "`tipline up` supervises the stack.")


def _no_bool(value: Any) -> Any:
    """A number is a number: JSON's true is not 1 (pydantic would take it as one)."""
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    return value


Number = Annotated[float, BeforeValidator(_no_bool)]
Whole = Annotated[int, BeforeValidator(_no_bool)]
# Refusals that depend on the kind or on the stack (a value out of the kind's range, a target or a
# stream the stack does not have) are a Problem; a body of the wrong shape, field errors.
REFUSED = {422: {"model": Problem | ValidationProblem, "description": "Refused: field errors, or "
                 "what the kind or the stack does not allow; nothing done."}}


class FaultSetting(BaseModel):
    value: Number = Field(default=1, description="What the kind's value means: see /v1/faults/kinds.")
    seconds: Number | None = Field(default=None, gt=0, le=86_400,
                                  description="How long it lasts; none: until cleared.")


class Poison(BaseModel):
    stream: str = Field(description="A stream of the stack, e.g. tipline:reports:triaged:p2.")
    count: Whole = Field(default=1, ge=1, le=100)


def _targets(tracker: Tracker) -> dict[str, list[str]]:
    """Agency faults change the simulator's agencies: not one played by people."""
    return {"agency": [a.id for a in tracker.directory.agencies if a.played_by == "simulator"]}


@router.get("/faults", response_model=list[ActiveFault], response_model_by_alias=True,
            summary="The faults in force now, each with what to look for while it lasts.",
            responses=responses(401, 503))
async def list_faults(tracker: TrackerDeps, _who: Analyst) -> list[ActiveFault]:
    active = await tracker.workshop.active_faults(tracker.clock.now())
    return [ActiveFault(**{_snake(k): v for k, v in describe(f).items()}) for f in active.active]


@router.get("/faults/kinds", response_model=list[FaultKind], response_model_by_alias=True,
            summary="Every kind of fault, what it targets and what its value means.",
            responses=responses(401))
async def fault_kinds(_who: Analyst) -> list[FaultKind]:
    return [FaultKind(kind=k.name, target=k.target, value=k.value, low=k.low, high=k.high,
                      look_for=k.look_for, needs_supervisor=k.by_supervisor)
            for k in KINDS.values()]


@router.put("/faults/{kind:fault_kind}/{target}", response_model=ActiveFault, response_model_by_alias=True,
            summary="Set a fault (admin): in force at once, until cleared or for `seconds`.",
            responses={**responses(400, 401, 403, 404, 409, 503), **REFUSED})
async def set_fault(tracker: TrackerDeps, _who: Admin, kind: KindName, target: Target,
                    setting: Annotated[FaultSetting, Body()]) -> ActiveFault:
    now = tracker.clock.now()
    try:
        new = fault(kind, target, setting.value, now, setting.seconds, _targets(tracker))
    except FaultError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    if KINDS[kind].by_supervisor and not await tracker.workshop.supervised():
        raise HTTPException(status_code=409, detail=f"{kind} is carried out by `tipline up`, and "
                            "no tipline up supervises this stack (with compose, stop a service "
                            "with docker compose stop/pause instead)")
    await tracker.workshop.set_fault(new)
    return ActiveFault(**{_snake(k): v for k, v in describe(new).items()})


@router.delete("/faults", summary="Clear every fault (admin).", responses=responses(401, 503))
async def clear_all(tracker: TrackerDeps, _who: Admin) -> dict[str, int]:
    return {"cleared": await tracker.workshop.clear_faults()}


@router.delete("/faults/{kind:fault_kind}", summary="Clear every fault of a kind (admin).",
               responses=responses(401, 404, 503))
async def clear_kind(tracker: TrackerDeps, _who: Admin, kind: KindName) -> dict[str, int]:
    return {"cleared": await tracker.workshop.clear_faults(kind)}


@router.delete("/faults/{kind:fault_kind}/{target}", summary="Clear one fault (admin).",
               responses=responses(401, 404, 503))
async def clear_one(tracker: TrackerDeps, _who: Admin, kind: KindName,
                    target: Target) -> dict[str, int]:
    return {"cleared": await tracker.workshop.clear_faults(kind, target)}


@router.post("/faults/poison", summary="Write poison entries on a stream of the stack (admin): "
             "every group reading it dead-letters them.", responses={**responses(400, 401, 503), **REFUSED})
async def poison(tracker: TrackerDeps, _who: Admin, body: Poison) -> dict[str, Any]:
    if not tracker.replayable(body.stream):
        raise HTTPException(status_code=422, detail=f"{body.stream} is not a stream of this stack")
    return {"stream": body.stream, "written": await tracker.workshop.poison(body.stream,
                                                                           body.count)}


class Banner(BaseModel):
    name: str = Field(max_length=80)
    title: str = Field(max_length=200)
    step: str = Field(max_length=200)
    index: Whole = Field(ge=0)
    of: Whole = Field(ge=0)


@router.get("/scenario", summary="The workshop scenario running now, and its step (null: none).",
            responses=responses(401, 503))
async def get_scenario(tracker: TrackerDeps, _who: Analyst) -> dict[str, Any] | None:
    return await tracker.workshop.scenario()


@router.put("/scenario", summary="Show a scenario and its step on every dashboard (admin).",
            responses=responses(400, 401, 422, 503))
async def put_scenario(tracker: TrackerDeps, _who: Admin, banner: Banner) -> dict[str, Any]:
    shown = {**banner.model_dump(), "since": tracker.clock.now()}
    await tracker.workshop.set_scenario(shown)
    return shown


@router.delete("/scenario", summary="Take the scenario banner down (admin).",
               responses=responses(401, 503))
async def delete_scenario(tracker: TrackerDeps, _who: Admin) -> dict[str, bool]:
    await tracker.workshop.clear_scenario()
    return {"cleared": True}


class Clock(CamelModel):
    seconds_per_hour: float = Field(description="Wall seconds per simulated hour.")
    now: float = Field(description="Wall time, epoch seconds.")
    simulated_hours: float = Field(description="Simulated hours since the stack's clock began.")
    day: int = Field(description="The simulated day, from 1.")
    time: str = Field(description="The simulated time of day, HH:MM.")
    text: str = Field(description="As the dashboard shows it: `day 3, 14:00`.")
    supervised: bool = Field(description="A `tipline up` supervises the stack (kill, pause and "
                             "redis-down faults can be carried out).")


@router.get("/clock", response_model=Clock, response_model_by_alias=True,
            summary="The simulated clock: day and time of day since the stack's clock began.",
            responses=responses(401, 503))
async def clock(tracker: TrackerDeps, _who: Analyst) -> Clock:
    now = tracker.clock.now()
    hours = max(now - await tracker.workshop.epoch(now), 0) / tracker.policy.seconds_per_hour
    day, hour = int(hours // 24) + 1, hours % 24
    time = f"{int(hour):02d}:{int(hour % 1 * 60):02d}"
    return Clock(seconds_per_hour=tracker.policy.seconds_per_hour, now=now,
                 simulated_hours=round(hours, 2), day=day, time=time, text=f"day {day}, {time}",
                 supervised=await tracker.workshop.supervised() is not None)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
