"""Intake settings."""

from pydantic import Field

from shared.settings import TiplineSettings

# A development key, documented in the README, so the demo works out of the box.
DEVELOPMENT_KEYS = "example-esp:dev-key-not-secret"


class IntakeSettings(TiplineSettings):
    intake_port: int = Field(default=8001, description="HTTP port of the intake API.")
    esp_keys: str = Field(
        default=DEVELOPMENT_KEYS,
        description="Comma-separated name:key pairs, one per electronic service provider.",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Larger requests get 413.")
    max_batch_bytes: int = Field(default=50_000_000, ge=1024, description="Larger batches get 413.")
    max_batch_reports: int = Field(default=1000, ge=1, description="Reports per batch request.")
    max_lane_backlog: int = Field(
        default=250_000, ge=1, description="A submitted lane holding this many reports not yet "
        "triaged refuses more with 503 and Retry-After, instead of growing Redis without limit.")
    idempotency_ttl_s: int = Field(
        default=7 * 24 * 3600, ge=60, description="How long an Idempotency-Key is remembered."
    )
