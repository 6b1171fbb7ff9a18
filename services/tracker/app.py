"""Tracker wiring: its own group on every stage's stream, the SLA watcher, the body keeper and
the HTTP API. `bootstrap` builds every collaborator once; a test passes fakes for any of them."""

from dataclasses import dataclass

from fastapi import FastAPI

from services.tracker import agency_api, api, dashboard, workshop_api
from services.tracker.access_log import AccessLog
from services.tracker.breaches import BreachStore
from services.tracker.config import TrackerSettings
from services.tracker.contract import ASYNCAPI, contract
from services.tracker.dead_letters import DeadLetters
from services.tracker.deps import (
    AccessStore,
    DeadLetterStore,
    GroupStates,
    Reads,
    ResponsePublisher,
    Tracker,
    WorkshopStore,
)
from services.tracker.handlers import Recorder
from services.tracker.keeper import BodyKeeper
from services.tracker.ledger import Ledger
from services.tracker.metrics import export_gap
from services.tracker.preservation import PreservationWatcher
from services.tracker.reads import LedgerReads
from services.tracker.recording import Recording
from services.tracker.responses import Responses
from services.tracker.sla import SlaWatcher
from services.tracker.workshop import Workshop
from shared.auth import one_role_per_key, parse_keys
from shared.bodies import ReportBodies
from shared.clock import SYSTEM, Clock
from shared.directory import load_directory
from shared.groups import GroupDetail, group_details
from shared.http import document_schemas
from shared.schemas.events import MessageDeadLettered
from shared.schemas.report import FiledReport
from shared.service import StreamService
from shared.worker import Periodic

DESCRIPTION = """The ledger of every report, the handoff gap, agencies' queues, dead letters.

**Who reads what.** An *analyst* reads the ledger, the gap and metadata: timelines, queues, dead
letters without their payloads. An *agency* reads its own queue and the body of a report it holds
a case of (`GET /v1/agencies/{agency_id}/cases/{report_id}/report`). An *admin* reads what an
analyst reads, dead-letter payloads and the access log, and a report's body through one route
only: `GET /v1/reports/{report_id}/body`, with a `reason` code. Nobody else reads a body, and an
ESP reads nothing here. Every read of a body is recorded in the access log (who, which report,
when, through which route, the reason) before the body is served; when it cannot be recorded
the body is not served (503). The log is `GET /v1/access-log` (admin) and each report's reads are
on its timeline. The table of every route and role: docs/guarantees.md, "Who reads what".
"""


@dataclass(frozen=True)
class Wired:
    service: StreamService
    recorder: Recorder
    tracker: Tracker


def bootstrap(settings: TrackerSettings | None = None, *, clock: Clock = SYSTEM,
              reads: Reads | None = None, dead_letters: DeadLetterStore | None = None,
              responses: ResponsePublisher | None = None, access: AccessStore | None = None,
              group_states: GroupStates | None = None,
              workshop: WorkshopStore | None = None) -> Wired:
    settings = settings or TrackerSettings()
    # Every stream has equal standing: the ledger records each stage whatever its order.
    service = StreamService(contract(settings.topology()), settings, strict=False,
                            asyncapi=ASYNCAPI, clock=clock)
    t, redis, policy = service.topology, service.redis, settings.policy()
    directory = load_directory(settings.directory_file)
    # A time series is kept for 90 simulated days, and at least a day of wall time.
    ledger = Ledger(Recording(t, policy.seconds_per_hour,
                              series_ttl_s=int(max(86_400, 90 * 24 * policy.seconds_per_hour)),
                              at_risk_s=policy.at_risk_s))
    recorder = Recorder(t, policy)
    for channel in service.contract.consumes:
        if MessageDeadLettered in channel.types:
            service.consume(channel, recorder.on_message_dead_lettered)
        else:
            # The ledger is its own idempotency record: each stage of a report is written once.
            service.consume(channel, recorder.on_report_event, collector=ledger, dedupe=False)
    ledger_reads = LedgerReads(redis, t, policy)
    service.run_in_background(SlaWatcher(BreachStore(redis, t, service.publisher), policy, clock,
                                         settings.sla_check_interval_ms).worker())
    service.run_in_background(PreservationWatcher(redis, t, service.publisher, policy, clock,
                                                  settings.sla_check_interval_ms).worker())
    report_bodies = ReportBodies(redis, t, settings.report_body_ttl_s)
    service.run_in_background(BodyKeeper(ledger_reads, report_bodies, clock).worker())

    def replayable(stream: str) -> bool:
        return stream.startswith(t.prefix + ":") and stream != t.dead_letters

    async def states() -> list[GroupDetail]:
        return await group_details(redis, t.consumed([a.id for a in directory.agencies]))

    agency_keys = parse_keys(settings.agency_keys, "agency key")
    unknown = set(agency_keys.values()) - {a.id for a in directory.agencies}
    if unknown:
        raise ValueError(f"TIPLINE_AGENCY_KEYS names agencies not in the directory: {sorted(unknown)}")
    analyst_keys = parse_keys(settings.analyst_keys, "analyst key")
    admin_keys = parse_keys(settings.admin_keys, "admin key")
    one_role_per_key({"agency": agency_keys, "analyst": analyst_keys, "admin": admin_keys})
    tracker = Tracker(
        settings=settings, policy=policy, directory=directory, reads=reads or ledger_reads,
        dead_letters=dead_letters or DeadLetters(redis, t, replayable),
        responses=responses or Responses(redis, t, service.publisher),
        access=access or AccessLog(redis, t, service.publisher, settings.access_log_max_entries,
                                   settings.access_log_per_report),
        group_states=group_states or states,
        workshop=workshop or Workshop(redis, t, replayable), clock=clock,
        analyst_keys=analyst_keys, admin_keys=admin_keys, agency_keys=agency_keys,
        replayable=replayable)
    export_gap(service.metrics, tracker.reads, policy, tracker.agency_kinds, clock)

    async def keep_epoch() -> bool:  # the simulated clock begins when the stack first starts
        await tracker.workshop.epoch(clock.now())
        return False

    service.run_in_background(Periodic("sim-epoch", keep_epoch, 60))
    return Wired(service, recorder, tracker)


def app_for(wired: Wired) -> FastAPI:
    app = wired.service.app(routers=[api.router, agency_api.router, workshop_api.router,
                                     dashboard.router],
                            deps=wired.tracker, description=DESCRIPTION)
    document_schemas(app, FiledReport)  # the body an agency reads of its case
    return app


def create_app(settings: TrackerSettings | None = None) -> FastAPI:
    return app_for(bootstrap(settings))
