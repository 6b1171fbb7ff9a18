"""What the benchmark reads off a running stack: CPU and memory of its processes, each stage's
progress, Redis memory by kind of key, every report accounted for (tipline.accounting), the
machine it ran on."""

import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis

from shared import topology
from shared.directory import load_directory
from shared.settings import DATA_DIR
from shared.topology import Topology
from tipline import accounting

T = Topology()


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def progress_line(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    end = "\n" if done >= total else ""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r  {label}: {done}/{total} ({rate:,.0f}/s)" + end)
        sys.stderr.flush()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def group_done(r: redis.Redis, streams: list[str], group: str) -> int:
    pipe = r.pipeline(transaction=False)
    for s in streams:
        pipe.xinfo_groups(s)
    done = 0
    for groups in pipe.execute():
        for g in groups:
            if g["name"] in (group, group.encode()):
                done += (g.get("entries-read") or 0) - g["pending"]
    return done


def watch(r: redis.Redis, n: int, started: float, timeout: float, label: str,
          t: Topology = T) -> dict[str, Any]:
    """Sample each stage's progress until the tracker has all n; when each stage finished."""
    stages = {
        "triage": lambda: group_done(r, t.submitted_by_urgency, topology.TRIAGE),
        "router": lambda: group_done(r, t.triaged_by_urgency, topology.ROUTER),
        "tracker": lambda: accounting.ledger_placed(r, t),
    }
    finished: dict[str, float] = {}
    samples = []
    while True:
        now = time.monotonic() - started
        counts = {name: f() for name, f in stages.items()}
        samples.append({"t": round(now, 3), **counts})
        for name, count in counts.items():
            if count >= n and name not in finished:
                finished[name] = now
        progress_line(label, counts["tracker"], n, started)
        if counts["tracker"] >= n or now > timeout:
            break
        time.sleep(0.1)
    return {"finished_s": finished, "samples": samples, "complete": counts["tracker"] >= n}


def report_path(t: Topology) -> set[str]:
    """The report path's streams (agency responses keep arriving on their own clock and are left
    out)."""
    return {*t.submitted_by_urgency, *t.triaged_by_urgency, t.routed, t.unassigned}


AGENCY_IDS = [a.id for a in load_directory(DATA_DIR / "agencies.json").agencies]


# Phases whose stack keeps an hour of stream history, so that every case is counted in the
# streams at the end; the others run as deployed, their streams trimmed as they are consumed.
HISTORY = {"TIPLINE_STREAM_RETENTION_S": "3600"}


def appended(r: redis.Redis, streams: Iterable[str]) -> int:
    """Entries ever added to these streams, trimmed ones too (XINFO STREAM's entries-added)."""
    pipe = r.pipeline(transaction=False)
    for s in streams:
        pipe.xinfo_stream(s)
    return sum(int(info.get("entries-added") or 0) for info in pipe.execute())


def loss_check(r: redis.Redis, n: int, settle_s: float = 120, history: bool = True,
               t: Topology = T) -> dict[str, Any]:
    """Every report accounted for, nothing pending, no dead letter (once the tracker, which reads
    the early stages in parallel, has caught up): in the ledger, and counted in the streams when
    the stack kept their history; when it did not, the entries ever appended to the triaged lanes
    (one per report: a doubled commit of triage shows there) and to the unassigned stream."""
    groups = {group: [s for s in streams if s in report_path(t)]
              for group, streams in t.consumed([]).items()}
    placed, left = accounting.settle(r, t, groups, n, settle_s)
    pending = sum(lag + waiting for lag, waiting in left.values())
    totals = {k.decode(): int(float(v)) for k, v in r.hgetall(t.gap_totals).items()}
    if history:
        ended = accounting.account(r, t, AGENCY_IDS).summary()
        counted = {"in_the_streams": ended}
        streams_ok = ended["reports_placed"] == n and ended["doubled"] == 0
    else:
        triaged, unassigned = appended(r, t.triaged_by_urgency), appended(r, [t.unassigned])
        counted = {"appended": {"triaged": triaged, "unassigned": unassigned,
                                "doubled": max(triaged - n, 0) + max(unassigned - totals.get(
                                    "unassigned", 0), 0)}}
        streams_ok = triaged == n and unassigned == totals.get("unassigned", 0)
    return {"submitted": totals.get("submitted", 0), "triaged": totals.get("triaged", 0),
            "placed": placed, "lost": n - placed, "pending": pending,
            "dead_letters": totals.get("dead_letters", 0), **counted,
            "ok": placed == n and pending == 0 and totals.get("dead_letters", 0) == 0
            and totals.get("submitted", 0) == n and totals.get("triaged", 0) == n
            and streams_ok}


def memory_kinds(t: Topology) -> tuple[tuple[str, Any], ...]:
    """What holds a report's memory, by key; the first that matches."""
    return (
        ("report bodies (the claim check)", lambda key, kind: key.startswith(t.key("body") + ":")),
        ("timelines (one hash per report)",
         lambda key, kind: key.startswith(t.key("report") + ":")),
        ("idempotency records (seen event ids, agency turns)", lambda key, kind: key.startswith(
            (t.key("seen") + ":", t.key("agency", "turns") + ":"))),
        ("agency responses not yet due", lambda key, kind: key == t.agency_schedule),
        ("stream entries (not yet consumed or trimmed, and any history kept)",
         lambda key, kind: kind == b"stream"),
        ("ledger indexes and counters, the rest", lambda key, kind: True),
    )


MEMORY_KINDS = memory_kinds(T)


def memory_by_kind(r: redis.Redis, per: int, t: Topology = T) -> dict[str, int]:
    """Bytes per `per` reports held by each kind of key (MEMORY USAGE of every key, exact for
    streams); what MEMORY USAGE does not see (Redis's own tables, allocator slack) is left out."""
    kinds = memory_kinds(t)
    sizes = Counter({name: 0 for name, _ in kinds})
    batch: list[bytes] = []

    def measure() -> None:
        pipe = r.pipeline(transaction=False)
        for key in batch:
            pipe.type(key)
            pipe.memory_usage(key, samples=0)
        answers = pipe.execute()
        for key, kind, size in zip(batch, answers[::2], answers[1::2], strict=True):
            name = next(n for n, test in kinds if test(key.decode(), kind))
            sizes[name] += size or 0
        batch.clear()

    for key in r.scan_iter(count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            measure()
    measure()
    return {name: round(size * 100_000 / per) for name, size in sizes.items()}


def primaries(r: Any) -> list[redis.Redis]:
    """A client of each node that serves keys: the one node, or every master of a cluster."""
    if hasattr(r, "get_primaries"):
        return [r.get_redis_connection(node) for node in r.get_primaries()]
    return [r]


def summed_info(r: Any, section: str) -> dict[str, Any]:
    """INFO `section` summed over every master (numbers added, the first node's other values)."""
    total: dict[str, Any] = {}
    for node in primaries(r):
        for key, value in node.info(section).items():
            if isinstance(value, dict):
                into = total.setdefault(key, {})
                for k, v in value.items():
                    into[k] = into.get(k, 0) + v if isinstance(v, int | float) else v
            elif isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
            else:
                total.setdefault(key, value)
    return total


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(), "platform": platform.platform(), "redis_server": redis_version,
        "packages": {p: version(p) for p in ("redis", "pydantic", "fastapi", "uvicorn")},
    }
