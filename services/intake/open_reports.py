"""Reports opened through the XML reporting API, kept in Redis until they are finished, retracted
or expire.

One hash per report: its ESP, state, when it was opened and last changed (on the injectable
clock), the `<report>` it was opened with, and one field per uploaded file (its hashes, size and
`<fileDetails>`; never its bytes). Every change is one Lua script that first checks the report is
open, belongs to the caller and has not expired, so a finish cannot race an upload or a retract,
and finishing publishes the report in the same step that marks it finished: it is published once.
A finished or retracted report leaves a small record (state and ESP) so that a second finish or a
retract after finishing get their own answers.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from services.intake import domain
from shared import bodies
from shared.bodies import ReportBodies
from shared.connect import Replicated
from shared.publishing import LUA, Publisher
from shared.schemas.events import ReportSubmitted
from shared.schemas.report import FileDetails, FiledReport, Report
from shared.topology import Topology
from shared.tracing import current_traceparent

# Checks shared by every change. KEYS[1] the report; ARGV[1] esp, ARGV[2] now, ARGV[3] seconds a
# report may stay open, ARGV[4] seconds it may stay unchanged. Answers a state word on refusal.
_CHECK = """
local state = redis.call('HMGET', KEYS[1], 'state', 'esp', 'opened', 'changed')
if not state[1] or state[2] ~= ARGV[1] then return 'missing' end
if state[1] ~= 'open' then return state[1] end
local now = tonumber(ARGV[2])
local deadline = math.max(tonumber(state[3]) + tonumber(ARGV[3]),
                          tonumber(state[4]) + tonumber(ARGV[4]))
if now > deadline then
  redis.call('DEL', KEYS[1])
  return 'expired'
end
local function touched()  -- a change: the report stays open at least ARGV[4] seconds more
  redis.call('HSET', KEYS[1], 'changed', ARGV[2])
  local until_ = math.max(tonumber(state[3]) + tonumber(ARGV[3]), now + tonumber(ARGV[4]))
  redis.call('EXPIRE', KEYS[1], math.ceil(until_ - now) + 60)
end
"""

# ARGV[5] operation; then its arguments.
_CHANGE = LUA + _CHECK + """
local op = ARGV[5]
if op == 'file' then  -- ARGV[6] file field, ARGV[7] its record, ARGV[8] most files
  if redis.call('HLEN', KEYS[1]) - 5 >= tonumber(ARGV[8]) then return 'full' end
  redis.call('HSET', KEYS[1], ARGV[6], ARGV[7])
  touched()
elseif op == 'details' then  -- ARGV[6] file field, ARGV[7] its record
  if redis.call('HEXISTS', KEYS[1], ARGV[6]) == 0 then return 'nofile' end
  redis.call('HSET', KEYS[1], ARGV[6], ARGV[7])
  touched()
elseif op == 'retract' or op == 'finish' then
  -- ARGV[6] the 'changed' read when the report was built (finish only), ARGV[7] seconds the
  -- record is kept; for finish: ARGV[8] the lane's stream, KEYS[2] the body's key, ARGV[9] its
  -- ttl, ARGV[10] the body, then the entry's fields
  if op == 'finish' and redis.call('HGET', KEYS[1], 'changed') ~= ARGV[6] then
    return 'changed'
  end
  local esp = redis.call('HGET', KEYS[1], 'esp')
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', op == 'finish' and 'finished' or 'retracted', 'esp', esp)
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  if op == 'finish' then
    redis.call('SET', KEYS[2], ARGV[10], 'EX', ARGV[9])
    publish(ARGV[8], ARGV, 11)
  end
else
  return redis.error_reply('unknown operation')
end
return 'ok'
"""

_READ = _CHECK + """
return redis.call('HGETALL', KEYS[1])
"""

FIXED_FIELDS = 5  # state, esp, opened, changed, report; the rest are files


@dataclass(frozen=True)
class UploadedFile:
    file_id: str
    seq: int
    size: int
    md5: str
    sha1: str
    sha256: str
    details: FileDetails | None = None

    def record(self) -> str:
        return json.dumps({"seq": self.seq, "size": self.size, "md5": self.md5, "sha1": self.sha1,
                           "sha256": self.sha256, "details": None if self.details is None else
                           self.details.model_dump(mode="json", by_alias=True,
                                                   exclude_none=True)})

    @classmethod
    def from_record(cls, file_id: str, text: str | bytes) -> "UploadedFile":
        data = json.loads(text)
        details = data.pop("details")
        return cls(file_id=file_id, **data,
                   details=None if details is None else FileDetails.model_validate(details))


@dataclass(frozen=True)
class OpenReport:
    report_id: int
    esp: str
    report: Report
    changed: str
    files: list[UploadedFile] = field(default_factory=list)


class Refused(Exception):
    """The report is not open to this change: `state` says why (missing, expired, finished,
    retracted, nofile, full, changed)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class OpenReports:
    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher, keep_s: int,
                 max_files: int, bodies: ReportBodies,
                 replicated: Replicated | None = None) -> None:
        self.replicated = replicated or Replicated(redis, topology.replication_mark)
        self.bodies = bodies
        self.publisher = publisher
        self.redis = redis
        self.topology = topology
        self.keep_s = keep_s
        self.max_files = max_files
        self._change = redis.register_script(_CHANGE)
        self._read = redis.register_script(_READ)

    def _key(self, report_id: int) -> str:
        return self.topology.key("ispws", "report", report_id)

    def _window(self) -> list[int]:
        return [domain.OPEN_FOR_S, domain.IDLE_FOR_S]

    async def open(self, esp: str, report: Report, now: float) -> int:
        """Number the report (from the counter the JSON API numbers from) and keep it open."""
        report_id = int(await self.redis.incr(self.topology.report_id_counter))
        key = self._key(report_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": "open", "esp": esp, "opened": repr(now),
                                    "changed": repr(now),
                                    "report": report.model_dump_json(by_alias=True,
                                                                     exclude_none=True)})
            pipe.expire(key, domain.OPEN_FOR_S + 60)
            await pipe.execute()
        return report_id

    async def read(self, esp: str, report_id: int, now: float) -> OpenReport:
        reply = await self._read(keys=[self._key(report_id)], args=[esp, repr(now),
                                                                   *self._window()])
        if not isinstance(reply, list):
            raise Refused(_text(reply))
        values = {_text(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}
        files = sorted((UploadedFile.from_record(name.removeprefix("file:"), value)
                        for name, value in values.items() if name.startswith("file:")),
                       key=lambda f: f.seq)
        return OpenReport(report_id=report_id, esp=esp,
                          report=Report.model_validate_json(values["report"]),
                          changed=_text(values["changed"]), files=files)

    async def add_file(self, esp: str, report_id: int, file: UploadedFile, now: float) -> None:
        await self._run(esp, report_id, now, "file", f"file:{file.file_id}", file.record(),
                        self.max_files)

    async def attach(self, esp: str, report_id: int, file: UploadedFile, now: float) -> None:
        await self._run(esp, report_id, now, "details", f"file:{file.file_id}", file.record())

    async def retract(self, esp: str, report_id: int, now: float) -> None:
        await self._run(esp, report_id, now, "retract", "", self.keep_s, "")

    async def finish(self, opened: OpenReport, filed: FiledReport, event: ReportSubmitted,
                     now: float) -> None:
        """Mark finished, store the body and publish, in one step; Refused('changed') when the
        report changed since it was read (the caller reads it again). Then until the replicas
        asked for hold it (NotReplicated when they do not in time)."""
        stream = self.topology.submitted[event.lane]
        await self._run(opened.esp, opened.report_id, now, "finish", opened.changed, self.keep_s,
                        stream, self.bodies.ttl_s, bodies.encode(filed),
                        *self.publisher.args(stream, event, current_traceparent()),
                        body_key=self.topology.report_body(opened.report_id))
        await self.replicated.wait()

    async def _run(self, esp: str, report_id: int, now: float, op: str, *args: Any,
                   body_key: str | None = None) -> None:
        keys = [self._key(report_id), *([body_key] if body_key else [])]
        reply = _text(await self._change(keys=keys,
                                         args=[esp, repr(now), *self._window(), op, *args]))
        if reply != "ok":
            raise Refused(reply)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
