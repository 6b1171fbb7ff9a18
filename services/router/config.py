"""Router settings."""

from pathlib import Path

from pydantic import Field

from shared.settings import DATA_DIR, TiplineSettings


class RouterSettings(TiplineSettings):
    router_port: int = Field(default=8003, description="HTTP port for health checks.")
    ip_table_file: Path = Field(
        default=DATA_DIR / "ip_ranges.json", description="Synthetic IP range -> jurisdiction table."
    )
    zip_table_file: Path = Field(
        default=DATA_DIR / "zip3_states.json", description="ZIP prefix -> state table."
    )
