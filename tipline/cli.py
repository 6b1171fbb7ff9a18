"""tipline: run the stack, submit reports, and read the handoff gap."""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from services.agencies.config import AgenciesSettings
from services.intake.config import IntakeSettings
from services.router.config import RouterSettings
from services.tracker.config import TrackerSettings
from services.triage.config import TriageSettings
from shared import devkeys
from shared.schemas.events import OUTCOMES
from shared.settings import DATA_DIR, TiplineSettings
from shared.synthetic import scenario
from shared.topology import Topology
from tipline import dead_letters, simulate_cli, workshop_cli
from tipline.console import ApiError, call, err, out
from tipline.stack import Stack, StackError, masked, parse_replicas
from tipline.supervisor import Supervisor
from tipline.views import format_gap, time_to_ack_chart, watch

SAMPLES = DATA_DIR / "samples"
DEV_KEY = devkeys.ESP_KEY
DEV_ANALYST_KEY = devkeys.ANALYST_KEY
DEV_ADMIN_KEY = devkeys.ADMIN_KEY
DEV_AGENCY_KEY = devkeys.AGENCY_KEY


def _intake_url() -> str:
    return f"http://127.0.0.1:{IntakeSettings().intake_port}"


def _tracker_url() -> str:
    return f"http://127.0.0.1:{TrackerSettings().tracker_port}"


def fetch_gap(tracker: str, key: str = DEV_ANALYST_KEY) -> dict[str, Any]:
    r = call("GET", f"{tracker}/v1/gap", key)
    r.raise_for_status()
    return r.json()


# ---------- submitting ----------

def submit_one(client: httpx.Client, intake: str, key: str, report: Any,
               idempotency_key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if isinstance(report, bytes):
        headers["Content-Type"] = "application/json"
        return client.post(f"{intake}/v1/reports", content=report, headers=headers)
    return client.post(f"{intake}/v1/reports", json=report, headers=headers)


def cmd_submit(args: argparse.Namespace) -> int:
    failures = 0
    with httpx.Client(timeout=30) as client:
        for path in args.files:
            try:
                body = Path(path).read_bytes()
            except OSError as exc:
                err(f"{path}: cannot read: {exc.strerror}")
                failures += 1
                continue
            try:
                r = submit_one(client, args.url, args.key, body, args.idempotency_key)
            except httpx.HTTPError as exc:
                err(f"{path}: intake at {args.url} did not answer ({type(exc).__name__})")
                return 2
            if r.status_code == 202:
                data = r.json()
                out(f"{path}: report {data['reportId']} accepted ({data['lane']} lane)")
            else:
                failures += 1
                err(f"{path}: rejected with {r.status_code}: {json.dumps(r.json().get('detail'))}")
    return 1 if failures else 0


def cmd_gap(args: argparse.Namespace) -> int:
    if args.png:
        r = call("GET", f"{args.url}/v1/gap/histograms", args.key)
        r.raise_for_status()
        try:
            time_to_ack_chart(r.json(), Path(args.png))
        except ImportError:
            raise ApiError("--png needs matplotlib: pip install matplotlib") from None
        out(f"wrote {args.png}")
        return 0
    if args.watch:
        try:
            watch(lambda: fetch_gap(args.url, args.key), args.interval)
        except KeyboardInterrupt:
            pass
        return 0
    gap = fetch_gap(args.url, args.key)
    out(json.dumps(gap, indent=2) if args.json else format_gap(gap))
    return 0


def cmd_agency(args: argparse.Namespace) -> int:
    base = f"{args.url}/v1/agencies/{args.agency}/cases"
    if args.action == "queue":
        r = call("GET", base, args.key, params={"status": args.status, "limit": args.limit})
        if r.status_code == 404:
            raise ApiError(r.json()["detail"], 1)
        r.raise_for_status()
        page = r.json()
        order = ("by priority, preservation deadline, group size" if args.status == "open"
                 else "oldest first")
        out(f"{args.agency}: {page['total']} {args.status} case(s), {order}")
        for c in page["cases"]:
            state = (f"acknowledged after {c['acknowledgedAfterHours']:.1f}h" if c["acknowledgedAt"]
                     else f"waiting {c['waitingHours']:.1f}h" + (" DARK" if c["dark"] else ""))
            kept = ("preservation expired" if c["preservationExpired"] else
                    f"{c['preservationDaysLeft']:.0f} days preserved"
                    if c["preservationDaysLeft"] is not None else "")
            out(f"  report {c['reportId']:<8} {c['lane'] or '-':<13} {c['why'] or '-':<17} "
                f"{state}" + (f", outcome: {c['outcome']}" if c["outcome"] else "")
                + (f", {kept}" if kept else ""))
            for link in c["links"]:
                out(f"      linked to report {link['reportId']} ({link['agency'] or 'nobody'}): "
                    + ", ".join(link["bases"]))
            for n in c["deconfliction"]:
                out(f"      deconfliction: report {n['otherReport']} is held by "
                    f"{n['otherAgency']}" + ("" if n["acknowledged"] else " (not acknowledged)"))
            if c["filesNeedingLegalProcess"] and not c["legalProcess"]:
                out(f"      {c['filesNeedingLegalProcess']} file(s) withheld until legal process")
        return 0
    if not args.report:
        raise ApiError(f"tipline agency {args.action} needs a report id")
    def post(path: str, body: dict[str, Any] | None = None) -> list[str]:
        """What the agency API published for the case (empty: recorded before)."""
        r = call("POST", f"{base}/{args.report}/{path}", args.key, json=body)
        if r.status_code in (404, 409, 422):
            raise ApiError(str(r.json()["detail"]), 1)
        r.raise_for_status()
        return r.json()["published"]

    if args.action == "ack-notice":
        if not args.other:
            raise ApiError("tipline agency ack-notice needs --other, the linked report's id")
        done = post(f"notices/{args.other}")
        out(f"report {args.report} at {args.agency}: notice about report {args.other} "
            + ("acknowledged" if done else "already acknowledged"))
        return 0
    if args.action == "legal-process":
        done = post("legal-process", {"process": args.process})
        out(f"report {args.report} at {args.agency}: "
            + ("legal process recorded" if done else "already recorded"))
        return 0
    body: dict[str, Any] = {"status": "acknowledged"}
    if args.outcome:
        body = {"status": "outcome", "outcome": args.outcome}
    published = post("responses", body)
    out(f"report {args.report} at {args.agency}: " + (", ".join(published) + " recorded"
                                                      if published else "already recorded"))
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    base = f"{args.url}/v1/dead-letters"
    if args.action == "list":
        r = call("GET", base, args.key, params={"limit": args.limit})
        letters = r.json()
        if not letters:
            out("no dead letters")
        for x in letters:
            state = "replayed" if x["replayed"] else "         "
            out(f"{x['id']:<18} {state} {x['group']:<9} {x['sourceStream']}  "
                f"(delivery {x['deliveries']}) {x['reason'][:100]}")
        return 0
    if args.action == "replay" and args.all:
        replayed, waiting = dead_letters.replay_all(args.url, args.key)
        out(f"replayed {replayed} dead letter(s)" + (
            f" of {waiting}" if replayed < waiting else ""))
        return 0
    if not args.id:
        raise ApiError(f"tipline dlq {args.action} needs the dead letter's id (see tipline dlq "
                       "list), or replay --all")
    if args.action == "show":
        r = call("GET", f"{base}/{args.id}", args.key)
        if r.status_code == 404:
            raise ApiError(f"no dead letter {args.id}", 1)
        letter = r.json()
        letter["payload"] = {name: _decoded(value)
                             for name, value in json.loads(letter["payload"] or "{}").items()}
        out(json.dumps(letter, indent=2, ensure_ascii=False))
        return 0
    r = call("POST", f"{base}/{args.id}/replay", args.key)
    if r.status_code in (404, 409):
        raise ApiError(r.json()["detail"], 1)
    r.raise_for_status()
    data = r.json()
    out(f"dead letter {data['id']} replayed to {data['stream']} as entry {data['entryId']}")
    return 0


def _decoded(value: str) -> Any:
    """A field of the original entry: its JSON read, when it is JSON."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def cmd_report(args: argparse.Namespace) -> int:
    r = call("GET", f"{args.url}/v1/reports/{args.report_id}", args.key)
    if r.status_code == 404:
        err(f"no report {args.report_id} in the ledger")
        return 1
    r.raise_for_status()
    t = r.json()
    out(f"report {t['reportId']}: lane {t['lane']}, priority {t['priority']}, "
        f"{t['disposition']}, agency {t['agency'] or '-'}")
    for stage in t["stages"]:
        detail = ", ".join(f"{k}={v}" for k, v in stage["detail"].items() if k != "reasons")
        out(f"  {stage['at']}  {stage['stage']:<13} {detail}")
    return 0


# ---------- the stack ----------

def _progress(done: int, total: int, label: str) -> None:
    if sys.stdout.isatty():
        sys.stdout.write(f"\r{label}: {done}/{total}")
        if done == total:
            sys.stdout.write("\n")
        sys.stdout.flush()
    elif done == total:
        out(f"{label}: {done}/{total}")


def run_demo(stack: Stack, count: int, settle: float) -> None:
    intake, tracker = stack.url("intake"), stack.url("tracker")
    reports: list[Any] = [json.loads(p.read_text()) for p in sorted(SAMPLES.glob("*.json"))]
    reports += scenario(count)
    with httpx.Client(timeout=30) as client:
        for i, report in enumerate(reports, 1):
            r = submit_one(client, intake, DEV_KEY, report)
            if r.status_code != 202:
                raise StackError(f"sample report rejected: {r.status_code} {r.text[:300]}")
            _progress(i, len(reports), "submitting sample reports")
    deadline = time.monotonic() + 60
    while True:
        gap = fetch_gap(tracker)
        placed = gap["routed"] + gap["unassigned"] + gap["bundled"]
        _progress(min(placed, len(reports)), len(reports), "routed, unassigned or bundled")
        if placed >= len(reports) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(settle)
    out(f"\nThe handoff gap after {settle:.0f}s of agency time "
        f"(~{settle / stack_seconds_per_hour():.0f} simulated hours):\n")
    out(format_gap(fetch_gap(tracker)))


def stack_seconds_per_hour() -> float:
    return TrackerSettings().sim_seconds_per_hour


def _stack(args: argparse.Namespace) -> Stack:
    """The stack as the settings describe it: Redis at TIPLINE_REDIS_URL when set (or --redis-url),
    else a redis-server of its own, with TIPLINE_REDIS_PASSWORD as its password when set."""
    settings = TiplineSettings()
    given = args.redis_url or (settings.redis_url if "redis_url" in settings.model_fields_set
                               else None)
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    ports = {"intake": IntakeSettings().intake_port, "tracker": TrackerSettings().tracker_port,
             "triage": TriageSettings().triage_port, "router": RouterSettings().router_port,
             "agencies": AgenciesSettings().agencies_port}
    # The settings this command was started with are the services' settings.
    passed = {k: v for k, v in os.environ.items() if k.startswith("TIPLINE_")}
    stack = Stack(state_dir=Path(args.state_dir).resolve(), settings=passed, redis_url=given,
                  redis_password=password, replicas=parse_replicas(args.replicas or ""),
                  cluster_masters=args.cluster)
    stack.ports.update(ports)
    return stack


def cmd_up(args: argparse.Namespace) -> int:
    try:
        stack = _stack(args)
    except StackError as exc:
        err(f"error: {exc}")
        return 2
    stopping = False

    def stop_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_signal)
    supervisor = Supervisor(stack, Topology(TiplineSettings().prefix))
    try:
        out(f"starting {f'a Redis Cluster of {args.cluster} masters' if args.cluster else 'redis'}"
            " and five services ...")
        stack.start(timeout=args.timeout)
        supervisor.topology = TiplineSettings(redis_url=stack.redis_url).topology()
        out(f"redis:      {masked(stack.redis_url or '')}")
        for name in stack.names:
            out(f"{name + ':':<12}{stack.url(name)}   (health: /healthz, /readyz, /metrics)")
        out(f"API docs:   {stack.url('intake')}/docs  {stack.url('tracker')}/docs")
        out(f"the gap:    {stack.url('tracker')}/v1/gap   or: tipline gap --watch")
        out(f"dashboard:  {stack.url('tracker')}/dashboard   (key: {DEV_ANALYST_KEY})")
        out(f"logs:       {stack.logs()}")
        if args.demo:
            run_demo(stack, args.count, args.settle)
        if args.exit_after_demo:
            return 0
        if args.demo:
            out(f"Watch the gap live: {stack.url('tracker')}/dashboard (key: {DEV_ANALYST_KEY});"
                f" play agency icac-wa: tipline agency queue icac-wa --url {stack.url('tracker')}")
        out("running; Ctrl-C stops everything (faults on cue: tipline chaos list)")
        while True:
            supervisor.step()
            for said in supervisor.said:
                out(said)
            supervisor.said.clear()
            dead = [n for n in stack.dead()
                    if n in stack.processes and n not in supervisor.expected_down]
            if dead:
                err(f"stopped unexpectedly: {', '.join(dead)}; see {stack.logs()}")
                return 1
            time.sleep(0.25)
    except KeyboardInterrupt:
        return 0
    except StackError as exc:
        err(f"error: {exc}")
        return 1
    finally:
        supervisor.stop()  # a paused service runs again, a killed one is not started again
        codes = stack.stop()
        # uvicorn re-raises the SIGTERM it drained on, so -15 is a clean stop.
        unclean = {n: c for n, c in codes.items() if c not in (0, -signal.SIGTERM)}
        out("stopped " + ", ".join(codes) + (f"; unclean exits: {unclean}" if unclean else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tipline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start Redis and every service; Ctrl-C stops them all",
                        description="Start Redis (TIPLINE_REDIS_URL, or a redis-server on PATH on "
                        "a free port) and every service as its own process.")
    demo = sub.add_parser("demo", help="'up', then submit sample reports and print the gap",
                          description="Start the stack, submit the sample reports and a synthetic "
                          "scenario, and print the handoff gap.")
    for p in (up, demo):
        p.add_argument("--state-dir", default=".tipline",
                       help="where Redis data and service logs go (default: .tipline)")
        p.add_argument("--redis-url", default=None,
                       help="use this Redis instead of starting one (default: TIPLINE_REDIS_URL)")
        p.add_argument("--timeout", type=float, default=60,
                       help="seconds to wait for every service to be ready (default: 60)")
        p.add_argument("--count", type=int, default=200,
                       help="synthetic reports submitted after the samples (default: 200)")
        p.add_argument("--settle", type=float, default=20,
                       help="seconds of agency time before the gap is printed (default: 20)")
        p.add_argument("--replicas", default="", metavar="SERVICE=N,...",
                       help="run several processes of a service in its consumer groups, e.g. "
                       "triage=2,router=2 (default: one of each)")
        p.add_argument("--cluster", type=int, default=0, metavar="MASTERS",
                       help="start a local Redis Cluster of this many masters (3 or more), each "
                       "with a replica, instead of one redis-server (default: one node)")
        p.add_argument("--exit-after-demo", action="store_true",
                       help="stop everything after printing the gap")
        p.set_defaults(func=cmd_up, demo=p is demo)

    submit = sub.add_parser("submit", help="submit report files (JSON) to intake")
    submit.add_argument("files", nargs="+", help="report files, JSON form of the public schema")
    submit.add_argument("--url", default=_intake_url(), help="intake base URL")
    submit.add_argument("--key", default=DEV_KEY, help="the ESP's API key (default: the dev key)")
    submit.add_argument("--idempotency-key", default=None, help="sent as Idempotency-Key")
    submit.set_defaults(func=cmd_submit)

    gap = sub.add_parser("gap", help="print the handoff gap as a table",
                         description="The handoff gap: what is known of cases after they were "
                         "forwarded, per agency, priority lane and ESP.")
    gap.add_argument("--json", action="store_true", help="print the raw JSON instead")
    gap.add_argument("--watch", action="store_true", help="redraw the table every second")
    gap.add_argument("--interval", type=float, default=1.0,
                     help="seconds between redraws with --watch (default: 1)")
    gap.add_argument("--png", metavar="FILE",
                     help="write the time-to-acknowledgement chart (per lane, against its SLA)")
    gap.set_defaults(func=cmd_gap)

    report = sub.add_parser("report", help="print one report's timeline")
    report.add_argument("report_id", type=int)
    report.set_defaults(func=cmd_report)
    for p in (gap, report):
        p.add_argument("--url", default=_tracker_url(), help="tracker base URL")
        p.add_argument("--key", default=DEV_ANALYST_KEY,
                       help="an analyst key (default: the development key)")

    agency = sub.add_parser(
        "agency", help="play an agency: its queue, acknowledge a case / report an outcome / "
        "acknowledge a deconfliction notice, record legal process",
        description="The agency API, as a person playing an agency in a workshop uses it. The "
        "development key belongs to icac-wa, the agency the simulator leaves to people. "
        "legal-process: the files the platform did not view are shown in the case's report "
        "from then on.")
    agency.add_argument("action", choices=["queue", "ack", "ack-notice", "legal-process"])
    agency.add_argument("agency", help="the agency's id, e.g. icac-wa")
    agency.add_argument("report", nargs="?", type=int,
                        help="ack, ack-notice, legal-process: the report's id")
    agency.add_argument("--other", type=int,
                        help="ack-notice: the linked report the deconfliction notice names")
    agency.add_argument("--process", choices=["search-warrant", "subpoena", "court-order"],
                        default="search-warrant",
                        help="legal-process: what was obtained (default: search-warrant)")
    agency.add_argument("--outcome", choices=list(OUTCOMES),
                        help="ack: report this outcome (which acknowledges the case too)")
    agency.add_argument("--status", choices=["open", "acknowledged", "all"], default="open",
                        help="queue: which cases (default: open)")
    agency.add_argument("--limit", type=int, default=50, help="queue: how many (default: 50)")
    agency.add_argument("--url", default=_tracker_url(), help="tracker base URL")
    agency.add_argument("--key", default=DEV_AGENCY_KEY,
                        help="the agency's key (default: the development key of icac-wa)")
    agency.set_defaults(func=cmd_agency)

    dlq = sub.add_parser("dlq", help="list, show or replay dead letters",
                         description="Dead letters: what a service could not process, with the "
                         "reason. 'show' includes the original entry and 'replay' puts it back on "
                         "its source stream (once); both take an admin key.")
    dlq.add_argument("action", choices=["list", "show", "replay"])
    dlq.add_argument("id", nargs="?", help="the dead letter's id (from 'list')")
    dlq.add_argument("--all", action="store_true",
                     help="replay: every dead letter not replayed yet")
    dlq.add_argument("--limit", type=int, default=50, help="how many to list (default: 50)")
    dlq.add_argument("--url", default=_tracker_url(), help="tracker base URL")
    dlq.add_argument("--key", default=DEV_ADMIN_KEY,
                     help="an admin key (default: the development key)")
    dlq.set_defaults(func=cmd_dlq)
    workshop_cli.add_commands(sub, _intake_url(), _tracker_url())
    simulate_cli.add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ApiError as exc:
        err(f"error: {exc}")
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
