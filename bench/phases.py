"""The benchmark's phases, each on a fresh stack and a fresh Redis."""

import asyncio
import json
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.load import KEY, post_all, preload, report_events
from bench.measure import (
    T,
    cpu_seconds,
    group_done,
    loss_check,
    memory_by_kind,
    peak_rss_mb,
    primaries,
    progress_line,
    say,
    summed_info,
    watch,
)
from shared import topology
from shared.connect import connect
from shared.directory import load_directory
from shared.settings import DATA_DIR
from shared.synthetic import scenario, synthetic_report
from tipline.stack import RedisServer, Stack

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running_stack(work: Path, name: str, settings: dict[str, str],
                  replicas: dict[str, int] | None = None, cluster: bool = False):
    """A fresh stack on a fresh redis-server, or (`cluster`) on a fresh local Redis Cluster of 3
    masters with a replica each."""
    stack = Stack.on_free_ports(work / name, settings=settings, replicas=replicas or {},
                                cluster_masters=3 if cluster else 0)
    try:
        stack.start(timeout=120)
        yield stack
    finally:
        stack.stop()


def keeps_history(settings: dict[str, str]) -> bool:
    return float(settings.get("TIPLINE_STREAM_RETENTION_S", "0")) > 0


def pids(stack: Stack) -> dict[str, list[int]]:
    """Each process of the stack by name; a cluster's nodes, masters and replicas, as `redis`."""
    found = {name: [p.pid] for name, p in stack.processes.items()}
    if stack.cluster is not None:
        found["redis"] = [node.proc.pid for node in stack.cluster.nodes if node.proc]
    return found


def node_roles(stack: Stack, t: topology.Topology) -> dict[str, list[int]]:
    """A cluster's nodes by what they do for the pipeline's one slot: its master, that master's
    replica, and the others (masters and replicas of slots nothing uses)."""
    assert stack.cluster is not None
    master = stack.cluster.master_of(t.key("x"))
    replica = [node for node in stack.cluster.live() if node is not master
               and stack.cluster.client(node).info("replication").get("master_port")
               == master.port]
    others = [node for node in stack.cluster.nodes if node is not master and node not in replica]
    return {"the slot's master": [master.proc.pid] if master.proc else [],
            "its replica": [node.proc.pid for node in replica if node.proc],
            "the other four nodes": [node.proc.pid for node in others if node.proc]}


def phase_pipeline(work: Path, n: int, settings: dict[str, str],
                   replicas: dict[str, int] | None = None, name: str = "pipeline",
                   cluster: bool = False) -> dict[str, Any]:
    label = " with " + ", ".join(f"{k}×{v}" for k, v in replicas.items()) if replicas else ""
    linking = settings.get("TIPLINE_LINKING", "true") != "false"
    say(f"{name}{label}: {n:,} reports preloaded into the submitted lanes"
        + ("" if linking else ", linking off") + (", on a 3-master Redis Cluster" if cluster
                                                  else ""))
    t = topology.Topology(cluster=cluster)
    events = report_events(n, t=t)
    with running_stack(work, name, settings, replicas, cluster) as stack:
        r = connect(stack.redis_url or "")
        for node in primaries(r):
            node.config_resetstat()
        memory_before = summed_info(r, "memory")["used_memory"]
        processes = pids(stack)
        cpu_before = {pid: cpu_seconds(pid) for ps in processes.values() for pid in ps}

        def used(of: list[int]) -> float:  # CPU seconds these processes used since the start
            return sum(cpu_seconds(pid) - cpu_before[pid] for pid in of)

        started = time.monotonic()
        preload_s = preload(r, events, t=t)
        seen = watch(r, n, started, timeout=max(120, n / 200), label="recorded by the tracker",
                     t=t)
        cpu_used = {name: used(ps) for name, ps in processes.items()}
        total_s = seen["finished_s"].get("tracker")
        losses = (loss_check(r, n, history=keeps_history(settings), t=t) if seen["complete"]
                  else {"ok": False, "lost": "incomplete"})
        memory_after = summed_info(r, "memory")["used_memory"]
        stats = summed_info(r, "commandstats")
        commands = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
        # Redis's own time in each command (a script's includes the commands it calls)
        usec = {k.removeprefix("cmdstat_"): v["usec"] for k, v in stats.items()}
        by_kind = memory_by_kind(r, n, t)
        rss = {name: max((peak_rss_mb(pid) or 0) for pid in ps) or None
               for name, ps in processes.items()}
        linked = linking_figures(r, t)
        masters = len(primaries(r))  # the nodes serving slots
        roles = node_roles(stack, t) if cluster else {}
        by_node = {role: round(used(of) / n * 1e6) for role, of in roles.items()}
    per_stage = {name: round(n / t) for name, t in seen["finished_s"].items() if t}
    return {
        # the cluster as it was at the end: masters serving slots, the pipeline's master's
        # replicas, and (every key in one slot) the pipeline's one partition
        "redis": {"cluster": cluster, "masters": masters,
                  **({"replicas_of_the_pipelines_master": len(roles["its replica"]),
                      "cpu_us_per_report_by_node": by_node} if cluster else {})},
        "reports": n, "preload_s": round(preload_s, 2), "total_s": total_s and round(total_s, 2),
        "reports_per_s": round(n / total_s) if total_s else None,
        "stage_finished_s": {k: round(v, 2) for k, v in seen["finished_s"].items()},
        "stage_reports_per_s": per_stage, "samples": seen["samples"], "loss": losses,
        "linking": {"on": linking, **linked},
        "cost": {"peak_rss_mb": rss,
                 "cpu_us_per_report": {k: round(v / n * 1e6) for k, v in cpu_used.items()},
                 "redis_bytes_per_100k_reports": round((memory_after - memory_before) / n * 100_000),
                 "redis_bytes_per_100k_reports_by_kind": by_kind,
                 "redis_commands_per_report": round(sum(commands.values()) / n, 1),
                 "redis_commands_per_report_by_command": {
                     k: round(v / n, 2) for k, v in sorted(commands.items(), key=lambda kv: -kv[1])
                     if v / n >= 0.05},
                 "redis_command_us_per_report_by_command": {
                     k: round(v / n, 1) for k, v in sorted(usec.items(), key=lambda kv: -kv[1])
                     if v / n >= 0.5}},
    }


def linking_figures(r: redis.Redis, t: topology.Topology = T) -> dict[str, int]:
    """What linking found: groups and the reports in them, reports routed by their group, groups
    split across agencies and the notices sent."""
    stats = {k.decode(): int(v) for k, v in r.hgetall(t.link_stats).items()}
    totals = {k.decode(): int(float(v)) for k, v in r.hgetall(t.gap_totals).items()}
    return {"groups": stats.get("groups", 0), "linked_reports": stats.get("linked_reports", 0),
            **{name: totals.get(name, 0) for name in ("routed_by_group", "deconflictions",
                                                       "notices_sent")}}


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
        pids = {"redis": int(r.info("server")["process_id"]),
                **{hop: p.pid for hop, p in zip(("triage", "route", "track"), hops, strict=True)}}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
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
        cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        r.set(raw_chain.STOP, 1)
    finally:
        for hop in hops:
            try:
                hop.wait(10)
            except subprocess.TimeoutExpired:
                hop.kill()
        server.stop()
    return {"reports": n, "counted": counted, "total_s": round(total_s, 2),
            "reports_per_s": round(counted / total_s),
            "cpu_us_per_report": {k: round(v / n * 1e6) for k, v in cpu_used.items()}}


def http_requests(mode: str, n: int, clients: int, batch_size: int
                  ) -> tuple[list[bytes], str, int]:
    """n reports as request bodies for the single or the batch endpoint, its path, and how many
    clients send them at once."""
    reports = [json.dumps(b).encode() for b in scenario(1000, seed=11)]
    if mode == "single":
        return [reports[i % len(reports)] for i in range(n)], "/v1/reports", clients
    return ([b'{"reports": [' + b",".join(reports[(i + j) % len(reports)]
                                          for j in range(min(batch_size, n - i))) + b"]}"
             for i in range(0, n, batch_size)], "/v1/reports/batch", max(2, clients // 16))


def phase_http(work: Path, n: int, settings: dict[str, str], clients: int, batch_size: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("single", "batch"):
        say(f"http {mode}: {n:,} reports through intake")
        bodies, path, concurrency = http_requests(mode, n, clients, batch_size)
        with running_stack(work, f"http-{mode}", settings) as stack:
            r = redis.Redis.from_url(stack.redis_url)
            cpu_before = {name: cpu_seconds(p.pid) for name, p in stack.processes.items()}
            started = time.monotonic()
            accepted, submit_s = asyncio.run(post_all(stack.url("intake"), bodies, concurrency, path))
            seen = watch(r, n, started, timeout=max(180, n / 100), label="recorded by the tracker")
            total_s = seen["finished_s"].get("tracker")
            cpu = {name: round((cpu_seconds(p.pid) - cpu_before[name]) / n * 1e6)
                   for name, p in stack.processes.items()}
            losses = (loss_check(r, n, history=keeps_history(settings)) if seen["complete"]
                      else {"ok": False, "lost": "incomplete"})
        out[mode] = {
            "reports": n, "accepted": accepted, "concurrency": concurrency,
            "batch_size": batch_size if mode == "batch" else 1,
            "submit_s": round(submit_s, 2), "accepted_per_s": round(accepted / submit_s),
            "total_s": total_s and round(total_s, 2),
            "reports_per_s": round(n / total_s) if total_s else None, "loss": losses,
            "cpu_us_per_report": cpu,
        }
    return out


def phase_wait(work: Path, n: int, settings: dict[str, str], clients: int,
               batch_size: int) -> dict[str, Any]:
    """What waiting for a replica before answering costs (TIPLINE_ACCEPT_REPLICAS, Redis WAIT):
    intake's single and batch endpoints on a 3-master Redis Cluster, answering once the master
    holds a report (0) and once a replica does too (1). Intake's acceptance alone is timed."""
    out: dict[str, Any] = {}
    for mode in ("single", "batch"):
        bodies, path, concurrency = http_requests(mode, n, clients, batch_size)
        out[mode] = {"reports": n, "concurrency": concurrency,
                     "batch_size": batch_size if mode == "batch" else 1}
        for replicas in (0, 1):
            say(f"wait {mode}: {n:,} reports through intake on the cluster, each answered once "
                + ("a replica holds it too" if replicas else "the master holds it"))
            with running_stack(work, f"wait-{mode}-{replicas}",
                               {**settings, "TIPLINE_ACCEPT_REPLICAS": str(replicas)},
                               cluster=True) as stack:
                accepted, submit_s = asyncio.run(post_all(stack.url("intake"), bodies,
                                                          concurrency, path))
            out[mode][f"replicas_{replicas}"] = {
                "accepted": accepted, "submit_s": round(submit_s, 2),
                "accepted_per_s": round(accepted / submit_s),
                "request_ms_mean": round(submit_s / len(bodies) * concurrency * 1000, 2)}
        without, waited = out[mode]["replicas_0"], out[mode]["replicas_1"]
        out[mode]["throughput_cost_percent"] = round(
            (1 - waited["accepted_per_s"] / without["accepted_per_s"]) * 100, 1)
        out[mode]["request_ms_added"] = round(
            waited["request_ms_mean"] - without["request_ms_mean"], 2)
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


def phase_load(work: Path, rate: float, seconds: float, settings: dict[str, str]) -> dict[str, Any]:
    """`tipline load` at a constant rate against a fresh stack: the reports accepted in each
    second against the rate asked — by the second they were sent (the load's pace, the figure
    judged) and by the second intake answered — and every accepted report placed."""
    from shared.synthetic import EspProfile, Mix
    from tipline import load

    say(f"load: tipline load at {rate:g} reports/s for {seconds:g} s through intake")
    plan = load.Plan(curve=load.Curve.constant(rate), duration_s=seconds, mix=Mix(),
                     profiles=(EspProfile("bench"),))
    with running_stack(work, "load", settings) as stack:
        r = redis.Redis.from_url(stack.redis_url)
        progress = asyncio.run(load.run(plan, stack.url("intake")))
        started = time.monotonic()
        seen = watch(r, progress.accepted, started, timeout=120, label="recorded by the tracker")
        losses = (loss_check(r, progress.accepted) if seen["complete"]
                  else {"ok": False, "lost": "incomplete"})

    def counted(by_second: dict[int, int]) -> list[int]:
        return [by_second.get(s, 0) for s in range(max(by_second, default=0) + 1)]

    def held(counts: list[int]) -> dict[str, Any]:
        """Each whole second of the run (the first starts the clock) against the rate asked."""
        whole = counts[1:int(seconds)]
        off = [abs(n / rate - 1) * 100 for n in whole]
        windows = [sum(whole[i:i + 5]) / 5 for i in range(0, len(whole) - 4)]
        return {"mean_per_s": round(sum(whole) / len(whole), 1) if whole else None,
                "worst_second_off_percent": round(max(off), 1) if off else None,
                "seconds_within_10_percent": sum(o <= 10 for o in off),
                "worst_5s_window_off_percent": round(max(
                    abs(w / rate - 1) * 100 for w in windows), 1) if windows else None}

    sent, answered = counted(progress.sent_per_second), counted(progress.per_second)
    return {"rate": rate, "seconds": seconds, "made": progress.made,
            "accepted": progress.accepted, "refused": progress.refused,
            "retried": progress.retried, "failed": progress.failed,
            **held(sent), "answered": held(answered), "sent_per_second": sent,
            "per_second": answered, "loss": losses}


def phase_simulate(share: float, sample: float) -> dict[str, Any]:
    """`tipline simulate` on the shipped baseline: the year at `share` of its volume (1: all 36
    million reports) on every core, then a `sample`, and how far each of the sample's
    percentiles is from the year's."""
    from tipline.simulate import BASELINE, output
    from tipline.simulate.model import read
    from tipline.simulate.runner import Runner

    sim, _ = read(BASELINE)
    say(f"simulate: the baseline year at {share:g} of its volume, then a {sample:g} sample")
    started = time.monotonic()
    with Runner([sim]) as runner:
        prepared = time.monotonic() - started
        year = runner.run(sim, share)
        sampled_at = time.monotonic()
        sampled = runner.run(sim, sample)
    return {"share": share, "sample": sample, "reports": year.reports,
            "wall_s": round(prepared + year.wall_s, 1), "pools_s": round(prepared, 1),
            "reports_per_s": round(year.per_second),
            "sample_wall_s": round(prepared + time.monotonic() - sampled_at, 1),
            "sample_reports": sampled.reports,
            "agreement": output.agreement(year.summary, sampled.summary),
            "agrees": output.agrees(year.summary, sampled.summary),
            "tolerance": {"relative": output.SAMPLE_TOLERANCE,
                          "hours": output.SAMPLE_TOLERANCE_HOURS}}
