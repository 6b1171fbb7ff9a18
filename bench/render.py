"""The results as a table (results.md) and a chart (results.png)."""

import json
from pathlib import Path
from typing import Any

from bench.judge import TARGETS
from bench.measure import say


def _ended(phase: dict[str, Any]) -> str:
    loss = phase["loss"]
    if ended := loss.get("in_the_streams"):
        return (f"{ended['reports_placed']:,} reports placed, {ended['cases_in_inboxes']:,} cases "
                f"in agency inboxes, {ended['doubled']} doubled")
    if added := loss.get("appended"):  # streams trimmed as consumed: what was ever added
        return (f"{loss['placed']:,} reports placed, {added['triaged']:,} ever appended to the "
                f"triaged lanes, {added['doubled']} doubled")
    return "incomplete: the phase did not finish"


def markdown(results: dict[str, Any]) -> str:
    p = results["phases"]
    m = results["machine"]
    lines = [
        "# Benchmark results", "",
        f"{results['started_at']} · {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB · "
        f"Python {m['python']} · {m['redis_server'].split(' sha')[0]} · "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + "".join(f"; {name} kept from a run of {k['measured_at'][:10]} ({k['cpu']})"
                  for name, k in results.get("kept", {}).items()), "",
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
        if "linking" in x:
            k = x["linking"]
            lines.append(
                f"| linking (on) | {k['groups']:,} groups of {k['linked_reports']:,} reports; "
                f"{k['routed_by_group']:,} routed by their group, {k['deconflictions']:,} split "
                f"across agencies, {k['notices_sent']:,} deconfliction notices |")
    if "pipeline" in p and "unlinked" in p:
        on, off = p["pipeline"], p["unlinked"]
        cpu_on = sum(on["cost"]["cpu_us_per_report"].values())
        cpu_off = sum(off["cost"]["cpu_us_per_report"].values())
        lines.append(
            f"| linking's cost: the same run with TIPLINE_LINKING=false | {off['reports_per_s']:,} "
            f"reports/s without, {on['reports_per_s']:,} with "
            f"({(on['reports_per_s'] / off['reports_per_s'] - 1) * 100:+.0f}%); CPU per report "
            f"{cpu_off:,} µs without, {cpu_on:,} with ({cpu_on - cpu_off:+,} µs; router "
            f"{off['cost']['cpu_us_per_report'].get('router', 0)} → "
            f"{on['cost']['cpu_us_per_report'].get('router', 0)}, triage "
            f"{off['cost']['cpu_us_per_report'].get('triage', 0)} → "
            f"{on['cost']['cpu_us_per_report'].get('triage', 0)}, redis "
            f"{off['cost']['cpu_us_per_report'].get('redis', 0)} → "
            f"{on['cost']['cpu_us_per_report'].get('redis', 0)}); Redis commands per report "
            f"{off['cost']['redis_commands_per_report']} → {on['cost']['redis_commands_per_report']} |")
    if "raw" in p:
        raw_cpu = p["raw"].get("cpu_us_per_report")
        lines.append(f"| raw redis-py chain, same hops | {p['raw']['reports_per_s']:,} reports/s"
                     + (f"; CPU per report {sum(raw_cpu.values()):,} µs (" + ", ".join(
                         f"{k} {v}" for k, v in raw_cpu.items()) + ")" if raw_cpu else "")
                     + " |")
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
    if "load" in p:
        x = p["load"]
        lines.append(
            f"| tipline load at {x['rate']:g} reports/s for {x['seconds']:g} s (measured "
            f"{results.get('measured_at', {}).get('load', results['started_at'])[:10]}) | {x['mean_per_s']:,} accepted/s on average; worst second "
            f"{x['worst_second_off_percent']}% off, worst 5 s {x['worst_5s_window_off_percent']}% "
            f"off; {x['seconds_within_10_percent']} of {int(x['seconds']) - 1} seconds within "
            f"10% (by the second sent; by the second intake answered: worst second "
            f"{x['answered']['worst_second_off_percent']}% off, worst 5 s "
            f"{x['answered']['worst_5s_window_off_percent']}%); {x['accepted']:,} accepted, "
            f"{x['refused']} refused, {x['failed']} failed |")
    if "cluster" in p:
        x = p["cluster"]
        one = p.get("pipeline")
        cpu = sum(x["cost"]["cpu_us_per_report"].values())
        lines.append(
            f"| stream pipeline on a 3-master Redis Cluster (a replica each; one partition), "
            f"{x['reports']:,} reports | **{x['reports_per_s']:,} reports/s**"
            + (f" ({x['reports_per_s'] / one['reports_per_s']:.2f}× one node)" if one
               and one.get("reports_per_s") and x.get("reports_per_s") else "")
            + f"; CPU per report {cpu:,} µs (redis, all 6 nodes, "
            f"{x['cost']['cpu_us_per_report'].get('redis', 0)}); Redis memory per 100,000 "
            f"{x['cost']['redis_bytes_per_100k_reports'] / 1e6:,.0f} MB on the masters; "
            f"{x['cost']['redis_commands_per_report']} commands per report; {_ended(x)} |")
    if "cluster-replicas" in p:
        x = p["cluster-replicas"]
        base = p.get("cluster", {}).get("reports_per_s")
        lines.append(
            f"| the cluster with 2 replicas of triage and of the router | **"
            f"{x['reports_per_s']:,} reports/s**"
            + (f" ({x['reports_per_s'] / base:.2f}× one replica)" if base and
               x.get("reports_per_s") else "") + f"; {_ended(x)} |")
    if "wait" in p:
        for mode, x in p["wait"].items():
            lines.append(
                f"| waiting for a replica before answering (WAIT), HTTP {mode}"
                f"{'' if mode == 'single' else ', ' + str(x['batch_size']) + ' per request'} | "
                f"{x['replicas_0']['accepted_per_s']:,} accepted/s without, "
                f"{x['replicas_1']['accepted_per_s']:,} with "
                f"({-x['throughput_cost_percent']:+.0f}%); a request "
                f"{x['replicas_0']['request_ms_mean']} ms → {x['replicas_1']['request_ms_mean']}"
                f" ms |")
    if "simulate" in p:
        x = p["simulate"]
        worst = max((d for d in x["agreement"].values() if d is not None), default=None)
        lines.append(
            f"| tipline simulate, the baseline at {x['share']:g} of the year's volume | "
            f"{x['reports']:,} reports in {x['wall_s']} s (**{x['reports_per_s']:,} reports/s**); "
            f"a 1% sample in {x['sample_wall_s']} s, its percentiles at most "
            f"{'-' if worst is None else f'{worst:.1%}'} off the year's |")
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
