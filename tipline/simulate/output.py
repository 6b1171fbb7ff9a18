"""The variants side by side: a table (text or Markdown), the figures as JSON, and a PNG of the
time to acknowledgement per lane against its SLA and the gap over the simulated time."""

import json
from pathlib import Path
from typing import Any

from services.tracker.domain import HOUR_BOUNDS
from tipline.docgen import between
from tipline.simulate.runner import Outcome

TABLE_LANES = ("p1", "p2", "p3")


def _hours(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= HOUR_BOUNDS[-2]:
        return f">{HOUR_BOUNDS[-2]:g}"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _count(value: int, sample: float) -> str:
    return f"{value / sample:,.0f}"


def rows(outcomes: list[Outcome]) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "reports", "informational", "unassigned",
              *[f"{lane.upper()} p50/p90/p99 h (SLA)" for lane in TABLE_LANES],
              "not acknowledged", "dark", "SLA breaches"]
    body = []
    for o in outcomes:
        s = o.summary
        lanes = [f"{_hours(s['lanes'][lane]['p50'])} / {_hours(s['lanes'][lane]['p90'])} / "
                 f"{_hours(s['lanes'][lane]['p99'])} ({_hours(s['lanes'][lane]['sla_hours'])})"
                 for lane in TABLE_LANES]
        body.append([o.sim.name, _count(s["reports"], o.sample), _share(s["informational_share"]),
                     _share(s["unassigned_share"]), *lanes, _share(s["no_ack_share"]),
                     _count(s["dark"], o.sample), _count(s["sla_breaches"], o.sample)])
    return header, body


def table(outcomes: list[Outcome]) -> str:
    header, body = rows(outcomes)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [header, *body]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], "", note(outcomes)])


def markdown(outcomes: list[Outcome]) -> str:
    header, body = rows(outcomes)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join([*out, "", note(outcomes)])


BEGIN, END = "<!-- simulated what-ifs: tipline simulate --markdown -->", "<!-- end of simulated what-ifs -->"


def write_markdown(outcomes: list[Outcome], path: Path) -> None:
    """The table into `path`: between its markers when it has them (a document keeps its
    words), else as the whole file."""
    block = markdown(outcomes)
    text = path.read_text() if path.exists() else ""
    path.write_text(between(text, BEGIN, END, block) if BEGIN in text and END in text
                    else block + "\n")


def note(outcomes: list[Outcome]) -> str:
    sample = {o.sample for o in outcomes}
    scaled = f"; counts of a {min(sample) * 100:g}% sample times {1 / min(sample):,.0f}" \
        if min(sample) < 1 else ""
    wall = sum(o.wall_s for o in outcomes)
    reports = sum(o.reports for o in outcomes)
    return (f"Hours to acknowledgement per lane from the tracker's buckets{scaled}. "
            f"{reports:,} reports simulated in {wall:.1f} s ({reports / wall:,.0f}/s).")


def as_json(outcomes: list[Outcome]) -> str:
    return json.dumps([{"variant": o.sim.name, "title": o.sim.title, "sample": o.sample,
                        "wall_s": round(o.wall_s, 2), "reports_per_second": round(o.per_second),
                        "notes": list(o.sim.notes), **o.summary} for o in outcomes], indent=1)


def _cdf(buckets: list[int]) -> tuple[list[float], list[float]]:
    total = sum(buckets) or 1
    xs, ys, seen = [0.1], [0.0], 0
    for bound, n in zip(HOUR_BOUNDS[:-1], buckets, strict=False):
        seen += n
        xs.append(bound)
        ys.append(seen / total)
    return xs, ys


def _style(index: int) -> dict[str, Any]:
    """The first variant (the baseline) drawn thick and grey, under the others."""
    return {"color": "0.55", "linewidth": 3.5, "zorder": 1} if index == 0 else {"zorder": 2}


def png(outcomes: list[Outcome], path: Path) -> None:
    """Per lane, the share of acknowledged cases acknowledged within x hours (a line a variant,
    the SLA dashed); and the cases forwarded and not (yet) acknowledged, day by day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    for ax, lane in zip(axes.flat, TABLE_LANES, strict=False):
        sla = outcomes[0].summary["lanes"][lane]["sla_hours"]
        for i, o in enumerate(outcomes):
            xs, ys = _cdf(o.summary["lanes"][lane]["buckets"])
            ax.step(xs, ys, where="post", label=o.sim.name, **_style(i))
        if sla:
            ax.axvline(sla, linestyle="--", color="grey")
            ax.text(sla, 0.02, f" SLA {sla:g} h", color="grey")
        ax.set_xscale("log")
        ax.set_xlabel("hours to acknowledgement")
        ax.set_ylabel("share of acknowledged cases")
        ax.set_title(f"{lane.upper()}: time to acknowledgement")
        ax.grid(alpha=0.3)
    ax = axes.flat[3]
    for i, o in enumerate(outcomes):
        series: dict[str, list[int]] = o.summary["series"]
        open_cases, running = [], 0
        for f, a in zip(series["forwarded"], series["acknowledged"], strict=True):
            running += f - a
            open_cases.append(running / o.sample)
        ax.plot(range(len(open_cases)), open_cases, label=o.sim.name, **_style(i))
    ax.set_xlabel("day")
    ax.set_ylabel("cases forwarded, not acknowledged")
    ax.set_title("the gap over the simulated time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_json(outcomes: list[Outcome], path: Path) -> None:
    path.write_text(as_json(outcomes) + "\n")


SAMPLE_TOLERANCE, SAMPLE_TOLERANCE_HOURS = 0.10, 1.5


def agrees(a: dict[str, Any], b: dict[str, Any], relative: float = SAMPLE_TOLERANCE,
           hours: float = SAMPLE_TOLERANCE_HOURS) -> bool:
    """Every lane's percentiles of two runs within `relative` of the larger, or `hours`."""
    return all(
        a["lanes"][lane][q] is not None and b["lanes"][lane][q] is not None
        and abs(a["lanes"][lane][q] - b["lanes"][lane][q])
        <= max(relative * max(a["lanes"][lane][q], b["lanes"][lane][q]), hours)
        for lane in TABLE_LANES for q in ("p50", "p90", "p99"))


def agreement(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    """The relative difference of each lane's percentiles between two runs' figures."""
    out: dict[str, float | None] = {}
    for lane in TABLE_LANES:
        for q in ("p50", "p90", "p99"):
            x, y = a["lanes"][lane][q], b["lanes"][lane][q]
            out[f"{lane}.{q}"] = None if x is None or y is None else round(
                abs(x - y) / max(abs(x), abs(y), 1e-9), 4)
    return out
