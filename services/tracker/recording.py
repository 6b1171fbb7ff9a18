"""What recording a ledger step moves, as values: the step's timeline field and its guarded groups
of Redis commands. Pure: no Redis here, the commands are plain lists (`services.tracker.ledger`
runs them inside the consume loop's commit script).

A group is `[condition, command, command, ...]`; the condition is `[]` (always), `["absent",
hash, field]` (the field is not there yet, e.g. the case is not acknowledged) or `["removed",
sorted set, member]` (ZREM removed it: the case was dark until now).
"""

from dataclasses import dataclass
from typing import Any

from services.tracker.domain import Step, bucket_of
from shared.topology import Topology

Group = list[Any]


def case_member(report_id: int, agency_id: str) -> str:
    """A case (one report at one agency) as a member of the open, dark and watched sets."""
    return f"{report_id}:{agency_id}"


def parse_case(member: bytes | str) -> tuple[int, str]:
    report_id, _, agency = (member.decode() if isinstance(member, bytes) else member).partition(":")
    return int(report_id), agency


def queue_score(priority: int, preserve_day: int, group_size: int) -> float:
    """A case's place in its agency's queue, as an investigator would order it: priority first,
    then the simulated day its report's preservation ends, then larger link groups (the size
    when the case arrived)."""
    return priority * 1e9 + preserve_day * 1e3 + (999 - min(group_size, 999))


@dataclass(frozen=True)
class Recording:
    """How the ledger records a step under a topology: `seconds_per_hour` places it in the hourly
    series, kept `series_ttl_s`; a case is warned `at_risk_s` before its preservation ends."""

    topology: Topology
    seconds_per_hour: float
    series_ttl_s: int
    at_risk_s: float = 0.0

    def item(self, report_id: int, step: Step) -> list[Any]:
        """[timeline key, stage, detail, groups]: one item of the ledger's commit chunk."""
        return [self.topology.timeline_key(report_id), step.stage, step.detail,
                self.commands(report_id, step)]

    def commands(self, report_id: int, step: Step) -> list[Group]:
        """What recording a step moves, as guarded groups of Redis commands."""
        t = self.topology
        timeline = t.timeline_key(report_id)
        dims = [t.gap_totals]
        if step.agency_id:
            dims.append(t.gap_by_agency(step.agency_id))
        if step.lane:
            dims.append(t.gap_by_lane(step.lane))
        if step.esp:
            dims.append(t.gap_by_esp(step.esp))
        case = case_member(report_id, step.agency_id or "")

        def everywhere(name: str, amount: float = 1) -> list[list[Any]]:
            return [["HINCRBY", key, name, amount] for key in dims]

        always: list[list[Any]] = [c for name in step.counts for c in everywhere(name)]
        always += [c for name, amount in step.amounts for c in everywhere(name, amount)]
        groups: list[list[Any]] = [[[], *always]] if always else []
        if step.esp and step.kind in ("submitted", "triaged"):
            groups.append([[], ["SADD", t.gap_esps, step.esp]])
        for metric in step.series:
            hour = int(step.at // self.seconds_per_hour)
            key = t.gap_series(metric, hour // 24)
            groups.append([[], ["HINCRBY", key, hour, 1], ["EXPIRE", key, self.series_ttl_s]])
        agency = step.agency_id or ""
        match step.kind:
            case "triaged" if step.esp and step.quality:
                quality = [["HINCRBY", t.gap_by_esp(step.esp), f"score:{step.quality.score_bucket}",
                            1], ["HINCRBY", t.gap_by_esp(step.esp), "score_sum",
                                 step.quality.score]]
                quality += [["HINCRBY", t.gap_by_esp(step.esp), f"missing:{f}", 1]
                            for f in step.quality.missing]
                groups.append([[], *quality])
            case "unassigned":
                groups.append([[], *[["HINCRBY", t.gap_reasons, r, 1] for r in step.reasons]])
            case "handoff":
                opened = [["ZADD", t.gap_open, step.at, case],
                          ["ZADD", t.agency_open(agency), step.at, report_id]]
                if step.deadline is not None:
                    opened.append(["ZADD", t.sla_watch, step.deadline, case])
                until = step.preserve_until
                day = int((until if until is not None else step.at) // (24 * self.seconds_per_hour))
                opened.append(["ZADD", t.agency_queue(agency),
                               queue_score(int(step.detail.get("priority", 3)), day,
                                           step.group_size), report_id])
                if until is not None:
                    opened += [["ZADD", t.preservation_watch, until, case],
                               ["ZADD", t.preservation_warn, until - self.at_risk_s, case]]
                groups.append([["absent", timeline, f"acknowledged:{agency}"], *opened])
            case "acknowledged":
                handed = step.at - (step.hours or 0) * self.seconds_per_hour
                groups.append([[], *[["HINCRBY", key, f"ack:{bucket_of(step.hours or 0)}", 1]
                                     for key in dims],
                               ["ZREM", t.gap_open, case], ["ZREM", t.agency_open(agency), report_id],
                               ["ZADD", t.agency_acknowledged(agency), handed, report_id],
                               ["ZREM", t.sla_watch, case], ["HDEL", t.sla_levels, case],
                               ["ZREM", t.agency_queue(agency), report_id],
                               ["ZREM", t.preservation_watch, case],
                               ["ZREM", t.preservation_warn, case]])
                groups.append([["removed", t.gap_dark, case], *everywhere("dark", -1)])
                groups.append([["absent", timeline, f"outcome:{agency}"],
                               ["ZADD", t.gap_awaiting_outcome, step.at, case]])
            case "outcome":
                groups.append([[], *[["HINCRBY", key, f"out:{bucket_of(step.hours or 0)}", 1]
                                     for key in dims], ["ZREM", t.gap_awaiting_outcome, case]])
            case "notice_ack":
                groups.append([[], *[["HINCRBY", key, f"nack:{bucket_of(step.hours or 0)}", 1]
                                     for key in dims]])
            case "breach" if step.level == 1:
                open_hours = float(step.detail.get("openHours", 0))
                handed = step.at - open_hours * self.seconds_per_hour
                groups.append([["absent", timeline, f"acknowledged:{agency}"],
                               ["ZADD", t.gap_dark, handed, case], *everywhere("dark")])
        return groups
