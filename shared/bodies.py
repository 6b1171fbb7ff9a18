"""The claim check: a report's body is stored once, under its id, when intake accepts it; events
carry the id. Triage reads the body (one round trip per batch) and hands on only what routing
needs; the agency API serves the body to the agencies holding a case of it.

The body is the report's JSON without its defaults (absent, empty and false fields are left out:
reading it back gives the same report), deflated against a dictionary of the report schema's own
words, kept TIPLINE_REPORT_BODY_TTL_S (30 days by default, never less than the stream retention)
and, beyond that, as long as a case of the report is open (the tracker's BodyKeeper).

Stored form (`shared.packing`): plain JSON, or one byte naming a dictionary and the JSON deflated
against it. Dictionary 1 (data/body-dictionary-1.txt) holds the schema's field names and
enumerated values as they were when it was made, nothing of any report.
"""

from collections.abc import Iterable, Sequence

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared.packing import Form, Forms, dictionary
from shared.schemas.report import FiledReport
from shared.topology import Topology

FORMS = Forms("body", (Form(1, dictionary("body-dictionary-1.txt")),), packs_with=1)


def pack(json: bytes) -> bytes:
    """A report's JSON as it is stored."""
    return FORMS.pack(json)


def unpack(stored: bytes) -> bytes:
    """The JSON of a stored body."""
    return FORMS.unpack(stored)


def encode(report: FiledReport) -> bytes:
    return pack(report.model_dump_json(exclude_defaults=True).encode())


def decode(stored: bytes) -> FiledReport:
    return FiledReport.model_validate_json(unpack(stored))


class MissingBody(LookupError):
    """A report's body is not there (expired, or never stored): the event cannot be handled."""


class ReportBodies:
    def __init__(self, redis: Redis, topology: Topology, ttl_s: int) -> None:
        self.redis = redis
        self.topology = topology
        self.ttl_s = ttl_s

    def store(self, pipe: Pipeline, report_id: int, body: bytes) -> None:
        """Queue the body in the caller's transaction (the one that publishes the event)."""
        pipe.set(self.topology.report_body(report_id), body, ex=self.ttl_s)

    async def keep(self, report_ids: Iterable[int]) -> int:
        """Make these bodies live `ttl_s` from now, unless they already live longer (or are gone);
        how many were extended."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id in report_ids:
                pipe.expire(self.topology.report_body(report_id), self.ttl_s, gt=True)
            return sum(await pipe.execute())

    async def raw(self, report_ids: Sequence[int]) -> list[bytes | None]:
        if not report_ids:
            return []
        return await self.redis.mget([self.topology.report_body(i) for i in report_ids])

    async def read(self, report_ids: Sequence[int]) -> list[bytes]:
        """The bodies, in order; MissingBody when one is not there."""
        found = await self.raw(report_ids)
        for report_id, body in zip(report_ids, found, strict=True):
            if body is None:
                raise MissingBody(f"report {report_id}: its body is not stored (expired, or never "
                                  "written)")
        return found  # type: ignore[return-value]
