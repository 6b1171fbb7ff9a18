"""Who reads what on the tracker, defined once: every route (and the variants whose answer differs),
what it reads, and the status each kind of caller gets. tests/integration/test_role_matrix.py walks
every route of the app for every caller against it; tests/unit/test_role_matrix_doc.py checks that
docs/guarantees.md shows this very table."""

from dataclasses import dataclass, field
from typing import Any

# The callers, as the walk presents them. "agency" is the agency the path names (icac-wa), holding
# the case of report 1; "other agency" presents its own key (icac-oh's) on icac-wa's path; a
# session is the dashboard's signed cookie, made from the key of that role, with no header.
CALLERS = ("no key", "wrong key", "ESP key", "agency", "other agency", "analyst",
           "analyst session", "admin", "admin session")


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's template, as the app declares it
    reads: str
    statuses: tuple[int, ...]  # one per caller, in the order of CALLERS
    query: str = ""
    variant: str = ""  # what sets this row apart from another row of the same route
    params: dict[str, Any] = field(default_factory=dict)  # path values other than the walk's

    def __post_init__(self) -> None:
        assert len(self.statuses) == len(CALLERS), self.label

    @property
    def label(self) -> str:
        text = f"`{self.method} {self.path}{'?' + self.query if self.query else ''}`"
        return f"{text} ({self.variant})" if self.variant else text


OPEN = (200,) * 9
ANALYSTS = (401, 401, 401, 401, 401, 200, 200, 200, 200)
ADMIN = (401, 401, 401, 401, 401, 401, 401, 200, 401)
BODY = "/v1/agencies/{agency_id}/cases/{report_id}/report"

MATRIX: tuple[Row, ...] = (
    # the service's frame: nothing of any report
    Row("GET", "/healthz", "liveness", OPEN),
    Row("GET", "/readyz", "readiness", OPEN),
    Row("GET", "/metrics", "counters, by route template (never a report id)", OPEN),
    Row("GET", "/asyncapi", "the AsyncAPI document", OPEN),
    Row("GET", "/asyncapi.yaml", "the AsyncAPI document", OPEN),
    Row("GET", "/openapi.json", "the OpenAPI document", OPEN),
    Row("GET", "/docs", "the OpenAPI pages", OPEN),
    Row("GET", "/docs/oauth2-redirect", "the OpenAPI pages", OPEN),
    Row("GET", "/redoc", "the OpenAPI pages", OPEN),
    # the dashboard: its pages hold no data (they read the API with the session)
    Row("GET", "/dashboard", "the sign-in page, or the page (no data)", OPEN),
    Row("GET", "/dashboard/reports/{report_id}", "the sign-in page, or the page (no data)", OPEN),
    Row("GET", "/dashboard/agencies/{agency_id}", "the sign-in page, or the page (no data)", OPEN),
    Row("GET", "/dashboard/assets/{name}", "the script and style", OPEN),
    Row("POST", "/dashboard/login", "a session for the key in the form", (
        401, 401, 401, 401, 401, 303, 303, 303, 303), variant="the caller's key in the form"),
    Row("POST", "/dashboard/logout", "ends the session", (303,) * 9),
    # the ledger, the gap and metadata: analysts (and admins)
    Row("GET", "/v1/reports/{report_id}", "a timeline: stages, handoffs, the reads of its body",
        ANALYSTS),
    Row("GET", "/v1/gap", "counters", ANALYSTS),
    Row("GET", "/v1/gap/histograms", "counters", ANALYSTS),
    Row("GET", "/v1/gap/series", "counters", ANALYSTS),
    Row("GET", "/v1/gap/dark", "cases: metadata", ANALYSTS),
    Row("GET", "/v1/pipeline", "consumer groups' backlogs", ANALYSTS),
    Row("GET", "/v1/dead-letters", "dead letters without their payloads", ANALYSTS),
    Row("GET", "/v1/dead-letters", "dead letters with their payloads", (
        401, 401, 401, 401, 401, 403, 403, 200, 403), query="payload=true"),
    Row("GET", "/v1/faults", "the faults in force", ANALYSTS),
    Row("GET", "/v1/faults/kinds", "the kinds of fault", ANALYSTS),
    Row("GET", "/v1/scenario", "the scenario banner", ANALYSTS),
    Row("GET", "/v1/clock", "the simulated clock", ANALYSTS),
    # an agency's own: its queue (metadata, analysts too), its cases' reports, its responses
    Row("GET", "/v1/agencies/{agency_id}/cases", "a queue: metadata", (
        401, 401, 401, 200, 403, 200, 200, 200, 200)),
    Row("GET", BODY, "**a report's body**, recorded in the access log", (
        401, 401, 401, 200, 403, 403, 403, 403, 403), variant="a case it holds"),
    Row("GET", BODY, "nothing", (401, 401, 401, 404, 403, 403, 403, 403, 403),
        variant="a case it does not hold", params={"report_id": 2}),
    Row("POST", "/v1/agencies/{agency_id}/cases/{report_id}/responses", "writes a response", (
        401, 401, 401, 202, 403, 401, 401, 401, 401)),
    Row("POST", "/v1/agencies/{agency_id}/cases/{report_id}/notices/{other_report_id}",
        "acknowledges a deconfliction notice", (401, 401, 401, 202, 403, 401, 401, 401, 401)),
    Row("POST", "/v1/agencies/{agency_id}/cases/{report_id}/legal-process",
        "records legal process: the case's unviewed files are shown to it", (
            401, 401, 401, 202, 403, 401, 401, 401, 401)),
    # admins only, with a key (never a session)
    Row("GET", "/v1/reports/{report_id}/body", "**a report's body**, recorded in the access log",
        ADMIN, query="reason=legal-process"),
    Row("GET", "/v1/reports/{report_id}/body", "nothing: the reason is required",
        (401, 401, 401, 401, 401, 401, 401, 422, 401), variant="no reason"),
    Row("GET", "/v1/access-log", "the access log", ADMIN),
    Row("GET", "/v1/dead-letters/{letter_id}", "a dead letter with its payload", ADMIN),
    Row("POST", "/v1/dead-letters/{letter_id}/replay", "writes the entry back, once", ADMIN),
    Row("PUT", "/v1/faults/{kind}/{target}", "sets a fault", ADMIN),
    Row("DELETE", "/v1/faults", "clears faults", ADMIN),
    Row("DELETE", "/v1/faults/{kind}", "clears faults", ADMIN),
    Row("DELETE", "/v1/faults/{kind}/{target}", "clears a fault", ADMIN),
    Row("POST", "/v1/faults/poison", "writes poison entries", ADMIN),
    Row("PUT", "/v1/scenario", "sets the banner", ADMIN),
    Row("DELETE", "/v1/scenario", "clears the banner", ADMIN),
)

TABLE_BEGIN = "<!-- role matrix: tests/role_matrix.py, checked by tests/unit/test_role_matrix_doc.py -->"
TABLE_END = "<!-- end of role matrix -->"


def table() -> str:
    """The matrix as docs/guarantees.md shows it."""
    rows = ["| request | reads | " + " | ".join(CALLERS) + " |",
            "|---|---|" + "---|" * len(CALLERS)]
    for row in MATRIX:
        rows.append(f"| {row.label} | {row.reads} | " + " | ".join(map(str, row.statuses)) + " |")
    return "\n".join(rows)
