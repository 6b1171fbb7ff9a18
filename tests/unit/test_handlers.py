"""Every service built through its own bootstrap with fakes of its stores: its handlers (and
intake's and the tracker's routes) with plain events, no broker, no Redis. What a handler produces
is read from its Effects; what a route asks for is read from its fakes."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.agencies.app import bootstrap as agencies_bootstrap
from services.agencies.config import AgenciesSettings
from services.agencies.store import Turn
from services.intake.app import app_for as intake_app
from services.intake.app import bootstrap as intake_bootstrap
from services.intake.config import IntakeSettings
from services.intake.store import Accepted, Draft
from services.router.app import bootstrap as router_bootstrap
from services.router.config import RouterSettings
from services.router.domain import resolve
from services.router.handlers import Placed
from services.router.link_store import Linked
from services.tracker.app import app_for as tracker_app
from services.tracker.app import bootstrap as tracker_bootstrap
from services.tracker.config import TrackerSettings
from services.tracker.reads import Figures
from services.triage.app import bootstrap as triage_bootstrap
from services.triage.config import TriageSettings
from shared import bodies
from shared.clock import ManualClock
from shared.directory import load_directory
from shared.effects import Effects
from shared.linking import Link
from shared.schemas.events import (
    ActionabilityScore,
    Bundle,
    CaseAcknowledged,
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
from tests.helpers import AGENCY, ANALYST, ESP

# Settings of services that are never started: the Redis named here is never reached.
NOWHERE = dict(redis_url="redis://127.0.0.1:1/0", prefix="unit")
DIRECTORY = load_directory(DATA_DIR / "agencies.json")


def sample(kind: str) -> FiledReport:
    return FiledReport.model_validate(synthetic_report(kind, "sample"))


def submitted(report: FiledReport, report_id: int = 1) -> ReportSubmitted:
    return ReportSubmitted(report_id=report_id, producer="test", esp="esp",
                           lane="escalated" if report.escalated else "standard")


# ---- triage ----

class FakeBodies:
    def __init__(self, stored: dict[int, FiledReport]) -> None:
        self.stored = stored

    async def read(self, report_ids: Sequence[int]) -> list[bytes]:
        return [bodies.encode(self.stored[i]) for i in report_ids]


class FakeBundles:
    """Every viral report is the first of its bundle, unless told which report opened it."""

    def __init__(self, first: int | None = None) -> None:
        self.first = first
        self.asked: list[tuple[int, tuple[str, ...]]] = []

    async def first_reports(self, wanted: list[tuple[int, tuple[str, ...]]]) -> list[int]:
        self.asked += wanted
        return [self.first or report_id for report_id, _ in wanted]


async def test_triage_publishes_the_decision_on_the_lane_of_its_priority():
    report = sample("escalated")
    wired = triage_bootstrap(TriageSettings(**NOWHERE), bodies=FakeBodies({1: report}),
                             bundles=FakeBundles())
    event = submitted(report)
    out = Effects(prepared=(await wired.triage.prepare([event]))[event.event_id])
    wired.triage.on_report_submitted(event, out)
    [published] = out.published
    assert published.stream == wired.service.topology.triaged["p1"]
    triaged = published.event
    assert isinstance(triaged, ReportTriaged) and triaged.priority == 1
    assert triaged.event_id == derived_event_id(event.event_id, "triaged")
    assert "esp_escalation" in [r.rule for r in triaged.reasons]
    assert triaged.routing.incident_summary.incident_type == report.incident_summary.incident_type
    assert out.commands == [] and out.collected == []


async def test_triage_makes_a_later_viral_report_a_member_of_the_first_ones_bundle():
    report = sample("informational")
    bundles = FakeBundles(first=5)
    wired = triage_bootstrap(TriageSettings(**NOWHERE), bodies=FakeBodies({9: report}),
                             bundles=bundles)
    event = submitted(report, report_id=9)
    out = Effects(prepared=(await wired.triage.prepare([event]))[event.event_id])
    wired.triage.on_report_submitted(event, out)
    [triaged] = out.events()
    assert bundles.asked and bundles.asked[0][0] == 9
    assert triaged.bundle == Bundle(bundle_id="bundle-5", role="member")
    assert triaged.lane == "informational"


# ---- router ----

def triaged_for_routing(kind: str, lane: str = "p2", bundle: Bundle | None = None):
    event = ReportTriaged(esp="test-esp", report_id=7, producer="test", priority=2,
                          disposition="referral", lane=lane,
                          reasons=[RuleHit(rule="t", reason="t")], bundle=bundle,
                          actionability=ActionabilityScore(score=50, missing=[]),
                          routing=RoutingFacts.of(sample(kind)))
    return ReportTriaged.model_validate_json(event.model_dump_json())


@pytest.fixture
def router():
    return router_bootstrap(RouterSettings(**NOWHERE))


def test_router_hands_a_located_report_to_its_agency_and_records_where_it_went(router):
    t = router.service.topology
    out = Effects()
    event = triaged_for_routing("escalated", lane="p1")
    router.routing.on_report_triaged(event, out)
    [case] = out.events(t.agency_inbox("icac-ca-sacramento"))
    [routed] = out.events(t.routed)
    assert isinstance(case, CaseAssigned) and case.why == "jurisdiction" and case.lane == "p1"
    assert isinstance(routed, ReportRouted) and routed.agency_id == "icac-ca-sacramento"
    assert case.event_id == derived_event_id(event.event_id, "case:icac-ca-sacramento")


def test_router_offers_an_unlocated_report_to_the_federal_partner(router):
    t = router.service.topology
    out = Effects()
    router.routing.on_report_triaged(triaged_for_routing("no_location"), out)
    [offer] = out.events(t.agency_inbox("federal-mock-fbi"))
    [unassigned] = out.events(t.unassigned)
    assert offer.why == "unassigned_offer"
    assert isinstance(unassigned, ReportUnassigned) and unassigned.reasons == ["only_proxy_ips"]
    assert out.events(t.routed) == []


def test_router_tells_each_agency_of_a_split_group_once_per_linked_report(router):
    """Report 7 goes to its own state's task force; two other agencies hold linked reports: each is
    told, and 7's own case is told of both (two notices with two event ids)."""
    t = router.service.topology
    event = triaged_for_routing("escalated", lane="p1")
    found = resolve(event.routing, router.routing.ip_table, router.routing.zips,
                    router.routing.directory)
    holders = {"icac-oh": 2, "icac-ga": 3}
    linked = Linked([Link(2, 7, "email")], group=2, size=3, linked_held={2: "icac-oh"},
                    holders=holders, target=found.agency.id)
    out = Effects(prepared=Placed(found, linked))
    router.routing.on_report_triaged(event, out)
    notices = [c for a in ("icac-oh", "icac-ga", found.agency.id)
               for c in out.events(t.agency_inbox(a)) if c.why == "deconfliction"]
    assert sorted((n.report_id, n.agency_id, n.deconfliction.other_report_id) for n in notices) == [
        (2, "icac-oh", 7), (3, "icac-ga", 7), (7, found.agency.id, 2), (7, found.agency.id, 3)]
    assert len({n.event_id for n in notices}) == 4
    [routed] = out.events(t.routed)
    assert routed.group == 2 and routed.group_size == 3 and len(routed.deconfliction) == 4
    assert [(x.report_id, x.agency_id, x.bases) for x in routed.links] == [(2, "icac-oh", ["email"])]


def test_router_does_not_route_a_bundle_member_again(router):
    out = Effects()
    router.routing.on_report_triaged(
        triaged_for_routing("informational", bundle=Bundle(bundle_id="bundle-1", role="member")),
        out)
    assert out.published == []


@pytest.mark.parametrize(("level", "target", "kind"), [(1, "icac-oh", CaseRenotified),
                                                        (2, "federal-mock-fbi", CaseEscalated)])
def test_an_sla_breach_renotifies_then_escalates(router, level, target, kind):
    t = router.service.topology
    breach = SlaBreached(esp="test-esp", report_id=3, producer="tracker", agency_id="icac-oh",
                         lane="p1", priority=1, why="jurisdiction", jurisdiction="US-OH",
                         incident_type="x", level=level, open_hours=5)
    out = Effects()
    router.routing.on_sla_breached(breach, out)
    [case] = out.events(t.agency_inbox(target))
    [record] = out.events(t.routed)
    assert case.why == ("renotification" if level == 1 else "escalation")
    assert isinstance(record, kind)


def test_a_case_held_by_its_group_is_escalated_too_and_keeps_its_preservation_date(router):
    t = router.service.topology
    until = datetime(2027, 6, 1, tzinfo=UTC)
    breach = SlaBreached(esp="test-esp", report_id=3, producer="tracker", agency_id="icac-oh",
                         lane="p1", priority=1, why="linked", jurisdiction="unknown",
                         incident_type="x", level=2, open_hours=9, preserve_until=until)
    out = Effects()
    router.routing.on_sla_breached(breach, out)
    [case] = out.events(t.agency_inbox("federal-mock-fbi"))
    [escalated] = out.events(t.routed)
    assert case.why == "escalation" and case.preserve_until == until
    assert isinstance(escalated, CaseEscalated) and escalated.preserve_until == until


def test_the_router_reads_breaches_first_then_the_lanes_by_urgency(router):
    t = router.service.topology
    assert router.service.consumed == [t.sla_breaches, *t.triaged_by_urgency]


# ---- agencies ----

def case(agency: str = "icac-oh", lane: str = "p2", event_id: str = "case-1") -> CaseAssigned:
    return CaseAssigned(esp="test-esp", event_id=event_id, report_id=9, producer="router",
                        agency_id=agency, priority=2, lane=lane, jurisdiction="US-OH",
                        incident_type="x")


class FakeBacklogs:
    """Every case waits `wait_s` behind its agency's backlog, received at `received`."""

    def __init__(self, received: float, wait_s: float) -> None:
        self.received, self.wait_s = received, wait_s
        self.asked: list[tuple[str, float]] = []

    async def take_turns(self, cases: list[tuple[CaseAssigned, float]]) -> dict[str, Turn]:
        self.asked += [(c.agency_id, seconds) for c, seconds in cases]
        return {c.event_id: Turn(self.received + self.wait_s, self.received) for c, _ in cases}


async def test_an_agency_schedules_its_responses_after_its_turn_and_delay():
    received = 1_000_000.0
    backlogs = FakeBacklogs(received, wait_s=30.0)  # 3 simulated hours at 10 s an hour
    wired = agencies_bootstrap(AgenciesSettings(**NOWHERE, sim_seconds_per_hour=10.0),
                               backlogs=backlogs)
    t = wired.service.topology
    plans = []
    for _ in range(2):  # the same case and turn: the same plan
        turns = await wired.agencies.prepare([case()])
        out = Effects(prepared=turns["case-1"])
        wired.agencies.on_case_assigned(case(), out)
        plans.append(out.deferred)
    assert plans[0] and plans[0] == plans[1]
    assert backlogs.asked[0][0] == "icac-oh" and backlogs.asked[0][1] > 0  # its share of a day
    for deferred in plans[0]:
        assert (deferred.key, deferred.stream) == (t.agency_schedule, t.agency_responses)
        response = deferred.event
        assert response.after_hours >= 3.0  # the wait behind the backlog counts
        assert deferred.due == pytest.approx(received + response.after_hours * 10.0)
        assert response.occurred_at == datetime.fromtimestamp(deferred.due, UTC)


async def test_an_agency_that_never_acknowledges_schedules_nothing():
    never = next(a for a in DIRECTORY.agencies if a.profile.never_ack_share > 0.3)
    wired = agencies_bootstrap(AgenciesSettings(**NOWHERE), backlogs=FakeBacklogs(0.0, 0.0))
    scheduled = 0
    for i in range(200):
        one = case(never.id, event_id=f"c{i}")
        out = Effects(prepared=(await wired.agencies.prepare([one]))[one.event_id])
        wired.agencies.on_case_assigned(one, out)
        scheduled += bool(out.deferred)
    assert 0 < scheduled < 200 * (1 - never.profile.never_ack_share + 0.15)


# ---- tracker ----

@pytest.fixture
def tracker():
    return tracker_bootstrap(TrackerSettings(**NOWHERE, sim_seconds_per_hour=1.0),
                             clock=ManualClock(), reads=FakeReads())


def test_the_tracker_collects_a_ledger_step_per_stage(tracker):
    out = Effects()
    routed = ReportRouted(esp="test-esp", report_id=4, producer="router", agency_id="icac-oh",
                          jurisdiction="US-OH", basis="estimatedLocation", confidence=1.0,
                          priority=1, lane="p1")
    tracker.recorder.on_report_event(routed, out)
    stages = [step.stage for _, step in out.collected]
    assert stages == ["routed", "handoff:icac-oh"]
    assert all(report_id == 4 for report_id, _ in out.collected)
    handoff = out.collected[1][1]
    assert handoff.kind == "handoff" and handoff.deadline is not None


def test_the_tracker_counts_a_dead_letter(tracker):
    out = Effects()
    tracker.recorder.on_message_dead_lettered(MessageDeadLettered(
        source_stream="s", source_entry_id="1-0", group="g", reason="r", deliveries=1,
        payload="{}"), out)
    assert out.commands == [("HINCRBY", tracker.service.topology.gap_totals, "dead_letters", 1)]


class FakeReads:
    """A ledger holding one routed case of report 7 at icac-wa, handed over an hour ago."""

    def __init__(self) -> None:
        self.asked_at: list[float] = []

    async def figures(self, agency_ids: list[str], now: float) -> Figures:
        self.asked_at.append(now)
        totals = {"submitted": "1", "triaged": "1", "routed": "1", "forwarded": "1"}
        return Figures(totals=totals, agencies={"icac-wa": {"forwarded": "1"}}, lanes={},
                       esps={}, reasons={}, open_count=1, oldest_open=now - 3600, dark=0,
                       lost_sight=0, link_stats={}, at_risk=0)

    async def timelines(self, report_ids: list[int]) -> list[dict[str, str]]:
        return [{"handoff:icac-wa": '{"at": "2027-01-15T08:00:00+00:00", "esp": "esp-a", '
                 '"lane": "p2", "why": "jurisdiction"}'} if i == 7 else {} for i in report_ids]


class FakeResponses:
    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, events: Sequence[Any]) -> None:
        self.published += events


async def test_the_tracker_answers_the_gap_from_its_reads_on_its_clock():
    clock, reads = ManualClock(at=1_900_000_000.0), FakeReads()
    wired = tracker_bootstrap(TrackerSettings(**NOWHERE, sim_seconds_per_hour=1.0), clock=clock,
                              reads=reads)
    async with _client(tracker_app(wired)) as client:
        r = await client.get("/v1/gap", headers=ANALYST)
        refused = await client.get("/v1/gap")
    assert r.status_code == 200 and refused.status_code == 401
    gap = r.json()
    assert (gap["submitted"], gap["forwarded"], gap["open"]["oldestHours"]) == (1, 1, 3600.0)
    assert reads.asked_at == [clock.now()]


async def test_an_agency_acknowledges_through_the_tracker_and_its_response_is_published():
    clock, responses = ManualClock(at=datetime(2027, 1, 15, 9, tzinfo=UTC).timestamp()), FakeResponses()
    wired = tracker_bootstrap(TrackerSettings(**NOWHERE, sim_seconds_per_hour=3600.0), clock=clock,
                              reads=FakeReads(), responses=responses)
    wa = AGENCY
    async with _client(tracker_app(wired)) as client:
        r = await client.post("/v1/agencies/icac-wa/cases/7/responses", headers=wa,
                              json={"status": "acknowledged"})
        missing = await client.post("/v1/agencies/icac-wa/cases/8/responses", headers=wa,
                                    json={"status": "acknowledged"})
    assert r.status_code == 202 and missing.status_code == 404
    [ack] = responses.published
    assert isinstance(ack, CaseAcknowledged)
    assert (ack.report_id, ack.agency_id, ack.esp, ack.after_hours) == (7, "icac-wa", "esp-a", 1.0)


# ---- intake ----

class FakeSubmissions:
    def __init__(self) -> None:
        self.drafts: list[Draft] = []

    async def accept(self, esp: str, drafts: list[Draft]) -> list[Accepted]:
        self.drafts += drafts
        return [Accepted(100 + i, d.lane, f"e{i}") for i, d in enumerate(drafts)]


class FakeLaneBacklogs:
    def __init__(self, full: set[str] = frozenset()) -> None:
        self.full = set(full)

    async def over_bound(self, lanes: set[str]) -> set[str]:
        return lanes & self.full


def _client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # no lifespan: no Redis
    return httpx.AsyncClient(transport=transport, base_url="http://unit")


def fake_intake(full: set[str] = frozenset()) -> tuple[Any, FakeSubmissions]:
    store = FakeSubmissions()
    wired = intake_bootstrap(IntakeSettings(**NOWHERE), submissions=store,
                             backlogs=FakeLaneBacklogs(full))
    return intake_app(wired), store




async def test_intake_validates_picks_the_lane_and_hands_the_report_to_its_store():
    app, store = fake_intake()
    async with _client(app) as client:
        r = await client.post("/v1/reports", json=synthetic_report("escalated"), headers=ESP)
        bad = await client.post("/v1/reports", json={"incidentSummary": {}}, headers=ESP)
    assert r.status_code == 202 and r.json() == {"reportId": 100, "lane": "escalated"}
    assert bad.status_code == 422
    assert [d.lane for d in store.drafts] == ["escalated"]


async def test_intake_refuses_a_report_whose_lane_is_full_with_503_and_retry_after():
    app, store = fake_intake(full={"standard"})
    async with _client(app) as client:
        full = await client.post("/v1/reports", json=synthetic_report("referral"), headers=ESP)
        urgent = await client.post("/v1/reports", json=synthetic_report("escalated"), headers=ESP)
    assert full.status_code == 503 and full.headers["Retry-After"] == "2"
    assert "standard lane" in full.json()["detail"]
    assert urgent.status_code == 202  # the escalated lane is not full
    assert [d.lane for d in store.drafts] == ["escalated"]
