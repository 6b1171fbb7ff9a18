"""Triage subscriber: one submitted report in, one triaged report out, on the lane of its priority."""

from services.triage.domain import triage
from shared import topology
from shared.consumer import Outbox
from shared.logging import get_logger
from shared.schemas.events import ReportSubmitted, ReportTriaged, derived_event_id

log = get_logger(__name__)


def on_report_submitted(event: ReportSubmitted, out: Outbox) -> None:
    decision = triage(event.report)
    out.publish(topology.TRIAGED[decision.lane], ReportTriaged(
        event_id=derived_event_id(event.event_id, "triaged"), report_id=event.report_id,
        producer="triage", priority=decision.priority, disposition=decision.disposition,
        lane=decision.lane, reasons=list(decision.reasons), report=event.report,
    ))
    log.info("report triaged", priority=decision.priority, disposition=decision.disposition,
             rules=[r.rule for r in decision.reasons])
