"""One report's spans, from the intake request through triage, router, agency and tracker: one trace,
each consumer's span a child of the span that produced its entry, no report content in any
attribute."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.agencies.app import create_app as agencies_app
from services.agencies.config import AgenciesSettings
from services.intake.app import create_app as intake_app
from services.intake.config import IntakeSettings
from services.router.app import create_app as router_app
from services.router.config import RouterSettings
from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from services.triage.app import create_app as triage_app
from services.triage.config import TriageSettings
from shared.synthetic import synthetic_report
from tests.helpers import ANALYST, ESP, eventually, personal_values, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first in this process sets it
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_one_reports_spans_form_one_trace_across_the_five_services(
    exporter, make_settings, sure_directory
):
    common = dict(directory_file=sure_directory)
    apps = [triage_app(make_settings(TriageSettings)), router_app(make_settings(RouterSettings,
            **common)), agencies_app(make_settings(AgenciesSettings, **common))]
    tracker = tracker_app(make_settings(TrackerSettings, **common))
    intake = intake_app(make_settings(IntakeSettings))
    report = synthetic_report("escalated", "sample")
    async with running(tracker, ANALYST) as tracker_client, running(intake) as client, \
            running(apps[0]), running(apps[1]), running(apps[2]):
        exporter.clear()
        r = await client.post("/v1/reports", json=report,
                              headers=ESP)
        report_id = r.json()["reportId"]

        async def acknowledged():
            t = await tracker_client.get(f"/v1/reports/{report_id}")
            return t.status_code == 200 and t.json()["acknowledged"]
        await eventually(acknowledged, timeout=20, what="the acknowledgement recorded")

    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "POST /v1/reports"]  # FastAPI's server span
    trace_id = request.context.trace_id
    mine = [s for s in spans if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in mine}

    def handling(service: str, stream_part: str):
        return [s for s in mine if s.attributes.get("tipline.service") == service
                and stream_part in s.attributes.get("messaging.destination.name", "")]

    [triaged] = handling("triage", "submitted:escalated")
    [routed] = handling("router", "triaged:p1")
    [case] = handling("agencies", ":inbox")
    [acked] = [s for s in handling("tracker", "agency:responses")
               if s.attributes["tipline.event_type"] == "CaseAcknowledged"]
    assert {s.attributes.get("tipline.service") for s in mine} >= {
        "triage", "router", "agencies", "tracker"}
    assert triaged.parent.span_id == request.context.span_id
    assert routed.parent.span_id == triaged.context.span_id
    assert case.parent.span_id == routed.context.span_id
    assert acked.parent.span_id == case.context.span_id
    # the tracker records each stage as a child of the span that produced it
    [recorded_triage] = handling("tracker", "triaged:p1")
    assert recorded_triage.parent.span_id == triaged.context.span_id
    assert all(s.attributes["tipline.report_id"] == report_id for s in mine
               if "tipline.report_id" in s.attributes)
    assert all(s.parent is None or s.parent.span_id in by_id or s is request for s in mine)
    # span attributes name streams, groups and ids: no value of the report anywhere
    personal = personal_values([report])
    attributes = " ".join(str(v) for s in spans for v in (s.attributes or {}).values())
    assert not [p for p in personal if p in attributes]
    # one span per batch commit, linked to the entries it committed
    commits = [s for s in spans if s.name.startswith("commit ")]
    assert any(link.context.span_id == triaged.context.span_id
               for c in commits for link in c.links)
