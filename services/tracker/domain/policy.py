"""When a case goes dark, how often it is breached, when an acknowledged case is lost sight of."""

from dataclasses import dataclass

from shared.schemas.events import CaseReason

LANES = ("p1", "p2", "p3", "informational")
PRIORITY_OF_LANE = {"p1": 1, "p2": 2, "p3": 3, "informational": 3}


@dataclass(frozen=True)
class Policy:
    """The tracker's rules, in simulated hours; `seconds_per_hour` turns them into wall time."""

    sla_hours: dict[str, float | None]  # lane -> hours an unacknowledged case may wait; None: no SLA
    seconds_per_hour: float
    lost_sight_days: float
    preservation_days: float = 365.0
    preservation_at_risk_days: float = 30.0

    @property
    def at_risk_s(self) -> float:
        """Wall seconds before its preservation ends that an unacknowledged case is at risk."""
        return self.preservation_at_risk_days * 24 * self.seconds_per_hour

    def days_between(self, start: float, end: float) -> float:
        return (end - start) / (24 * self.seconds_per_hour)

    def deadline(self, lane: str, handed_at: float) -> float | None:
        """The wall time a case handed over at `handed_at` goes dark; None when its lane has none."""
        hours = self.sla_hours.get(lane)
        return None if hours is None else handed_at + hours * self.seconds_per_hour

    def breach_levels(self, lane: str, why: CaseReason) -> int:
        """A priority-1 case of its local agency (by jurisdiction, or holding the case's link
        group) is breached twice (re-notify, then escalate); every other case once: it has gone
        dark, and that is recorded and counted."""
        return 2 if lane == "p1" and why in ("jurisdiction", "linked") else 1

    def next_deadline(self, lane: str, now: float) -> float | None:
        """After a first breach of a case breached twice: the same SLA again from now."""
        return self.deadline(lane, now)

    def lost_sight_before(self, now: float) -> float:
        """Cases acknowledged before this wall time and without an outcome are lost sight of."""
        return now - self.lost_sight_days * 24 * self.seconds_per_hour

    def hours_between(self, start: float, end: float) -> float:
        return max(end - start, 0.0) / self.seconds_per_hour
