"""Every service's handlers with plain events and no broker: what they record in the Effects."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.agencies.handlers import Agencies
from services.agencies.store import Turn
from services.intake.app import create_app as intake_app
from services.intake.config import IntakeSettings
from services.intake.store import Accepted, Draft
from services.router.domain import load_ip_table, load_zip_table
from services.router.handlers import Routing
from services.tracker.domain import Policy
from services.tracker.handlers import Recorder
from services.triage.domain import load_known_hashes, triage
from services.triage.handlers import Triage, Triaged
from shared.directory import load_directory
from shared.effects import Effects
from shared.schemas.events import (
    ActionabilityScore,
    Bundle,
    CaseAssigned,
    CaseEscalated,
    CaseRenotified,
    MessageDeadLettered,
    ReportRouted,
    ReportSubmitted,
    ReportTriaged,
    ReportUnassigned,
    RuleHit,
    SlaBreached,
    derived_event_id,
)
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from shared.synthetic import synthetic_report
from shared.topology import Topology

T = Topology("unit")
POLICY = Policy(sla_hours={"p1": 4, "p2": 72, "p3": 720, "informational": None},
                seconds_per_hour=1.0, lost_sight_days=30)
DIRECTORY = load_directory(DATA_DIR / "agencies.json")


def sample(kind: str) -> FiledReport:
    return FiledReport.model_validate(synthetic_report(kind, "sample"))


def submitted(report: FiledReport, report_id: int = 1) -> ReportSubmitted:
    return ReportSubmitted(report_id=report_id, producer="test", esp="esp",
                           lane="escalated" if report.escalated else "standard")


# ---- triage ----

def test_triage_publishes_the_decision_on_the_lane_of_its_priority():
    known = load_known_hashes(DATA_DIR / "known_hashes.json")
    report = sample("escalated")
    event = submitted(report)
    out = Effects(prepared=Triaged(triage(report, known), RoutingFacts.of(report)))
    Triage(known, bundles=None, bodies=None, topology=T).on_report_submitted(  # type: ignore[arg-type]
        event, out)
    [published] = out.published
    assert published.stream == T.triaged["p1"]
    triaged = published.event
    assert isinstance(triaged, ReportTriaged) and triaged.priority == 1
    assert triaged.event_id == derived_event_id(event.event_id, "triaged")
    assert "esp_escalation" in [r.rule for r in triaged.reasons]
    assert out.commands == [] and out.collected == []


# ---- router ----

def routing() -> Routing:
    return Routing(load_ip_table(DATA_DIR / "ip_ranges.json"),
                   load_zip_table(DATA_DIR / "zip3_states.json"), DIRECTORY, T)


def triaged_for_routing(kind: str, lane: str = "p2", bundle: Bundle | None = None):
    event = ReportTriaged(esp="test-esp", report_id=7, producer="test", priority=2, disposition="referral",
                          lane=lane,
                          reasons=[RuleHit(rule="t", reason="t")], bundle=bundle,
                          actionability=ActionabilityScore(score=50, missing=[]),
                          routing=RoutingFacts.of(sample(kind)))
    return ReportTriaged.model_validate_json(event.model_dump_json())


def test_router_hands_a_located_report_to_its_agency_and_records_where_it_went():
    out = Effects()
    event = triaged_for_routing("escalated", lane="p1")
    routing().on_report_triaged(event, out)
    [case] = out.events(T.agency_inbox("icac-ca-sacramento"))
    [routed] = out.events(T.routed)
    assert isinstance(case, CaseAssigned) and case.why == "jurisdiction" and case.lane == "p1"
    assert isinstance(routed, ReportRouted) and routed.agency_id == "icac-ca-sacramento"
    assert case.event_id == derived_event_id(event.event_id, "case:icac-ca-sacramento")


def test_router_offers_an_unlocated_report_to_the_federal_partner():
    out = Effects()
    routing().on_report_triaged(triaged_for_routing("no_location"), out)
    [offer] = out.events(T.agency_inbox("federal-mock-fbi"))
    [unassigned] = out.events(T.unassigned)
    assert offer.why == "unassigned_offer"
    assert isinstance(unassigned, ReportUnassigned) and unassigned.reasons == ["only_proxy_ips"]
    assert out.events(T.routed) == []


def test_router_does_not_route_a_bundle_member_again():
    out = Effects()
    routing().on_report_triaged(
        triaged_for_routing("informational", bundle=Bundle(bundle_id="bundle-1", role="member")), out)
    assert out.published == []


@pytest.mark.parametrize(("level", "target", "kind"), [(1, "icac-oh", CaseRenotified),
                                                        (2, "federal-mock-fbi", CaseEscalated)])
def test_an_sla_breach_renotifies_then_escalates(level, target, kind):
    breach = SlaBreached(esp="test-esp", report_id=3, producer="tracker", agency_id="icac-oh", lane="p1",
                         priority=1, why="jurisdiction",
                         jurisdiction="US-OH", incident_type="x", level=level, open_hours=5)
    out = Effects()
    routing().on_sla_breached(breach, out)
    [case] = out.events(T.agency_inbox(target))
    [record] = out.events(T.routed)
    assert case.why == ("renotification" if level == 1 else "escalation")
    assert isinstance(record, kind)


# ---- agencies ----

def case(agency: str = "icac-oh", lane: str = "p2") -> CaseAssigned:
    return CaseAssigned(esp="test-esp", event_id="case-1", report_id=9, producer="router", agency_id=agency,
                        priority=2, lane=lane, jurisdiction="US-OH", incident_type="x")


def test_an_agency_schedules_its_responses_after_its_turn_and_delay():
    agencies = Agencies(backlogs=None, directory=DIRECTORY, topology=T,  # type: ignore[arg-type]
                        sim_seconds_per_hour=10.0)
    received = 1_000_000.0
    out = Effects(prepared=Turn(starts_at=received + 30.0, received_at=received))  # 3 hours' wait
    agencies.on_case_assigned(case(), out)
    again = Effects(prepared=Turn(starts_at=received + 30.0, received_at=received))
    agencies.on_case_assigned(case(), again)
    assert out.deferred and out.deferred == again.deferred  # the same case and turn: same plan
    assert out.commands == [] and out.published == []
    for deferred in out.deferred:
        assert (deferred.key, deferred.stream) == (T.agency_schedule, T.agency_responses)
        response = deferred.event
        assert response.after_hours >= 3.0  # the wait behind the backlog counts
        assert deferred.due == pytest.approx(received + response.after_hours * 10.0)
        assert response.occurred_at == datetime.fromtimestamp(deferred.due, UTC)


def test_an_agency_that_never_acknowledges_schedules_nothing():
    never = next(a for a in DIRECTORY.agencies if a.profile.never_ack_share > 0.3)
    agencies = Agencies(backlogs=None, directory=DIRECTORY, topology=T,  # type: ignore[arg-type]
                        sim_seconds_per_hour=1.0)
    scheduled = 0
    for i in range(200):
        out = Effects(prepared=Turn(starts_at=0.0, received_at=0.0))
        agencies.on_case_assigned(case(never.id).model_copy(update={"event_id": f"c{i}"}), out)
        scheduled += bool(out.deferred)
    assert 0 < scheduled < 200 * (1 - never.profile.never_ack_share + 0.15)


# ---- tracker ----

def test_the_tracker_collects_a_ledger_step_per_stage():
    out = Effects()
    routed = ReportRouted(esp="test-esp", report_id=4, producer="router", agency_id="icac-oh",
                          jurisdiction="US-OH",
                          basis="estimatedLocation", confidence=1.0, priority=1, lane="p1")
    Recorder(T, POLICY).on_report_event(routed, out)
    stages = [step.stage for _, step in out.collected]
    assert stages == ["routed", "handoff:icac-oh"]
    assert all(report_id == 4 for report_id, _ in out.collected)
    handoff = out.collected[1][1]
    assert handoff.kind == "handoff" and handoff.deadline is not None


def test_the_tracker_counts_a_dead_letter():
    out = Effects()
    Recorder(T, POLICY).on_message_dead_lettered(MessageDeadLettered(
        source_stream="s", source_entry_id="1-0", group="g", reason="r", deliveries=1,
        payload="{}"), out)
    assert out.commands == [("HINCRBY", T.gap_totals, "dead_letters", 1)]


# ---- intake ----

class FakeSubmissions:
    def __init__(self) -> None:
        self.drafts: list[Draft] = []

    async def accept(self, esp: str, drafts: list[Draft]) -> list[Accepted]:
        self.drafts += drafts
        return [Accepted(100 + i, d.lane, f"e{i}") for i, d in enumerate(drafts)]


class FakeBacklogs:
    def __init__(self, full: set[str] = frozenset()) -> None:
        self.full = set(full)

    async def over_bound(self, lanes: set[str]) -> set[str]:
        return lanes & self.full


def fake_intake(full: set[str] = frozenset()) -> tuple[Any, FakeSubmissions]:
    app = intake_app(IntakeSettings(redis_url="redis://127.0.0.1:1/0"))
    app.state.submissions = store = FakeSubmissions()
    app.state.backlogs = FakeBacklogs(full)
    return app, store


async def test_intake_validates_picks_the_lane_and_hands_the_report_to_its_store():
    app, store = fake_intake()
    key = {"Authorization": "Bearer dev-key-not-secret"}
    transport = httpx.ASGITransport(app=app)  # no lifespan: no Redis
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        r = await client.post("/v1/reports", json=synthetic_report("escalated"), headers=key)
        bad = await client.post("/v1/reports", json={"incidentSummary": {}}, headers=key)
    assert r.status_code == 202 and r.json() == {"reportId": 100, "lane": "escalated"}
    assert bad.status_code == 422
    assert [d.lane for d in store.drafts] == ["escalated"]


async def test_intake_refuses_a_report_whose_lane_is_full_with_503_and_retry_after():
    app, store = fake_intake(full={"standard"})
    key = {"Authorization": "Bearer dev-key-not-secret"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        full = await client.post("/v1/reports", json=synthetic_report("referral"), headers=key)
        urgent = await client.post("/v1/reports", json=synthetic_report("escalated"), headers=key)
    assert full.status_code == 503 and full.headers["Retry-After"] == "2"
    assert "standard lane" in full.json()["detail"]
    assert urgent.status_code == 202  # the escalated lane is not full
    assert [d.lane for d in store.drafts] == ["escalated"]
