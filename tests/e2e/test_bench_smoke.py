"""The benchmark, small: every phase runs, every report is accounted for, the results are written.
It checks completeness, never speed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.measure import MEMORY_KINDS
from bench.run import PHASES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_benchmark_runs_every_phase_and_loses_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--reports", "400", "--http-reports", "200",
         "--flood", "400", "--p1", "5", "--p1-interval-ms", "10", "--batch-size", "50",
         "--clients", "8", "--load-rate", "40", "--load-seconds", "6", "--wait-reports", "100",
         "--phases", ",".join(p for p in PHASES if p != "simulate"), "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    phases = results["phases"]
    assert set(phases) == {"pipeline", "unlinked", "raw", "http", "flood", "replicas", "load",
                           "cluster", "cluster-replicas", "wait"}
    for name in ("pipeline", "unlinked", "replicas", "cluster", "cluster-replicas"):
        assert phases[name]["loss"] == {**phases[name]["loss"], "lost": 0, "ok": True}
    # counted where the reports ended, not only in the ledger: in the streams' history where the
    # phase keeps it, by what was ever appended where the streams are trimmed as consumed
    assert phases["replicas"]["loss"]["in_the_streams"]["reports_placed"] == 400
    assert phases["replicas"]["loss"]["in_the_streams"]["doubled"] == 0
    for name in ("pipeline", "unlinked"):
        assert phases[name]["loss"]["appended"] == {**phases[name]["loss"]["appended"],
                                                    "triaged": 400, "doubled": 0}
    assert phases["pipeline"]["cost"]["redis_commands_per_report"] > 0
    # linking on finds the recurring offenders' groups; off, nothing is linked
    assert phases["pipeline"]["linking"]["on"] and phases["pipeline"]["linking"]["groups"] > 0
    assert phases["unlinked"]["linking"] == {"on": False, "groups": 0, "linked_reports": 0,
                                             "routed_by_group": 0, "deconflictions": 0,
                                             "notices_sent": 0}
    assert "linking's cost" in (tmp_path / "results.md").read_text()
    # the memory of every kind of key is measured, and the bodies are not in the streams
    by_kind = phases["pipeline"]["cost"]["redis_bytes_per_100k_reports_by_kind"]
    assert list(by_kind) == [name for name, _ in MEMORY_KINDS]
    bodies, timelines, seen, _, streams, _ = by_kind.values()
    assert min(bodies, timelines, seen, streams) > 0
    assert sum(by_kind.values()) <= phases["pipeline"]["cost"]["redis_bytes_per_100k_reports"] * 1.2
    assert phases["raw"]["counted"] == 400
    assert all(m["loss"]["ok"] and m["accepted"] == 200 for m in phases["http"].values())
    assert phases["flood"]["p1_delivered"] == 5 and phases["flood"]["loss"]["ok"]
    assert {t["target"] for t in results["targets"]} >= {
        "no report lost", "P1 latency p99 ms", "HTTP single intake reports/s",
        "CPU µs per report, every process and Redis", "Redis MB per 100,000 reports in flight"}
    assert results["replicas_ratio"] > 0
    load = phases["load"]  # every second of the load counted, every accepted report placed
    assert sum(load["per_second"]) == sum(load["sent_per_second"]) == load["accepted"] > 0
    assert len(load["sent_per_second"]) in (6, 7) and load["answered"]["mean_per_s"] > 0
    assert load["loss"]["ok"] and load["loss"]["placed"] == load["accepted"]
    assert "tipline load: worst second off the rate asked, % (by the second sent)" in {
        t["target"] for t in results["targets"]}
    # on the cluster: three masters, every report counted where it ended, WAIT's cost measured
    on = phases["cluster"]["redis"]
    assert (on["cluster"], on["masters"], on["replicas_of_the_pipelines_master"]) == (True, 3, 1)
    assert phases["pipeline"]["redis"] == {"cluster": False, "masters": 1}
    by_node = on["cpu_us_per_report_by_node"]  # the slot's master works more than any other
    assert by_node["the slot's master"] >= by_node["the other four nodes"] / 4
    assert by_node["the slot's master"] > 0
    assert phases["cluster"]["loss"]["appended"]["triaged"] == 400
    assert phases["cluster"]["cost"]["cpu_us_per_report"]["redis"] > 0
    assert phases["cluster-replicas"]["loss"]["in_the_streams"]["reports_placed"] == 400
    for mode in ("single", "batch"):
        assert phases["wait"][mode]["replicas_0"]["accepted"] == 100
        assert phases["wait"][mode]["replicas_1"]["accepted"] == 100
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark results")
    assert (tmp_path / "results.png").stat().st_size > 10_000
