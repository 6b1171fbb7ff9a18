"""Settings every service shares; each service extends them with its own (env prefix TIPLINE_)."""

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis

from shared import devkeys
from shared.connect import BadRedisUrl, cluster_nodes, connect_async, is_cluster
from shared.topology import Topology

DATA_DIR = Path(__file__).parent / "data"


def _default_consumer() -> str:
    # Host name alone is unique per container; the pid keeps two local replicas apart.
    return f"{socket.gethostname()}-{os.getpid()}"


class TiplineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIPLINE_", extra="ignore")

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis for every "
                           "stream and key: one node (redis://host:port/db) or a Redis Cluster "
                           "(redis+cluster://host:port[,host:port...]).")
    redis_password: SecretStr | None = Field(
        default=None, description="Redis password (AUTH), when the URL does not carry one.")
    prefix: str = Field(default="tipline", pattern=r"^[A-Za-z0-9_.-]{1,40}$",
                        description="Prefix of every stream and key: stacks with different prefixes "
                        "share a Redis without seeing each other.")
    host: str = Field(default="127.0.0.1", description="Address the service's HTTP server binds.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: console on a terminal, JSON otherwise."
    )
    log_level: str = Field(default="INFO", description="Lowest level logged: DEBUG, INFO, WARNING, "
                           "ERROR.")
    consumer_name: str = Field(default_factory=_default_consumer, description="Consumer name in every group.")
    batch_size: int = Field(default=100, ge=1, le=10_000, description="Entries read per XREADGROUP.")
    poll_ms: int = Field(default=100, ge=1, description="How long one read blocks when a stream is empty.")
    linger_ms: int = Field(
        default=20, ge=0, le=1000, description="After a read that found less than a batch, how "
        "long a reader lets entries gather before it reads again (the urgent lanes, escalated "
        "and priority-1 reports and watch alerts, are read meanwhile): fuller batches cost less "
        "per entry. 0: read again at once.")
    reclaim_idle_ms: int = Field(
        default=15_000, ge=100, description="Entries pending this long are taken over (XAUTOCLAIM)."
    )
    max_deliveries: int = Field(
        default=3, ge=1, description="Deliveries of a failing entry before it is dead-lettered."
    )
    dedupe_ttl_s: int = Field(
        default=24 * 3600, ge=60, description="How long a consumer group remembers the event ids "
        "it has committed: the same event arriving again within it writes nothing.",
    )
    preempt_every: int = Field(
        default=20, ge=1, description="Entries of a less urgent lane handled between two looks at the "
        "more urgent lanes.",
    )
    nice: int = Field(
        default=0, ge=0, le=19, description="OS scheduling niceness of the process: the ledger and "
        "the agency simulator can yield the CPU to the dispatch path.",
    )
    stream_retention_s: float = Field(
        default=0, ge=0, description="Entries every group has finished with are kept this long, "
        "then trimmed (0: at the next trim; keep some history to look at or count it). Nothing "
        "unread or unacknowledged is trimmed; dead letters never are.",
    )
    trim_interval_s: float = Field(default=5, gt=0, description="How often streams are trimmed.")
    report_body_ttl_s: int = Field(
        default=30 * 24 * 3600, ge=60, description="How long a report's body, stored once when it "
        "is accepted, is kept: for triage, and for the agencies that open their cases' reports. "
        "At least the stream retention; the tracker keeps a body longer while a case of its report "
        "is open.")
    directory_file: Path = Field(
        default=DATA_DIR / "agencies.json", description="The synthetic agency directory."
    )
    sim_seconds_per_hour: float = Field(
        default=2.5, gt=0, description="Wall seconds per simulated hour (2.5: a day in a minute)."
    )
    linking: bool = Field(
        default=True, description="Link related reports (shared identifiers of the person "
        "reported) and route them with their group. false: every report is routed on its own, "
        "as before linking: a workshop's what-if, and the benchmark's baseline.")
    link_key: SecretStr = Field(
        default=SecretStr(devkeys.LINK_KEY), description="The key of the keyed hashes (HMAC-SHA256) "
        "linking keeps of identifiers (emails, phones, accounts, devices, IP addresses) instead of "
        "the identifiers: the same key in triage, which hashes, and wherever groups are read.")
    link_ip_window_s: float = Field(
        default=3600, ge=0, description="Two reports whose person reported was seen at the same "
        "non-proxy IP address within this many seconds of each other are linked.")
    preservation_days: float = Field(
        default=365, gt=0, description="Simulated days a platform preserves a report's content "
        "after submitting it (one year since the REPORT Act of 2024; 90 before): a case "
        "acknowledged later may have nothing left to subpoena.")
    preservation_at_risk_days: float = Field(
        default=30, ge=0, description="An unacknowledged case whose preservation ends within this "
        "many simulated days is at risk: its agency is warned once.")
    trace_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="Where spans go: nowhere, standard error, or an OTLP endpoint.")
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint, e.g. http://jaeger:4318/v1/traces.")
    http_keepalive_s: float = Field(default=5, gt=0, description="Idle keep-alive connections "
                                    "are closed after this long.")
    http_max_concurrency: int = Field(default=200, ge=1, description="Requests handled at once; "
                                      "more get 503 with Retry-After (health, readiness and "
                                      "metrics are always answered).")
    http_header_timeout_s: float = Field(default=10, gt=0, description="A request's headers not "
                                         "received within this long of its start: 408, and the "
                                         "connection is closed.")
    http_max_connections_per_client: int = Field(
        default=64, ge=1, description="Connections one client address may hold; a new one beyond "
        "them closes that address's oldest.")
    http_body_timeout_s: float = Field(default=30, gt=0, description="A request body not received "
                                       "within this long is refused (408).")
    http_fd: int | None = Field(default=None, ge=0, description="Serve on this inherited, "
                                "already listening socket instead of binding the port (set by "
                                "`tipline up` for the processes it starts).")

    @model_validator(mode="after")
    def _cluster_url_names_nodes(self) -> "TiplineSettings":
        if is_cluster(self.redis_url):
            try:
                cluster_nodes(self.redis_url)
            except BadRedisUrl as exc:
                raise ValueError(f"TIPLINE_REDIS_URL: {exc}") from None
        return self

    @model_validator(mode="after")
    def _bodies_outlive_streams(self) -> "TiplineSettings":
        if self.report_body_ttl_s < self.stream_retention_s:
            raise ValueError("TIPLINE_REPORT_BODY_TTL_S must be at least "
                             "TIPLINE_STREAM_RETENTION_S: an event must never outlive its report")
        return self

    def topology(self) -> Topology:
        return Topology(self.prefix, cluster=is_cluster(self.redis_url))

    def preservation_s(self) -> float:
        """How long a report's content is preserved, in wall seconds of the simulated clock."""
        return self.preservation_days * 24 * self.sim_seconds_per_hour

    def redis(self) -> Redis:
        """A client for the configured Redis, one node or a cluster (shared.connect; the URL's
        password wins over redis_password)."""
        password = self.redis_password.get_secret_value() if self.redis_password else None
        return connect_async(self.redis_url, password=password)  # type: ignore[no-any-return]
