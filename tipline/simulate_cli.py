"""`tipline simulate`: the pipeline's rules as a discrete-event simulation, a baseline and its
what-ifs side by side."""

import argparse
import time
from pathlib import Path

from tipline.console import ApiError, err, out
from tipline.simulate import BASELINE, WHATIFS, output
from tipline.simulate.model import SimulationError, read
from tipline.simulate.runner import Outcome, Runner


def _path(name: str, folder: Path) -> Path:
    """A file, or the name of a shipped one (`locations-90`)."""
    path = Path(name)
    if path.exists():
        return path
    shipped = folder / f"{name.removesuffix('.yaml')}.yaml"
    if shipped.exists():
        return shipped
    known = ", ".join(p.stem for p in sorted(folder.glob("*.yaml")))
    raise ApiError(f"no file {name}; the shipped ones are {known}")


def cmd_simulate(args: argparse.Namespace) -> int:
    for share in (args.sample, args.against_sample or 1.0):
        if not 0 < share <= 1:
            raise ApiError("--sample and --against-sample are shares above 0 and at most 1")
    base = _path(args.baseline, BASELINE.parent)
    whatifs = [_path(w, WHATIFS) for w in args.what_if]
    if args.all_what_ifs:
        whatifs += sorted(WHATIFS.glob("*.yaml"))
    try:
        sims = [read(base)[0], *[read(base, w)[0] for w in whatifs]]
    except SimulationError as exc:
        raise ApiError(str(exc), 1) from None
    last = [0.0]

    def show(name: str, done: float, reports: int, seconds: float) -> None:
        if time.monotonic() - last[0] >= 2:
            last[0] = time.monotonic()
            err(f"{name}: {done:6.1%} of the simulated time, {reports:,} reports, "
                f"{reports / max(seconds, 1e-9):,.0f}/s")

    outcomes: list[Outcome] = []
    with Runner(sims, args.workers) as runner:
        for sim in sims:
            for note in sim.notes:
                err(f"{sim.name}: {note}")
            o = runner.run(sim, args.sample, show)
            err(f"{sim.name}: {o.reports:,} reports in {o.wall_s:.1f} s ({o.per_second:,.0f}/s)")
            outcomes.append(o)
        sampled = runner.run(sims[0], args.against_sample, show) if args.against_sample else None
    out(output.table(outcomes))
    if sampled is not None:
        out(f"\n{sims[0].name} at {args.against_sample * 100:g}% against {args.sample * 100:g}% "
            f"({sampled.wall_s:.1f} s against {outcomes[0].wall_s:.1f} s): relative difference "
            "of each percentile")
        for name, diff in output.agreement(outcomes[0].summary, sampled.summary).items():
            out(f"  {name:<7} {'-' if diff is None else f'{diff:.1%}'}")
        verdict = "within" if output.agrees(outcomes[0].summary, sampled.summary) else "NOT within"
        out(f"every percentile {verdict} {output.SAMPLE_TOLERANCE:.0%} or "
            f"{output.SAMPLE_TOLERANCE_HOURS:g} h")
    if args.json:
        output.write_json(outcomes, Path(args.json))
    if args.markdown:
        output.write_markdown(outcomes, Path(args.markdown))
    if args.png:
        try:
            output.png(outcomes, Path(args.png))
        except ImportError:
            raise ApiError("--png needs matplotlib (pip install 'tipline[bench]')", 1) from None
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser(
        "simulate", help="run the pipeline's rules as a simulation: a baseline and what-ifs",
        description="The services' own rules (triage, bundling, routing, the agencies' capacity "
        "and delays, the tracker's SLA and dark cases) on a simulated clock, without Redis: a "
        "year of reports in minutes. Prints a table of each variant; progress on stderr. "
        "docs/simulator.md says what is modelled and how to write a what-if.")
    sim.add_argument("baseline", nargs="?", default=str(BASELINE),
                     help="a simulator file or a workshop scenario (default: the shipped "
                     "baseline, a year at the real volume)")
    sim.add_argument("--what-if", action="append", default=[], metavar="FILE",
                     help="a what-if laid over the baseline, a file or a shipped one's name "
                     f"({', '.join(p.stem for p in sorted(WHATIFS.glob('*.yaml')))}); repeatable")
    sim.add_argument("--all-what-ifs", action="store_true", help="every shipped what-if")
    sim.add_argument("--sample", type=float, default=1.0, metavar="SHARE",
                     help="the share of the volume simulated, against the same share of every "
                     "agency's capacity (default: 1; 0.01 runs in seconds)")
    sim.add_argument("--against-sample", type=float, default=None, metavar="SHARE",
                     help="also run the baseline at this share, and print how far each of its "
                     "percentiles is from the run's (the sample's error)")
    sim.add_argument("--workers", type=int, default=None, metavar="N",
                     help="processes, one a core (default: up to 2)")
    sim.add_argument("--json", metavar="FILE", help="write every variant's figures as JSON")
    sim.add_argument("--markdown", metavar="FILE",
                     help="write the table as Markdown (into a document between its markers, "
                     "as docs/simulator.md has them)")
    sim.add_argument("--png", metavar="FILE", help="write the chart comparing the variants")
    sim.set_defaults(func=cmd_simulate)
