"""Tracker settings."""

from pydantic import Field

from services.tracker.domain.policy import Policy
from shared import devkeys
from shared.settings import TiplineSettings


class TrackerSettings(TiplineSettings):
    tracker_port: int = Field(default=8004, description="HTTP port of the tracker API.")
    linger_ms: int = Field(
        default=200, ge=0, le=1000, description="As for every service; longer here: the ledger "
        "records what has happened, off the path a report takes to its inbox.")
    sla_p1_hours: float = Field(
        default=4.0, gt=0,
        description="Simulated hours a priority-1 case may stay unacknowledged before it goes dark "
        "(its local agency is then re-notified, and at a second breach the case escalated).",
    )
    sla_p2_hours: float | None = Field(default=72.0, gt=0, description="The same for priority 2.")
    sla_p3_hours: float | None = Field(default=720.0, gt=0, description="The same for priority 3.")
    sla_informational_hours: float | None = Field(
        default=None, gt=0, description="The same for informational reports; none by default.")
    lost_sight_days: float = Field(
        default=30.0, gt=0, description="Simulated days after which an acknowledged case with no "
        "outcome counts as lost sight of.")
    sla_check_interval_ms: int = Field(default=500, ge=10, description="How often the SLA is checked.")
    analyst_keys: str = Field(
        default=devkeys.ANALYST_KEYS,
        description="Comma-separated name:key pairs: who may read timelines, the gap, the "
        "dashboard and dead letters (without payloads); never a report's body.")
    admin_keys: str = Field(
        default=devkeys.ADMIN_KEYS,
        description="Comma-separated name:key pairs: who may read dead-letter payloads, replay, "
        "set faults, read the access log, and read a report's body with a stated reason.")
    agency_keys: str = Field(
        default=devkeys.AGENCY_KEYS,
        description="Comma-separated agency_id:key pairs: each agency's key to its own queue, "
        "responses, and the bodies of the reports it holds cases of.")

    access_log_max_entries: int = Field(
        default=100_000, ge=1000, description="Reads of report bodies the access log keeps (the "
        "newest; older ones are trimmed). Each report's timeline keeps its own newest "
        "TIPLINE_ACCESS_LOG_PER_REPORT besides.")
    access_log_per_report: int = Field(
        default=100, ge=1, le=10_000, description="Reads of one report's body its timeline shows "
        "(the newest).")

    def policy(self) -> Policy:
        return Policy(
            sla_hours={"p1": self.sla_p1_hours, "p2": self.sla_p2_hours, "p3": self.sla_p3_hours,
                       "informational": self.sla_informational_hours},
            seconds_per_hour=self.sim_seconds_per_hour, lost_sight_days=self.lost_sight_days,
            preservation_days=self.preservation_days,
            preservation_at_risk_days=self.preservation_at_risk_days)
