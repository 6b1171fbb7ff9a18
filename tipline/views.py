"""The gap in a terminal and on a slide: the table, the table redrawn every second, the chart."""

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _hours(h: float | None) -> str:
    return "-" if h is None else f"{h:.1f}h"


def format_gap(gap: dict[str, Any]) -> str:
    """The gap as a plain-text table."""
    ack = gap["timeToAck"]
    lines = [
        f"reports: submitted {gap['submitted']}  triaged {gap['triaged']}  routed {gap['routed']}  "
        f"unassigned {gap['unassigned']}  bundled {gap['bundled']}  dead letters {gap['deadLetters']}",
        f"cases handed to agencies: {gap['forwarded']} (offered to the federal partner when "
        f"unassigned: {gap['offers']['offered']}, taken {gap['offers']['taken']}; escalations: "
        f"{gap['escalations']})",
        f"acknowledged: {gap['acknowledged']}  time to acknowledge p50 {_hours(ack['p50'])}, "
        f"p90 {_hours(ack['p90'])}, p99 {_hours(ack['p99'])} (simulated)",
        f"nobody knows: open {gap['open']['count']} (oldest {_hours(gap['open']['oldestHours'])}), "
        f"dark {gap['dark']} (past the SLA of their priority), lost sight {gap['lostSight']} "
        f"(no outcome after {gap['lostSightDays']:g} days), never acknowledged "
        f"{_pct(gap['noAckShare'])}",
        f"SLA breaches: {gap['slaBreaches']}  re-notified: {gap['renotified']}",
        "",
    ]
    width = max([22, *(len(r["name"]) + 2 for r in gap["byAgency"])])
    header = (f"{'forwarded':>10}{'acked':>8}{'outcome':>9}{'dark':>6}{'no ack':>8}"
              f"{'ack p50':>9}{'ack p90':>9}")
    for title, rows in (("agency", gap["byAgency"]), ("lane", gap["byLane"]),
                        ("ESP", gap["byEsp"])):
        lines.append(f"{'by ' + title:<{width}}" + header)
        for row in rows:
            if title == "agency" and not row["forwarded"]:
                continue
            note = ""
            if title == "lane":
                sla = row["slaHours"]
                note = f"   SLA {_hours(sla) if sla else 'none'}"
            if row["unassigned"]:
                note += f"   unassigned {row['unassigned']}"
            if title == "ESP":
                note += (f"   informational {_pct(row['informationalShare'])}, actionability "
                         f"{row['meanActionability'] if row['meanActionability'] is not None else '-'}")
            lines.append(
                f"{row['name']:<{width}}{row['forwarded']:>10}{row['acknowledged']:>8}"
                f"{row['outcomeKnown']:>9}{row['dark']:>6}{_pct(row['noAckShare']):>8}"
                f"{_hours(row['timeToAck']['p50']):>9}{_hours(row['timeToAck']['p90']):>9}{note}")
        lines.append("")
    if gap["unassignedReasons"]:
        lines.append("unassigned by reason: " + ", ".join(
            f"{reason} {count}" for reason, count in gap["unassignedReasons"].items()))
    return "\n".join(lines).rstrip() + "\n"


def watch(fetch: Callable[[], dict[str, Any]], interval_s: float = 1.0,
          rounds: int | None = None) -> None:
    """Redraw the table every `interval_s` until interrupted (or for `rounds` rounds)."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console()
    done = 0

    def frame() -> str:
        return f"the handoff gap at {time.strftime('%H:%M:%S')} (Ctrl-C stops)\n\n" + format_gap(
            fetch())

    if not console.is_terminal:  # a pipe or a file: one table after another
        while rounds is None or done < rounds:
            sys.stdout.write(frame() + "\n")
            sys.stdout.flush()
            done += 1
            if rounds is None or done < rounds:
                time.sleep(interval_s)
        return
    with Live(Text("reading the gap ..."), console=console, refresh_per_second=4,
              screen=False) as live:
        while rounds is None or done < rounds:
            live.update(Text(frame()))
            done += 1
            if rounds is None or done < rounds:
                time.sleep(interval_s)


def time_to_ack_chart(histograms: list[dict[str, Any]], path: Path) -> None:
    """Time to acknowledgement per priority lane, bucket by bucket, against each lane's SLA."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lanes = [h for h in histograms if h["lane"] != "all"]
    fig, axes = plt.subplots(1, len(lanes), figsize=(4 * len(lanes), 4), sharey=False)
    for ax, h in zip(axes, lanes, strict=True):
        labels = [f"≤{b:g}h" if b is not None else "more" for b in h["bounds"]]
        ax.bar(range(len(labels)), h["counts"], color="#2b5c8a")
        ax.set_xticks(range(len(labels)), labels, rotation=70, fontsize=8)
        ax.set_title(f"{h['lane']}: p50 {_hours(h['p50'])}, p90 {_hours(h['p90'])}")
        if h["slaHours"]:
            sla_at = next((i for i, b in enumerate(h["bounds"]) if b is None or b >= h["slaHours"]),
                          len(labels) - 1)
            ax.axvline(sla_at + 0.5, color="#b00020", linestyle="--",
                       label=f"SLA {h['slaHours']:g}h")
            ax.legend()
        ax.set_xlabel("simulated hours to acknowledgement")
    axes[0].set_ylabel("cases")
    fig.suptitle("Time to acknowledgement by priority lane")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
