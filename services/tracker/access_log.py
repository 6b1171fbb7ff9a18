"""The access log of report bodies: a body leaves the tracker only through `read_body`, which
records the read (the log's entry, and the report's own list its timeline shows) in the same
step that reads the body, so a body is never served unrecorded."""

from redis.asyncio import Redis

from services.tracker.contract import ReportBodyRead
from services.tracker.dead_letters import older_than
from shared import wire
from shared.publishing import LUA, Publisher
from shared.topology import Topology
from shared.tracing import current_traceparent

# KEYS: the body, the access log, the report's reads. ARGV: the log's length, the report's list's
# length, the read's JSON, then the log entry's fields as name, value pairs. The body is read and
# the read recorded in one step: no body without its entry, no entry for a body that is gone.
_READ = LUA + """
local body = redis.call('GET', KEYS[1])
if not body then
  return false
end
publish(KEYS[2], ARGV, 4)
redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
return body
"""


class AccessLog:
    """Report bodies, read and recorded in one step; the log read back, newest first."""

    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher,
                 max_entries: int, per_report: int) -> None:
        self.redis = redis
        self.topology = topology
        self.publisher = publisher
        self.max_entries = max_entries
        self.per_report = per_report
        self._read = redis.register_script(_READ)

    async def read_body(self, read: ReportBodyRead) -> bytes | None:
        """The report's body, its read recorded first; None (nothing recorded) when it is gone."""
        t = self.topology
        fields = self.publisher.args(t.access_log, read, current_traceparent())
        return await self._read(keys=[t.report_body(read.report_id), t.access_log,
                                      t.report_reads(read.report_id)],
                                args=[self.max_entries, self.per_report,
                                      read.model_dump_json(), *fields])

    async def recent(self, count: int, before: str | None = None
                     ) -> list[tuple[str, ReportBodyRead]]:
        """(entry id, read) for the newest `count` (older than `before`, an id: the next page),
        newest first."""
        end = older_than(before)
        if end is None:
            return []
        entries = await self.redis.xrevrange(self.topology.access_log, max=end, count=count)
        return [(entry_id.decode(), ReportBodyRead.model_validate_json(wire.payload(fields)))
                for entry_id, fields in entries]

    async def of_report(self, report_id: int) -> list[ReportBodyRead]:
        """The reads of one report's body, oldest first (its newest `per_report`)."""
        found = await self.redis.lrange(self.topology.report_reads(report_id), 0, -1)
        return [ReportBodyRead.model_validate_json(x) for x in found]
