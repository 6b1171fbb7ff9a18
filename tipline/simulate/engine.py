"""The engine: reports arrive on a simulated clock (hours) and go through triage, bundling and
routing (their decisions from `shapes`), each case through its agency's backlog and the agency's
answer (`services.agencies.domain`), and the tracker's rules: the SLA of the case's lane, the
breaches of a priority-1 case (re-notified, then escalated to the federal partner), dark cases
and the buckets of hours to acknowledgement (`services.tracker.domain`).

Reports arrive in time order; the event queue holds what happens later and changes what an
agency does: the breaches of priority-1 cases of their local agency. Every other case's future
is known when it is handed over (its acknowledgement, its breach), so it is counted at once.

A partition is a smaller copy of the world: `share` of the load's volume against `share` of
every agency's capacity. A sample (1%) and the two halves of a run on two cores are partitions.
"""

import bisect
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from services.agencies.domain import hours_per_case, next_turn, respond
from services.tracker.domain import HOUR_BOUNDS, Policy, bucket_of
from services.triage.domain import BundleWindow
from shared.directory import Agency
from shared.synthetic import LOAD_KINDS, LoadKind, Mix
from tipline.simulate.events import EventQueue
from tipline.simulate.model import Simulation, Stream
from tipline.simulate.shapes import Rules, Shape, default_rules, pool
from tipline.simulate.stats import SERIES, Stats

POOL_SIZE = 256
LOCATION, CONTACT = 1, 2  # the degrade fault's losses, as intake reads them


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # simulated hours from the start
    esp: str
    shape: Shape


class Case:
    """One agency's case of one report, as the tracker keeps it."""

    __slots__ = ("ack", "ack_hours", "agency", "breaches", "handed", "lane", "outcome",
                 "submitted", "why")

    def __init__(self, agency: str, why: str, lane: str, handed: float, submitted: float) -> None:
        self.agency, self.why, self.lane = agency, why, lane
        self.handed, self.submitted = handed, submitted
        self.ack: float | None = None
        self.ack_hours = 0.0
        self.outcome: float | None = None
        self.breaches = 0


@dataclass
class Backlog:
    agency: Agency
    occupies: float  # hours one case keeps it busy
    busy_until: float = 0.0


@dataclass
class Group:
    """A priority-1 report whose local agency's case is breached: its cases wait for the router's
    re-notification and escalation before they are counted."""

    primary: Case
    cases: list[Case]


@dataclass
class Engine:
    sim: Simulation
    share: float = 1.0  # of the volume and of every capacity
    seed: int = 1
    rules: Rules = field(default_factory=default_rules)
    record: bool = False
    on_day: Callable[[int, int], None] | None = None  # (days done, reports so far)

    def __post_init__(self) -> None:
        p = self.sim.policy
        self.policy = Policy(sla_hours=dict(p.sla_hours), seconds_per_hour=1.0,
                             lost_sight_days=p.lost_sight_days)
        self.horizon = self.sim.load.hours + self.sim.load.settle_days * 24
        self.rng = random.Random(self.seed)
        self.stats = Stats(series={name: [0] * (int(self.horizon // 24) + 1) for name in SERIES})
        self.queue: EventQueue[tuple[int, Group]] = EventQueue()
        self.bundles = BundleWindow(p.bundle_window_days * 24)
        self.federal = self.rules.directory.federal.default
        self.backlogs: dict[str, Backlog] = {}
        for agency in self.rules.directory.agencies:
            capacity = p.capacity_scale * p.capacity.get(agency.id, 1.0) * self.share
            self.backlogs[agency.id] = Backlog(agency, hours_per_case(agency.profile) / capacity)
        self.windows = p.windows
        self.preservation_hours = p.preservation_days * 24
        self.reports = 0
        self.submitted_series = self.stats.series["submitted"]
        self.forwarded_series = self.stats.series["forwarded"]
        self.acknowledged_series = self.stats.series["acknowledged"]

    # ---- arrivals ----

    def arrivals(self) -> Iterator[Arrival]:
        """The load's reports in time order: each hour's expected count of every stream (times the
        share; the fractions carried on), at uniform times within the hour."""
        streams = self.sim.load.streams()
        carry = [0.0] * len(streams)
        pickers = [self._picker(s) for s in streams]
        rng = self.rng
        for hour in range(int(self.sim.load.hours) + 1):
            batch: list[tuple[float, int]] = []
            for i, stream in enumerate(streams):
                due = carry[i] + stream.expected(hour) * self.share
                n = int(due)
                carry[i] = due - n
                batch += [(hour + rng.random(), i) for _ in range(n)]
            batch.sort()
            for at, i in batch:
                esp, shape = pickers[i](at)
                yield Arrival(at, esp, shape)

    def _picker(self, stream: Stream) -> Callable[[float], tuple[str, Shape]]:
        p = self.sim.policy
        esps = stream.esps or self.sim.load.esps
        esp_cum = _cumulative([e.weight for e in esps])
        kind_cum = _cumulative(Mix.named(stream.mix).weights())
        rng = self.rng
        degrade = [w for w in self.windows if w.kind == "degrade"]
        pools: dict[tuple[LoadKind, bool, bool, bool], tuple[Shape, ...]] = {}

        def pick(at: float) -> tuple[str, Shape]:
            esp = esps[bisect.bisect(esp_cum, rng.random() * esp_cum[-1])]
            kind = LOAD_KINDS[bisect.bisect(kind_cum, rng.random() * kind_cum[-1])]
            location = esp.location if p.location is None else p.location
            verified = esp.verified_contact if p.verified_contact is None else p.verified_contact
            located = rng.random() < location
            contact = rng.random() < verified
            victim = rng.random() < esp.victim_details
            for w in degrade:
                if w.target.removeprefix("load:") == esp.name and w.active(at):
                    located = located and not int(w.value) & LOCATION
                    contact = contact and not int(w.value) & CONTACT
            key = (kind, located, contact, victim)
            shapes = pools.get(key) or pools.setdefault(key, pool(key, POOL_SIZE))
            return esp.name, shapes[int(rng.random() * len(shapes))]

        return pick

    def pools_needed(self) -> set[tuple[LoadKind, bool, bool, bool]]:
        """The pools this run can draw from: each kind of a stream's mix, each outcome of the
        three draws its ESPs' shares allow."""
        p = self.sim.policy
        degraded = any(w.kind == "degrade" for w in self.windows)
        keys = set()
        for stream in self.sim.load.streams():
            kinds = [k for k, w in zip(LOAD_KINDS, Mix.named(stream.mix).weights(), strict=True)
                     if w > 0]
            for esp in stream.esps or self.sim.load.esps:
                location = esp.location if p.location is None else p.location
                verified = esp.verified_contact if p.verified_contact is None else \
                    p.verified_contact
                for kind in kinds:
                    for located in _outcomes(location, degraded):
                        for contact in _outcomes(verified, degraded):
                            for victim in _outcomes(esp.victim_details, False):
                                keys.add((kind, located, contact, victim))
        return keys

    # ---- the run ----

    def run(self, arrivals: Iterable[Arrival] | None = None) -> Stats:
        queue = self.queue
        day = 0
        for arrival in self.arrivals() if arrivals is None else arrivals:
            while (due := queue.next_at()) is not None and due <= arrival.at:
                self._breach(*queue.pop())
            if arrival.at >= (day + 1) * 24:
                day = int(arrival.at // 24)
                if self.on_day:
                    self.on_day(day, self.reports)
            self._arrive(arrival)
        while (due := queue.next_at()) is not None and due <= self.horizon:
            self._breach(*queue.pop())
        while queue:
            _, (_, group) = queue.pop()
            self._count_group(group)
        if self.on_day:
            self.on_day(int(self.horizon // 24), self.reports)
        return self.stats

    def _arrive(self, a: Arrival) -> None:
        self.reports += 1
        report = self.reports
        s = self.stats
        c = s.counts
        shape = a.shape
        t = a.at
        esp = s.esps[a.esp]
        c["submitted"] += 1
        esp["submitted"] += 1
        self.submitted_series[int(t // 24)] += 1
        if shape.bundle_keys and not shape.own_bundle and self.sim.policy.bundling:
            first = self.bundles.join(report, shape.bundle_keys, t)
            if first != report and shape.member is not None:
                shape = shape.member
                c["bundled"] += 1
        c["triaged"] += 1
        if shape.disposition == "informational":
            c["informational"] += 1
            esp["informational"] += 1
        if shape.reasons:
            c["unassigned"] += 1
            esp["unassigned"] += 1
            for reason in shape.reasons:
                s.reasons[reason] += 1
        elif shape.routes:
            c["routed"] += 1
        if self.record:
            s.reports.append({"report": report, "esp": a.esp, "priority": shape.priority,
                              "disposition": shape.disposition,
                              "agencies": [agency for agency, _ in shape.routes],
                              "unassigned_reasons": list(shape.reasons)})
        if not shape.routes:
            return
        cases = [self._hand(agency, why, shape.lane, t, t) for agency, why in shape.routes]
        primary = cases[0]
        sla = self.policy.sla_hours.get(shape.lane)
        if (sla is not None and self.policy.breach_levels(shape.lane, primary.why) == 2
                and (primary.ack is None or primary.ack > t + sla)):
            self.queue.push(t + sla, (1, Group(primary, cases)))
            return
        for case in cases:
            self._count(case)

    def _hand(self, agency_id: str, why: str, lane: str, t: float, submitted: float) -> Case:
        case = Case(agency_id, why, lane, t, submitted)
        self._deliver(case, t)
        return case

    def _deliver(self, case: Case, t: float) -> None:
        """The agency takes the case up in its turn and answers (or never does)."""
        backlog = self.backlogs[case.agency]
        agency = backlog.agency
        if agency.played_by == "people":
            return
        occupies = backlog.occupies
        for w in self.windows:
            if w.target == case.agency and w.active(t):
                if w.kind == "silent":
                    return
                if w.kind == "capacity":
                    occupies /= w.value
        start, backlog.busy_until = next_turn(backlog.busy_until, t, occupies)
        answer = respond(self.rng, agency.profile, case.lane, start - t)
        if answer.ack_after is None:
            return
        ack = t + answer.ack_after
        if case.ack is None or ack < case.ack:
            case.ack, case.ack_hours = ack, answer.ack_after
            case.outcome = None if answer.outcome_after is None else t + answer.outcome_after

    def _breach(self, t: float, event: tuple[int, Group]) -> None:
        """A priority-1 case of its local agency past its SLA: the first breach re-notifies the
        agency, the second escalates the case to the federal partner."""
        level, group = event
        case = group.primary
        case.breaches = level
        self._breached(case, t)
        sla = self.policy.sla_hours[case.lane] or 0.0
        if level == 1:
            self.stats.counts["renotified"] += 1
            self._deliver(case, t)
            if case.ack is None or case.ack > t + sla:
                self.queue.push(t + sla, (2, group))
                return
        elif case.agency != self.federal:
            self.stats.counts["escalations"] += 1
            held = next((c for c in group.cases if c.agency == self.federal), None)
            if held is None:
                group.cases.append(self._hand(self.federal, "escalation", case.lane, t,
                                              case.submitted))
            else:
                self._deliver(held, t)
        self._count_group(group)

    def _breached(self, case: Case, t: float) -> None:
        s = self.stats
        s.counts["sla_breaches"] += 1
        s.lanes[case.lane]["sla_breaches"] += 1
        if case.breaches <= 1:
            s.series["newly_dark"][int(t // 24)] += 1

    def _count_group(self, group: Group) -> None:
        for case in group.cases:
            self._count(case, breaches_known=case is group.primary)

    def _count(self, case: Case, breaches_known: bool = False) -> None:
        """A case whose future is settled: forwarded, acknowledged (by the end of the run),
        breached and dark as the tracker's rules say."""
        s = self.stats
        c = s.counts
        lane = s.lanes[case.lane]
        agency = s.agencies[case.agency]
        c["forwarded"] += 1
        lane["forwarded"] += 1
        agency["forwarded"] += 1
        self.forwarded_series[int(case.handed // 24)] += 1
        ack = case.ack
        acked = ack is not None and ack <= self.horizon
        if ack is not None and acked:
            c["acknowledged"] += 1
            lane["acknowledged"] += 1
            agency["acknowledged"] += 1
            s.ack_buckets[case.lane][bucket_of(case.ack_hours, HOUR_BOUNDS)] += 1
            self.acknowledged_series[int(ack // 24)] += 1
            if ack - case.submitted > self.preservation_hours:
                c["preservation_lapsed"] += 1
            if case.outcome is not None and case.outcome <= self.horizon:
                c["outcome"] += 1
        if not breaches_known:
            deadline = self.policy.deadline(case.lane, case.handed)
            if deadline is not None and deadline <= self.horizon and (ack is None or ack > deadline):
                case.breaches = 1
                self._breached(case, deadline)
        if case.breaches and not acked:
            c["dark"] += 1
            lane["dark"] += 1
            agency["dark"] += 1


def _outcomes(share: float, can_lose: bool) -> tuple[bool, ...]:
    return tuple(o for o, possible in ((True, share > 0), (False, share < 1 or can_lose))
                 if possible)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out

