"""The simulator against the live pipeline: one seeded load sent through `tipline up` (real
processes, real Redis) and through the simulator. Every report gets the same priority,
disposition, agencies and unassigned reasons (exactly: the same rules decide), and the hours to
acknowledgement per lane agree within TOLERANCE (the agencies draw their delays from their own
random streams on each side, and the live agencies' backlogs run on wall time)."""

import asyncio
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from shared.directory import load_directory
from shared.synthetic import EspProfile, Mix
from tests.conftest import directory_with
from tests.e2e.test_pipeline import ROOT, stack_env, started
from tests.e2e.workshop import until
from tests.helpers import ANALYST
from tipline import load
from tipline.simulate.engine import Arrival, Engine
from tipline.simulate.model import Load, Simulation
from tipline.simulate.shapes import Rules, decide_json, default_rules
from tipline.simulate.stats import Stats

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("workshop")]

SECONDS_PER_HOUR = 0.05
COUNT = 1000
# Each lane's p50 and p90 (the tracker's estimates from its buckets), live against simulated,
# for lanes with at least MIN_CASES acknowledged on both sides: within 30% of the larger, or
# within 2 simulated hours.
TOLERANCE = 0.30
TOLERANCE_HOURS = 2.0
MIN_CASES = 40
PLAN = load.Plan(
    curve=load.Curve.constant(100), duration_s=None, count=COUNT, seed=7, concurrency=1,
    mix=Mix(escalated=0.15, referral=0.55, informational=0.1, viral=0.1, no_location=0.1),
    profiles=(EspProfile("careful", weight=2, location=1.0, verified_contact=0.8),
              EspProfile("sloppy", location=0.3, verified_contact=0.1)),
    recurring_share=0)  # the simulator does not model linking: linked reports would route apart
ROUTES = {"jurisdiction", "federal_nexus", "multi_state", "unassigned_offer"}


def _live(tracker: str, ids: list[int]) -> list[dict]:
    with httpx.Client(base_url=tracker, headers=ANALYST, timeout=10) as client:
        return [client.get(f"/v1/reports/{i}").json() for i in ids]


def _simulate(timelines: list[dict], directory: Path, read_at: float) -> Stats:
    """The same reports, at the times they were submitted, through the simulator, until the
    simulated time the live gap was read at."""
    generator = load.Generator(PLAN)
    sent = [generator.next() for _ in range(COUNT)]
    shipped = default_rules()
    rules = Rules(shipped.known, shipped.ip_table, shipped.zips, load_directory(directory))
    at = [datetime.fromisoformat(next(s["at"] for s in t["stages"] if s["stage"] == "submitted"))
          .timestamp() for t in timelines]
    arrivals = [Arrival((when - at[0]) / SECONDS_PER_HOUR, f"load:{profile.name}",
                        decide_json(report, rules))
                for when, (profile, _, report) in zip(at, sent, strict=True)]
    settle_days = (read_at - at[0]) / SECONDS_PER_HOUR / 24
    sim = Simulation(name="agreement", load=Load(per_day=0, settle_days=settle_days))
    return Engine(sim, rules=rules, record=True).run(arrivals)


def _decisions(t: dict) -> tuple:
    agencies = [h["agency"] for h in t["handoffs"] if h["why"] in ROUTES]
    return t["priority"], t["disposition"], sorted(agencies), t["unassignedReasons"] or []


def test_the_simulator_agrees_with_the_live_pipeline(tmp_path, redis_url, topology):
    directory = directory_with(
        tmp_path / "agencies.json", never_ack_share=0.2, outcome_share=0.0,
        ack_median_hours={"p1": 1.0, "p2": 6.0, "p3": 12.0, "informational": 24.0})
    env = stack_env(tmp_path, directory, redis_url, prefix=topology.prefix)
    env.update({"TIPLINE_SIM_SECONDS_PER_HOUR": str(SECONDS_PER_HOUR),
                "TIPLINE_SLA_P1_HOURS": "4", "TIPLINE_SLA_CHECK_INTERVAL_MS": "20",
                "TIPLINE_RELEASE_INTERVAL_MS": "10"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "tipline", "up", "--state-dir", str(tmp_path / "state")],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        urls = started(proc)
        progress = asyncio.run(load.run(PLAN, urls["intake"], run_id=f"agree-{topology.prefix}"))
        assert progress.accepted == COUNT, progress.summary(time.monotonic())
        ids = sorted(i for found in progress.ids.values() for i in found)

        def gap() -> dict:
            return httpx.get(f"{urls['tracker']}/v1/gap", headers=ANALYST, timeout=10).json()

        until(lambda: (g := gap())["routed"] + g["unassigned"] + g["bundled"] >= COUNT, 60,
              "every report placed")
        seen: list[tuple[float, int]] = []

        def settled() -> bool:
            """No acknowledgement for three seconds: the agencies have said all they will."""
            acked = gap()["acknowledged"]
            if not seen or seen[-1][1] != acked:
                seen.append((time.monotonic(), acked))
            return time.monotonic() - seen[-1][0] > 3

        until(settled, 120, "the acknowledgements to stop coming")
        live_gap, read_at = gap(), time.time()
        timelines = _live(urls["tracker"], ids)
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output

    stats = _simulate(timelines, directory, read_at)
    simulated = {r["report"]: (r["priority"], r["disposition"], sorted(r["agencies"]),
                               r["unassigned_reasons"]) for r in stats.reports}
    live = {n: _decisions(t) for n, t in enumerate(timelines, 1)}
    assert live == simulated
    assert (live_gap["bundled"], live_gap["unassigned"]) == (
        stats.counts.get("bundled", 0), stats.counts.get("unassigned", 0))

    summary = stats.summary({})
    compared = 0
    for row in live_gap["byLane"]:
        mine = summary["lanes"][row["name"]]
        if row["name"] != "p1":  # a p1 case may be escalated: a case more, by chance
            assert row["forwarded"] == mine["forwarded"], row["name"]
        if min(row["acknowledged"], mine["acknowledged"]) < MIN_CASES:
            continue
        for q in ("p50", "p90"):
            a, b = row["timeToAck"][q], mine[q]
            assert abs(a - b) <= max(TOLERANCE * max(a, b), TOLERANCE_HOURS), (
                row["name"], q, a, b)
        compared += 1
    assert compared >= 2, live_gap["byLane"]
