"""Every stream name and consumer group, in one place."""

from shared.schemas.events import Lane, TriageLane

PREFIX = "tipline"

SUBMITTED: dict[Lane, str] = {
    "escalated": f"{PREFIX}:reports:submitted:escalated",
    "standard": f"{PREFIX}:reports:submitted:standard",
}
TRIAGED: dict[TriageLane, str] = {
    lane: f"{PREFIX}:reports:triaged:{lane}" for lane in ("p1", "p2", "p3", "informational")
}
ROUTED = f"{PREFIX}:reports:routed"
UNASSIGNED = f"{PREFIX}:reports:unassigned"
AGENCY_RESPONSES = f"{PREFIX}:agency:responses"
SLA_BREACHES = f"{PREFIX}:sla:breaches"
DEAD_LETTERS = f"{PREFIX}:dead-letters"

# Urgent lanes first: a reader that serves several lanes polls them in this order.
SUBMITTED_BY_URGENCY = [SUBMITTED["escalated"], SUBMITTED["standard"]]
TRIAGED_BY_URGENCY = [TRIAGED[lane] for lane in ("p1", "p2", "p3", "informational")]


def agency_inbox(agency_id: str) -> str:
    return f"{PREFIX}:agency:{agency_id}:inbox"


# Consumer groups: each is the consuming service's name.
TRIAGE = "triage"
ROUTER = "router"
AGENCIES = "agencies"
TRACKER = "tracker"

# Plain keys (not streams).
REPORT_ID_COUNTER = f"{PREFIX}:report-id"


def idempotency_key(esp: str, key: str) -> str:
    return f"{PREFIX}:idempotency:{esp}:{key}"


def timeline_key(report_id: int) -> str:
    return f"{PREFIX}:report:{report_id}"


AGENCY_SCHEDULE = f"{PREFIX}:agency:schedule"


def agency_busy_until(agency_id: str) -> str:
    return f"{PREFIX}:agency:{agency_id}:busy-until"
GAP_TOTALS = f"{PREFIX}:gap:totals"
GAP_OPEN = f"{PREFIX}:gap:open"
SLA_WATCH = f"{PREFIX}:sla:watch"
SLA_LEVELS = f"{PREFIX}:sla:levels"


def gap_by_agency(agency_id: str) -> str:
    return f"{PREFIX}:gap:agency:{agency_id}"


def gap_by_lane(lane: str) -> str:
    return f"{PREFIX}:gap:lane:{lane}"


ALL_CONSUMED = {
    TRIAGE: SUBMITTED_BY_URGENCY,
    ROUTER: [*TRIAGED_BY_URGENCY, SLA_BREACHES],
    TRACKER: [
        *SUBMITTED_BY_URGENCY, *TRIAGED_BY_URGENCY, ROUTED, UNASSIGNED, AGENCY_RESPONSES,
        SLA_BREACHES, DEAD_LETTERS,
    ],
}


def bundle_key(hash_key: str) -> str:
    """A viral file's hash (`MD5:abc...`) -> the report that opened its bundle."""
    return f"{PREFIX}:bundle:{hash_key}"
