"""Intake settings."""

from pydantic import Field

from shared import devkeys
from shared.settings import TiplineSettings


class IntakeSettings(TiplineSettings):
    intake_port: int = Field(default=8001, description="HTTP port of the intake API.")
    esp_keys: str = Field(
        default=devkeys.ESP_KEYS,
        description="Comma-separated name:key pairs, one per electronic service provider.",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Larger requests get 413.")
    max_batch_bytes: int = Field(default=50_000_000, ge=1024, description="Larger batches get 413.")
    max_batch_reports: int = Field(default=1000, ge=1, description="Reports per batch request.")
    check_threads: int = Field(
        default=2, ge=1, description="Worker threads that check XML documents and validate batches, "
        "off the event loop: a costly request never holds the others or /healthz.")
    check_waiting: int = Field(
        default=32, ge=0, description="Checks that may wait for a worker thread; a request beyond "
        "them is refused at once (503 with Retry-After; 1000 on the XML API).")
    max_lane_backlog: int = Field(
        default=250_000, ge=1, description="A submitted lane holding this many reports not yet "
        "triaged refuses more with 503 and Retry-After, instead of growing Redis without limit.")
    accept_replicas: int = Field(
        default=0, ge=0, description="Redis replicas that must hold a report before it is "
        "answered 202 (Redis WAIT after publishing): a master that dies before replicating then "
        "loses no report it answered for. 0: answer once the master holds it. Fewer replicas "
        "within TIPLINE_ACCEPT_TIMEOUT_MS: 503 with Retry-After (the report is kept; a retry "
        "with the same Idempotency-Key answers with it).")
    accept_timeout_ms: int = Field(
        default=1000, ge=1, description="How long intake waits for TIPLINE_ACCEPT_REPLICAS.")
    idempotency_ttl_s: int = Field(
        default=7 * 24 * 3600, ge=60, description="How long an Idempotency-Key is remembered."
    )
    ispws_users: str = Field(
        default=devkeys.ISPWS_USERS, description="The XML reporting API's ESP credentials (HTTP "
        "Basic): comma-separated user:password pairs. The user is the ESP's name in the pipeline.")
    ispws_max_file_bytes: int = Field(
        default=100_000_000, ge=1, description="Largest file /ispws/upload takes (its bytes are "
        "hashed as they arrive, never kept); a larger one answers 1111.")
    ispws_upload_timeout_s: float = Field(default=600, gt=0,
                                          description="Time an upload may take to arrive.")
    load_esps: str = Field(
        default=devkeys.ESP, description="Comma-separated ESPs allowed to send synthetic load "
        "(the Tipline-Load header of `tipline load`): each such report is filed as the ESP "
        "`load:<profile>`, apart from every real one.")

    def load_esp_names(self) -> set[str]:
        return {n.strip() for n in self.load_esps.split(",") if n.strip()}

    ispws_keep_s: int = Field(
        default=7 * 24 * 3600, ge=60, description="How long a finished or retracted report is "
        "remembered, so that finishing it again answers 5102 (or 5101).")
