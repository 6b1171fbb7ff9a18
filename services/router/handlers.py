"""Router subscribers: a triaged report becomes cases in agency inboxes (or an unassigned record
offered to the federal partner); an SLA breach becomes a re-notification, then an escalation."""

from dataclasses import dataclass
from datetime import timedelta

from services.router.domain import IpTable, Resolution, ZipTable, resolve, route_with_group
from services.router.link_store import Linked, LinkStore
from shared.directory import Directory
from shared.effects import Effects
from shared.logging import get_logger
from shared.schemas.events import (
    CaseAssigned,
    CaseEscalated,
    CaseFile,
    CaseLink,
    CaseReason,
    CaseRenotified,
    Notified,
    PreservationExpiring,
    PriorReport,
    ReportRouted,
    ReportTriaged,
    ReportUnassigned,
    SlaBreached,
    WatchAlert,
    derived_event_id,
)
from shared.schemas.facts import RoutingFacts
from shared.topology import Topology

log = get_logger(__name__)



def case_files(report: RoutingFacts) -> list[CaseFile]:
    """Each file of the report as its case carries it: viewing a file the ESP did not view needs
    legal process."""
    files = []
    for index, file in enumerate(report.files):
        md5 = next((h.value for h in file.original_file_hash if h.hash_type.upper() == "MD5"), None)
        files.append(CaseFile(index=index, md5=md5,
                              needs_legal_process=file.file_viewed_by_esp is False))
    return files


def prior_report(report: RoutingFacts) -> PriorReport | None:
    le = report.law_enforcement
    return PriorReport(agency_name=le.agency_name, case_number=le.case_number,
                       flea_country=le.flea_country) if le else None


def case_links(report_id: int, linked: Linked) -> list[CaseLink]:
    """The reports linked to this one directly, each with its holder and the bases."""
    bases: dict[int, set[str]] = {}
    for link in linked.links:
        bases.setdefault(link.a if link.b == report_id else link.b, set()).add(link.basis)
    return [CaseLink(report_id=r, agency_id=linked.holder_of(r), bases=sorted(b))
            for r, b in sorted(bases.items())]


@dataclass(frozen=True)
class Placed:
    """What the prepare step found of a report: its jurisdiction, and its link group (none
    without linking)."""

    found: Resolution
    linked: Linked | None


class Routing:
    def __init__(self, ip_table: IpTable, zips: ZipTable, directory: Directory,
                 topology: Topology, links: LinkStore | None, preservation_s: float) -> None:
        self.ip_table = ip_table
        self.zips = zips
        self.directory = directory
        self.topology = topology
        self.links = links
        self.preservation_s = preservation_s

    async def prepare(self, events: list[ReportTriaged]) -> dict[str, "Placed"]:
        """Each report routed (not a bundle member) is resolved, then joins its link group, in
        one round trip for the batch: the store records where it goes (its own agency, else the
        group's holder), so the next report of the group sees it. Without linking
        (TIPLINE_LINKING=false) each report is routed on its own."""
        routed = [e for e in events if not (e.bundle and e.bundle.role == "member")]
        found = [resolve(e.routing, self.ip_table, self.zips, self.directory) for e in routed]
        if self.links is None:
            return {e.event_id: Placed(f, None) for e, f in zip(routed, found, strict=True)}
        linked = await self.links.add_all([(e.report_id, e.links, f.agency.id if f.agency else None)
                                           for e, f in zip(routed, found, strict=True)])
        return {e.event_id: Placed(f, x) for e, f, x in zip(routed, found, linked, strict=True)}

    def on_report_triaged(self, event: ReportTriaged, out: Effects) -> None:
        if event.bundle and event.bundle.role == "member":
            log.info("bundle member, not routed again", bundle=event.bundle.bundle_id)
            return
        placed: Placed | None = out.prepared
        found = placed.found if placed else resolve(event.routing, self.ip_table, self.zips,
                                                    self.directory)
        linked = placed.linked if placed and placed.linked else Linked([], event.report_id)
        group = route_with_group(event.report_id, found.agency.id if found.agency else None,
                                 linked.holders or {})
        incident = event.routing.incident_summary.incident_type.value
        submitted = event.submitted_at or event.occurred_at
        preserve_until = submitted + timedelta(seconds=self.preservation_s)
        links = case_links(event.report_id, linked)
        in_group = dict(group=linked.group if linked.size > 1 else None, links=links,
                        preserve_until=preserve_until)
        common = dict(report_id=event.report_id, producer="router", priority=event.priority,
                      lane=event.lane, esp=event.esp)
        files = case_files(event.routing)
        prior = prior_report(event.routing)
        unviewed = sum(1 for f in files if f.needs_legal_process)

        def hand_over(agency_id: str, why: CaseReason, jurisdiction: str) -> None:
            out.publish(self.topology.agency_inbox(agency_id), CaseAssigned(
                event_id=derived_event_id(event.event_id, f"case:{agency_id}"), agency_id=agency_id,
                why=why, jurisdiction=jurisdiction, incident_type=incident,
                actionability=event.actionability.score, labels=event.labels, files=files,
                law_enforcement=prior, **in_group, **common))

        if group.target is None:
            if found.offered_to:
                hand_over(found.offered_to, "unassigned_offer", "unknown")
            out.publish(self.topology.unassigned, ReportUnassigned(
                event_id=derived_event_id(event.event_id, "unassigned"), reasons=list(found.reasons),
                offered_to=found.offered_to, files_needing_legal_process=unviewed,
                group_size=linked.size, **in_group, **common))
            log.info("report unassigned", reasons=list(found.reasons), offered_to=found.offered_to,
                     group_size=linked.size)
            return
        if found.agency is None:  # no jurisdiction of its own: the group's holder takes it
            why: CaseReason = "linked"
            jurisdiction, basis, confidence, also = "unknown", group.basis or "", 0.0, ()
        else:
            assert found.jurisdiction and found.basis
            why, jurisdiction, basis = "jurisdiction", found.jurisdiction, found.basis
            confidence, also = found.confidence, found.also_notify
        hand_over(group.target, why, jurisdiction)
        for agency_id, also_why in also:
            hand_over(agency_id, also_why, jurisdiction)
        for notice in group.notices:
            # each linked case at another agency, and this one, told of the other: a notice
            # delivered (and acknowledged) like a case
            out.publish(self.topology.agency_inbox(notice.agency_id), CaseAssigned(
                event_id=derived_event_id(event.event_id, f"notice:{notice.agency_id}:"
                                                          f"{notice.report_id}:"
                                                          f"{notice.other_report_id}"),
                report_id=notice.report_id, producer="router", priority=event.priority,
                lane=event.lane, esp=event.esp, agency_id=notice.agency_id, why="deconfliction",
                jurisdiction="linked", incident_type=incident, group=linked.group,
                deconfliction=notice))
        out.publish(self.topology.routed, ReportRouted(
            event_id=derived_event_id(event.event_id, "routed"), agency_id=group.target, why=why,
            also_notified=[Notified(agency_id=a, why=w) for a, w in also],
            jurisdiction=jurisdiction, region=found.region if found.agency else None, basis=basis,
            confidence=confidence, conflicts=list(found.conflicts), incident_type=incident,
            files_needing_legal_process=unviewed, law_enforcement=prior, group_size=linked.size,
            deconfliction=list(group.notices), **in_group, **common))
        log.info("report routed", agency=group.target, jurisdiction=jurisdiction, basis=basis,
                 confidence=confidence, also=[a for a, _ in also], group_size=linked.size,
                 notices=len(group.notices))

    def on_watch_alert(self, alert: WatchAlert, out: Effects) -> None:
        if isinstance(alert, PreservationExpiring):
            self.on_preservation_expiring(alert, out)
        else:
            self.on_sla_breached(alert, out)

    def on_preservation_expiring(self, alert: PreservationExpiring, out: Effects) -> None:
        """An unacknowledged case whose report's preservation ends soon: its agency is told again,
        with the date (the tracker records the warning)."""
        out.publish(self.topology.agency_inbox(alert.agency_id), CaseAssigned(
            event_id=derived_event_id(alert.event_id, "case"), report_id=alert.report_id,
            producer="router", esp=alert.esp, agency_id=alert.agency_id,
            why="preservation_warning", priority=alert.priority, lane=alert.lane,
            jurisdiction=alert.jurisdiction, incident_type=alert.incident_type,
            preserve_until=alert.preserve_until))
        log.warning("preservation ends soon: agency warned", agency=alert.agency_id,
                    days_left=alert.days_left)

    def on_sla_breached(self, breach: SlaBreached, out: Effects) -> None:
        """A priority-1 case its local agency has not acknowledged: the first breach notifies the
        agency again, the second hands the case to the federal partner too. Other breaches are
        recorded by the tracker (the case has gone dark) and change nothing here."""
        if breach.priority != 1 or breach.why not in ("jurisdiction", "linked"):
            return
        federal = self.directory.federal.default
        target, why = (breach.agency_id, "renotification") if breach.level == 1 else (
            federal, "escalation")
        if breach.level == 2 and breach.agency_id == federal:
            log.warning("breach at the federal partner itself; nobody to escalate to")
            return
        out.publish(self.topology.agency_inbox(target), CaseAssigned(
            event_id=derived_event_id(breach.event_id, "case"), report_id=breach.report_id,
            producer="router", esp=breach.esp, agency_id=target, why=why, priority=breach.priority,
            lane=breach.lane, jurisdiction=breach.jurisdiction, incident_type=breach.incident_type,
            preserve_until=breach.preserve_until))
        common = dict(event_id=derived_event_id(breach.event_id, why), report_id=breach.report_id,
                      producer="router", lane=breach.lane, esp=breach.esp)
        if breach.level == 1:
            out.publish(self.topology.routed, CaseRenotified(agency_id=breach.agency_id, **common))
        else:
            out.publish(self.topology.routed, CaseEscalated(
                from_agency=breach.agency_id, to_agency=federal,
                preserve_until=breach.preserve_until, **common))
        log.warning("SLA breached", agency=breach.agency_id, level=breach.level, action=why)
