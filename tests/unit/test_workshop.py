"""The workshop's pieces without a stack: fault settings and their checks, the shape of a load,
the reports it makes, and the scenario files."""

from collections import Counter

import pytest

from services.intake.domain import lane_for
from services.router.domain import load_ip_table, load_zip_table, resolve
from shared.directory import load_directory
from shared.faults import KINDS, NONE, Fault, FaultError, Faults, describe, fails, fault
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from shared.synthetic import LOAD_KINDS, EspProfile, Mix, load_report, strip_location
from tipline import load, scenario

TABLE = load_ip_table(DATA_DIR / "ip_ranges.json")
ZIPS = load_zip_table(DATA_DIR / "zip3_states.json")
DIRECTORY = load_directory(DATA_DIR / "agencies.json")
NOW = 1_000_000.0


# ---- faults ----

def test_a_fault_is_checked_against_its_kind():
    with pytest.raises(FaultError, match="no fault kind 'melt'"):
        fault("melt", "triage", 1, NOW)
    with pytest.raises(FaultError, match="reads streams"):
        fault("slow", "intake", 100, NOW)  # intake has no consumer to slow
    with pytest.raises(FaultError, match="between 0.0001 and 1"):
        fault("fail", "router", 1.5, NOW)
    with pytest.raises(FaultError, match="no agency 'icac-xx'"):
        fault("capacity", "icac-xx", 0.5, NOW, targets={"agency": ["icac-wa"]})
    with pytest.raises(FaultError, match="not a esp name"):
        fault("degrade", "Bad Name!", 1, NOW)


def test_a_fault_lasts_until_cleared_or_for_its_seconds():
    standing = fault("slow", "triage", 250, NOW)
    assert standing.until is None and standing.active(NOW + 10**6)
    timed = fault("fail", "router", 0.5, NOW, seconds=30)
    assert timed.active(NOW + 29.9) and not timed.active(NOW + 30)
    killed = fault("kill", "router", 8, NOW)  # the supervisor's kinds: the value is the duration
    assert killed.until == NOW + 8
    assert fault("redis-down", "anything", 5, NOW).target == "stack"
    assert Fault.from_json(timed.to_json()) == timed


def test_the_view_of_the_faults_answers_each_service():
    assert not NONE and NONE.slow_ms("triage") == 0 and NONE.capacity_share("icac-wa") == 1
    view = Faults((fault("slow", "triage", 250, NOW), fault("capacity", "icac-wa", 0.1, NOW),
                   fault("silent", "icac-or", 1, NOW), fault("degrade", "load:poor", 3, NOW),
                   fault("fail", "router", 0.25, NOW)))
    assert view.slow_ms("triage") == 250 and view.slow_ms("router") == 0
    assert view.failure_share("router") == 0.25 and view.failure_share("triage") == 0
    assert view.capacity_share("icac-wa") == 0.1 and view.capacity_share("icac-or") == 1
    assert view.silent("icac-or") and not view.silent("icac-wa")
    assert view.degraded("load:poor") == 3 and view.degraded("load:good") == 0


def test_every_kind_says_what_to_look_for():
    for kind in KINDS.values():
        shown = describe(fault(kind.name, _target(kind.target), kind.high, NOW))
        assert shown["lookFor"] == kind.look_for and len(kind.look_for) > 40


def _target(kind: str) -> str:
    return {"service": "router", "agency": "icac-wa", "esp": "load:x", "stack": "stack"}[kind]


def test_a_failure_share_fails_that_share_of_deliveries_and_a_retry_may_succeed():
    ids = [f"{1700000000000 + i}-0".encode() for i in range(5000)]
    first = [fails(i, 1, 0.3) for i in ids]
    assert 0.27 < sum(first) / len(ids) < 0.33
    assert first == [fails(i, 1, 0.3) for i in ids]  # decided by entry and delivery
    failed = [i for i, f in zip(ids, first, strict=True) if f]
    assert 0.6 < sum(not fails(i, 2, 0.3) for i in failed) / len(failed) < 0.8
    assert not any(fails(i, 1, 0) for i in ids) and all(fails(i, 1, 1) for i in ids)


# ---- the shape of a load ----

def test_a_rate_curve_is_linear_between_its_points():
    assert load.Curve.parse("50").rate_at(1234) == 50
    curve = load.Curve.parse("0:10,10:110,20:10")
    assert curve.rate_at(5) == pytest.approx(60) and curve.rate_at(25) == 10
    assert curve.due(0, 20) == pytest.approx(1200, rel=0.01)  # the area under it
    with pytest.raises(ValueError, match="seconds:rate"):
        load.Curve.parse("fast")
    with pytest.raises(ValueError, match="at least zero"):
        load.Curve.parse("0:10,5:-1")


def test_a_load_stops_by_itself():
    with pytest.raises(ValueError, match="stops by itself"):
        load.Plan(curve=load.Curve.constant(5), duration_s=None, count=None)
    plan = load.Plan(curve=load.Curve.constant(5), duration_s=None, count=10)
    assert not plan.finished(10**6, 9) and plan.finished(0, 10)
    with pytest.raises(ValueError):
        load.Plan(curve=load.Curve.constant(5), count=10**9)


def test_the_reports_of_a_load_follow_its_mix_and_are_valid_reports():
    plan = load.Plan(curve=load.Curve.constant(1), count=2000,
                     mix=Mix(escalated=0.1, referral=0.5, informational=0.2, viral=0.1,
                             no_location=0.1),
                     profiles=(EspProfile("big", weight=3), EspProfile("small")))
    gen = load.Generator(plan)
    made = [gen.next() for _ in range(2000)]
    kinds = Counter(kind for _, kind, _ in made)
    for kind, share in zip(LOAD_KINDS, plan.mix.weights(), strict=True):
        assert abs(kinds[kind] / 2000 - share) < 0.04, kinds
    esps = Counter(p.name for p, _, _ in made)
    assert 0.7 < esps["big"] / 2000 < 0.8
    for _, kind, body in made[:300]:
        report = FiledReport.model_validate(body)
        assert (lane_for(report) == "escalated") == (kind == "escalated")
    memes = {b["files"][0]["originalFileHash"][0]["value"] for _, k, b in made if k == "viral"}
    assert 1 < len(memes) <= 10  # viral reports share a handful of hashes: they bundle


def test_an_esps_location_share_decides_whether_its_reports_can_be_assigned():
    def unassigned(profile: EspProfile) -> float:
        bodies = [load_report("referral", profile, i) for i in range(200)]
        return sum(bool(resolve(FiledReport.model_validate(b), TABLE, ZIPS, DIRECTORY).reasons)
                   for b in bodies) / len(bodies)

    assert unassigned(EspProfile("careful", location=1.0)) < 0.05
    assert unassigned(EspProfile("sloppy", location=0.0)) > 0.95
    assert 0.35 < unassigned(EspProfile("half", location=0.5)) < 0.65


def test_a_stripped_report_keeps_nothing_that_places_it():
    body = load_report("referral", EspProfile("x"), 7)
    strip_location(body)
    found = resolve(FiledReport.model_validate(body), TABLE, ZIPS, DIRECTORY)
    assert found.reasons, found


def test_bad_profiles_are_refused():
    with pytest.raises(ValueError, match="name"):
        EspProfile("Not A Name")
    with pytest.raises(ValueError, match="between 0 and 1"):
        EspProfile("x", location=2)
    with pytest.raises(ValueError, match="some above zero"):
        Mix(escalated=0, referral=0, informational=0, viral=0, no_location=0)


# ---- the scenario files ----

GAP = {"submitted": 10, "routed": 6, "unassigned": 2, "bundled": 1, "forwarded": 7,
       "byEsp": [{"name": "load:a", "unassignedShare": 0.5}],
       "timeToAck": {"p90": 3.5}}


def test_every_scenario_file_reads_and_names_what_it_checks():
    found = scenario.available()
    assert {"normal-day", "viral-flood", "location-poor-esp", "overloaded-task-force",
            "redis-outage", "urgent-during-flood", "crashing-consumer"} <= set(found)
    for name, s in found.items():
        assert (scenario.SCENARIOS / f"{name}.yaml").exists()
        assert s.steps and s.checks and s.summary and s.question and s.look_at
        for step in s.steps:
            if step.fault:
                fault(step.fault.kind, step.fault.target, step.fault.value, NOW)  # a valid fault


def test_figures_are_found_by_their_paths():
    assert scenario.figure(GAP, "placed") == 9
    assert scenario.figure(GAP, "timeToAck.p90") == 3.5
    assert scenario.figure(GAP, "byEsp[load:a].unassignedShare") == 0.5
    assert scenario.figure(GAP, "byEsp[load:b].unassignedShare") is None
    assert scenario.figure(GAP, "nothing.here") is None


def test_a_check_passes_on_its_bound_and_fails_on_a_missing_figure():
    check = scenario.Check(figure="bundled", measure="per_accepted", at_least=0.4, why="w")
    assert scenario.Result(check, before=10, after=50, accepted=100).measured == 0.4
    assert scenario.Result(check, before=10, after=50, accepted=100).passed
    assert not scenario.Result(check, before=10, after=49, accepted=100).passed
    assert not scenario.Result(check, before=None, after=None, accepted=100).passed
    assert not scenario.Result(check, before=0, after=5, accepted=0).passed
    with pytest.raises(ValueError, match="at_least or at_most"):
        scenario.Check(figure="bundled", why="w")


def test_a_bad_scenario_file_is_refused_with_where(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ntitle: t\nsummary: s\nquestion: q\nlook_at: l\nsteps:\n"
                    "  - {at: 0, title: both, load: {rate: 5, for: 1}, clear: {}}\n"
                    "  - {at: 1, title: endless, load: {rate: 5}}\nchecks: []\n")
    with pytest.raises(scenario.ScenarioError) as found:
        scenario.find(str(path))
    assert "steps.0" in str(found.value) and "more than one thing" in str(found.value)
    assert "steps.1.load" in str(found.value) and "'for'" in str(found.value)
    with pytest.raises(scenario.ScenarioError, match="the scenarios are"):
        scenario.find("no-such-scenario")


def test_a_simulated_day_is_spread_over_the_stacks_hours_and_capped():
    s = scenario.find("normal-day")
    run = scenario.Run(s, scenario.Options("http://i", "http://t", max_rate=100),
                       seconds_per_hour=2.5)
    plan = run.plan(s.steps[0].load, seed=1)
    assert plan.duration_s == 60  # a day of 24 simulated hours at 2.5 s each
    peak = max(r for _, r in plan.curve.points)
    assert peak == pytest.approx(100)  # capped at --max-rate, and the run says so
    assert run.notes and "--max-rate 100" in run.notes[0]
    night, evening = plan.curve.rate_at(3 * 2.5), plan.curve.rate_at(19 * 2.5)
    assert evening > 5 * night
    quick = scenario.Run(s, scenario.Options("http://i", "http://t", time_scale=0.25,
                                             max_rate=100), seconds_per_hour=2.5)
    assert quick.plan(s.steps[0].load, seed=1).duration_s == 15


def test_a_scaled_scenario_scales_its_rate_curve():
    s = scenario.find("viral-flood")
    run = scenario.Run(s, scenario.Options("http://i", "http://t", time_scale=0.5,
                                           rate_scale=0.5))
    plan = run.plan(s.steps[1].load, seed=2)
    assert plan.curve.points == ((0, 20), (5, 125), (12.5, 20)) and plan.duration_s == 15
    assert plan.mix == Mix.named({"viral": 1}) and plan.mix.weights() == [0, 0, 0, 1, 0]
