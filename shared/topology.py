"""Every stream name, consumer group and key, in one place, under one prefix (TIPLINE_PREFIX).

Two stacks (or two tests) with different prefixes share a Redis without seeing each other.

On a Redis Cluster (`cluster=True`) every key also carries a hash tag after the prefix,
`tipline:{p0}:...`: the cluster places a key by its hash tag alone, so every key the pipeline
touches is in one slot and each commit stays one atomic script on the master serving it.
"""

from dataclasses import dataclass, field
from typing import get_args

from shared.schemas.events import Lane, TriageLane

# Consumer groups: each is the consuming service's name.
TRIAGE = "triage"
ROUTER = "router"
AGENCIES = "agencies"
TRACKER = "tracker"

TRIAGE_LANES: tuple[TriageLane, ...] = get_args(TriageLane)
HASH_TAG = "{p0}"  # what every key carries after the prefix on a cluster: one slot for them all
SUBMIT_LANES: tuple[Lane, ...] = get_args(Lane)


@dataclass(frozen=True)
class Topology:
    prefix: str = "tipline"
    cluster: bool = False
    submitted: dict[Lane, str] = field(init=False)
    triaged: dict[TriageLane, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "submitted", {
            lane: self.key("reports", "submitted", lane) for lane in SUBMIT_LANES})
        object.__setattr__(self, "triaged", {lane: self.key("reports", "triaged", lane)
                                             for lane in TRIAGE_LANES})

    def key(self, *parts: object) -> str:
        head = (self.prefix, HASH_TAG) if self.cluster else (self.prefix,)
        return ":".join((*head, *map(str, parts)))

    # ---- streams ----

    @property
    def submitted_by_urgency(self) -> list[str]:
        """Urgent lanes first: a reader that serves several lanes drains them in this order."""
        return [self.submitted["escalated"], self.submitted["standard"]]

    @property
    def triaged_by_urgency(self) -> list[str]:
        return [self.triaged[lane] for lane in TRIAGE_LANES]

    @property
    def urgent(self) -> frozenset[str]:
        """The streams whose entries no reader keeps waiting, not even to let a batch gather:
        escalated reports, priority-1 reports, and the SLA and preservation watches' alerts."""
        return frozenset({self.submitted["escalated"], self.triaged["p1"], self.sla_breaches})

    @property
    def routed(self) -> str:
        return self.key("reports", "routed")

    @property
    def unassigned(self) -> str:
        return self.key("reports", "unassigned")

    @property
    def agency_responses(self) -> str:
        return self.key("agency", "responses")

    @property
    def sla_breaches(self) -> str:
        return self.key("sla", "breaches")

    @property
    def dead_letters(self) -> str:
        return self.key("dead-letters")

    @property
    def access_log(self) -> str:
        """Every read of a report's body: who, which report, when, through which route. Appended
        to, never consumed; trimmed to its newest entries (TIPLINE_ACCESS_LOG_MAX_ENTRIES)."""
        return self.key("access-log")

    def agency_inbox(self, agency_id: str) -> str:
        return self.key("agency", agency_id, "inbox")

    @property
    def agency_inbox_pattern(self) -> str:
        """How an agency inbox is named, for documents: the agency id in braces."""
        return self.agency_inbox("{agency_id}")

    def consumed(self, agency_ids: list[str]) -> dict[str, list[str]]:
        """Every consumer group and the streams it reads."""
        return {
            TRIAGE: self.submitted_by_urgency,
            ROUTER: [self.sla_breaches, *self.triaged_by_urgency],
            AGENCIES: [self.agency_inbox(a) for a in agency_ids],
            TRACKER: [*self.submitted_by_urgency, *self.triaged_by_urgency, self.routed,
                      self.unassigned, self.agency_responses, self.sla_breaches, self.dead_letters],
        }

    # ---- plain keys ----

    @property
    def report_id_counter(self) -> str:
        return self.key("report-id")

    @property
    def replication_mark(self) -> str:
        """Written before intake waits for replicas (shared.connect.wait_for_replicas)."""
        return self.key("replication-mark")

    def idempotency_key(self, esp: str, key: str) -> str:
        return self.key("idempotency", esp, key)

    def seen_prefix(self, group: str) -> str:
        """Event ids a consumer group has committed (the consume loop's idempotency records)."""
        return self.key("seen", group) + ":"

    def report_body(self, report_id: int) -> str:
        """The report as accepted, stored once (the events carry its id, not the report)."""
        return self.key("body", report_id)

    def timeline_key(self, report_id: int) -> str:
        return self.key("report", report_id)

    def report_reads(self, report_id: int) -> str:
        """The reads of one report's body, as the access log records them (newest last): what its
        timeline shows."""
        return self.key("access-log", "report", report_id)

    @property
    def agency_schedule(self) -> str:
        return self.key("agency", "schedule")

    @property
    def agency_busy_until(self) -> str:
        """Each mock agency -> the wall time its backlog keeps it busy until."""
        return self.key("agency", "busy-until")

    def agency_turns(self, bucket: int) -> str:
        """The backlog turns cases took in one bucket of time, by event id, so that a
        redelivered case takes none."""
        return self.key("agency", "turns", bucket)

    @property
    def gap_totals(self) -> str:
        return self.key("gap", "totals")

    @property
    def gap_open(self) -> str:
        return self.key("gap", "open")

    def gap_by_agency(self, agency_id: str) -> str:
        return self.key("gap", "agency", agency_id)

    def gap_by_lane(self, lane: str) -> str:
        return self.key("gap", "lane", lane)

    def gap_by_esp(self, esp: str) -> str:
        return self.key("gap", "esp", esp)

    @property
    def gap_esps(self) -> str:
        """The ESPs the ledger has seen."""
        return self.key("gap", "esps")

    @property
    def gap_reasons(self) -> str:
        """Unassigned reports by reason code."""
        return self.key("gap", "unassigned-reasons")

    @property
    def gap_dark(self) -> str:
        """Cases unacknowledged past their SLA, by handoff time."""
        return self.key("gap", "dark")

    @property
    def gap_awaiting_outcome(self) -> str:
        """Acknowledged cases without an outcome, by acknowledgement time."""
        return self.key("gap", "awaiting-outcome")

    def gap_series(self, metric: str, day: int) -> str:
        """One simulated day of a time series: simulated hour -> count."""
        return self.key("gap", "series", metric, day)

    def agency_open(self, agency_id: str) -> str:
        """An agency's queue of unacknowledged cases: report id by handoff time."""
        return self.key("agency", agency_id, "open")

    def agency_acknowledged(self, agency_id: str) -> str:
        """An agency's acknowledged cases: report id by handoff time."""
        return self.key("agency", agency_id, "acknowledged")

    @property
    def sla_watch(self) -> str:
        return self.key("sla", "watch")

    @property
    def sla_levels(self) -> str:
        return self.key("sla", "levels")

    def bundle_key(self, hash_key: str) -> str:
        """A viral file's hash (`MD5:abc...`) -> the report that opened its bundle."""
        return self.key("bundle", hash_key)

    @property
    def link_parents(self) -> str:
        """Linking's union-find: report id -> its parent (a group is named by its smallest id)."""
        return self.key("link", "parent")

    @property
    def link_edges(self) -> str:
        """Each link found: `a|b` (a < b) -> its bases, comma-separated."""
        return self.key("link", "edges")

    @property
    def link_first(self) -> str:
        """Each identifier (its keyed hash, never the identifier) -> the first report holding it."""
        return self.key("link", "first")

    def link_sightings(self, keyed: str) -> str:
        """One IP address's sightings (keyed hash): `report:epoch` scored by the epoch."""
        return self.key("link", "ip", keyed)

    @property
    def link_members_prefix(self) -> str:
        """`<prefix><root>`: the reports of one group, named by its root (the script names them)."""
        return self.key("link", "members") + ":"

    @property
    def link_placed(self) -> str:
        """Report id -> what adding it answered (adding it again answers the same)."""
        return self.key("link", "placed")

    @property
    def link_holding_prefix(self) -> str:
        """`<prefix><root>`: each agency holding a case of one group -> its earliest report there."""
        return self.key("link", "holding") + ":"

    @property
    def link_stats(self) -> str:
        """groups (of two reports or more) and linked_reports (the reports in them)."""
        return self.key("link", "stats")

    @property
    def link_held(self) -> str:
        """Report id -> the agency holding its case (the router's decision, recorded by the link
        store's script)."""
        return self.key("link", "held")

    def agency_queue(self, agency_id: str) -> str:
        """An agency's unacknowledged cases in an investigator's order: priority, preservation
        day, larger groups first (`services.tracker.recording.queue_score`)."""
        return self.key("agency", agency_id, "queue")

    @property
    def preservation_watch(self) -> str:
        """Unacknowledged cases by the end of their report's preservation."""
        return self.key("preservation", "watch")

    @property
    def preservation_warn(self) -> str:
        """Unacknowledged cases by when their agency is warned of the preservation's end."""
        return self.key("preservation", "warn")

    @property
    def faults(self) -> str:
        """The faults in force (shared.faults): field KIND:TARGET, value the fault."""
        return self.key("faults")

    @property
    def scenario(self) -> str:
        """The workshop scenario running now, and its step (shown on the dashboard)."""
        return self.key("scenario")

    @property
    def supervisor(self) -> str:
        """Present while a `tipline up` supervises the stack (the kill, pause and redis-down
        faults are its to carry out): what it supervises."""
        return self.key("supervisor")

    def replayed_key(self, dead_letter_id: str) -> str:
        """Set once a dead letter has been replayed: replay happens once."""
        return self.key("dead-letter", "replayed", dead_letter_id)
