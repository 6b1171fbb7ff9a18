"""python -m bench: the pipeline's speed, measured on the real stack against its own redis-server.

Phases, each on a fresh stack and a fresh Redis:
  pipeline  N reports preloaded into the submitted lanes; time until the tracker has every one
            as routed, unassigned or bundled; throughput per stage and overall
  raw       the same hops as minimal hand-written redis-py loops (bench/raw_chain.py)
  http      N reports through intake: the single endpoint, then the batch endpoint
  flood     N informational reports in flight, priority-1 reports submitted at intervals over
            HTTP: intake-accepted -> delivered-to-agency-inbox latency
  replicas  the pipeline phase again with two replicas of triage and of the router (one consumer
            group each): the ratio to one replica, and that nothing was doubled
Cost (CPU and peak RSS per process, Redis commands per report, Redis memory per report and per
kind of key) is read in the pipeline phase. After every phase each report is counted where it
ended (every agency inbox, the unassigned stream, the bundles), not only in the tracker's ledger:
nothing lost, nothing doubled.
Writes results.json, results.md and results.png to --out (default bench/results).
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import redis

from services.intake.contract import contract as intake_contract
from shared import bodies, topology
from shared.directory import load_directory
from shared.publishing import Publisher
from shared.schemas.events import ReportSubmitted
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from shared.synthetic import scenario, synthetic_report
from shared.topology import Topology
from tipline.stack import RedisServer, Stack

ROOT = Path(__file__).resolve().parents[1]
KEY = {"Authorization": "Bearer dev-key-not-secret"}
T = Topology()
TARGETS = {
    "pipeline_reports_per_s": 2_500,
    "pipeline_share_of_raw": 0.5,
    "cpu_us_per_report": 800,
    "http_batch_reports_per_s": 2_000,
    "http_single_reports_per_s": 600,
    "redis_mb_per_100k_reports": 300,
    "p1_latency_p99_ms": 50,
}


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def progress_line(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    end = "\n" if done >= total else ""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r  {label}: {done}/{total} ({rate:,.0f}/s)" + end)
        sys.stderr.flush()


# ---------- the stack ----------

@contextmanager
def running_stack(work: Path, name: str, settings: dict[str, str],
                  replicas: dict[str, int] | None = None):
    stack = Stack.on_free_ports(work / name, settings=settings, replicas=replicas or {})
    try:
        stack.start(timeout=120)
        yield stack
    finally:
        stack.stop()


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


# ---------- load ----------

class Accepted(NamedTuple):
    """A report as intake leaves it: its body, stored once, and its event on a lane."""

    report_id: int
    stream: str
    event: ReportSubmitted
    body: bytes


def report_events(n: int, start_id: int = 1, informational_only: bool = False) -> list[Accepted]:
    """n accepted reports, cycling through 1,000 synthetic ones."""
    sources = ([synthetic_report("informational", f"flood-{i}") for i in range(1000)]
               if informational_only else scenario(1000, seed=7))
    reports = [FiledReport.model_validate(b) for b in sources]
    encoded = [bodies.encode(r) for r in reports]
    events = []
    for i in range(n):
        report = reports[i % len(reports)]
        lane = "escalated" if report.escalated else "standard"
        event = ReportSubmitted(report_id=start_id + i, producer="bench", esp="bench", lane=lane)
        events.append(Accepted(start_id + i, T.submitted[lane], event, encoded[i % len(reports)]))
    return events


def preload(r: redis.Redis, events: list[Accepted], chunk: int = 2000) -> float:
    """Write the reports as intake does (body and event), pipelined."""
    started = time.monotonic()
    intake = Publisher(intake_contract(T))
    for i in range(0, len(events), chunk):
        pipe = r.pipeline(transaction=False)
        for accepted in events[i:i + chunk]:
            pipe.set(T.report_body(accepted.report_id), accepted.body)
            intake.queue(pipe, accepted.stream, accepted.event)
        pipe.execute()
    return time.monotonic() - started


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


def tracker_placed(r: redis.Redis) -> int:
    totals = r.hmget(T.gap_totals, "routed", "unassigned", "bundled")
    return sum(int(v or 0) for v in totals)


def watch(r: redis.Redis, n: int, started: float, timeout: float, label: str) -> dict[str, Any]:
    """Sample each stage's progress until the tracker has all n; when each stage finished."""
    stages = {
        "triage": lambda: group_done(r, T.submitted_by_urgency, topology.TRIAGE),
        "router": lambda: group_done(r, T.triaged_by_urgency, topology.ROUTER),
        "tracker": lambda: tracker_placed(r),
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


REPORT_PATH = {*T.submitted_by_urgency, *T.triaged_by_urgency, T.routed,
               T.unassigned}


def backlog(r: redis.Redis) -> int:
    """Entries of the report path's streams not yet read or not yet acknowledged, by any group
    (agency responses keep arriving on their own clock and are left out)."""
    left = 0
    for group, streams in T.consumed([]).items():
        for s in (s for s in streams if s in REPORT_PATH):
            for g in r.xinfo_groups(s):
                if g["name"] in (group, group.encode()):
                    left += g["pending"] + (g.get("lag") or 0)
    return left


def where_reports_ended(r: redis.Redis) -> dict[str, Any]:
    """Each report counted where it ended, from the streams themselves: the cases in every agency
    inbox (by report and agency: a pair seen twice is a doubled case), the unassigned records, the
    bundle members (triaged, never routed)."""
    cases: Counter[tuple[int, str]] = Counter()
    for key in r.scan_iter(match=T.agency_inbox("*"), count=1000):
        for _, fields in r.xrange(key):
            event = json.loads(fields[b"data"])
            if event.get("why") != "renotification":
                cases[(event["report_id"], event["agency_id"])] += 1
    unassigned = Counter(json.loads(f[b"data"])["report_id"] for _, f in r.xrange(T.unassigned))
    routed = Counter(json.loads(f[b"data"])["report_id"] for _, f in r.xrange(T.routed)
                     if json.loads(f[b"data"])["type"] == "ReportRouted")
    members = set()
    for stream in T.triaged_by_urgency:
        for _, fields in r.xrange(stream):
            event = json.loads(fields[b"data"])
            if (event.get("bundle") or {}).get("role") == "member":
                members.add(event["report_id"])
    placed = set(routed) | set(unassigned) | members
    return {"reports_placed": len(placed), "cases_in_inboxes": sum(cases.values()),
            "doubled": sum(c - 1 for c in cases.values() if c > 1)
            + sum(c - 1 for c in routed.values() if c > 1)
            + sum(c - 1 for c in unassigned.values() if c > 1)}


def loss_check(r: redis.Redis, n: int, settle_s: float = 120) -> dict[str, Any]:
    """Every report accounted for, nothing pending, no dead letter (once the tracker, which reads
    the early stages in parallel, has caught up)."""
    deadline = time.monotonic() + settle_s
    while backlog(r) and time.monotonic() < deadline:
        time.sleep(0.2)
    pending = backlog(r)
    totals = {k.decode(): int(float(v)) for k, v in r.hgetall(T.gap_totals).items()}
    placed = totals.get("routed", 0) + totals.get("unassigned", 0) + totals.get("bundled", 0)
    lost = n - placed
    ended = where_reports_ended(r)
    return {"submitted": totals.get("submitted", 0), "triaged": totals.get("triaged", 0),
            "placed": placed, "lost": lost, "pending": pending,
            "dead_letters": totals.get("dead_letters", 0), "in_the_streams": ended,
            "ok": lost == 0 and pending == 0 and totals.get("dead_letters", 0) == 0
            and totals.get("submitted", 0) == n and totals.get("triaged", 0) == n
            and ended["reports_placed"] == n and ended["doubled"] == 0}


# ---------- phases ----------

MEMORY_KINDS = (  # what holds a report's memory, by key; the first that matches
    ("report bodies (the claim check)", lambda key, kind: key.startswith(T.key("body") + ":")),
    ("timelines (one hash per report)", lambda key, kind: key.startswith(T.key("report") + ":")),
    ("idempotency records (seen event ids, agency turns)", lambda key, kind: key.startswith(
        (T.key("seen") + ":", T.key("agency", "turn") + ":"))),
    ("agency responses not yet due", lambda key, kind: key == T.agency_schedule),
    ("stream entries (consumed, kept for the retention)", lambda key, kind: kind == b"stream"),
    ("ledger indexes and counters, the rest", lambda key, kind: True),
)


def memory_by_kind(r: redis.Redis, per: int) -> dict[str, int]:
    """Bytes per `per` reports held by each kind of key (MEMORY USAGE of every key, exact for
    streams); what MEMORY USAGE does not see (Redis's own tables, allocator slack) is left out."""
    sizes = Counter({name: 0 for name, _ in MEMORY_KINDS})
    batch: list[bytes] = []

    def measure() -> None:
        pipe = r.pipeline(transaction=False)
        for key in batch:
            pipe.type(key)
            pipe.memory_usage(key, samples=0)
        answers = pipe.execute()
        for key, kind, size in zip(batch, answers[::2], answers[1::2], strict=True):
            name = next(n for n, test in MEMORY_KINDS if test(key.decode(), kind))
            sizes[name] += size or 0
        batch.clear()

    for key in r.scan_iter(count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            measure()
    measure()
    return {name: round(size * 100_000 / per) for name, size in sizes.items()}


def phase_pipeline(work: Path, n: int, settings: dict[str, str],
                   replicas: dict[str, int] | None = None) -> dict[str, Any]:
    label = " with " + ", ".join(f"{k}×{v}" for k, v in replicas.items()) if replicas else ""
    say(f"pipeline{label}: {n:,} reports preloaded into the submitted lanes")
    events = report_events(n)
    with running_stack(work, "replicas" if replicas else "pipeline", settings, replicas) as stack:
        r = redis.Redis.from_url(stack.redis_url)
        r.config_resetstat()
        memory_before = r.info("memory")["used_memory"]
        cpu_before = {name: cpu_seconds(p.pid) for name, p in stack.processes.items()}
        started = time.monotonic()
        preload_s = preload(r, events)
        seen = watch(r, n, started, timeout=max(120, n / 200), label="recorded by the tracker")
        cpu_used = {name: cpu_seconds(p.pid) - cpu_before[name] for name, p in stack.processes.items()}
        total_s = seen["finished_s"].get("tracker")
        losses = loss_check(r, n) if seen["complete"] else {"ok": False, "lost": "incomplete"}
        memory_after = r.info("memory")["used_memory"]
        commands = {k.removeprefix("cmdstat_"): v["calls"]
                    for k, v in r.info("commandstats").items()}
        by_kind = memory_by_kind(r, n)
        rss = {name: peak_rss_mb(p.pid) for name, p in stack.processes.items()}
    per_stage = {name: round(n / t) for name, t in seen["finished_s"].items() if t}
    return {
        "reports": n, "preload_s": round(preload_s, 2), "total_s": total_s and round(total_s, 2),
        "reports_per_s": round(n / total_s) if total_s else None,
        "stage_finished_s": {k: round(v, 2) for k, v in seen["finished_s"].items()},
        "stage_reports_per_s": per_stage, "samples": seen["samples"], "loss": losses,
        "cost": {"peak_rss_mb": rss,
                 "cpu_us_per_report": {k: round(v / n * 1e6) for k, v in cpu_used.items()},
                 "redis_bytes_per_100k_reports": round((memory_after - memory_before) / n * 100_000),
                 "redis_bytes_per_100k_reports_by_kind": by_kind,
                 "redis_commands_per_report": round(sum(commands.values()) / n, 1),
                 "redis_commands_per_report_by_command": {
                     k: round(v / n, 2) for k, v in sorted(commands.items(), key=lambda kv: -kv[1])
                     if v / n >= 0.05}},
    }


def phase_raw(work: Path, n: int) -> dict[str, Any]:
    say(f"raw chain: {n:,} reports through three hand-written redis-py hops")
    from bench import raw_chain

    events = report_events(n)
    server = RedisServer(work / "raw-redis", appendonly=False).start()
    url = server.url
    r = redis.Redis.from_url(url)
    hops = [subprocess.Popen([sys.executable, "-m", "bench.raw_chain", hop, url], cwd=ROOT)
            for hop in ("triage", "route", "track")]
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists(raw_chain.READY + h) for h in ("triage", "route", "track")):
            if time.monotonic() > deadline:
                raise RuntimeError("raw chain hops did not start")
            time.sleep(0.05)
        started = time.monotonic()
        raw_chain.preload(r, [(a.report_id, a.event.model_dump_json().encode(), a.body)
                              for a in events])
        while int(r.get(raw_chain.COUNT) or 0) < n:
            progress_line("counted by the last hop", int(r.get(raw_chain.COUNT) or 0), n, started)
            if time.monotonic() - started > max(120, n / 200):
                break
            time.sleep(0.05)
        total_s = time.monotonic() - started
        counted = int(r.get(raw_chain.COUNT) or 0)
        r.set(raw_chain.STOP, 1)
    finally:
        for hop in hops:
            try:
                hop.wait(10)
            except subprocess.TimeoutExpired:
                hop.kill()
        server.stop()
    return {"reports": n, "counted": counted, "total_s": round(total_s, 2),
            "reports_per_s": round(counted / total_s)}


async def _post_all(url: str, bodies: list[bytes], concurrency: int, path: str) -> tuple[int, float]:
    """POST every body over `concurrency` keep-alive connections. A minimal HTTP/1.1 client on
    asyncio streams: a general-purpose client in the same process would be the bottleneck."""
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    accepted = 0
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {KEY['Authorization']}\r\n"
            "Content-Type: application/json\r\nContent-Length: ").encode()

    async def worker() -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                body = queue.get_nowait()
                writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
                status_line = await reader.readline()
                status = int(status_line.split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                payload = await reader.readexactly(length)
                if status == 202:
                    accepted += 1
                elif status == 200:
                    accepted += json.loads(payload)["accepted"]
                else:
                    raise RuntimeError(f"intake refused a bench request: {status} {payload[:200]!r}")
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return accepted, time.monotonic() - started


def phase_http(work: Path, n: int, settings: dict[str, str], clients: int, batch_size: int) -> dict[str, Any]:
    reports = [json.dumps(b).encode() for b in scenario(1000, seed=11)]
    out: dict[str, Any] = {}
    for mode in ("single", "batch"):
        say(f"http {mode}: {n:,} reports through intake")
        if mode == "single":
            bodies = [reports[i % len(reports)] for i in range(n)]
            path, concurrency = "/v1/reports", clients
        else:
            bodies = [b'{"reports": [' + b",".join(reports[(i + j) % len(reports)]
                                                  for j in range(min(batch_size, n - i))) + b"]}"
                      for i in range(0, n, batch_size)]
            path, concurrency = "/v1/reports/batch", max(2, clients // 16)
        with running_stack(work, f"http-{mode}", settings) as stack:
            r = redis.Redis.from_url(stack.redis_url)
            cpu_before = {name: cpu_seconds(p.pid) for name, p in stack.processes.items()}
            started = time.monotonic()
            accepted, submit_s = asyncio.run(_post_all(stack.url("intake"), bodies, concurrency, path))
            seen = watch(r, n, started, timeout=max(180, n / 100), label="recorded by the tracker")
            total_s = seen["finished_s"].get("tracker")
            cpu = {name: round((cpu_seconds(p.pid) - cpu_before[name]) / n * 1e6)
                   for name, p in stack.processes.items()}
            losses = loss_check(r, n) if seen["complete"] else {"ok": False, "lost": "incomplete"}
        out[mode] = {
            "reports": n, "accepted": accepted, "concurrency": concurrency,
            "batch_size": batch_size if mode == "batch" else 1,
            "submit_s": round(submit_s, 2), "accepted_per_s": round(accepted / submit_s),
            "total_s": total_s and round(total_s, 2),
            "reports_per_s": round(n / total_s) if total_s else None, "loss": losses,
            "cpu_us_per_report": cpu,
        }
    return out


def phase_flood(work: Path, flood: int, p1: int, interval_ms: int, settings: dict[str, str]) -> dict[str, Any]:
    say(f"flood: {flood:,} informational reports in flight, {p1} priority-1 reports over HTTP")
    events = report_events(flood, start_id=10_000_000, informational_only=True)
    urgent = [synthetic_report("escalated", f"p1-{i}") for i in range(p1)]
    directory = load_directory(DATA_DIR / "agencies.json")
    with running_stack(work, "flood", settings) as stack:
        r = redis.Redis.from_url(stack.redis_url)
        started = time.monotonic()
        preload(r, events)
        ids = []
        with httpx.Client(base_url=stack.url("intake"), timeout=30) as client:
            for body in urgent:
                resp = client.post("/v1/reports", json=body, headers=KEY)
                resp.raise_for_status()
                ids.append(resp.json()["reportId"])
                time.sleep(interval_ms / 1000)
        in_flight_at_end = flood - group_done(r, T.submitted_by_urgency, topology.TRIAGE)
        seen = watch(r, flood + p1, started, timeout=max(180, flood / 200), label="recorded")
        losses = loss_check(r, flood + p1) if seen["complete"] else {"ok": False, "lost": "incomplete"}
        accepted_ms = {}
        for _, fields in r.xrange(T.submitted["escalated"]):
            event = json.loads(fields[b"data"])
            accepted_ms[event["report_id"]] = datetime.fromisoformat(event["occurred_at"]).timestamp() * 1000
        delivered_ms: dict[int, float] = {}
        wanted = set(ids)
        for agency in directory.agencies:
            stream = T.agency_inbox(agency.id)
            if agency.kind != "icac" or r.xlen(stream) == 0:
                continue
            for entry_id, fields in r.xrange(stream):
                case = json.loads(fields[b"data"])
                if case["report_id"] in wanted and case["report_id"] not in delivered_ms:
                    delivered_ms[case["report_id"]] = int(entry_id.split(b"-")[0])
    latencies = sorted(delivered_ms[i] - accepted_ms[i] for i in ids if i in delivered_ms and i in accepted_ms)

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {
        "flood": flood, "p1_reports": p1, "p1_delivered": len(latencies), "interval_ms": interval_ms,
        "flood_still_untriaged_after_last_p1": in_flight_at_end,
        "p1_latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": round(latencies[-1], 1) if latencies else None,
                          "mean": round(statistics.fmean(latencies), 1) if latencies else None},
        "p1_latencies_ms": [round(x, 1) for x in latencies], "loss": losses,
    }


# ---------- results ----------

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


def judge(results: dict[str, Any]) -> list[dict[str, Any]]:
    phases = results["phases"]
    checks = []

    def check(name: str, value: float | None, target: float, higher_is_better: bool, note: str) -> None:
        met = value is not None and (value >= target if higher_is_better else value <= target)
        gap = None if value is None else round((value / target - 1) * 100, 1)
        checks.append({"target": name, "value": value, "goal": target, "met": met,
                       "off_by_percent": gap, "note": note})

    if "pipeline" in phases:
        check("stream pipeline reports/s", phases["pipeline"]["reports_per_s"],
              TARGETS["pipeline_reports_per_s"], True, "end to end, tracker has every report")
    if "pipeline" in phases and "raw" in phases and phases["pipeline"]["reports_per_s"]:
        share = round(phases["pipeline"]["reports_per_s"] / phases["raw"]["reports_per_s"], 3)
        results["pipeline_share_of_raw"] = share
        check("pipeline / raw chain", share, TARGETS["pipeline_share_of_raw"], True,
              "same validation and domain functions in both")
    if "pipeline" in phases:
        cost = phases["pipeline"]["cost"]
        check("CPU µs per report, every process and Redis", sum(cost["cpu_us_per_report"].values()),
              TARGETS["cpu_us_per_report"], False, "user + system time during the pipeline phase")
        check("Redis MB per 100,000 reports in flight", round(
            cost["redis_bytes_per_100k_reports"] / 1e6), TARGETS["redis_mb_per_100k_reports"], False,
            "used_memory growth while every report is in the streams, bodies and ledger")
    if "http" in phases:
        check("HTTP batch intake reports/s", phases["http"]["batch"]["reports_per_s"],
              TARGETS["http_batch_reports_per_s"], True, "end to end, tracker has every report")
        check("HTTP single intake reports/s", phases["http"]["single"]["reports_per_s"],
              TARGETS["http_single_reports_per_s"], True, "end to end, tracker has every report")
    if "pipeline" in phases and "replicas" in phases and phases["pipeline"]["reports_per_s"]:
        results["replicas_ratio"] = round(phases["replicas"]["reports_per_s"]
                                          / phases["pipeline"]["reports_per_s"], 2)
    if "flood" in phases:
        check("P1 latency p99 ms", phases["flood"]["p1_latency_ms"]["p99"],
              TARGETS["p1_latency_p99_ms"], False, "intake-accepted -> agency inbox, under flood")
    losses = [p.get("loss", {}).get("ok") for p in phases.values() if isinstance(p, dict) and "loss" in p]
    losses += [m["loss"]["ok"] for m in phases.get("http", {}).values()]
    checks.append({"target": "no report lost", "value": all(losses), "goal": True, "met": all(losses),
                   "off_by_percent": None, "note": "every phase: all placed, none pending, no dead letter"})
    return checks


def _ended(phase: dict[str, Any]) -> str:
    ended = phase["loss"].get("in_the_streams")
    if not ended:
        return "incomplete: the phase did not finish"
    return (f"{ended['reports_placed']:,} reports placed, {ended['cases_in_inboxes']:,} cases in "
            f"agency inboxes, {ended['doubled']} doubled")


def markdown(results: dict[str, Any]) -> str:
    p = results["phases"]
    m = results["machine"]
    lines = [
        "# Benchmark results", "",
        f"{results['started_at']} · {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB · "
        f"Python {m['python']} · {m['redis_server'].split(' sha')[0]} · "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items()), "",
        f"Settings: {json.dumps(results['settings'])}", "",
        "| measure | figure |", "|---|---|",
    ]
    if "pipeline" in p:
        x = p["pipeline"]
        lines += [
            f"| stream pipeline, {x['reports']:,} reports preloaded | **{x['reports_per_s']:,} reports/s** end to end ({x['total_s']} s) |",
            "| per stage (reports/s, to the stage's last report) | " + ", ".join(
                f"{k} {v:,}" for k, v in x["stage_reports_per_s"].items()) + " |",
            "| CPU per report (µs, by process) | " + ", ".join(
                f"{k} {v}" for k, v in x["cost"]["cpu_us_per_report"].items()) + " |",
            "| peak RSS per process (MB) | " + ", ".join(
                f"{k} {v}" for k, v in x["cost"]["peak_rss_mb"].items()) + " |",
            f"| Redis memory per 100,000 reports | {x['cost']['redis_bytes_per_100k_reports'] / 1e6:,.0f} MB ("
            + ", ".join(f"{k} {v / 1e6:,.0f}" for k, v in x["cost"].get(
                "redis_bytes_per_100k_reports_by_kind", {}).items()) + ") |",
            f"| Redis commands per report | {x['cost']['redis_commands_per_report']} ("
            + ", ".join(f"{k} {v}" for k, v in list(
                x["cost"]["redis_commands_per_report_by_command"].items())[:8]) + ") |",
            f"| counted in the streams | {_ended(x)} |",
        ]
    if "raw" in p:
        lines.append(f"| raw redis-py chain, same hops | {p['raw']['reports_per_s']:,} reports/s |")
    if "pipeline_share_of_raw" in results:
        lines.append(f"| pipeline / raw chain | {results['pipeline_share_of_raw'] * 100:.0f}% |")
    if "http" in p:
        for mode, x in p["http"].items():
            lines.append(
                f"| HTTP {mode} endpoint, {x['reports']:,} reports, {x['concurrency']} clients"
                f"{'' if mode == 'single' else ', ' + str(x['batch_size']) + ' per request'} | "
                f"**{x['reports_per_s']:,} reports/s** end to end (intake accepted {x['accepted_per_s']:,}/s) |")
    if "replicas" in p:
        x = p["replicas"]
        lines.append(
            f"| stream pipeline with 2 replicas of triage and of the router | **{x['reports_per_s']:,}"
            f" reports/s** ({results.get('replicas_ratio', 0):.2f}× one replica); {_ended(x)} |")
    if "flood" in p:
        x = p["flood"]
        lat = x["p1_latency_ms"]
        lines.append(
            f"| P1 latency under a {x['flood']:,}-report flood ({x['p1_delivered']}/{x['p1_reports']} P1 delivered) | "
            f"p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms |")
    lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
    for c in results["targets"]:
        off = "" if c["off_by_percent"] is None or c["met"] else f" ({c['off_by_percent']:+.0f}%)"
        lines.append(f"| {c['target']} | {c['goal']} | {c['value']}{off} | {'yes' if c['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("matplotlib is not installed: no chart (pip install -e '.[bench]')")
        return False
    p = results["phases"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    bars = {}
    if "pipeline" in p:
        for stage, v in p["pipeline"]["stage_reports_per_s"].items():
            bars[f"pipeline: {stage}"] = v
    if "raw" in p:
        bars["raw chain"] = p["raw"]["reports_per_s"]
    for mode, x in p.get("http", {}).items():
        bars[f"HTTP {mode}"] = x["reports_per_s"] or 0
    left.barh(list(bars), list(bars.values()), color="#4a7ab5")
    left.axvline(TARGETS["pipeline_reports_per_s"], color="#c33", linestyle="--",
                 label=f"{TARGETS['pipeline_reports_per_s']:,}/s target")
    left.set_xlabel("reports per second")
    left.set_title("Throughput, end to end per stage")
    left.legend()
    if "flood" in p and p["flood"]["p1_latencies_ms"]:
        lat = p["flood"]["p1_latencies_ms"]
        right.hist(lat, bins=30, color="#4a7ab5")
        right.axvline(TARGETS["p1_latency_p99_ms"], color="#c33", linestyle="--", label="50 ms p99 target")
        right.axvline(p["flood"]["p1_latency_ms"]["p99"], color="#333", label="measured p99")
        right.set_xlabel("intake-accepted -> agency inbox (ms)")
        right.set_title(f"P1 latency under a {p['flood']['flood']:,}-report flood")
        right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000, help="reports per throughput phase")
    parser.add_argument("--http-reports", type=int, default=None, help="reports per HTTP phase (default: --reports)")
    parser.add_argument("--flood", type=int, default=100_000, help="informational reports in flight")
    parser.add_argument("--p1", type=int, default=200, help="priority-1 reports sent during the flood")
    parser.add_argument("--p1-interval-ms", type=int, default=25, help="pause between priority-1 reports")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients (single endpoint)")
    parser.add_argument("--batch-size", type=int, default=500, help="reports per batch request")
    parser.add_argument("--phases", default="pipeline,raw,http,flood,replicas",
                        help="which phases to run")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="where results go")
    parser.add_argument("--log-level", default="WARNING", help="services' log level during the run")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - {"pipeline", "raw", "http", "flood", "replicas"}
    if unknown:
        parser.error(f"unknown phases: {sorted(unknown)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"TIPLINE_LOG_LEVEL": args.log_level, "TIPLINE_SLA_P1_HOURS": "100000",
                "TIPLINE_LOG_FORMAT": "json"}
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "settings": {**settings, "reports": args.reports, "flood": args.flood, "p1": args.p1,
                     "clients": args.clients, "batch_size": args.batch_size,
                     "batch_read": "TIPLINE_BATCH_SIZE default (100)"},
        "phases": {},
    }
    begun = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tipline-bench-") as tmp:
        work = Path(tmp)
        if "pipeline" in phases:
            results["phases"]["pipeline"] = phase_pipeline(work, args.reports, settings)
        if "raw" in phases:
            results["phases"]["raw"] = phase_raw(work, args.reports)
        if "http" in phases:
            results["phases"]["http"] = phase_http(work, args.http_reports or args.reports, settings,
                                                   args.clients, args.batch_size)
        if "flood" in phases:
            results["phases"]["flood"] = phase_flood(work, args.flood, args.p1, args.p1_interval_ms, settings)
        if "replicas" in phases:
            results["phases"]["replicas"] = phase_pipeline(work, args.reports, settings,
                                                           {"triage": 2, "router": 2})
    results["duration_s"] = round(time.monotonic() - begun, 1)
    results["targets"] = judge(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(markdown(results))
    drew = chart(results, out / "results.png")
    sys.stdout.write(markdown(results))
    sys.stdout.write(f"\nwritten: {out / 'results.json'}, {out / 'results.md'}"
                     + (f", {out / 'results.png'}" if drew else "") + "\n")
    lost = not results["targets"][-1]["met"]
    return 1 if lost else 0
