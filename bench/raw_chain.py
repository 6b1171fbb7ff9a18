"""The raw limit: the same three hops (triage -> route -> track) as minimal hand-written redis-py
loops, one process each: XREADGROUP COUNT 200, the same events (compact: the report's body read
by triage from its own key, one MGET per batch; routing facts after that), the same pydantic
validation and domain functions, one pipelined XADD+XACK round trip per batch. No framework, no
dead letters, no bundles, no logs.

python -m bench.raw_chain {triage,route,track} REDIS_URL
"""

import sys
from typing import Annotated

import redis
from pydantic import Field, TypeAdapter

from services.router.domain import load_ip_table, load_zip_table, resolve
from services.triage.domain import load_known_hashes, triage
from shared import bodies
from shared.directory import load_directory
from shared.schemas.events import (
    ActionabilityScore,
    ReportRouted,
    ReportSubmitted,
    ReportTriaged,
    ReportUnassigned,
)
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR

SUBMITTED, TRIAGED, ROUTED = "raw:submitted", "raw:triaged", "raw:routed"
COUNT, READY, STOP = "raw:count", "raw:ready:", "raw:stop"
GROUP = "raw"
BATCH = 200


def body_key(report_id: int) -> str:
    return f"raw:body:{report_id}"


def preload(r: redis.Redis, reports: list[tuple[int, bytes, bytes]], chunk: int = 2000) -> None:
    """(report id, ReportSubmitted JSON, body) of each report, written as the first hop reads
    them."""
    pipe = r.pipeline(transaction=False)
    for i, (report_id, event, body) in enumerate(reports):
        pipe.set(body_key(report_id), body)
        pipe.xadd(SUBMITTED, {b"data": event})
        if i % chunk == chunk - 1:
            pipe.execute()
    pipe.execute()


def hop_triage(event: ReportSubmitted, stored: bytes) -> bytes:
    body = bodies.unpack(stored)
    report = FiledReport.model_validate_json(body)
    d = triage(report, KNOWN)
    return ReportTriaged(
        report_id=event.report_id, producer="raw", esp=event.esp, priority=d.priority,
        disposition=d.disposition, lane=d.lane, reasons=list(d.reasons),
        actionability=ActionabilityScore(score=d.actionability.score, missing=list(d.actionability.missing)),
        labels=list(d.labels), known_files=d.known_files, novel_files=d.novel_files,
        routing=RoutingFacts.of_body(body),
    ).model_dump_json().encode()


def hop_route(data: bytes) -> bytes:
    event = ReportTriaged.model_validate_json(data)
    found = resolve(event.routing, IP_TABLE, ZIPS, DIRECTORY)
    common = dict(report_id=event.report_id, producer="raw", priority=event.priority, lane=event.lane,
                  esp=event.esp)
    if found.agency is None:
        return ReportUnassigned(reasons=list(found.reasons), offered_to=found.offered_to,
                                **common).model_dump_json().encode()
    return ReportRouted(agency_id=found.agency.id, jurisdiction=found.jurisdiction or "",
                        basis=found.basis or "", confidence=found.confidence,
                        **common).model_dump_json().encode()


Placed = TypeAdapter(Annotated[ReportRouted | ReportUnassigned, Field(discriminator="type")])


def run(hop: str, url: str) -> None:
    r = redis.Redis.from_url(url)
    source = {"triage": SUBMITTED, "route": TRIAGED, "track": ROUTED}[hop]
    try:
        r.xgroup_create(source, GROUP, id="0", mkstream=True)
    except redis.ResponseError:
        pass
    r.set(READY + hop, 1)
    while not r.exists(STOP):
        reply = r.xreadgroup(GROUP, hop, {source: ">"}, count=BATCH, block=100)
        if not reply:
            continue
        entries = reply[0][1]
        pipe = r.pipeline(transaction=False)
        if hop == "triage":
            events = [ReportSubmitted.model_validate_json(fields[b"data"]) for _, fields in entries]
            found = r.mget([body_key(e.report_id) for e in events])
            for event, body in zip(events, found, strict=True):
                pipe.xadd(TRIAGED, {b"data": hop_triage(event, body)})
        elif hop == "route":
            for _, fields in entries:
                pipe.xadd(ROUTED, {b"data": hop_route(fields[b"data"])})
        else:
            for _, fields in entries:
                Placed.validate_json(fields[b"data"])
            pipe.incrby(COUNT, len(entries))
        pipe.xack(source, GROUP, *[entry_id for entry_id, _ in entries])
        pipe.execute()


KNOWN = load_known_hashes(DATA_DIR / "known_hashes.json")
IP_TABLE = load_ip_table(DATA_DIR / "ip_ranges.json")
ZIPS = load_zip_table(DATA_DIR / "zip3_states.json")
DIRECTORY = load_directory(DATA_DIR / "agencies.json")

if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
