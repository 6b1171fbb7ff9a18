"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright through its
executable path; nothing downloads a browser), while reports flow through the real processes:
its numbers change, they equal the API's, a dark case opens its timeline; one offender's linked
reports show in the linked-reports section, and in an agency's queue with their links, notices and
preservation, and on a linked report's timeline. Screenshots of the overview, the agencies, a
timeline, the linked reports, a queue and a linked report's timeline go to
test-artifacts/dashboard/."""

import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import devkeys
from shared.settings import DATA_DIR
from tests.faults import harness
from tests.helpers import ANALYST, ESP
from tests.report_builder import build, file
from tipline.stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH (apt-get install chromium): the dashboard's browser test "
                    "cannot run here")
    return path


def figure(page, name: str) -> int:
    return int(page.locator(f"#fig-{name}").inner_text().replace(",", ""))


def sign_in(page, tracker: str) -> None:
    page.goto(f"{tracker}/dashboard")
    page.fill("#key", devkeys.ANALYST_KEY)
    page.click("button[type=submit]")
    page.wait_for_selector("#fig-submitted")


def test_the_dashboard_shows_the_gap_live_and_opens_a_dark_case(tmp_path):
    executable = chromium()
    from playwright.sync_api import sync_playwright

    stack = harness.fault_stack(tmp_path)
    try:
        tracker = stack.url("tracker")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{tracker}/dashboard")
            page.fill("#key", "wrong-key")
            page.click("button[type=submit]")
            assert "refused" in page.content()
            page.fill("#key", devkeys.ANALYST_KEY)
            page.click("button[type=submit]")
            page.wait_for_selector("#fig-submitted")
            first = figure(page, "submitted")
            # reports start to flow once the page is open (a browser can take longer to start
            # than the whole flood takes to submit)
            flood = harness.flood(stack, n=1200, run_id="dashboard")
            # while reports flow the numbers move
            page.wait_for_function(
                f"() => Number(document.querySelector('#fig-submitted').textContent"
                f".replace(/,/g, '')) > {first}", timeout=30_000)
            flood.join(120)
            harness.settle(stack, set(flood.accepted))
            # settled: every figure on the page equals the API's (after the next refresh)
            flow = ("submitted", "forwarded", "acknowledged", "dark", "unassigned")
            links = ("groups", "linkedReports", "deconflictions")  # the scenario's repeat offenders
            deadline = time.monotonic() + 15
            while True:
                gap = httpx.get(f"{tracker}/v1/gap", headers=ANALYST, timeout=10).json()
                expected = {k: gap[k] for k in flow} | {k: gap["linking"][k] for k in links}
                shown = {k: figure(page, k) for k in expected}
                if shown == expected or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert shown == expected
            assert expected["submitted"] == 1200 and expected["dark"] > 0
            assert expected["groups"] >= 1 and expected["deconflictions"] >= 1
            page.screenshot(path=str(ARTIFACTS / "overview.png"))
            rows = page.locator("#agency-table tbody tr")
            assert rows.count() == len([a for a in gap["byAgency"] if a["forwarded"]])
            # in one task of the page: the dashboard redraws every second, and an element found
            # before a redraw is detached after it
            page.evaluate("document.querySelector('#agencies').scrollIntoView()")
            page.locator("#agency-table th", has_text="Forwarded").click()  # sort by it
            page.screenshot(path=str(ARTIFACTS / "agencies.png"))
            page.wait_for_selector("#dark-table tbody tr a")
            text = page.locator("#dark-table tbody tr a").first.inner_text()
            report_id = int(text.split()[-1])
            # that report's link, whichever row a redraw puts it in
            page.locator("#dark-table tbody tr a", has_text=text).first.click()
            page.wait_for_selector("#stage-table")
            assert page.url.endswith(f"/dashboard/reports/{report_id}")
            stages = page.locator("#stage-table tbody tr").all_inner_texts()
            assert any("sla_breach_1" in s for s in stages) and any("handoff" in s for s in stages)
            assert "dark !" in page.locator("#handoff-table").inner_text()
            page.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)
            browser.close()
    finally:
        stack.stop()
    for name in ("overview", "agencies", "timeline"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 20_000


# ---- linked reports ----

LINKING = ("groups", "linkedReports", "routedByGroup", "deconflictions", "noticesSent",
           "noticesAcknowledged")
PRESERVATION = ("expiredBeforeAck", "atRisk", "warnings")


def linking_directory(path: Path) -> Path:
    """Agencies that acknowledge within simulated hours, except Ohio's task force, which
    acknowledges nothing: its open queue holds its linked cases, and their notices stay
    unacknowledged, however long the page takes to read."""
    data = json.loads((DATA_DIR / "agencies.json").read_text())
    for agency in data["agencies"]:
        agency["profile"].update(
            capacity_per_day=100_000, ack_spread=0.3, outcome_share=0.0,
            never_ack_share=1.0 if agency["id"] == "icac-oh" else 0.0,
            ack_median_hours={lane: 1.0 for lane in ("p1", "p2", "p3", "informational")})
    path.write_text(json.dumps(data))
    return path


def linking_stack(tmp_path: Path) -> Stack:
    stack = Stack.on_free_ports(tmp_path / "stack", settings={
        "TIPLINE_POLL_MS": "50", "TIPLINE_SIM_SECONDS_PER_HOUR": "0.5",
        "TIPLINE_SLA_P1_HOURS": "1000000",  # no re-notification, no escalation: one case each
        # preservation shorter than the at-risk period: an unacknowledged case is at risk from its
        # handoff, and it ends 20 simulated days (240 s) after submission, long after the test
        "TIPLINE_PRESERVATION_DAYS": "20", "TIPLINE_PRESERVATION_AT_RISK_DAYS": "30",
        "TIPLINE_DIRECTORY_FILE": str(linking_directory(tmp_path / "agencies.json")),
    })
    stack.start(timeout=90)
    return stack


def offender(account: str, location: tuple[str, str] | None, prior: int | None = None,
             unviewed_file: bool = False) -> dict[str, Any]:
    body = build(user=("id",), location=location,
                 files=(file(seed=account),) if unviewed_file else ())
    suspect = body["personOrUserReported"]
    suspect["espService"], suspect["espIdentifier"] = "Synthetic Chat", account
    if prior is not None:
        suspect["priorCTReports"] = [prior]
    if unviewed_file:
        body["files"][0]["fileViewedByEsp"] = False
    return body


def test_linked_reports_show_on_the_dashboard_and_in_the_agency_queue(tmp_path, test_id):
    executable = chromium()
    from playwright.sync_api import expect, sync_playwright

    stack = linking_stack(tmp_path)
    try:
        intake, tracker = stack.url("intake"), stack.url("tracker")

        def api(path: str) -> Any:
            r = httpx.get(f"{tracker}{path}", headers=ANALYST, timeout=10)
            r.raise_for_status()
            return r.json()

        def routed(body: dict[str, Any]) -> int:
            """Filed and routed: the next report finds this one's holder."""
            r = httpx.post(f"{intake}/v1/reports", json=body, headers=ESP, timeout=10)
            assert r.status_code == 202, r.text
            report_id = r.json()["reportId"]
            harness.until(lambda: any(s["stage"] == "routed" for s in httpx.get(
                f"{tracker}/v1/reports/{report_id}", headers=ANALYST, timeout=5).json().get(
                "stages", [])), timeout=30, what=f"report {report_id} routed")
            return report_id

        account = f"offender-{test_id}"
        first = routed(offender(account, ("US", "OH"), unviewed_file=True))
        second = routed(offender(account, ("US", "GA")))
        third = routed(offender(account, None, prior=first))
        # Georgia acknowledges its two notices (of the first and the third); Ohio never does
        harness.until(lambda: api("/v1/gap")["linking"]["noticesAcknowledged"] == 2, timeout=30,
                      what="Georgia's two notices acknowledged")
        gap = api("/v1/gap")
        assert tuple(gap["linking"][k] for k in LINKING) == (1, 3, 1, 2, 4, 2)
        assert gap["preservation"]["atRisk"] >= 2  # Ohio's two cases

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            sign_in(page, tracker)
            # the section's figures are the API's (after the next refresh)
            for key in LINKING:
                expect(page.locator(f"#fig-{key}")).to_have_text(
                    str(gap["linking"][key]), timeout=10_000)
            deadline = time.monotonic() + 15
            while True:  # warnings and the at-risk count move with the watcher: the same moment
                preservation = api("/v1/gap")["preservation"]
                shown = {k: figure(page, k) for k in PRESERVATION}
                if shown == {k: preservation[k] for k in PRESERVATION} or \
                        time.monotonic() > deadline:
                    break
                page.wait_for_timeout(300)
            assert shown == {k: preservation[k] for k in PRESERVATION}
            assert shown["atRisk"] >= 2 and shown["expiredBeforeAck"] == 0
            expect(page.locator("#preservation-setting")).to_contain_text("20 simulated days")
            expect(page.locator("#notice-ack")).to_contain_text("over 2 notice(s)")
            # the per-agency table: notices acknowledged of those sent
            oh = page.locator("#agency-table tbody tr", has_text="icac-oh")
            expect(oh.locator("td").last).to_have_text("0 / 2")
            expect(page.locator("#agency-table tbody tr", has_text="icac-ga").locator(
                "td").last).to_have_text("2 / 2")
            page.evaluate("document.querySelector('#linking').scrollIntoView()")
            page.screenshot(path=str(ARTIFACTS / "linking.png"))

            # Ohio's open queue, in the API's order: the first report and the third (routed by
            # its group), with the notices of Georgia's, the preservation left, the legal process
            queue = api("/v1/agencies/icac-oh/cases?status=open&limit=200")["cases"]
            assert {c["reportId"] for c in queue} == {first, third}
            page.goto(f"{tracker}/dashboard/agencies/icac-oh")
            page.wait_for_selector("#queue-table")
            rows = page.locator("#queue-table tbody tr")
            assert [int(r) for r in rows.evaluate_all(
                "rows => rows.map(r => r.dataset.report)")] == [c["reportId"] for c in queue]
            one = page.locator(f"#queue-table tr[data-report='{first}']")
            expect(one.locator("td.notices")).to_have_text(
                f"report {second} at icac-ga: not acknowledged")
            expect(one.locator("td.legal")).to_have_text("1 file needs legal process")
            left = one.locator("td.preservation").inner_text()
            assert re.fullmatch(r"\d+\.\d d", left) and 0 < float(left[:-2]) <= 20, left
            three = page.locator(f"#queue-table tr[data-report='{third}']")
            expect(three.locator("td.links")).to_contain_text(
                f"report {first} held by icac-oh (esp-account, prior-report)")
            # linked to the account's first holder directly, to the second through the group
            expect(three.locator("td.links")).to_contain_text(f"group {first} of 3")
            expect(three.locator("td.notices")).to_have_text(
                f"report {second} at icac-ga: not acknowledged")
            expect(three.locator("td.legal")).to_have_text("–")
            page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)
            # the existing sort: a click on a column orders by it
            page.locator("#queue-table th").filter(has_text=re.compile("^Report$")).click()
            expect(page.locator("#queue-table tbody tr").first).to_have_attribute(
                "data-report", str(max(first, third)))

            # a link opens the linked report's timeline: its group and its notices
            page.locator(f"#queue-table tr[data-report='{third}'] td.links a",
                         has_text=f"report {first}").click()
            page.wait_for_selector("#member-table")
            assert page.url.endswith(f"/dashboard/reports/{first}")
            members = page.locator("#member-table tbody tr").all_inner_texts()
            assert [m.split("\t")[:2] for m in members] == [
                [f"report {first} (this one)", "icac-oh"], [f"report {second}", "icac-ga"],
                [f"report {third}", "icac-oh"]]
            expect(page.locator("#notice-table tbody tr")).to_have_count(1)
            expect(page.locator("#notice-table tbody td")).to_have_text([
                "icac-oh", f"report {second}", "icac-ga", re.compile(r"\d{4}-\d\d-\d\d "),
                "not acknowledged"])
            page.screenshot(path=str(ARTIFACTS / "linked-timeline.png"), full_page=True)
            browser.close()
    finally:
        stack.stop()
    for name in ("linking", "queue", "linked-timeline"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 20_000
