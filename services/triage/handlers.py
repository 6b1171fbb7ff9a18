"""Triage subscriber: one submitted report in, one triaged report out, on the lane of its priority."""

from services.triage.domain import KnownHashes, as_bundle_first, as_bundle_member, triage
from services.triage.store import Bundles
from shared import topology
from shared.consumer import Outbox
from shared.logging import get_logger
from shared.schemas.events import (
    ActionabilityScore,
    Bundle,
    ReportSubmitted,
    ReportTriaged,
    derived_event_id,
)

log = get_logger(__name__)


class Triage:
    def __init__(self, known: KnownHashes, bundles: Bundles) -> None:
        self.known = known
        self.bundles = bundles

    async def on_report_submitted(self, event: ReportSubmitted, out: Outbox) -> None:
        decision = triage(event.report, self.known)
        if decision.bundle_keys:
            first = await self.bundles.first_report(event.report_id, decision.bundle_keys)
            decision = (as_bundle_first if first == event.report_id else as_bundle_member)(
                decision, first)
        out.publish(topology.TRIAGED[decision.lane], ReportTriaged(
            event_id=derived_event_id(event.event_id, "triaged"), report_id=event.report_id,
            producer="triage", priority=decision.priority, disposition=decision.disposition,
            lane=decision.lane, reasons=list(decision.reasons),
            actionability=ActionabilityScore(score=decision.actionability.score,
                                             missing=list(decision.actionability.missing)),
            labels=list(decision.labels), known_files=decision.known_files,
            novel_files=decision.novel_files,
            bundle=Bundle(bundle_id=decision.bundle_id, role=decision.bundle_role)
            if decision.bundle_id else None,
            report=event.report,
        ))
        log.info("report triaged", priority=decision.priority, disposition=decision.disposition,
                 rules=list(decision.rules), actionability=decision.actionability.score,
                 bundle=decision.bundle_id)
