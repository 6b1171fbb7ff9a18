"""Every workshop scenario, scaled down, run with `tipline scenario run` against `tipline up` (real
processes, real Redis, the shipped agency directory): its progress names each step, and every
check of its expected effect passes. A scenario of our own shows the runner itself: the banner
on the dashboard while it runs, its faults set on cue and gone after, a failed check failing the
run."""

import subprocess
import textwrap

import httpx
import pytest

from tests.e2e.workshop import Workshop, summary, until, up
from tests.helpers import ANALYST
from tipline import scenario

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("workshop")]

# As docs/workshop.md writes them; the tests add the scale.
RUNS = [
    "tipline scenario run normal-day",
    "tipline scenario run viral-flood",
    "tipline scenario run location-poor-esp",
    "tipline scenario run overloaded-task-force",
    "tipline scenario run redis-outage",
    "tipline scenario run urgent-during-flood",
    "tipline scenario run crashing-consumer",
]
SCALED = "--time-scale 0.25 --max-rate 150"
# The flood must outrun the pipeline for its wait to show: scaled down to 150 reports a second
# it does only on a loaded machine. A router slowed to 100 a second (10 ms an entry, the urgent
# lane's too) makes the backlog the full-scale flood makes.
SLOWED = {"urgent-during-flood": "router 10"}


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Workshop:
    """The stack as `tipline up` starts it, with a simulated hour of one second (the scenarios'
    SLA breaches come within their scaled-down minutes) and a quicker reclaim (the crashing
    consumer's retries)."""
    workshop = up(tmp_path_factory.mktemp("scenarios") / "state", {
        "TIPLINE_SIM_SECONDS_PER_HOUR": "1", "TIPLINE_RECLAIM_IDLE_MS": "2000"})
    yield workshop
    said = workshop.stop()
    assert "stopped" in said and "unclean" not in said and "unexpectedly" not in said, said


def test_the_scenarios_are_listed_one_line_each(stage):
    listed = stage.run("tipline scenario list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == sorted(scenario.available())
    assert {c.split()[-1] for c in RUNS} == set(scenario.available())
    assert all(len(line.split()) > 8 for line in listed)


@pytest.mark.parametrize("command", RUNS, ids=[c.split()[-1] for c in RUNS])
def test_a_scaled_down_scenario_meets_its_expected_effects(stage, tmp_path, command):
    chosen = scenario.find(command.split()[-1])
    out = tmp_path / "result.json"
    if chosen.name in SLOWED:
        stage.run(f"tipline chaos set slow {SLOWED[chosen.name]}")
    try:
        done = stage.run(f"{command} {SCALED} --json {out}", timeout=600, ok=False)
    finally:
        if chosen.name in SLOWED:
            stage.run("tipline chaos clear slow")
    assert done.returncode == 0, done.stdout + done.stderr
    for step in chosen.steps:  # the progress names every step
        assert step.title in done.stdout
    result = summary(out)
    assert result["passed"] and len(result["checks"]) == len(chosen.checks)
    assert all(c["passed"] for c in result["checks"]), result["checks"]
    assert f"{chosen.name}: every check passed" in done.stdout
    assert sum(x["accepted"] for x in result["loads"]) > 0
    assert stage.faults() == []  # a scenario leaves no fault behind


def test_the_runner_shows_its_step_sets_faults_on_cue_and_fails_a_failed_check(stage, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(textwrap.dedent("""\
        name: mine
        title: A scenario of our own
        summary: reports for a few seconds while the router is slowed
        question: does the runner do what the file says?
        look_at: the banner
        steps:
          - {at: 0, title: a little load, load: {rate: 20, for: 6}}
          - {at: 1, title: the router slowed, fault: {kind: slow, target: router, value: 30}}
        checks:
          - {figure: placed, measure: per_accepted, at_least: 1, at_most: 1, why: all placed}
          - {figure: deadLetters, at_least: 1000, why: a check that cannot pass here}
        """))
    proc = subprocess.Popen(stage.argv(f"tipline scenario run {path}"), env=stage.cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = until(lambda: (b := stage.get("/v1/scenario")) and b["step"] ==
                       "the router slowed" and b, 20, "the banner naming the second step")
        assert (banner["name"], banner["index"], banner["of"]) == ("mine", 2, 2)
        assert until(lambda: stage.faults(), 10, "the step's fault")[0]["target"] == "router"
        output, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, output
    assert "PASS  per_accepted of placed = 1" in output
    assert "FAIL  change of deadLetters = 0 (expected at least 1000)" in output
    assert "mine: SOME CHECKS FAILED" in output
    assert stage.faults() == [] and httpx.get(f"{stage.tracker}/v1/scenario", headers=ANALYST,
                                              timeout=10).json() is None
