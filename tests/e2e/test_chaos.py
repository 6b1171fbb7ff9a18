"""Faults on cue against `tipline up`, as a workshop sets them: for every kind, the fault is set
with `tipline chaos set`, reaches what it targets, has its effect in the pipeline (a group falls
behind, dead letters, dark cases, unassigned reports, refusals), and once cleared or over the
pipeline recovers with nothing lost and nothing doubled. The pipeline view in a real browser
shows a slowed consumer's growing backlog and its fault, and both go back when it is cleared
(screenshots in test-artifacts/workshop/)."""

import time
from pathlib import Path

import httpx
import pytest

from shared import devkeys
from shared.faults import KINDS
from tests.conftest import directory_with
from tests.e2e.test_dashboard import BROWSER_FLAGS, chromium
from tests.e2e.workshop import ROOT, Workshop, summary, until, up
from tests.helpers import ESP
from tests.report_builder import build, file

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("workshop")]

ARTIFACTS = ROOT / "test-artifacts" / "workshop"
SECONDS_PER_HOUR = 0.2


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Workshop:
    """Agencies that acknowledge every case within about a simulated hour and have room for ten
    cases an hour, so that what a fault does stands out; SLAs of ten simulated hours (2 s)."""
    tmp = tmp_path_factory.mktemp("chaos")
    directory = directory_with(
        tmp / "agencies.json", never_ack_share=0.0, outcome_share=0.0, ack_spread=0.3,
        ack_median_hours={lane: 1.0 for lane in ("p1", "p2", "p3", "informational")},
        capacity_per_day=240)
    workshop = up(tmp / "state", {
        "TIPLINE_DIRECTORY_FILE": str(directory),
        "TIPLINE_SIM_SECONDS_PER_HOUR": str(SECONDS_PER_HOUR),
        "TIPLINE_RECLAIM_IDLE_MS": "1000", "TIPLINE_POLL_MS": "50",
        **{f"TIPLINE_SLA_{lane}_HOURS": "10" for lane in ("P1", "P2", "P3")}})
    yield workshop
    said = workshop.stop()
    assert "stopped" in said and "unclean" not in said and "unexpectedly" not in said, said


@pytest.fixture(autouse=True)
def nothing_left_in_force(room: Workshop):
    """Each test starts with no fault in force and nothing waiting in any consumer group."""
    until(drained(room), 60, "the pipeline drained before the test")
    yield
    room.clear_all()


def drained(room: Workshop):
    return lambda: all(g["lag"] + g["pending"] == 0 for g in room.get("/v1/pipeline"))


def reports_to(state: str, n: int, tag: str) -> list[dict]:
    """Reports a task force of `state` is handed (their estimated location is there)."""
    return [build(location=("US", state), files=(file(seed=f"{tag}-{state}-{i}-{time.time()}"),))
            for i in range(n)]


def load_command(room: Workshop, tmp_path: Path, command: str) -> tuple[str, Path]:
    out = tmp_path / f"load-{len(room.ran)}.json"
    return f"{command} --json {out}", out


def newer_letters(room: Workshop, before: int, n: int) -> list[dict] | None:
    """The dead letters written since there were `before`, once there are `n` of them."""
    letters = room.dead_letters()  # newest first
    return letters[:len(letters) - before] if len(letters) >= before + n else None


def settled(room: Workshop, before: int, accepted: int, timeout: float = 60) -> None:
    """Every accepted report placed (routed, unassigned or bundled), none twice."""
    until(lambda: room.placed() - before >= accepted, timeout, f"{accepted} reports placed")
    assert room.placed() - before == accepted


# ---- the commands ----

def test_chaos_says_what_each_fault_does_and_refuses_what_it_cannot_set(room):
    kinds = room.run("tipline chaos kinds").stdout
    assert all(f"\n{k} " in f"\n{kinds}" for k in KINDS) and kinds.count("look for:") == len(KINDS)
    assert "no fault in force" in room.run("tipline chaos list").stdout

    said = room.run("tipline chaos set slow router 20 --seconds 600").stdout
    assert "set: slow router = 20 (ms per entry)" in said and "look for:" in said
    listed = room.run("tipline chaos list").stdout
    assert "slow router = 20" in listed and "s more" in listed
    assert [(f["kind"], f["target"], f["value"]) for f in room.faults()] == [("slow", "router", 20)]

    refused = room.run("tipline chaos set slow intake 20", ok=False)
    assert refused.returncode == 1 and "a service that reads streams" in refused.stderr
    unknown = room.run("tipline chaos set melt router 1", ok=False)
    assert unknown.returncode == 2 and "KIND is one of slow, fail" in unknown.stderr
    no_agency = room.run("tipline chaos set capacity icac-xx 0.5", ok=False)
    assert no_agency.returncode == 1 and "no agency 'icac-xx'" in no_agency.stderr
    people = room.run("tipline chaos set silent icac-wa", ok=False)  # played by people
    assert people.returncode == 1 and "played by the simulator" in people.stderr
    analyst = room.run(f"tipline chaos set slow triage 5 --key {devkeys.ANALYST_KEY}", ok=False)
    assert analyst.returncode == 2 and "the key was refused (401)" in analyst.stderr

    assert "cleared 1 fault(s)" in room.run("tipline chaos clear").stdout
    assert room.faults() == []


# ---- a consumer slowed, failing ----

def test_a_slowed_consumer_falls_behind_and_catches_up_once_cleared(room, tmp_path):
    before, read = room.placed(), room.group("triage")["entriesRead"]
    command, result = load_command(room, tmp_path, "tipline load --rate 40 --duration 25")
    load = room.start(command)
    try:
        until(lambda: room.group("triage")["entriesRead"] > read + 40, 20, "reports flowing")
        room.run("tipline chaos set slow triage 150")
        until(lambda: room.sees("triage", "slow", "triage"), 5, "triage seeing the fault")
        until(lambda: sum(room.group("triage")[k] for k in ("lag", "pending")) >= 80, 20,
              "triage falling behind")
        assert room.group("router")["lag"] < 40  # only triage is slowed
        room.run("tipline chaos clear slow triage")
        until(lambda: not room.sees("triage", "slow", "triage"), 5, "triage seeing it cleared")
        until(lambda: room.group("triage")["lag"] <= 10, 30, "triage catching up")
        assert load.wait(60) == 0, load.stdout.read()
    finally:
        load.kill()
    done = summary(result)
    assert done["failed"] == 0 and done["accepted"] > 600
    settled(room, before, done["accepted"])


def test_a_failing_consumer_retries_then_dead_letters_and_the_replay_places_them(room):
    before, letters = room.placed(), len(room.dead_letters())
    room.run("tipline chaos set fail router 1")
    until(lambda: room.sees("router", "fail", "router"), 5, "the router seeing the fault")
    failed = room.submit(reports_to("WA", 5, "fail"))
    new = until(lambda: newer_letters(room, letters, 5), 30, "five dead letters")
    assert {(x["group"], x["deliveries"]) for x in new} == {("router", 3)}  # retried, then dead
    assert all("a fault fails 100% of router's deliveries" in x["reason"] for x in new)
    assert not any("routed" in room.stages(i) for i in failed)
    listed = room.run("tipline dlq list").stdout
    assert all(x["id"] in listed for x in new) and "InjectedFailure" in listed

    room.run("tipline chaos clear fail router")
    until(lambda: not room.sees("router", "fail", "router"), 5, "the router seeing it cleared")
    after = room.submit(reports_to("WA", 5, "fixed"))
    until(lambda: room.all_reached(after, "routed"), 20, "reports routed after the fix")
    assert len(room.dead_letters()) == letters + 5

    assert "replayed 5 dead letter(s)" in room.run("tipline dlq replay --all").stdout
    until(lambda: room.all_reached(failed, "routed"), 20, "the replayed reports routed")
    settled(room, before, 10)


def test_poison_entries_are_dead_lettered_and_the_stream_flows_on(room):
    letters = len(room.dead_letters())
    said = room.run("tipline chaos poison tipline:reports:triaged:p2 3").stdout
    assert "wrote 3 poison entries on tipline:reports:triaged:p2" in said
    new = until(lambda: newer_letters(room, letters, 3), 20, "three dead letters")
    assert {(x["sourceStream"], x["deliveries"]) for x in new} == {
        ("tipline:reports:triaged:p2", 1)}  # invalid: dead at once, never retried
    ids = room.submit(reports_to("WA", 3, "after-poison"))
    until(lambda: room.all_reached(ids, "routed"), 20, "reports routed past the poison")


# ---- agencies ----

def acknowledged_at(room: Workshop, ids: list[int]) -> list[float]:
    from datetime import datetime

    times = []
    for i in ids:
        r = httpx.get(f"{room.tracker}/v1/reports/{i}", headers={
            "Authorization": f"Bearer {devkeys.ANALYST_KEY}"}, timeout=10).json()
        times += [datetime.fromisoformat(s["at"]).timestamp() for s in r["stages"]
                  if s["stage"] == "acknowledged"]
    return sorted(times)


def test_an_agency_at_a_share_of_its_capacity_takes_its_cases_slowly_until_cleared(room):
    room.run("tipline chaos set capacity icac-oh 0.02")
    until(lambda: room.sees("agencies", "capacity", "icac-oh"), 5, "the agencies seeing it")
    slowed, other = room.submit(reports_to("OH", 6, "cap")), room.submit(reports_to("OR", 6, "cap"))
    until(lambda: room.all_reached(slowed, "acknowledged"), 60, "the slowed agency's acks")
    assert all(room.stages(i) >= {"acknowledged"} for i in other)
    # a case takes 24/240 h at full capacity, 5 h at 2%: one acknowledgement every second
    spread = acknowledged_at(room, slowed)
    assert spread[-1] - spread[0] >= 4 * 5 * SECONDS_PER_HOUR * 0.8, spread
    quick = acknowledged_at(room, other)
    assert quick[-1] - quick[0] < 1.5, quick

    room.run("tipline chaos clear capacity icac-oh")
    until(lambda: not room.sees("agencies", "capacity", "icac-oh"), 5, "the agencies seeing it")
    recovered = room.submit(reports_to("OH", 6, "recovered"))
    until(lambda: room.all_reached(recovered, "acknowledged"), 30, "acks at full capacity")
    again = acknowledged_at(room, recovered)
    assert again[-1] - again[0] < 1.5, again


def test_a_silent_agency_leaves_its_cases_open_until_they_go_dark(room):
    dark = room.row("byAgency", "icac-nv")["dark"]
    room.run("tipline chaos set silent icac-nv")
    until(lambda: room.sees("agencies", "silent", "icac-nv"), 5, "the agencies seeing it")
    unheard, heard = room.submit(reports_to("NV", 5, "silent")), room.submit(
        reports_to("OR", 5, "silent"))
    until(lambda: room.all_reached(heard, "acknowledged"), 30, "the other agency acknowledging")
    until(lambda: room.row("byAgency", "icac-nv")["dark"] >= dark + 5, 30,
          "the silent agency's cases going dark past their SLA")
    assert not any("acknowledged" in room.stages(i) for i in unheard)

    room.run("tipline chaos clear silent icac-nv")
    until(lambda: not room.sees("agencies", "silent", "icac-nv"), 5, "the agencies seeing it")
    answered = room.submit(reports_to("NV", 5, "answered"))
    until(lambda: room.all_reached(answered, "acknowledged"), 30, "acks once it speaks again")
    assert not any("acknowledged" in room.stages(i) for i in unheard)  # received while silent


# ---- an ESP's data ----

def test_an_esp_that_loses_its_location_data_gets_its_reports_unassigned(room, tmp_path):
    def filed() -> tuple[int, int]:
        before, row = room.placed(), room.row("byEsp", "load:careful")
        command, result = load_command(
            room, tmp_path, "tipline load --count 30 --mix referral=1 --esp careful:location=1"
            " --recurring 0")  # a recurring offender's report would go to its group's holder
        room.run(command)
        accepted = summary(result)["accepted"]
        settled(room, before, accepted)
        return accepted, room.row("byEsp", "load:careful")["unassigned"] - row["unassigned"]

    room.run("tipline chaos set degrade load:careful 1")
    until(lambda: room.sees("intake", "degrade", "load:careful"), 5, "intake seeing it")
    accepted, unassigned = filed()
    assert accepted == 30 and unassigned == 30
    room.run("tipline chaos clear degrade")
    until(lambda: not room.sees("intake", "degrade", "load:careful"), 5, "intake seeing it")
    accepted, unassigned = filed()
    assert accepted == 30 and unassigned <= 2


# ---- what `tipline up` carries out: kill, pause, Redis away ----

@pytest.mark.parametrize("kind, service", [("kill", "router"), ("pause", "triage")])
def test_a_service_killed_or_paused_falls_behind_then_catches_up(room, tmp_path, kind, service):
    before, read = room.placed(), room.group(service)["entriesRead"]
    command, result = load_command(room, tmp_path, "tipline load --rate 30 --duration 20")
    load = room.start(command)
    try:
        until(lambda: room.group(service)["entriesRead"] > read + 30, 20, "reports flowing")
        # 8 s at 30 reports/s: a backlog of 25 shows even when a loaded machine runs the load late
        room.run(f"tipline chaos set {kind} {service} 8")
        verb = {"kill": "killed (SIGKILL)", "pause": "paused (SIGSTOP)"}[kind]
        until(lambda: any(f"fault: {service} {verb}" in line for line in room.said), 5,
              f"tipline up saying {service} is {kind}ed")
        assert [f["kind"] for f in room.faults()] == [kind]  # shown while it lasts
        until(lambda: room.group(service)["lag"] >= 25, 15, f"{service}'s backlog growing")
        back = "started again" if kind == "kill" else "running again"
        until(lambda: any(f"fault over: {service} {back}" in line for line in room.said), 20,
              f"{service} back")
        until(lambda: room.group(service)["lag"] <= 10, 30, f"{service} catching up")
        assert room.faults() == []
        assert load.wait(60) == 0, load.stdout.read()
    finally:
        load.kill()
    settled(room, before, summary(result)["accepted"])


def test_redis_away_is_answered_with_503_and_everything_resumes_from_its_file(room, tmp_path):
    before = room.placed()
    command, result = load_command(room, tmp_path, "tipline load --rate 30 --duration 20")
    load = room.start(command)
    try:
        until(lambda: room.placed() > before + 30, 20, "reports flowing")
        room.run("tipline chaos set redis-down stack 4")
        until(lambda: any("fault: Redis stopped" in line for line in room.said), 5, "Redis away")
        refused = until(lambda: (r := httpx.post(
            f"{room.intake}/v1/reports", json=reports_to("WA", 1, "away")[0], headers=ESP,
            timeout=10)).status_code == 503 and r, 10, "intake refusing while Redis is away")
        assert refused.headers["Retry-After"] and refused.json()["detail"]
        until(lambda: any("fault over: Redis started again" in line for line in room.said), 15,
              "Redis back")
        assert load.wait(90) == 0, load.stdout.read()
    finally:
        load.kill()
    done = summary(result)
    assert done["retried"] > 0 and done["failed"] == 0
    settled(room, before, done["accepted"])


# ---- the pipeline view in a room ----

def test_the_pipeline_view_shows_a_slowed_consumer_and_its_fault_then_recovery(room, tmp_path):
    executable = chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    command, result = load_command(room, tmp_path, "tipline load --rate 40 --duration 40")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{room.tracker}/dashboard?projector")  # asked for before signing in
        page.fill("#key", devkeys.ANALYST_KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("#pipeline g[data-service=triage]")
        projected = "document.documentElement.classList.contains('projector')"
        assert page.url.endswith("/dashboard?projector") and page.evaluate(projected)
        page.click("#projector")
        assert not page.evaluate(projected)
        page.click("#projector")
        assert page.evaluate(projected)
        page.goto(f"{room.tracker}/dashboard")  # it stays on in this browser
        page.wait_for_selector("#pipeline g[data-service=triage]")
        assert page.evaluate(projected)
        assert "day " in page.locator("#sim-clock").inner_text()
        load = room.start(command)
        try:
            triage = "#pipeline g[data-service=triage]"
            room.run("tipline chaos set slow triage 150")
            page.wait_for_selector(f"{triage}[data-fault=slow]", timeout=15_000)
            page.wait_for_function(
                f"() => Number(document.querySelector('{triage}').dataset.backlog) >= 80",
                timeout=30_000)
            banner = page.locator("#faults-banner").inner_text()
            assert "slow triage = 150" in banner and "look for:" in banner
            page.screenshot(path=str(ARTIFACTS / "pipeline-slowed.png"), full_page=True)
            room.run("tipline chaos clear")
            page.wait_for_selector(f"{triage}[data-fault='']", timeout=15_000)
            page.wait_for_function(
                f"() => Number(document.querySelector('{triage}').dataset.backlog) <= 10",
                timeout=40_000)
            assert page.locator("#faults-banner").count() == 0
            page.screenshot(path=str(ARTIFACTS / "pipeline-recovered.png"), full_page=True)
        finally:
            load.kill()
            load.wait(10)
        browser.close()
