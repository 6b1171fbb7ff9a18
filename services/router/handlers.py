"""Router subscribers: a triaged report becomes cases in agency inboxes (or an unassigned record
offered to the federal partner); an SLA breach becomes a re-notification, then an escalation."""

from services.router.domain import IpTable, ZipTable, resolve
from shared.directory import Directory
from shared.effects import Effects
from shared.logging import get_logger
from shared.schemas.events import (
    CaseAssigned,
    CaseEscalated,
    CaseFile,
    CaseReason,
    CaseRenotified,
    Notified,
    PriorReport,
    ReportRouted,
    ReportTriaged,
    ReportUnassigned,
    SlaBreached,
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


class Routing:
    def __init__(self, ip_table: IpTable, zips: ZipTable, directory: Directory,
                 topology: Topology) -> None:
        self.ip_table = ip_table
        self.zips = zips
        self.directory = directory
        self.topology = topology

    def on_report_triaged(self, event: ReportTriaged, out: Effects) -> None:
        if event.bundle and event.bundle.role == "member":
            log.info("bundle member, not routed again", bundle=event.bundle.bundle_id)
            return
        found = resolve(event.routing, self.ip_table, self.zips, self.directory)
        incident = event.routing.incident_summary.incident_type.value
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
                law_enforcement=prior, **common))

        if found.agency is None:
            if found.offered_to:
                hand_over(found.offered_to, "unassigned_offer", "unknown")
            out.publish(self.topology.unassigned, ReportUnassigned(
                event_id=derived_event_id(event.event_id, "unassigned"), reasons=list(found.reasons),
                offered_to=found.offered_to, files_needing_legal_process=unviewed, **common))
            log.info("report unassigned", reasons=list(found.reasons), offered_to=found.offered_to)
            return
        assert found.jurisdiction and found.basis
        hand_over(found.agency.id, "jurisdiction", found.jurisdiction)
        for agency_id, why in found.also_notify:
            hand_over(agency_id, why, found.jurisdiction)
        out.publish(self.topology.routed, ReportRouted(
            event_id=derived_event_id(event.event_id, "routed"), agency_id=found.agency.id,
            also_notified=[Notified(agency_id=a, why=w) for a, w in found.also_notify],
            jurisdiction=found.jurisdiction, region=found.region, basis=found.basis,
            confidence=found.confidence, conflicts=list(found.conflicts), incident_type=incident,
            files_needing_legal_process=unviewed, law_enforcement=prior, **common))
        log.info("report routed", agency=found.agency.id, jurisdiction=found.jurisdiction,
                 basis=found.basis, confidence=found.confidence,
                 also=[a for a, _ in found.also_notify])

    def on_sla_breached(self, breach: SlaBreached, out: Effects) -> None:
        """A priority-1 case its local agency has not acknowledged: the first breach notifies the
        agency again, the second hands the case to the federal partner too. Other breaches are
        recorded by the tracker (the case has gone dark) and change nothing here."""
        if breach.priority != 1 or breach.why != "jurisdiction":
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
            lane=breach.lane, jurisdiction=breach.jurisdiction, incident_type=breach.incident_type))
        common = dict(event_id=derived_event_id(breach.event_id, why), report_id=breach.report_id,
                      producer="router", lane=breach.lane, esp=breach.esp)
        if breach.level == 1:
            out.publish(self.topology.routed, CaseRenotified(agency_id=breach.agency_id, **common))
        else:
            out.publish(self.topology.routed, CaseEscalated(from_agency=breach.agency_id, to_agency=federal,
                                                       **common))
        log.warning("SLA breached", agency=breach.agency_id, level=breach.level, action=why)
