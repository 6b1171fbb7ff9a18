"""Tracker settings."""

from pydantic import Field

from shared.settings import TiplineSettings

# Development keys, documented in the README, so the demo and the dashboard work out of the box.
DEVELOPMENT_ANALYST_KEYS = "workshop:dev-analyst-key-not-secret"
DEVELOPMENT_ADMIN_KEYS = "admin:dev-admin-key-not-secret"


class TrackerSettings(TiplineSettings):
    tracker_port: int = Field(default=8004, description="HTTP port of the tracker API.")
    sla_p1_hours: float = Field(
        default=4.0, gt=0,
        description="Simulated hours a priority-1 case may stay unacknowledged by its local agency.",
    )
    sla_check_interval_ms: int = Field(default=500, ge=10, description="How often the SLA is checked.")
    analyst_keys: str = Field(
        default=DEVELOPMENT_ANALYST_KEYS,
        description="Comma-separated name:key pairs: who may read timelines, the gap, the "
        "dashboard and dead letters (without payloads).")
    admin_keys: str = Field(
        default=DEVELOPMENT_ADMIN_KEYS,
        description="Comma-separated name:key pairs: who may read dead-letter payloads and replay.")
