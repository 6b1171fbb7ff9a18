"""Signing in to the dashboard leads back to the page asked for (a report's, an agency's, with
`?projector`), and only ever to a page of the dashboard itself."""

import html
import re

import pytest

from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from shared import devkeys
from tests.helpers import running

pytestmark = pytest.mark.integration


def next_of(page: str) -> str:
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found, page
    return html.unescape(found.group(1))


async def test_sign_in_leads_back_to_the_page_asked_for(make_settings):
    async with running(tracker_app(make_settings(TrackerSettings))) as client:
        asked = await client.get("/dashboard/reports/42?projector")
        assert asked.status_code == 200 and 'name="key"' in asked.text
        assert next_of(asked.text) == "/dashboard/reports/42?projector"
        refused = await client.post("/dashboard/login", data={
            "key": "wrong-key", "next": "/dashboard/reports/42?projector"})
        assert refused.status_code == 401 and next_of(refused.text) == (
            "/dashboard/reports/42?projector")
        signed = await client.post("/dashboard/login", data={
            "key": devkeys.ANALYST_KEY, "next": "/dashboard/agencies/icac-oh?projector=1"})
        assert signed.status_code == 303
        assert signed.headers["location"] == "/dashboard/agencies/icac-oh?projector=1"
        page = await client.get("/dashboard/agencies/icac-oh?projector=1")
        assert 'name="key"' not in page.text  # the dashboard itself, signed in


@pytest.mark.parametrize("elsewhere", [
    "https://example.com/", "//example.com/dashboard", "/dashboard/../v1/gap", "/v1/gap",
    "/dashboard\\@example.com", "/dashboard?x=\"><script>", "",
])
async def test_sign_in_never_leads_off_the_dashboard(make_settings, elsewhere):
    async with running(tracker_app(make_settings(TrackerSettings))) as client:
        signed = await client.post("/dashboard/login", data={
            "key": devkeys.ANALYST_KEY, "next": elsewhere})
        assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
        refused = await client.post("/dashboard/login", data={"key": "x", "next": elsewhere})
        assert next_of(refused.text) == "/dashboard" and "<script>" not in refused.text
