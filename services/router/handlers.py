"""Router subscriber: a triaged report in; a case to one agency's inbox plus a routed event, or an
unassigned event with its reasons."""

from services.router.domain import IpTable, resolve
from shared import topology
from shared.consumer import Outbox
from shared.directory import Directory
from shared.logging import get_logger
from shared.schemas.events import (
    CaseAssigned,
    ReportRouted,
    ReportTriaged,
    ReportUnassigned,
    derived_event_id,
)

log = get_logger(__name__)


class Routing:
    def __init__(self, ip_table: IpTable, directory: Directory) -> None:
        self.ip_table = ip_table
        self.directory = directory

    def on_report_triaged(self, event: ReportTriaged, out: Outbox) -> None:
        if event.bundle and event.bundle.role == "member":
            log.info("bundle member, not routed again", bundle=event.bundle.bundle_id)
            return
        found = resolve(event.report, self.ip_table, self.directory)
        common = dict(report_id=event.report_id, producer="router", priority=event.priority,
                      lane=event.lane)
        if found.agency is None:
            out.publish(topology.UNASSIGNED, ReportUnassigned(
                event_id=derived_event_id(event.event_id, "unassigned"),
                reasons=list(found.reasons), **common))
            log.info("report unassigned", reasons=list(found.reasons))
            return
        assert found.jurisdiction and found.basis
        out.publish(topology.agency_inbox(found.agency.id), CaseAssigned(
            event_id=derived_event_id(event.event_id, "assigned"), agency_id=found.agency.id,
            jurisdiction=found.jurisdiction,
            incident_type=event.report.incident_summary.incident_type.value,
            actionability=event.actionability.score, labels=event.labels, **common))
        out.publish(topology.ROUTED, ReportRouted(
            event_id=derived_event_id(event.event_id, "routed"), agency_id=found.agency.id,
            jurisdiction=found.jurisdiction, basis=found.basis, **common))
        log.info("report routed", agency=found.agency.id, jurisdiction=found.jurisdiction,
                 basis=found.basis)
