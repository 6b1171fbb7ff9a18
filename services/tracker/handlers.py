"""Tracker subscribers: every stage of every report to the ledger, dead letters counted."""

from services.tracker import domain
from shared.effects import Effects
from shared.schemas.events import MessageDeadLettered
from shared.topology import Topology


class Recorder:
    def __init__(self, topology: Topology, policy: domain.Policy) -> None:
        self.topology = topology
        self.policy = policy

    def on_report_event(self, event: domain.ReportEvent, out: Effects) -> None:
        """Every stage of a report goes to the ledger (the subscription's collector)."""
        for step in domain.steps_for(event, self.policy):
            out.collect((step.report_id or event.report_id, step))

    def on_message_dead_lettered(self, _event: MessageDeadLettered, out: Effects) -> None:
        out.command("HINCRBY", self.topology.gap_totals, "dead_letters", 1)
