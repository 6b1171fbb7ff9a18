"""The synthetic agency directory: who can receive a case, and how each mock agency behaves."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.schemas.events import TriageLane


class AgencyProfile(BaseModel):
    """How the simulator makes this agency behave, in simulated hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ack_median_hours: dict[TriageLane, float] = Field(description="Median time to acknowledge, per lane.")
    ack_spread: float = Field(default=0.8, ge=0, description="Log-normal sigma of that time.")
    never_ack_share: float = Field(ge=0, le=1, description="Share of cases never acknowledged.")
    outcome_share: float = Field(ge=0, le=1, description="Share of acknowledged cases with an outcome.")
    outcome_median_hours: float = Field(default=240, gt=0, description="Median time from ack to outcome.")

    @model_validator(mode="after")
    def _every_lane(self) -> "AgencyProfile":
        missing = {"p1", "p2", "p3", "informational"} - set(self.ack_median_hours)
        if missing:
            raise ValueError(f"ack_median_hours lacks lanes: {sorted(missing)}")
        if any(h < 0 for h in self.ack_median_hours.values()):
            raise ValueError("ack_median_hours must not be negative")
        return self


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1)
    kind: Literal["icac", "federal", "international"]
    jurisdictions: list[str] = Field(
        description="US-XX for a state, a two-letter country code, US for federal, INTL for the catch-all."
    )
    profile: AgencyProfile


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agencies: list[Agency] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "Directory":
        ids = [a.id for a in self.agencies]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate agency ids: {dupes}")
        seen: dict[str, str] = {}
        for agency in self.agencies:
            for j in agency.jurisdictions:
                if j in seen:
                    raise ValueError(f"jurisdiction {j} claimed by both {seen[j]} and {agency.id}")
                seen[j] = agency.id
        return self

    def by_id(self, agency_id: str) -> Agency:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise KeyError(agency_id)

    def for_jurisdiction(self, jurisdiction: str) -> Agency | None:
        for agency in self.agencies:
            if jurisdiction in agency.jurisdictions:
                return agency
        return None


class DirectoryError(ValueError):
    pass


@lru_cache(maxsize=8)
def load_directory(path: Path) -> Directory:
    """Read and check the directory file; a bad file is a clear start-up error."""
    try:
        return Directory.model_validate_json(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise DirectoryError(f"agency directory not found: {path}") from exc
    except ValidationError as exc:
        raise DirectoryError(f"agency directory {path} is invalid:\n{exc}") from exc
