"""Triage settings."""

from pathlib import Path

from pydantic import Field

from shared.settings import DATA_DIR, TiplineSettings


class TriageSettings(TiplineSettings):
    triage_port: int = Field(default=8002, description="HTTP port for health checks.")
    known_hashes_file: Path = Field(
        default=DATA_DIR / "known_hashes.json", description="Hashes of previously seen files."
    )
    bundle_window_s: int = Field(
        default=30 * 24 * 3600, ge=60, description="How long a viral bundle takes new members."
    )
