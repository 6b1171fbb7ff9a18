"""Intake wiring: the HTTP API (JSON and the XML reporting API) and its Redis stores. `bootstrap`
builds every collaborator once; a test passes fakes for any of them."""

from dataclasses import dataclass

from fastapi import FastAPI

from services.intake import handlers, ispws
from services.intake.batches import BatchReader
from services.intake.config import IntakeSettings
from services.intake.contract import ASYNCAPI, contract
from services.intake.deps import Intake, LaneBacklogs, OpenReportStore, SubmissionStore
from services.intake.open_reports import OpenReports
from services.intake.store import LaneBacklog, Submissions
from shared.auth import parse_keys, parse_users
from shared.bodies import ReportBodies
from shared.clock import SYSTEM, Clock
from shared.connect import Replicated
from shared.http import document_schemas
from shared.offload import Offload
from shared.schemas.report import MAX_FILES, FiledReport
from shared.service import StreamService


@dataclass(frozen=True)
class Wired:
    service: StreamService
    intake: Intake


def bootstrap(settings: IntakeSettings | None = None, *, clock: Clock = SYSTEM,
              submissions: SubmissionStore | None = None, backlogs: LaneBacklogs | None = None,
              open_reports: OpenReportStore | None = None) -> Wired:
    settings = settings or IntakeSettings()
    service = StreamService(contract(settings.topology()), settings, asyncapi=ASYNCAPI,
                            clock=clock)
    redis, t = service.redis, service.topology
    bodies = ReportBodies(redis, t, settings.report_body_ttl_s)
    # what intake answers 202 for, a JSON report or a finished XML one, is on this many replicas
    replicated = Replicated(redis, t.replication_mark, settings.accept_replicas,
                            settings.accept_timeout_ms)
    intake = Intake(
        settings=settings, esp_keys=parse_keys(settings.esp_keys, "ESP key"),
        ispws_users=parse_users(settings.ispws_users, "reporting API user"),
        submissions=submissions or Submissions(redis, t, service.publisher,
                                               settings.idempotency_ttl_s, bodies,
                                               replicated),
        backlogs=backlogs or LaneBacklog(redis, t, settings.max_lane_backlog),
        open_reports=open_reports or OpenReports(redis, t, service.publisher,
                                                 settings.ispws_keep_s, MAX_FILES, bodies,
                                                 replicated),
        batches=BatchReader(settings.max_batch_reports), clock=clock,
        checks=Offload(settings.check_threads, settings.check_waiting),
        faults=service.fault_watch)
    return Wired(service, intake)


def app_for(wired: Wired) -> FastAPI:
    app = wired.service.app(routers=[handlers.router, ispws.router], deps=wired.intake)
    document_schemas(app, FiledReport, handlers.BatchRequest)
    return app


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    return app_for(bootstrap(settings))
