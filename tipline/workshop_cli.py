"""The workshop's commands: `tipline chaos` (faults on cue), `tipline load` (a load you can shape)
and `tipline scenario` (scenarios with their expected effects)."""

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from shared import devkeys
from shared.faults import KINDS
from shared.synthetic import RECURRING_SHARE, EspProfile, Mix
from tipline import load, scenario
from tipline.console import ApiError, call, checked, out


def _call(method: str, url: str, key: str, **kwargs: Any) -> httpx.Response:
    return checked(call(method, url, key, **kwargs))


# ---- chaos ----

def cmd_chaos(args: argparse.Namespace) -> int:
    base = f"{args.url}/v1/faults"
    if args.action == "kinds":
        for k in KINDS.values():
            who = " (needs tipline up)" if k.by_supervisor else ""
            out(f"{k.name:<11} {k.target:<8} value: {k.value}{who}")
            out(f"{'':<11} look for: {k.look_for}")
        return 0
    if args.action == "list":
        faults = _call("GET", base, args.key).json()
        if not faults:
            out("no fault in force")
        now = time.time()
        for f in faults:
            left = f" for {f['until'] - now:.0f}s more" if f["until"] else " until cleared"
            out(f"{f['kind']} {f['target']} = {f['value']:g} ({f['meaning']}){left}")
            out(f"  look for: {f['lookFor']}")
        return 0
    if args.action == "set":
        if not args.kind or args.kind not in KINDS:
            raise ApiError(f"tipline chaos set KIND TARGET VALUE; KIND is one of "
                               f"{', '.join(KINDS)}")
        kind = KINDS[args.kind]
        target = args.target or ("stack" if kind.target == "stack" else None)
        if target is None:
            raise ApiError(f"{kind.name} needs a target: a {kind.target}")
        body: dict[str, Any] = {"value": args.value if args.value is not None else 1}
        if args.seconds is not None:
            body["seconds"] = args.seconds
        f = _call("PUT", f"{base}/{kind.name}/{target}", args.key, json=body).json()
        lasting = f" until {time.strftime('%H:%M:%S', time.localtime(f['until']))}" if f[
            "until"] else " until cleared (tipline chaos clear)"
        out(f"set: {f['kind']} {f['target']} = {f['value']:g} ({f['meaning']}){lasting}")
        out(f"look for: {f['lookFor']}")
        return 0
    if args.action == "clear":
        path = base + (f"/{args.kind}" if args.kind else "") + (
            f"/{args.target}" if args.kind and args.target else "")
        cleared = _call("DELETE", path, args.key).json()["cleared"]
        out(f"cleared {cleared} fault(s)")
        return 0
    # poison
    if not args.kind or args.target is None:
        raise ApiError("tipline chaos poison STREAM COUNT, e.g. tipline chaos poison "
                           "tipline:reports:triaged:p2 3")
    count = int(float(args.target))
    written = _call("POST", f"{base}/poison", args.key,
                    json={"stream": args.kind, "count": count}).json()["written"]
    out(f"wrote {written} poison entries on {args.kind}")
    out("look for: dead letters on the dashboard (each group reading the stream dead-letters "
        "them at once); tipline dlq list")
    return 0


# ---- load ----

def plan_from(args: argparse.Namespace) -> load.Plan:
    mix, esps = (None, ())
    if args.profiles:
        mix, esps = load.profiles_from(Path(args.profiles))
    if args.mix:
        mix = Mix.named({k: float(v) for k, v in (p.split("=", 1) for p in args.mix.split(","))})
    if args.esp:
        esps = tuple(_esp(spec) for spec in args.esp)
    return load.Plan(curve=load.Curve.parse(args.rate), duration_s=args.duration,
                     count=args.count, mix=mix or Mix(), profiles=esps or (EspProfile("load"),),
                     api=args.api, seed=args.seed, concurrency=args.concurrency,
                     recurring_share=args.recurring)


def _esp(spec: str) -> EspProfile:
    """`name` or `name:location=0.9,verified_contact=0.5,victim_details=0.2,weight=2`."""
    name, _, rest = spec.partition(":")
    values = {k: float(v) for k, v in (p.split("=", 1) for p in rest.split(",") if p)}
    return EspProfile(name, **values)


def cmd_load(args: argparse.Namespace) -> int:
    try:
        plan = plan_from(args)
    except (ValueError, TypeError, OSError) as exc:
        raise ApiError(f"bad load: {exc}") from None
    tty = sys.stdout.isatty()
    last = [0.0]

    def tick(progress: load.Progress) -> None:
        now = time.monotonic()
        if tty:
            sys.stdout.write("\r" + load.progress_line(progress, plan)[:160])
            sys.stdout.flush()
        elif now - last[0] >= 5:
            out(load.progress_line(progress, plan))
            last[0] = now

    progress = asyncio.run(load.run(plan, args.url, key=args.key, on_tick=tick))
    if tty:
        out()
    summary = progress.summary(time.monotonic())
    out(f"done: {summary['made']} reports made, {summary['accepted']} accepted "
        f"({summary['rate']}/s), {summary['refused']} refused, {summary['retried']} retried, "
        f"{summary['failed']} failed" + (f"; refusals: {summary['refusals']}" if summary[
            "refusals"] else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(summary))
    return 0 if not summary["failed"] else 1


# ---- scenario ----

def cmd_scenario(args: argparse.Namespace) -> int:
    if args.action == "list":
        for s in scenario.available().values():
            out(f"{s.name:<24} {s.summary}")
        return 0
    if not args.name:
        raise ApiError("tipline scenario run NAME, or all (tipline scenario list names them)")
    try:
        chosen = (list(scenario.available().values()) if args.name == "all"
                  else [scenario.find(args.name)])
    except scenario.ScenarioError as exc:
        raise ApiError(str(exc), 1) from None
    options = scenario.Options(intake=args.intake, tracker=args.url, admin_key=args.key,
                               time_scale=args.time_scale, rate_scale=args.rate_scale,
                               max_rate=args.max_rate)
    summaries = {}
    for one in chosen:
        summaries[one.name] = _run_scenario(one, options)
        if len(chosen) > 1:
            out()
    if args.json:
        Path(args.json).write_text(json.dumps(
            summaries if args.name == "all" else summaries[chosen[0].name], indent=1) + "\n")
    failed = [name for name, s in summaries.items() if not s["passed"]]
    if len(chosen) > 1:
        out(f"{len(chosen) - len(failed)} of {len(chosen)} scenarios passed every check" + (
            f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _run_scenario(chosen: scenario.Scenario, options: scenario.Options) -> dict[str, Any]:
    """Run one scenario with its progress on the terminal; its summary."""
    out(f"{chosen.title}: {chosen.summary}")
    out(f"the question: {chosen.question}")
    out(f"look at: {chosen.look_at}")
    tty = sys.stdout.isatty()
    seen: list[str] = []

    def show(run: scenario.Run, elapsed: float) -> None:
        line = f"[{elapsed:5.0f}s] {run.step}"
        if run.step not in seen:
            seen.append(run.step)
            step = next((s for s in chosen.steps if s.title == run.step), None)
            if not tty:
                out(line + (f": {step.say}" if step and step.say else ""))
            elif step and step.say:
                out(f"\r{line}: {step.say}")
        if tty:
            sys.stdout.write(f"\r{line}" + " " * 20)
            sys.stdout.flush()

    try:
        run, before, after, results = asyncio.run(scenario.execute(chosen, options, show))
    except (scenario.ScenarioError, httpx.HTTPError) as exc:
        raise ApiError(f"the scenario could not run: {exc}", 1) from None
    if tty:
        out()
    for note in run.notes:
        out(f"note: {note}")
    out(scenario.comparison(chosen, before, after, results))
    passed = all(r.passed for r in results)
    out(f"\n{chosen.name}: {'every check passed' if passed else 'SOME CHECKS FAILED'}")
    return scenario.summary(run, before, after, results)


# ---- the parsers ----

def add_commands(sub: argparse._SubParsersAction, intake_url: str, tracker_url: str) -> None:
    chaos = sub.add_parser(
        "chaos", help="faults on cue: list, set, clear (an admin key), or write poison entries",
        description="Faults of the workshop, each with a value (a delay, a share, seconds), off "
        "until set, shown on the dashboard while in force. Kinds: " + ", ".join(KINDS)
        + " (tipline chaos kinds says what each does and what to look for).")
    chaos.add_argument("action", choices=["list", "kinds", "set", "clear", "poison"])
    chaos.add_argument("kind", nargs="?", help="set/clear: the fault's kind; poison: the stream")
    chaos.add_argument("target", nargs="?", help="set/clear: a service, an agency id, an ESP "
                       "(load ESPs are load:<profile>); poison: how many entries")
    chaos.add_argument("value", nargs="?", type=float,
                       help="set: the fault's value (tipline chaos kinds)")
    chaos.add_argument("--seconds", type=float, default=None,
                       help="set: how long it lasts (default: until cleared; kill, pause and "
                       "redis-down take their value as seconds)")
    chaos.add_argument("--url", default=tracker_url, help="tracker base URL")
    chaos.add_argument("--key", default=devkeys.ADMIN_KEY,
                       help="an admin key (default: the development key)")
    chaos.set_defaults(func=cmd_chaos)

    lo = sub.add_parser(
        "load", help="send a shaped load of synthetic reports to a running stack",
        description="Reports at a rate or a rate curve, for a duration or a count, of a mix of "
        "kinds, from ESPs each with its own data quality, through the JSON or the XML API. Every "
        "report is synthetic load, filed as the ESP load:<profile>. Live progress; it stops by "
        "itself.")
    lo.add_argument("--rate", default="20", help="reports/s, or a curve of seconds:rate "
                    "points, e.g. 0:10,30:200,60:10 (default: 20)")
    lo.add_argument("--duration", type=float, default=None,
                    help="seconds (default: 60 unless --count is given)")
    lo.add_argument("--count", type=int, default=None, help="reports in all")
    lo.add_argument("--mix", default=None, help="shares of the kinds wanted, the others none: "
                    "e.g. referral=1, or escalated=0.05,referral=0.55,informational=0.25,"
                    "viral=0.05,no_location=0.1 (the default)")
    lo.add_argument("--esp", action="append", default=[], metavar="NAME[:location=..,...]",
                    help="an ESP profile: location, verified_contact, victim_details shares "
                    "and weight (repeat for several)")
    lo.add_argument("--profiles", default=None, help="a YAML file of mix: and esps:")
    lo.add_argument("--recurring", type=float, default=RECURRING_SHARE, metavar="SHARE",
                    help="the share of reports whose person reported is one of a few recurring "
                    f"offenders, whom linking finds; 0 for none (default: {RECURRING_SHARE:g})")
    lo.add_argument("--api", choices=["json", "xml"], default="json")
    lo.add_argument("--seed", type=int, default=1)
    lo.add_argument("--concurrency", type=int, default=8, help="requests in flight at most")
    lo.add_argument("--url", default=intake_url, help="intake base URL")
    lo.add_argument("--key", default=devkeys.ESP_KEY, help="an ESP key allowed to send load "
                    "(TIPLINE_LOAD_ESPS)")
    lo.add_argument("--json", default=None, metavar="FILE", help="write the summary here")
    lo.set_defaults(func=cmd_load_defaults)

    sc = sub.add_parser("scenario", help="list the workshop scenarios, or run one and check "
                        "its expected effects", description=scenario.__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sc.add_argument("action", choices=["list", "run"])
    sc.add_argument("name", nargs="?", help="run: a scenario's name, a YAML file, or all (every "
                    "scenario in turn)")
    sc.add_argument("--url", default=tracker_url, help="tracker base URL")
    sc.add_argument("--intake", default=intake_url, help="intake base URL")
    sc.add_argument("--key", default=devkeys.ADMIN_KEY, help="an admin key (faults, banner)")
    sc.add_argument("--time-scale", type=float, default=1.0,
                    help="multiply every time of the scenario (0.2: five times quicker)")
    sc.add_argument("--rate-scale", type=float, default=1.0, help="multiply every rate")
    sc.add_argument("--max-rate", type=float, default=400.0,
                    help="the most reports/s a daily volume is sent at (default: 400)")
    sc.add_argument("--json", default=None, metavar="FILE", help="write the results here")
    sc.set_defaults(func=cmd_scenario)


def cmd_load_defaults(args: argparse.Namespace) -> int:
    if args.duration is None and args.count is None:
        args.duration = 60.0
    return cmd_load(args)
