"""The CyberTipline report: every element, attribute, value set and limit of the public `<report>`
and `<fileDetails>` schemas, as one set of models that reads and writes both forms.

XML: element names and order as in the public schema (`python -m shared.schemas.xsd` writes the XSD
that gates every XML document). JSON, the documented mapping: element names as keys (camelCase as
written), attributes as keys of the same object, the text of an element that has attributes under
`"value"`, presence flags as booleans, repeated elements as lists. As a convenience a plain string
is accepted where an element carries only text (an email or a phone without attributes).

JSON keeps its own types (a flag is true or false, a number a number, an IP address and a date-time
text); XML documents are read with the context {"xml": True}, where a flag is present (empty),
`true` or `false`. The JSON API also takes a report's files inline (`files`: fileDetails without
their ids, each with at least one hash), since nothing is uploaded through it: `FiledReport`.
"""

from datetime import date, datetime
from enum import StrEnum
from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_xml import BaseXmlModel, attr, element

# ---- limits: what the public schema documents, and tipline's own bounds on what one report may
# cost the pipeline (a list over its limit is refused at once, with one error) ----

MAX_TEXT = 4000  # a text element the public schema gives no limit
MAX_LONG_TEXT = 20000  # additionalInfo
MAX_FILES = 1000
MAX_HASHES_PER_FILE = 10
MAX_VICTIMS = 100
MAX_PEOPLE = 100  # intended recipients, associated accounts, internet details
MAX_IP_EVENTS = 500
MAX_CONTACTS = 50  # emails, phones, addresses, display names, profile URLs, device ids of one entry
MAX_DETAILS = 200  # nameValuePairs of a file


def _xml(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("xml"))


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("written as text")
    return value


def _number_only(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number is written as a number")
    return value


def _number_or_xml_text(value: object, info: ValidationInfo) -> object:
    return value if _xml(info) and isinstance(value, str) else _number_only(value)


def _bool(value: object, info: ValidationInfo) -> object:
    """A flag: true or false in JSON; in XML also present and empty (`<sextortion/>`)."""
    if isinstance(value, bool):
        return value
    if _xml(info) and isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "true", "1"):
            return True
        if text in ("false", "0"):
            return False
    raise ValueError("a flag is true or false" + (" (or present and empty)" if _xml(info) else ""))


def _date_text(value: object) -> object:
    if not isinstance(value, str | datetime | date):
        raise ValueError("a date or a date and time is written as ISO 8601 text")
    return value


# Something other than white space. NEL (U+0085) is named: it is stripped as white space, yet a
# JSON Schema (ECMA-262) `\S` would take it.
NON_BLANK = r"[^\s\x85]"


def text(max_length: int = MAX_TEXT) -> Any:
    """Text with something in it (not only spaces), at most `max_length` characters."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=max_length, pattern=NON_BLANK),
                     BeforeValidator(_text_only)]


def integer(low: int, high: int) -> Any:
    """A whole number from low to high: a number in JSON, its digits in XML."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_number_or_xml_text)]


def number(low: float, high: float) -> Any:
    """A number from low to high: a number in JSON, its digits in XML."""
    return Annotated[float, Field(ge=low, le=high), BeforeValidator(_number_or_xml_text)]


Text = text()
LongText = text(MAX_LONG_TEXT)
Flag = Annotated[bool, BeforeValidator(_bool)]
DateTime = Annotated[datetime, BeforeValidator(_date_text)]
Date = Annotated[date, BeforeValidator(_date_text)]
def _ip(value: str) -> str:
    try:
        return str(ip_address(value.strip()))
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


IpAddress = Annotated[str, BeforeValidator(_text_only), AfterValidator(_ip), WithJsonSchema(
    {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})]
ReportId = integer(1, 10**15)


class IncidentType(StrEnum):
    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"


EmailType = Literal["Home", "Work", "Business", "Recovery"]
PhoneType = Literal["Mobile", "Home", "Business", "Work", "Fax", "Internet", "Recovery"]
AddressType = Literal["Home", "Business", "Billing", "Shipping", "Technical"]
EventName = Literal["Login", "Registration", "Purchase", "Upload", "Other", "Unknown"]
AccountType = Literal["Billing", "Linked", "Business", "Creator", "Parent/Guardian", "Other"]
FileRelevance = Literal["Reported", "Supplemental Reported"]
IndustryClassification = Literal["A1", "A2", "B1", "B2"]


class _Element(BaseXmlModel, search_mode="strict"):
    """An element of the public schema: camelCase names, closed, immutable."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              serialize_by_alias=True, extra="forbid", frozen=True)


class _TextElement(_Element):
    """An element with text and attributes: the text is `value` in JSON; a plain string will do."""

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        text = dict(handler.resolve_ref_schema(schema)["properties"]["value"])
        text.pop("title", None)
        return {"anyOf": [schema, text], "title": cls.__name__,
                "description": "The element's object, or a plain string for its text alone."}


# ---- shared types ----

class Email(_TextElement):
    value: text(255)
    type: EmailType | None = attr(default=None)
    verified: Flag | None = attr(default=None)
    verification_date: DateTime | None = attr(default=None)


class Phone(_TextElement):
    value: text(50)
    type: PhoneType | None = attr(default=None)
    verified: Flag | None = attr(default=None)
    verification_date: DateTime | None = attr(default=None)
    country_calling_code: Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{0,2}$"),
                                    BeforeValidator(_text_only)] | None = attr(default=None)
    extension: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$"),
                         BeforeValidator(_text_only)] | None = attr(default=None)


class Address(_Element):
    type: AddressType | None = attr(default=None)
    address: Text | None = element(default=None)
    city: Text | None = element(default=None)
    zip_code: text(20) | None = element(default=None)
    state: text(100) | None = element(default=None)
    non_usa_state: text(100) | None = element(default=None)
    country: text(100) | None = element(default=None)


class Person(_Element):
    first_name: text(100) | None = element(default=None)
    last_name: text(100) | None = element(default=None)
    phone: list[Phone] = element(default_factory=list, max_length=MAX_CONTACTS)
    email: list[Email] = element(default_factory=list, max_length=MAX_CONTACTS)
    address: list[Address] = element(default_factory=list, max_length=MAX_CONTACTS)
    age: integer(0, 150) | None = element(default=None)
    age_assertion_discrepancy: Flag | None = element(default=None)
    date_of_birth: Date | None = element(default=None)


class ContactPerson(_Element):
    first_name: text(100) | None = element(default=None)
    last_name: text(100) | None = element(default=None)
    phone: list[Phone] = element(default_factory=list, max_length=MAX_CONTACTS)
    email: list[Email] = element(default_factory=list, max_length=MAX_CONTACTS)
    address: list[Address] = element(default_factory=list, max_length=MAX_CONTACTS)


class IpCaptureEvent(_Element):
    ip_address: IpAddress = element()
    event_name: EventName | None = element(default=None)
    date_time: DateTime | None = element(default=None)
    possible_proxy: Flag | None = element(default=None)
    port: integer(1, 65535) | None = element(default=None)


class DeviceId(_Element):
    id_type: Text = element()
    id_value: Text = element()
    event_name: EventName | None = element(default=None)
    date_time: DateTime | None = element(default=None)


class EstimatedLocation(_Element):
    verified: Flag | None = attr(default=None)
    timestamp: DateTime | None = attr(default=None)
    city: Text | None = element(default=None)
    region: Text | None = element(default=None)
    country_code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                                   pattern=r"^[A-Za-z]{2}$"),
                            BeforeValidator(_text_only)] | None = element(default=None)


class AssociatedAccount(_Element):
    account_type: AccountType | None = attr(default=None)
    third_party_user: Flag | None = attr(default=None)
    platform: Text | None = element(default=None)
    first_name: text(100) | None = element(default=None)
    middle_name: text(100) | None = element(default=None)
    last_name: text(100) | None = element(default=None)
    approximate_age: integer(0, 150) | None = element(default=None)
    age_assertion_discrepancy: Flag | None = element(default=None)
    phone: list[Phone] = element(default_factory=list, max_length=MAX_CONTACTS)
    email: list[Email] = element(default_factory=list, max_length=MAX_CONTACTS)
    all_emails_reported: Flag | None = element(default=None)
    address: list[Address] = element(default_factory=list, max_length=MAX_CONTACTS)
    esp_service: Text | None = element(default=None)
    esp_identifier: Text | None = element(default=None)
    profile_url: list[Text] = element(default_factory=list, max_length=MAX_CONTACTS)
    screen_name: Text | None = element(default=None)
    display_name: list[Text] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_bio: Text | None = element(default=None)
    group_identifier: Text | None = element(default=None)
    ip_capture_event: list[IpCaptureEvent] = element(default_factory=list, max_length=MAX_IP_EVENTS)
    device_id: list[DeviceId] = element(default_factory=list, max_length=MAX_CONTACTS)
    additional_info: LongText | None = element(default=None)


# ---- <report> ----

class BatchedReport(_Element):
    """One report for many users sharing viral content."""

    reason: Literal["VIRAL_POTENTIAL_MEME"] = attr()


FLAGS_OF_REPORT = ("sextortion", "csam_solicitation", "minor_to_minor_interaction", "spam",
                   "sadistic_online_exploitation", "informational")


class ReportAnnotations(_Element):
    sextortion: Flag = element(default=False)
    csam_solicitation: Flag = element(default=False)
    minor_to_minor_interaction: Flag = element(default=False)
    spam: Flag = element(default=False)
    sadistic_online_exploitation: Flag = element(default=False)
    informational: Flag = element(default=False)


class IncidentSummary(_Element):
    incident_type: IncidentType = element()
    platform: text(256) | None = element(default=None)
    escalate_to_high_priority: text(3000) | None = element(
        default=None, description="Free text; supplying it escalates the report.")
    report_annotations: ReportAnnotations | None = element(default=None)
    incident_date_time: DateTime = element()
    incident_date_time_description: text(3000) | None = element(default=None)

    @property
    def annotations(self) -> ReportAnnotations:
        return self.report_annotations or ReportAnnotations()


class WebPageIncident(_Element):
    third_party_hosted_content: Flag | None = attr(default=None)
    url: list[text(2083)] = element(default_factory=list, max_length=MAX_CONTACTS)
    additional_info: LongText | None = element(default=None)


class EmailIncident(_Element):
    email_address: list[Email] = element(default_factory=list, max_length=MAX_CONTACTS)
    content: LongText | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class NewsgroupIncident(_Element):
    name: Text | None = element(default=None)
    email_address: list[Email] = element(default_factory=list, max_length=MAX_CONTACTS)
    content: LongText | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class ChatImIncident(_Element):
    chat_client: Text | None = element(default=None)
    chat_room_name: Text | None = element(default=None)
    content: LongText | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class OnlineGamingIncident(_Element):
    game_name: Text | None = element(default=None)
    console: Text | None = element(default=None)
    content: LongText | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class CellPhoneIncident(_Element):
    phone_number: Phone | None = element(default=None)
    latitude: number(-90, 90) | None = element(default=None)
    longitude: number(-180, 180) | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class NonInternetIncident(_Element):
    location_name: Text | None = element(default=None)
    incident_address: list[Address] = element(default_factory=list, max_length=MAX_CONTACTS)
    additional_info: LongText | None = element(default=None)


class Peer2peerIncident(_Element):
    client: Text | None = element(default=None)
    ip_capture_event: list[IpCaptureEvent] = element(default_factory=list, max_length=MAX_IP_EVENTS)
    file_names: LongText | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class InternetDetails(_Element):
    """Exactly one kind of incident."""

    __xsd_choice__ = True

    web_page_incident: WebPageIncident | None = element(default=None)
    email_incident: EmailIncident | None = element(default=None)
    newsgroup_incident: NewsgroupIncident | None = element(default=None)
    chat_im_incident: ChatImIncident | None = element(default=None)
    online_gaming_incident: OnlineGamingIncident | None = element(default=None)
    cell_phone_incident: CellPhoneIncident | None = element(default=None)
    non_internet_incident: NonInternetIncident | None = element(default=None)
    peer2peer_incident: Peer2peerIncident | None = element(tag="peer2peerIncident",
                                                           alias="peer2peerIncident", default=None)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        properties = handler.resolve_ref_schema(handler(core_schema))["properties"]
        kinds = []
        for name, schema in properties.items():
            ref = next(s for s in schema.get("anyOf", [schema]) if "$ref" in s)
            # one kind as an object; any other kind absent or null
            kinds.append({"type": "object", "properties": {name: ref}, "required": [name],
                          "additionalProperties": {"type": "null"}})
        return {"oneOf": kinds, "propertyNames": {"enum": list(properties)},
                "title": cls.__name__, "description": cls.__doc__}

    @model_validator(mode="after")
    def _exactly_one(self) -> "InternetDetails":
        kinds = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError("internetDetails holds exactly one kind of incident "
                             f"(found {len(kinds)})")
        return self

    @property
    def incident(self) -> Any:
        return next(getattr(self, n) for n in type(self).model_fields if getattr(self, n))


class LawEnforcement(_Element):
    """The report was already made to a law-enforcement agency."""

    flea_country: text(100) | None = attr(default=None)
    agency_name: Text = element()
    case_number: Text | None = element(default=None)
    officer_contact: ContactPerson | None = element(default=None)
    reported_to_le: Flag | None = element(tag="reportedToLe", default=None)
    served_legal_process_domestic: Flag | None = element(default=None)
    served_legal_process_international: Flag | None = element(default=None)


class Reporter(_Element):
    reporting_person: Person = element()
    contact_person: ContactPerson | None = element(default=None)
    company_template: Text | None = element(default=None)
    terms_of_service: LongText | None = element(default=None)
    legal_url: text(2083) | None = element(tag="legalURL", alias="legalURL", default=None)


class PersonOrUserReported(_Element):
    """The suspect."""

    person_or_user_reported_person: Person | None = element(default=None)
    vehicle_description: Text | None = element(default=None)
    esp_identifier: Text | None = element(default=None)
    esp_service: Text | None = element(default=None)
    compromised_account: Flag | None = element(default=None)
    screen_name: Text | None = element(default=None)
    display_name: list[Text] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_url: list[text(2083)] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_bio: Text | None = element(default=None)
    ip_capture_event: list[IpCaptureEvent] = element(default_factory=list, max_length=MAX_IP_EVENTS)
    device_id: list[DeviceId] = element(default_factory=list, max_length=MAX_CONTACTS)
    third_party_user_reported: Flag | None = element(default=None)
    prior_ct_reports: list[ReportId] = element(tag="priorCTReports", alias="priorCTReports",
                                               default_factory=list, max_length=MAX_CONTACTS)
    group_identifier: Text | None = element(default=None)
    estimated_location: EstimatedLocation | None = element(default=None)
    all_emails_reported: Flag | None = element(default=None)
    associated_account: list[AssociatedAccount] = element(default_factory=list, max_length=MAX_PEOPLE)
    additional_info: LongText | None = element(default=None)


class IntendedRecipient(_Element):
    intended_recipient_person: Person | None = element(default=None)
    esp_identifier: Text | None = element(default=None)
    esp_service: Text | None = element(default=None)
    compromised_account: Flag | None = element(default=None)
    screen_name: Text | None = element(default=None)
    display_name: list[Text] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_url: list[text(2083)] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_bio: Text | None = element(default=None)
    ip_capture_event: list[IpCaptureEvent] = element(default_factory=list, max_length=MAX_IP_EVENTS)
    device_id: list[DeviceId] = element(default_factory=list, max_length=MAX_CONTACTS)
    prior_ct_reports: list[ReportId] = element(tag="priorCTReports", alias="priorCTReports",
                                               default_factory=list, max_length=MAX_CONTACTS)
    group_identifier: Text | None = element(default=None)
    estimated_location: EstimatedLocation | None = element(default=None)
    all_emails_reported: Flag | None = element(default=None)
    additional_info: LongText | None = element(default=None)


class Victim(_Element):
    victim_person: Person = element()
    esp_identifier: Text | None = element(default=None)
    esp_service: Text | None = element(default=None)
    compromised_account: Flag | None = element(default=None)
    screen_name: Text | None = element(default=None)
    display_name: list[Text] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_url: list[text(2083)] = element(default_factory=list, max_length=MAX_CONTACTS)
    profile_bio: Text | None = element(default=None)
    ip_capture_event: list[IpCaptureEvent] = element(default_factory=list, max_length=MAX_IP_EVENTS)
    device_id: list[DeviceId] = element(default_factory=list, max_length=MAX_CONTACTS)
    school_name: Text | None = element(default=None)
    prior_ct_reports: list[ReportId] = element(tag="priorCTReports", alias="priorCTReports",
                                               default_factory=list, max_length=MAX_CONTACTS)
    estimated_location: EstimatedLocation | None = element(default=None)
    all_emails_reported: Flag | None = element(default=None)
    associated_account: list[AssociatedAccount] = element(default_factory=list, max_length=MAX_PEOPLE)
    additional_info: LongText | None = element(default=None)


class Report(_Element, tag="report"):
    """One CyberTipline report, as an ESP files it (the `<report>` document)."""

    batched_report: BatchedReport | None = element(default=None)
    incident_summary: IncidentSummary = element()
    internet_details: list[InternetDetails] = element(default_factory=list, max_length=MAX_PEOPLE)
    law_enforcement: LawEnforcement | None = element(default=None)
    reporter: Reporter = element()
    person_or_user_reported: PersonOrUserReported | None = element(default=None)
    intended_recipient: list[IntendedRecipient] = element(default_factory=list, max_length=MAX_PEOPLE)
    victim: list[Victim] = element(default_factory=list, max_length=MAX_VICTIMS)
    additional_info: LongText | None = element(default=None)

    @property
    def escalated(self) -> bool:
        return self.incident_summary.escalate_to_high_priority is not None


# ---- <fileDetails> ----

FLAGS_OF_FILE = ("anime_drawing_virtual_hentai", "potential_meme", "viral",
                 "possible_self_production", "physical_harm", "violence_gore", "bestiality",
                 "live_streaming", "infant", "generative_ai")


class FileAnnotations(_Element):
    anime_drawing_virtual_hentai: Flag = element(default=False)
    potential_meme: Flag = element(default=False)
    viral: Flag = element(default=False)
    possible_self_production: Flag = element(default=False)
    physical_harm: Flag = element(default=False)
    violence_gore: Flag = element(default=False)
    bestiality: Flag = element(default=False)
    live_streaming: Flag = element(default=False)
    infant: Flag = element(default=False)
    generative_ai: Flag = element(default=False)


class OriginalFileHash(_Element):
    value: Annotated[str, StringConstraints(strip_whitespace=True,
                                            pattern=r"^[0-9A-Za-z+/=]{8,512}$"),
                     BeforeValidator(_text_only)]
    hash_type: text(32) = attr(description="MD5, SHA1, SHA256, PDNA, ...")


class NameValuePair(_Element):
    type: Literal["EXIF", "HASH"] | None = attr(default=None)
    name: Text = element()
    value: LongText = element()


class Details(_Element):
    name_value_pair: list[NameValuePair] = element(min_length=1, max_length=MAX_DETAILS)


class FileDetails(_Element, tag="fileDetails"):
    """What an ESP tells of one file (the `<fileDetails>` document). Its bytes never enter:
    only their hashes and size. `reportId` and `fileId` are required in the XML document; a file
    sent inline with a JSON report has neither."""

    # The documented constraint, for JSON Schema readers too (the validator below enforces it).
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["fileRelevance"],
               "properties": {"fileRelevance": {"const": "Supplemental Reported"}}},
        "then": {"properties": {
            "industryClassification": {"type": "null"},
            "fileAnnotations": {"anyOf": [{"type": "null"}, {
                "type": "object", "properties": {"potentialMeme": {"const": False}}}]}}}})

    report_id: ReportId | None = element(default=None, json_schema_extra={"xml_required": True})
    file_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$"),
                       BeforeValidator(_text_only)] | None = element(
        default=None, json_schema_extra={"xml_required": True})
    original_file_name: text(1000) | None = element(default=None)
    uploaded_to_esp_timestamp: DateTime | None = element(default=None)
    location_of_file: text(2083) | None = element(default=None)
    file_viewed_by_esp: Flag | None = element(default=None)
    exif_viewed_by_esp: Flag | None = element(default=None)
    publicly_available: Flag | None = element(default=None)
    file_relevance: FileRelevance | None = element(default=None)
    file_annotations: FileAnnotations | None = element(default=None)
    industry_classification: IndustryClassification | None = element(default=None)
    original_file_hash: list[OriginalFileHash] = element(default_factory=list,
                                                         max_length=MAX_HASHES_PER_FILE)
    ip_capture_event: IpCaptureEvent | None = element(default=None)
    device_id: list[DeviceId] = element(default_factory=list, max_length=MAX_CONTACTS)
    details: list[Details] = element(default_factory=list, max_length=MAX_CONTACTS)
    additional_info: list[LongText] = element(default_factory=list, max_length=MAX_CONTACTS)

    @model_validator(mode="after")
    def _supplemental(self) -> "FileDetails":
        if self.file_relevance == "Supplemental Reported":
            if self.industry_classification is not None:
                raise ValueError("a file whose fileRelevance is Supplemental Reported carries no "
                                 "industryClassification")
            if self.file_annotations and self.file_annotations.potential_meme:
                raise ValueError("a file whose fileRelevance is Supplemental Reported carries no "
                                 "potentialMeme annotation")
        return self

    @property
    def annotations(self) -> FileAnnotations:
        return self.file_annotations or FileAnnotations()


def _hashes_required(schema: dict[str, Any]) -> None:
    """In the JSON API a file is its hashes: say so in the schema of `files`."""
    schema["items"] = {"allOf": [schema["items"], {
        "required": ["originalFileHash"], "properties": {"originalFileHash": {"minItems": 1}}}]}


class FiledReport(Report, tag="report"):
    """A report with its files: what the JSON API takes, what the XML API builds from a report and
    its uploads at /finish, and what the pipeline carries."""

    files: list[FileDetails] = element(default_factory=list, max_length=MAX_FILES,
                                       json_schema_extra=_hashes_required)

    @model_validator(mode="after")
    def _files_have_hashes(self) -> "FiledReport":
        for index, file in enumerate(self.files):
            if not file.original_file_hash:
                raise ValueError(f"files.{index}: a file carries at least one originalFileHash "
                                 "(its bytes never enter)")
        return self
