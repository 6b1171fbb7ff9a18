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
  load      `tipline load` at a set rate for a minute: the reports accepted each second against
            the rate asked
  cluster   the pipeline phase again on a local 3-master Redis Cluster (a replica per master),
            every key in one slot (one partition)
  cluster-replicas
            the cluster phase with two replicas of triage and of the router
  wait      intake's endpoints on the cluster answering once the master holds a report, then
            once a replica does too (TIPLINE_ACCEPT_REPLICAS=1, Redis WAIT): what waiting costs
  simulate  (not run by default) `tipline simulate`: the baseline year at its real volume on
            every core, a 1% sample, and how far the sample's percentiles are from the year's
Cost (CPU and peak RSS per process, Redis commands per report, Redis memory per report and per
kind of key) is read in the pipeline phase. After every phase each report is counted, not only
in the tracker's ledger: where it ended (every agency inbox, the unassigned stream, the bundles)
in the phases that keep the streams' history (flood, replicas, load), by what was ever appended
to the triaged lanes and the unassigned stream in those run as deployed, their streams trimmed as
consumed (pipeline, unlinked, http): nothing lost, nothing doubled.
Writes results.json, results.md and results.png to --out (default bench/results).
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.judge import judge
from bench.measure import HISTORY, machine
from bench.phases import (
    phase_flood,
    phase_http,
    phase_load,
    phase_pipeline,
    phase_raw,
    phase_simulate,
    phase_wait,
)
from bench.render import chart, markdown

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("pipeline", "unlinked", "raw", "http", "flood", "replicas", "load", "cluster",
          "cluster-replicas", "wait", "simulate")
# The simulator's year takes minutes (--phases simulate --keep); the cluster's phases have their
# own results, beside the same run's one-node pipeline and raw chain (make bench-cluster).
DEFAULT_PHASES = tuple(p for p in PHASES if p not in ("simulate", "cluster", "cluster-replicas",
                                                      "wait"))


def keep_phases(results: dict[str, Any], kept: dict[str, Any]) -> None:
    """The phases of an earlier run that this one did not measure, each with when and on what it
    was measured (this run's date and machine are this run's)."""
    for name, phase in kept["phases"].items():
        if name not in results["phases"]:
            results["phases"][name] = phase
            results["measured_at"][name] = kept.get("measured_at", {}).get(
                name, kept["started_at"])
            results.setdefault("kept", {})[name] = kept.get("kept", {}).get(name) or {
                "measured_at": results["measured_at"][name], "cpu": kept["machine"]["cpu"]}
    results["phases"] = {n: results["phases"][n] for n in PHASES if n in results["phases"]}
    results["settings"] = {**kept["settings"], **results["settings"]}


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
    parser.add_argument("--wait-reports", type=int, default=20_000,
                        help="reports per endpoint and setting in the wait phase")
    parser.add_argument("--load-rate", type=float, default=200, help="the load phase's rate")
    parser.add_argument("--load-seconds", type=float, default=60, help="the load phase's length")
    parser.add_argument("--simulate-share", type=float, default=1.0,
                        help="the simulate phase's share of the year's volume")
    parser.add_argument("--phases", default=",".join(DEFAULT_PHASES),
                        help=f"which phases to run, of {', '.join(PHASES)} (default: all but "
                        "simulate and the cluster's; those: make bench-cluster)")
    parser.add_argument("--keep", action="store_true", help="keep the other phases of the "
                        "results.json in --out (measured_at says when each was measured)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="where results go")
    parser.add_argument("--log-level", default="WARNING", help="services' log level during the run")
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
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
        if "unlinked" in phases:  # linking's cost: the same run with TIPLINE_LINKING=false
            results["phases"]["unlinked"] = phase_pipeline(
                work, args.reports, {**settings, "TIPLINE_LINKING": "false"}, name="unlinked")
        if "raw" in phases:
            results["phases"]["raw"] = phase_raw(work, args.reports)
        if "http" in phases:
            results["phases"]["http"] = phase_http(work, args.http_reports or args.reports, settings,
                                                   args.clients, args.batch_size)
        if "flood" in phases:
            results["phases"]["flood"] = phase_flood(work, args.flood, args.p1, args.p1_interval_ms,
                                                     {**settings, **HISTORY})
        if "replicas" in phases:
            results["phases"]["replicas"] = phase_pipeline(work, args.reports,
                                                           {**settings, **HISTORY},
                                                           {"triage": 2, "router": 2},
                                                           name="replicas")
        if "load" in phases:
            results["phases"]["load"] = phase_load(work, args.load_rate, args.load_seconds,
                                                   {**settings, **HISTORY})
        if "cluster" in phases:
            results["phases"]["cluster"] = phase_pipeline(work, args.reports, settings,
                                                          name="cluster", cluster=True)
        if "cluster-replicas" in phases:
            results["phases"]["cluster-replicas"] = phase_pipeline(
                work, args.reports, {**settings, **HISTORY}, {"triage": 2, "router": 2},
                name="cluster-replicas", cluster=True)
        if "wait" in phases:
            results["phases"]["wait"] = phase_wait(work, args.wait_reports, settings,
                                                   args.clients, args.batch_size)
        if "simulate" in phases:
            results["phases"]["simulate"] = phase_simulate(args.simulate_share, 0.01)
    results["measured_at"] = {name: results["started_at"] for name in results["phases"]}
    if args.keep and (out / "results.json").exists():
        keep_phases(results, json.loads((out / "results.json").read_text()))
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
