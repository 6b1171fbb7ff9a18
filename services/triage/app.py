"""Triage wiring: both submitted lanes, the escalated one always drained first. `bootstrap`
builds every collaborator once; a test passes fakes for any of them."""

from dataclasses import dataclass

from fastapi import FastAPI

from services.triage.config import TriageSettings
from services.triage.contract import ASYNCAPI, contract
from services.triage.domain import load_known_hashes
from services.triage.handlers import BodyStore, BundleIndex, Triage
from services.triage.store import Bundles
from shared import devkeys
from shared.bodies import ReportBodies
from shared.logging import get_logger
from shared.service import StreamService

log = get_logger(__name__)


@dataclass(frozen=True)
class Wired:
    service: StreamService
    triage: Triage


def bootstrap(settings: TriageSettings | None = None, *, bodies: BodyStore | None = None,
              bundles: BundleIndex | None = None) -> Wired:
    settings = settings or TriageSettings()
    service = StreamService(contract(settings.topology()), settings, asyncapi=ASYNCAPI)
    redis, t = service.redis, service.topology
    key = settings.link_key.get_secret_value()
    if settings.linking and key == devkeys.LINK_KEY:
        log.warning("linking with the development key (TIPLINE_LINK_KEY): anyone can recompute "
                    "its hashes of phone numbers and addresses; set a key of your own")
    triage = Triage(load_known_hashes(settings.known_hashes_file),
                    bundles or Bundles(redis, t, settings.bundle_window_s),
                    bodies or ReportBodies(redis, t, settings.report_body_ttl_s), t,
                    key.encode() if settings.linking else None)
    for channel in service.contract.consumes:
        service.consume(channel, triage.on_report_submitted, prepare=triage.prepare)
    return Wired(service, triage)


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    return bootstrap(settings).service.app()
