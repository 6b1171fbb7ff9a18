"""Triage subscriber: one submitted report in, one triaged report out, on the lane of its priority."""

from services.triage.domain import (
    KnownHashes,
    TriageDecision,
    as_bundle_first,
    as_bundle_member,
    triage,
)
from services.triage.store import Bundles
from shared.logging import get_logger
from shared.outbox import Outbox
from shared.schemas.events import (
    ActionabilityScore,
    Bundle,
    ReportSubmitted,
    ReportTriaged,
    derived_event_id,
)
from shared.topology import Topology

log = get_logger(__name__)


class Triage:
    def __init__(self, known: KnownHashes, bundles: Bundles, topology: Topology) -> None:
        self.known = known
        self.bundles = bundles
        self.topology = topology

    async def prepare(self, events: list[ReportSubmitted]) -> dict[str, TriageDecision]:
        """Decide every report of a batch, then look up the viral bundles of all in one round trip."""
        decisions = {e.event_id: triage(e.report, self.known) for e in events}
        viral = [e for e in events if decisions[e.event_id].bundle_keys]
        if viral:
            firsts = await self.bundles.first_reports(
                [(e.report_id, decisions[e.event_id].bundle_keys) for e in viral])
            for e, first in zip(viral, firsts, strict=True):
                join = as_bundle_first if first == e.report_id else as_bundle_member
                decisions[e.event_id] = join(decisions[e.event_id], first)
        return decisions

    def on_report_submitted(self, event: ReportSubmitted, out: Outbox) -> None:
        decision: TriageDecision = out.prepared
        out.publish(self.topology.triaged[decision.lane], ReportTriaged(
            event_id=derived_event_id(event.event_id, "triaged"), report_id=event.report_id,
            producer="triage", esp=event.esp, priority=decision.priority, disposition=decision.disposition,
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
