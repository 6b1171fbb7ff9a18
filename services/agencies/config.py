"""Agencies settings."""

from pydantic import Field

from shared.settings import TiplineSettings


class AgenciesSettings(TiplineSettings):
    agencies_port: int = Field(default=8005, description="HTTP port for health checks.")
    release_interval_ms: int = Field(
        default=100, ge=10, description="How often due responses are released to the stream."
    )
