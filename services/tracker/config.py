"""Tracker settings."""

from pydantic import Field

from shared.settings import TiplineSettings


class TrackerSettings(TiplineSettings):
    tracker_port: int = Field(default=8004, description="HTTP port of the tracker API.")
    sla_p1_hours: float = Field(
        default=4.0, gt=0,
        description="Simulated hours a priority-1 case may stay unacknowledged by its local agency.",
    )
    sla_check_interval_ms: int = Field(default=500, ge=10, description="How often the SLA is checked.")
