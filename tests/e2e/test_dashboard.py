"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright through its
executable path; nothing downloads a browser), while reports flow through the real processes:
its numbers change, they equal the API's, a dark case opens its timeline. Screenshots of the
overview, the agencies and a timeline go to test-artifacts/dashboard/."""

import shutil
import time
from pathlib import Path

import httpx
import pytest

from shared import devkeys
from tests.faults import harness
from tests.helpers import ANALYST

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
            gap = httpx.get(f"{tracker}/v1/gap", headers=ANALYST, timeout=10).json()
            expected = {"submitted": gap["submitted"], "forwarded": gap["forwarded"],
                        "acknowledged": gap["acknowledged"], "dark": gap["dark"],
                        "unassigned": gap["unassigned"]}
            deadline = time.monotonic() + 15
            while True:
                gap = httpx.get(f"{tracker}/v1/gap", headers=ANALYST, timeout=10).json()
                expected = {k: gap[k] for k in expected}
                shown = {k: figure(page, k) for k in expected}
                if shown == expected or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert shown == expected
            assert expected["submitted"] == 1200 and expected["dark"] > 0
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
