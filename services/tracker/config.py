"""Tracker settings."""

from pydantic import Field

from shared.settings import TiplineSettings


class TrackerSettings(TiplineSettings):
    tracker_port: int = Field(default=8004, description="HTTP port of the tracker API.")
