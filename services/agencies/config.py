"""Agencies settings."""

from pydantic import Field, model_validator

from shared.settings import TiplineSettings


class AgenciesSettings(TiplineSettings):
    agencies_port: int = Field(default=8005, description="HTTP port for health checks.")
    linger_ms: int = Field(
        default=200, ge=0, le=1000, description="As for every service; longer here: the agencies "
        "answer on a simulated clock, off the path a report takes to its inbox, and their "
        "inboxes fill slowly each; never more than a tenth of a simulated hour "
        "(TIPLINE_SIM_SECONDS_PER_HOUR): a case waiting in its inbox waits on the agencies' clock.")
    release_interval_ms: int = Field(
        default=100, ge=10, description="How often due responses are released to the stream."
    )

    @model_validator(mode="after")
    def _linger_within_the_simulated_clock(self) -> "AgenciesSettings":
        self.linger_ms = min(self.linger_ms, int(self.sim_seconds_per_hour * 1000 / 10))
        return self
