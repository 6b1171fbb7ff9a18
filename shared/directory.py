"""The synthetic agency directory: who can receive a case, and how each mock agency behaves."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.geo import US_JURISDICTIONS, is_country_code
from shared.schemas.events import TriageLane

LANES = ("p1", "p2", "p3", "informational")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyProfile(_Closed):
    """How the simulator makes this agency behave, in simulated hours."""

    capacity_per_day: float = Field(default=24, gt=0, description="Cases it can take on per day.")
    ack_median_hours: dict[TriageLane, float] = Field(description="Median time to acknowledge, per lane.")
    ack_spread: float = Field(default=0.8, ge=0, description="Log-normal sigma of that time.")
    never_ack_share: float = Field(ge=0, le=1, description="Share of cases never acknowledged.")
    outcome_share: float = Field(ge=0, le=1, description="Share of acknowledged cases with an outcome.")
    outcome_median_hours: float = Field(default=240, gt=0, description="Median time from ack to outcome.")

    @model_validator(mode="after")
    def _every_lane(self) -> "AgencyProfile":
        missing = set(LANES) - set(self.ack_median_hours)
        if missing:
            raise ValueError(f"ack_median_hours lacks lanes: {sorted(missing)}")
        if any(h < 0 for h in self.ack_median_hours.values()):
            raise ValueError("ack_median_hours must not be negative")
        return self


class Region(_Closed):
    """Part of a state served by one of several task forces."""

    name: str
    zip3: list[str] = Field(default=[], description="First three ZIP digits it serves.")
    cities: list[str] = []
    default: bool = Field(default=False, description="Takes the state's cases no region claims.")

    @field_validator("zip3")
    @classmethod
    def _zip3(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not (len(v) == 3 and v.isdigit())]
        if bad:
            raise ValueError(f"zip3 entries must be three digits: {bad[:3]}")
        return values


class Agency(_Closed):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1)
    kind: Literal["icac", "federal", "international"]
    jurisdictions: list[str] = Field(
        description="US-XX for a state or territory, a country code, US for federal, INTL for the catch-all."
    )
    region: Region | None = None
    profile: AgencyProfile
    played_by: Literal["simulator", "people"] = Field(
        default="simulator", description="people: a person plays the agency through the agency API "
        "(a workshop); the simulator leaves its cases alone.")

    @field_validator("jurisdictions")
    @classmethod
    def _known_codes(cls, values: list[str]) -> list[str]:
        for value in values:
            if value.startswith("US-"):
                if value[3:] not in US_JURISDICTIONS:
                    raise ValueError(f"unknown US state or territory code: {value}")
            elif value not in ("US", "INTL") and not is_country_code(value):
                raise ValueError(f"not a jurisdiction (US-XX, a country code, US or INTL): {value}")
        return values


class FederalPartners(_Closed):
    default: str = Field(description="Takes unassigned reports, escalations and multi-state cases.")
    by_incident: dict[str, str] = Field(default={}, description="Incident type -> federal nexus agency.")


class Directory(_Closed):
    description: str = ""
    federal: FederalPartners
    agencies: list[Agency] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "Directory":
        ids = [a.id for a in self.agencies]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate agency ids: {dupes}")
        by_jurisdiction: dict[str, list[Agency]] = {}
        for agency in self.agencies:
            for j in agency.jurisdictions:
                by_jurisdiction.setdefault(j, []).append(agency)
        for j, holders in by_jurisdiction.items():
            if len(holders) == 1:
                continue
            names = [a.id for a in holders]
            if any(a.region is None for a in holders):
                raise ValueError(f"jurisdiction {j} claimed by both {names[0]} and {names[1]} "
                                 "without regions")
            defaults = [a.id for a in holders if a.region and a.region.default]
            if len(defaults) != 1:
                raise ValueError(f"{j} has {len(defaults)} default regions ({defaults}); needs one")
            zips = [z for a in holders for z in a.region.zip3]  # type: ignore[union-attr]
            shared = sorted({z for z in zips if zips.count(z) > 1})
            if shared:
                raise ValueError(f"{j}: ZIP prefixes in more than one region: {shared[:5]}")
        known = {a.id: a for a in self.agencies}
        for role, agency_id in [("default", self.federal.default), *self.federal.by_incident.items()]:
            if agency_id not in known or known[agency_id].kind != "federal":
                raise ValueError(f"federal partner for {role} is not a federal agency: {agency_id}")
        return self

    _by_id: dict[str, Agency] = PrivateAttr(default_factory=dict)
    _by_jurisdiction: dict[str, list[Agency]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        self._by_id.update({a.id: a for a in self.agencies})
        for agency in self.agencies:
            for j in agency.jurisdictions:
                self._by_jurisdiction.setdefault(j, []).append(agency)

    def by_id(self, agency_id: str) -> Agency:
        return self._by_id[agency_id]

    def get(self, agency_id: str) -> Agency | None:
        return self._by_id.get(agency_id)

    def for_jurisdiction(self, jurisdiction: str) -> list[Agency]:
        return self._by_jurisdiction.get(jurisdiction, [])


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
