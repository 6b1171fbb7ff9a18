"""The issue's targets, and how far each measured figure is from its own."""

from typing import Any

TARGETS = {
    "pipeline_reports_per_s": 2_500,
    "pipeline_share_of_raw": 0.5,
    "cpu_us_per_report": 800,
    "http_batch_reports_per_s": 2_000,
    "http_single_reports_per_s": 600,
    "redis_mb_per_100k_reports": 300,
    "redis_commands_per_report": 15,
    "cpu_of_raw_chain": 1.6,  # the pipeline's CPU per report, as a multiple of the raw chain's
    "http_batch_share_of_pipeline": 0.8,
    "p1_latency_p99_ms": 50,
    "load_rate_off_percent": 10,
    "simulate_year_s": 900,
    "simulate_sample_s": 15,
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
        check("Redis commands per report", cost["redis_commands_per_report"],
              TARGETS["redis_commands_per_report"], False, "every command, those inside scripts too")
    if "pipeline" in phases and phases.get("raw", {}).get("cpu_us_per_report"):
        raw_cpu = sum(phases["raw"]["cpu_us_per_report"].values())
        mine = sum(phases["pipeline"]["cost"]["cpu_us_per_report"].values())
        check("CPU per report, as a multiple of the raw chain's", round(mine / raw_cpu, 2),
              TARGETS["cpu_of_raw_chain"], False,
              f"every process and Redis: {mine:,} µs against the raw chain's {raw_cpu:,} µs")
    when = results.get("measured_at", {})
    if ("pipeline" in phases and "http" in phases and phases["pipeline"]["reports_per_s"]
            and when.get("http") == when.get("pipeline")):  # a ratio of one run only
        check("HTTP batch endpoint / stream pipeline", round(
            phases["http"]["batch"]["reports_per_s"] / phases["pipeline"]["reports_per_s"], 2),
            TARGETS["http_batch_share_of_pipeline"], True, "end to end, in the same run")
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
    if "load" in phases:
        check("tipline load: worst second off the rate asked, % (by the second sent)", phases["load"][
            "worst_second_off_percent"], TARGETS["load_rate_off_percent"], False,
            f"{phases['load']['rate']:g} reports/s for {phases['load']['seconds']:g} s through "
            "intake")
    if "simulate" in phases:
        x = phases["simulate"]
        if x["share"] == 1:
            check("tipline simulate: the year at its real volume, s", x["wall_s"],
                  TARGETS["simulate_year_s"], False, f"{x['reports']:,} reports, both cores")
        check("tipline simulate: a 1% sample, s", x["sample_wall_s"],
              TARGETS["simulate_sample_s"], False, "the report pools decided first")
        checks.append({"target": "tipline simulate: the sample's percentiles agree",
                       "value": x["agrees"], "goal": True, "met": x["agrees"],
                       "off_by_percent": None, "note": f"within {x['tolerance']['relative']:.0%} "
                       f"or {x['tolerance']['hours']:g} h of the year's"})
    losses = [p.get("loss", {}).get("ok") for p in phases.values() if isinstance(p, dict) and "loss" in p]
    losses += [m["loss"]["ok"] for m in phases.get("http", {}).values()]
    checks.append({"target": "no report lost", "value": all(losses), "goal": True, "met": all(losses),
                   "off_by_percent": None, "note": "every phase: all placed, none pending, no dead letter"})
    return checks
