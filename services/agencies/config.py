"""Agencies settings."""

from pydantic import Field

from shared.settings import TiplineSettings


class AgenciesSettings(TiplineSettings):
    agencies_port: int = Field(default=8005, description="HTTP port for health checks.")
    linger_ms: int = Field(
        default=200, ge=0, le=1000, description="As for every service; longer here: the agencies "
        "answer on a simulated clock, off the path a report takes to its inbox, and their "
        "inboxes fill slowly each (a case's time at its agency counts from its handoff, not from "
        "when it is read).")
    release_interval_ms: int = Field(
        default=100, ge=10, description="How often due responses are released to the stream."
    )

