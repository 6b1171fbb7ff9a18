"""Triage settings."""

from pydantic import Field

from shared.settings import TiplineSettings


class TriageSettings(TiplineSettings):
    triage_port: int = Field(default=8002, description="HTTP port for health checks.")
