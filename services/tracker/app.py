"""Tracker wiring: its own group on every stage's stream, the SLA watcher, and the HTTP API."""

from fastapi import FastAPI

from services.tracker import agency_api, api, dashboard
from services.tracker.config import TrackerSettings
from services.tracker.contract import ASYNCAPI, contract
from services.tracker.handlers import Recorder
from services.tracker.keeper import BodyKeeper
from services.tracker.metrics import export_gap
from services.tracker.sla import SlaWatcher
from services.tracker.store import DeadLetters, Ledger, Responses
from shared.auth import parse_keys
from shared.bodies import ReportBodies
from shared.directory import load_directory
from shared.http import document_schemas
from shared.schemas.events import MessageDeadLettered
from shared.schemas.report import FiledReport
from shared.service import StreamService


def create_app(settings: TrackerSettings | None = None) -> FastAPI:
    settings = settings or TrackerSettings()
    # Every stream has equal standing: the ledger records each stage whatever its order.
    service = StreamService(contract(settings.topology()), settings, strict=False,
                            asyncapi=ASYNCAPI)
    policy = settings.policy()
    # A time series is kept for 90 simulated days, and at least a day of wall time.
    ledger = Ledger(service.redis, service.topology, policy, service.publisher,
                    series_ttl_s=int(max(86_400, 90 * 24 * settings.sim_seconds_per_hour)))
    recorder = Recorder(service.topology, policy)
    for channel in service.contract.consumes:
        if channel.event is MessageDeadLettered:
            service.consume(channel, recorder.on_message_dead_lettered)
        else:
            # The ledger is its own idempotency record: each stage of a report is written once.
            service.consume(channel, recorder.on_report_event, collector=ledger, dedupe=False)
    service.run_in_background(SlaWatcher(ledger, policy, settings.sla_check_interval_ms).worker())
    bodies = ReportBodies(service.redis, service.topology, settings.report_body_ttl_s)
    service.run_in_background(BodyKeeper(ledger, bodies).worker())
    app = service.app(routers=[api.router, agency_api.router, dashboard.router])
    document_schemas(app, FiledReport)  # the body an agency reads of its case
    directory = load_directory(settings.directory_file)
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.replayable = lambda stream: (stream.startswith(service.topology.prefix + ":")
                                           and stream != service.topology.dead_letters)
    app.state.dead_letters = DeadLetters(service.redis, service.topology, app.state.replayable)
    app.state.directory = directory
    app.state.analyst_keys = parse_keys(settings.analyst_keys, "analyst key")
    app.state.admin_keys = parse_keys(settings.admin_keys, "admin key")
    app.state.agency_keys = parse_keys(settings.agency_keys, "agency key")
    unknown = set(app.state.agency_keys.values()) - {a.id for a in directory.agencies}
    if unknown:
        raise ValueError(f"TIPLINE_AGENCY_KEYS names agencies not in the directory: {sorted(unknown)}")
    app.state.policy = policy
    app.state.agency_kinds = {a.id: (a.kind, a.played_by) for a in directory.agencies}
    app.state.responses = Responses(service.redis, service.topology, service.publisher)
    app.state.bodies = bodies
    export_gap(service.metrics, ledger, policy, app.state.agency_kinds)
    return app
