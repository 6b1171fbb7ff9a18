"""The simulator: its event queue, the seams it shares with the services, each policy knob's
effect in the direction expected (small cases checked by hand), and its files' errors."""

from pathlib import Path

import pytest
import yaml

from services.agencies.domain import next_turn, respond
from services.triage.domain import BundleWindow, first_report
from shared.directory import Directory
from tipline.cli import build_parser
from tipline.scenario import SCENARIOS
from tipline.simulate import BASELINE, WHATIFS
from tipline.simulate.engine import Arrival, Engine
from tipline.simulate.events import EventQueue
from tipline.simulate.model import Load, Policy, Simulation, SimulationError, read
from tipline.simulate.shapes import Rules, Shape, default_rules
from tipline.simulate.stats import Stats

# ---- the event queue ----


def test_events_come_out_in_time_order_and_ties_in_the_order_pushed() -> None:
    q: EventQueue[str] = EventQueue()
    assert q.next_at() is None
    for at, name in [(5.0, "e"), (1.0, "a"), (3.0, "c1"), (3.0, "c2"), (0.5, "first"),
                     (3.0, "c3")]:
        q.push(at, name)
    assert q.next_at() == 0.5
    assert [q.pop() for _ in range(len(q))] == [
        (0.5, "first"), (1.0, "a"), (3.0, "c1"), (3.0, "c2"), (3.0, "c3"), (5.0, "e")]
    assert len(q) == 0


# ---- the seams the services share with the simulator ----


def test_an_agency_takes_a_case_up_when_it_is_free() -> None:
    assert next_turn(busy_until=0.0, now=10.0, occupies=2.0) == (10.0, 12.0)  # idle: at once
    assert next_turn(busy_until=15.0, now=10.0, occupies=2.0) == (15.0, 17.0)  # behind its backlog


def test_a_viral_bundle_is_opened_by_its_first_report_and_closes_after_its_window() -> None:
    assert first_report([None, 7, 3], 12) == 3
    assert first_report([None], 12) == 12
    window = BundleWindow(window=10.0)
    assert window.join(1, ("md5:a",), now=0.0) == 1
    assert window.join(2, ("md5:b", "md5:a"), now=5.0) == 1  # shares a: joins 1's bundle
    assert window.join(3, ("md5:b",), now=6.0) == 1  # b now belongs to 1's bundle too
    assert window.join(4, ("md5:a",), now=10.5) == 4  # a's window is over: a new bundle


def _directory(capacity: float = 24, never: float = 0.0, delay: float = 0.0) -> Directory:
    profile = {"capacity_per_day": capacity, "never_ack_share": never, "outcome_share": 0,
               "ack_median_hours": {"p1": delay, "p2": delay, "p3": delay, "informational": delay}}
    return Directory.model_validate({
        "federal": {"default": "federal-x"},
        "agencies": [
            {"id": "icac-x", "name": "X", "kind": "icac", "jurisdictions": ["US-CA"],
             "profile": profile},
            {"id": "federal-x", "name": "F", "kind": "federal", "jurisdictions": ["US"],
             "profile": {**profile, "never_ack_share": 0, "capacity_per_day": 24}}]})


def _rules(**profile: float) -> Rules:
    r = default_rules()
    return Rules(r.known, r.ip_table, r.zips, _directory(**profile))  # type: ignore[arg-type]


def _shape(lane: str = "p3", priority: int = 3) -> Shape:
    return Shape(priority, "referral", lane, (("icac-x", "jurisdiction"),), (), (), False, None)


def _run(policy: Policy, shapes: list[tuple[float, Shape]], **profile: float) -> Stats:
    sim = Simulation(name="t", load=Load(per_day=0, settle_days=10), policy=policy)
    return Engine(sim, rules=_rules(**profile)).run(Arrival(at, "esp", s) for at, s in shapes)


def test_respond_without_delay_acknowledges_after_the_wait_alone() -> None:
    import random

    profile = _directory().agencies[0].profile
    assert respond(random.Random(1), profile, "p3", queue_hours=2.5).ack_after == 2.5
    never = _directory(never=1.0).agencies[0].profile
    assert respond(random.Random(1), never, "p3").ack_after is None


def test_ten_cases_at_once_wait_one_hour_each_behind_each_other() -> None:
    """Capacity 24 a day: a case an hour; ten at t=0, no delay of its own: acknowledged after
    0, 1, ..., 9 hours. Buckets (upper bounds 0.25, 0.5, 1, 2, 4, 8, 12 h): 0 | - | 1 | 2 |
    3, 4 | 5, 6, 7, 8 | 9."""
    stats = _run(Policy(), [(0.0, _shape())] * 10)
    assert stats.ack_buckets["p3"][:7] == [1, 0, 1, 1, 2, 4, 1]
    assert stats.counts["forwarded"] == stats.counts["acknowledged"] == 10
    summary = stats.summary(Policy().sla_hours)["lanes"]["p3"]
    assert summary["p50"] == 4.0  # rank 5 of 10: the second of the two in (2, 4], its top


def test_more_capacity_lowers_the_p90() -> None:
    cases = [(0.0, _shape())] * 10
    slow = _run(Policy(), cases).summary(Policy().sla_hours)["lanes"]["p3"]
    fast = _run(Policy(capacity_scale=2), cases).summary(Policy().sla_hours)["lanes"]["p3"]
    assert fast["p90"] < slow["p90"]
    half = _run(Policy(capacity={"icac-x": 0.5}), cases).summary(Policy().sla_hours)
    assert half["lanes"]["p3"]["p90"] > slow["p90"]


def test_a_shorter_sla_breaches_the_cases_acknowledged_after_it() -> None:
    """Acknowledged after 0..9 h; an SLA of 5 h: the four acknowledged after 6, 7, 8 and 9 h are
    breached (the one at exactly 5 h is not), none is dark at the end (all acknowledged)."""
    stats = _run(Policy(sla_hours={"p3": 5}), [(0.0, _shape())] * 10)
    assert stats.counts["sla_breaches"] == 4
    assert stats.counts.get("dark", 0) == 0
    assert _run(Policy(), [(0.0, _shape())] * 10).counts.get("sla_breaches", 0) == 0


def test_a_p1_case_never_acknowledged_is_renotified_then_escalated() -> None:
    """SLA 4 h: breached at 4 h (re-notified, the agency still never answers), at 8 h again
    (escalated to the federal partner, who acknowledges at once): two breaches, two cases
    forwarded, one acknowledged, the local one dark."""
    stats = _run(Policy(), [(0.0, _shape("p1", 1))], never=1.0)
    c = stats.counts
    assert (c["sla_breaches"], c["renotified"], c["escalations"]) == (2, 1, 1)
    assert (c["forwarded"], c["acknowledged"], c["dark"]) == (2, 1, 1)
    assert stats.agencies["federal-x"] == {"forwarded": 1, "acknowledged": 1}


def test_an_agency_at_twice_the_capacity_keeps_a_p1_case_in_its_sla() -> None:
    """Six P1 cases at once at a case an hour: the fifth and sixth wait 4 and 5 hours (the sixth
    past the SLA of 4 h). At a case each half hour, none waits past 2.5 h."""
    cases = [(0.0, _shape("p1", 1))] * 6
    assert _run(Policy(), cases).counts["renotified"] == 1
    assert _run(Policy(capacity_scale=2), cases).counts.get("renotified", 0) == 0


def _year(policy: Policy, days: float = 20) -> dict:
    load = Load(per_day=400, days=days, esps=({"name": "a", "location": 0.5},))  # type: ignore[arg-type]
    sim = Simulation(name="t", load=load, policy=policy)
    return Engine(sim).run().summary(policy.sla_hours)


def test_more_reports_with_a_location_fewer_unassigned() -> None:
    poor, rich = _year(Policy(location=0.2)), _year(Policy(location=0.9))
    assert rich["unassigned_share"] < poor["unassigned_share"]


def test_bundling_off_routes_the_viral_duplicates() -> None:
    on, off = _year(Policy()), _year(Policy(bundling=False))
    assert on["bundled"] > 0 and off["bundled"] == 0
    assert off["forwarded"] > on["forwarded"]


def test_partitions_add_up_exactly() -> None:
    a, b = Stats(), Stats()
    a.counts.update(x=1)
    b.counts.update(x=2, y=1)
    a.ack_buckets["p1"][3] = 2
    b.ack_buckets["p1"][3] = 5
    merged = a.merge(b)
    assert merged.counts == {"x": 3, "y": 1}
    assert merged.ack_buckets["p1"][3] == 7


# ---- files ----


def _write(tmp_path: Path, data: dict, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("data", "names"), [
    ({"name": "x", "policy": {"capacity_scal": 2}}, "policy.capacity_scal"),
    ({"name": "x", "load": {"mix": {"memes": 1}}}, "load.mix"),
    ({"name": "x", "policy": {"sla_hours": {"p9": 3}}}, "policy.sla_hours"),
    ({"name": "x", "load": {"esps": [{"name": "a", "location": 2}]}}, "load.esps.0: .*location"),
    ({"name": "x", "load": {"daily_shape": [1, 2]}}, "load.daily_shape"),
])
def test_a_bad_file_is_refused_naming_the_field(tmp_path: Path, data: dict, names: str) -> None:
    with pytest.raises(SimulationError, match=names):
        read(_write(tmp_path, data))


def test_a_what_if_changes_only_what_it_names(tmp_path: Path) -> None:
    base, _ = read(BASELINE)
    changed, _ = read(BASELINE, _write(tmp_path, {"policy": {"sla_hours": {"p2": 24}}}, "w.yaml"))
    assert changed.name == "w"
    assert changed.policy.sla_hours == {**base.policy.sla_hours, "p2": 24}
    assert changed.load == base.load and changed.policy.capacity == base.policy.capacity


def test_the_shipped_what_ifs_are_valid() -> None:
    names = sorted(p.stem for p in WHATIFS.glob("*.yaml"))
    assert names == ["bundling-off", "federal-double", "locations-90", "p2-sla-24h",
                     "task-force-half"]
    for path in WHATIFS.glob("*.yaml"):
        read(BASELINE, path)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_workshop_scenario_is_simulator_input(path: Path) -> None:
    sim, _ = read(path)
    stats = Engine(sim, share=0.05).run()
    assert stats.counts.get("submitted", 0) > 0


def test_a_workshop_scenario_has_its_expected_effect_in_the_simulator() -> None:
    """overloaded-task-force: at 5% of its capacity, most of the Sacramento task force's cases go
    dark (its check: at least half); without the fault, a small share."""
    sim, _ = read(SCENARIOS / "overloaded-task-force.yaml")
    faulted = Engine(sim).run().agencies["icac-ca-sacramento"]
    calm = Engine(sim.model_copy(update={"policy": Policy()})).run().agencies["icac-ca-sacramento"]
    assert faulted["dark"] / faulted["forwarded"] >= 0.5
    assert calm["dark"] / calm["forwarded"] < faulted["dark"] / faulted["forwarded"] / 2


def test_the_command_line_has_simulate() -> None:
    args = build_parser().parse_args(["simulate", "--sample", "0.01", "--what-if",
                                      "bundling-off", "--png", "x.png"])
    assert args.sample == 0.01 and args.what_if == ["bundling-off"] and args.png == "x.png"
