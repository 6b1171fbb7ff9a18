"""Triage subscriber: one submitted report in (its body read from the claim check, a batch at a
time), one triaged report out on the lane of its priority, carrying what routing needs."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.triage.domain import (
    KnownHashes,
    TriageDecision,
    as_bundle_first,
    as_bundle_member,
    triage,
)
from shared import bodies
from shared.effects import Effects
from shared.linking import link_clues
from shared.logging import get_logger
from shared.schemas.events import (
    ActionabilityScore,
    Bundle,
    LinkClues,
    ReportSubmitted,
    ReportTriaged,
    derived_event_id,
)
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.topology import Topology

log = get_logger(__name__)


@dataclass(frozen=True)
class Triaged:
    decision: TriageDecision
    routing: RoutingFacts
    links: LinkClues


class BodyStore(Protocol):
    async def read(self, report_ids: Sequence[int]) -> list[bytes]: ...


class BundleIndex(Protocol):
    async def first_reports(self, wanted: list[tuple[int, tuple[str, ...]]]) -> list[int]: ...


class Triage:
    def __init__(self, known: KnownHashes, bundles: BundleIndex, bodies: BodyStore,
                 topology: Topology, link_key: bytes | None) -> None:
        self.link_key = link_key
        self.known = known
        self.bundles = bundles
        self.bodies = bodies
        self.topology = topology

    async def prepare(self, events: list[ReportSubmitted]) -> dict[str, Triaged]:
        """Read the bodies of a batch in one round trip, decide every report, then look up the
        viral bundles of all in one more."""
        found = [bodies.unpack(body) for body in
                 await self.bodies.read([e.report_id for e in events])]  # their JSON
        reports = [FiledReport.model_validate_json(body) for body in found]
        decisions = {e.event_id: triage(r, self.known) for e, r in zip(events, reports, strict=True)}
        viral = [e for e in events if decisions[e.event_id].bundle_keys]
        if viral:
            firsts = await self.bundles.first_reports(
                [(e.report_id, decisions[e.event_id].bundle_keys) for e in viral])
            for e, first in zip(viral, firsts, strict=True):
                join = as_bundle_first if first == e.report_id else as_bundle_member
                decisions[e.event_id] = join(decisions[e.event_id], first)
        return {e.event_id: Triaged(decisions[e.event_id], RoutingFacts.of_body(body),
                                    link_clues(r, self.link_key) if self.link_key else LinkClues())
                for e, body, r in zip(events, found, reports, strict=True)}

    def on_report_submitted(self, event: ReportSubmitted, out: Effects) -> None:
        triaged: Triaged = out.prepared
        decision = triaged.decision
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
            routing=triaged.routing, links=triaged.links, submitted_at=event.occurred_at,
        ))
        log.info("report triaged", priority=decision.priority, disposition=decision.disposition,
                 rules=list(decision.rules), actionability=decision.actionability.score,
                 bundle=decision.bundle_id)
