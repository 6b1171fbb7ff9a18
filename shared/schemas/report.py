"""The CyberTipline report in JSON form: keys are the XML element names of the public schema."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel


class IncidentType(StrEnum):
    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"


class _Element(BaseModel):
    """An element of the public schema: camelCase keys, closed, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, extra="forbid",
        frozen=True,
    )


# Limits per report: what one submission may cost the pipeline (documented in the README). A list
# over its limit is refused at once, with one error, before its items are looked at.
MAX_FILES = 1000
MAX_HASHES_PER_FILE = 10
MAX_VICTIMS = 100
MAX_INTERNET_DETAILS = 100
MAX_IP_EVENTS = 500
MAX_CONTACTS = 50  # emails, phones or addresses of one person
MAX_TEXT = 4000
MAX_ADDITIONAL_INFO = 20000

# JSON's own types are kept: a flag is true or false (not 0, 1 or "yes"), a number is a number,
# an IP address is text (the standard library would read false as 0.0.0.0).
Flag = StrictBool


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("an IP address is written as text")
    return value


IpAddress = Annotated[IPvAnyAddress, BeforeValidator(_text_only), WithJsonSchema(
    {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})]


def _date_text_only(value: object) -> object:
    if not isinstance(value, str | datetime):
        raise ValueError("a date and time is written as ISO 8601 text")
    return value


DateTime = Annotated[datetime, BeforeValidator(_date_text_only)]


def _number_only(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a whole number is written as a number")
    return value


def integer(low: int, high: int) -> Any:
    """A whole number from low to high, written as a number."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_number_only)]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
CountryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
]


class ReportAnnotations(_Element):
    sextortion: Flag = False
    csam_solicitation: Flag = False
    minor_to_minor_interaction: Flag = False
    spam: Flag = False
    sadistic_online_exploitation: Flag = False
    informational: Flag = False


class IncidentSummary(_Element):
    incident_type: IncidentType
    escalate_to_high_priority: Text | None = Field(
        default=None, description="Free text; supplying it escalates the report."
    )
    report_annotations: ReportAnnotations = ReportAnnotations()
    incident_date_time: DateTime


class Address(_Element):
    address: Text | None = None
    city: Text | None = None
    zip_code: Text | None = None
    state: Text | None = None
    non_usa_state: Text | None = None
    country: CountryCode | None = None


class Person(_Element):
    first_name: Text | None = None
    last_name: Text | None = None
    email: list[Text] = Field(default=[], max_length=MAX_CONTACTS)
    phone: list[Text] = Field(default=[], max_length=MAX_CONTACTS)
    address: list[Address] = Field(default=[], max_length=MAX_CONTACTS)
    age: integer(0, 130) | None = None


class Reporter(_Element):
    reporting_person: Person
    contact_person: Person | None = None
    legal_url: Text | None = Field(default=None, alias="legalURL")


class IpCaptureEvent(_Element):
    ip_address: IpAddress
    event_name: Text | None = None
    date_time: DateTime | None = None
    possible_proxy: Flag = False
    port: integer(0, 65535) | None = None


class EstimatedLocation(_Element):
    city: Text | None = None
    region: Text | None = None
    country_code: CountryCode


class PersonOrUserReported(_Element):
    person_or_user_reported_person: Person | None = None
    esp_identifier: Text | None = None
    esp_service: Text | None = None
    screen_name: Text | None = None
    display_name: Text | None = None
    profile_url: Text | None = None
    email: list[Text] = Field(default=[], max_length=MAX_CONTACTS)
    phone: list[Text] = Field(default=[], max_length=MAX_CONTACTS)
    ip_capture_event: list[IpCaptureEvent] = Field(default=[], max_length=MAX_IP_EVENTS)
    estimated_location: EstimatedLocation | None = None


class Victim(_Element):
    victim_person: Person | None = None
    esp_identifier: Text | None = None
    screen_name: Text | None = None


class InternetDetails(_Element):
    type: Literal[
        "webPage", "email", "newsgroup", "chatIm", "onlineGaming", "cellPhone", "nonInternet",
        "peer2peer",
    ]
    url: Text | None = None
    content: Text | None = None


class FileHash(_Element):
    hash_type: Literal["MD5", "SHA1", "SHA256", "PDNA"]
    value: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z+/=]{8,512}$")]


class FileAnnotations(_Element):
    viral: Flag = False
    potential_meme: Flag = False
    generative_ai: Flag = False
    infant: Flag = False
    physical_harm: Flag = False
    violence_gore: Flag = False
    live_streaming: Flag = False
    possible_self_production: Flag = False
    animal: Flag = False
    bestiality: Flag = False


class FileDetails(_Element):
    """What a fileDetails document carries: the file itself never enters the system, only its hashes."""

    file_name: Text | None = None
    original_file_hash: list[FileHash] = Field(min_length=1, max_length=MAX_HASHES_PER_FILE)
    industry_classification: Literal["A1", "A2", "B1", "B2"] | None = None
    file_annotations: FileAnnotations = FileAnnotations()
    file_relevance: Literal["Reported", "Supplemental Reported", "Supplemental"] = "Reported"
    publicly_available: Flag | None = None


class Report(_Element):
    """One CyberTipline report, as an ESP submits it."""

    incident_summary: IncidentSummary
    reporter: Reporter
    person_or_user_reported: PersonOrUserReported | None = None
    victim: list[Victim] = Field(default=[], max_length=MAX_VICTIMS)
    internet_details: list[InternetDetails] = Field(default=[], max_length=MAX_INTERNET_DETAILS)
    files: list[FileDetails] = Field(default=[], max_length=MAX_FILES)
    additional_info: Annotated[str, StringConstraints(max_length=MAX_ADDITIONAL_INFO)] | None = None

    @property
    def escalated(self) -> bool:
        return self.incident_summary.escalate_to_high_priority is not None
