"""What the services decide about a report, computed by their own functions: triage's decision
(priority, disposition, lane, the viral bundle it may join) and the router's resolution (the
agencies it is handed to, or why it is unassigned).

A decision depends only on the report's content, so the simulator decides each distinct report
once. Synthetic reports (`shared.synthetic.load_report`) come from a small set of shapes: a kind,
whether the ESP kept the report's location, verified its user's contact, named a victim (three
draws, each against the ESP's share), and the kind's own choices (a place, an IP address, a
classification, a meme). A `Pool` holds, for one kind and one outcome of the three draws, the
decisions of `size` reports generated with those draws forced: a simulated report of that kind
and those draws is one of them at random. The ESP's shares then act exactly (they pick the pool);
the kind's own choices are sampled (the pool's size bounds the error, about 1/sqrt(size)).
"""

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from services.router.domain import IpTable, ZipTable, load_ip_table, load_zip_table, resolve
from services.triage.domain import KnownHashes, as_bundle_member, load_known_hashes, triage
from shared.directory import Directory, load_directory
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from shared.synthetic import EspProfile, LoadKind, load_report


@dataclass(frozen=True)
class Rules:
    """Everything the decisions read besides the report: the services' own data files."""

    known: KnownHashes
    ip_table: IpTable
    zips: ZipTable
    directory: Directory


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return Rules(load_known_hashes(DATA_DIR / "known_hashes.json"),
                 load_ip_table(DATA_DIR / "ip_ranges.json"),
                 load_zip_table(DATA_DIR / "zip3_states.json"),
                 load_directory(DATA_DIR / "agencies.json"))


@dataclass(frozen=True, slots=True)
class Shape:
    """A report's decisions, as the simulator needs them."""

    priority: int
    disposition: str
    lane: str
    routes: tuple[tuple[str, str], ...]  # (agency id, why), the case of its jurisdiction first
    reasons: tuple[str, ...]  # unassigned: the router's reason codes
    bundle_keys: tuple[str, ...]
    own_bundle: bool  # its bundle keys are its own (no other report carries them)
    member: "Shape | None"  # the same report as a member of a viral bundle


def decide(report: FiledReport, rules: Rules, own_bundle: bool = False) -> Shape:
    """Triage's decision and the router's resolution of one report."""
    decision = triage(report, rules.known)
    found = resolve(report, rules.ip_table, rules.zips, rules.directory)
    if found.agency is None:
        routes: tuple[tuple[str, str], ...] = ((found.offered_to, "unassigned_offer"),) \
            if found.offered_to else ()
    else:
        routes = ((found.agency.id, "jurisdiction"), *found.also_notify)
    member = None
    if decision.bundle_keys:
        m = as_bundle_member(decision, 0)
        member = Shape(m.priority, m.disposition, m.lane, (), (), (), False, None)
    return Shape(decision.priority, decision.disposition, decision.lane, routes, found.reasons,
                 decision.bundle_keys, own_bundle, member)


def decide_json(report: dict[str, Any], rules: Rules) -> Shape:
    """A report as an ESP submits it (intake's validation first)."""
    return decide(FiledReport.model_validate(report), rules)


PoolKey = tuple[LoadKind, bool, bool, bool]  # kind, location kept, contact verified, victim


_POOLS: dict[tuple[PoolKey, int], tuple[Shape, ...]] = {}


def pool(key: PoolKey, size: int) -> tuple[Shape, ...]:
    """The decisions of `size` synthetic reports of one kind with the three draws forced, made
    once a process (or handed over by `keep`). A bundle key no other report of the pool carries
    is the report's own."""
    found = _POOLS.get((key, size))
    if found is None:
        found = _POOLS[(key, size)] = build_pool(key, size)
    return found


def keep(key: PoolKey, size: int, shapes: tuple[Shape, ...]) -> None:
    """A pool built elsewhere (in another process), kept for this one."""
    _POOLS[(key, size)] = shapes


def build_pool(key: PoolKey, size: int) -> tuple[Shape, ...]:
    kind, located, verified, victim = key
    profile = EspProfile("pool", location=float(located), verified_contact=float(verified),
                         victim_details=float(victim))
    # No recurring offenders: the simulator does not model linking (a report is decided alone).
    reports = [FiledReport.model_validate(load_report(kind, profile, f"pool-{i}",
                                                      recurring_share=0))
               for i in range(size)]
    rules = default_rules()
    shapes = [decide(r, rules) for r in reports]
    seen = Counter(k for s in shapes for k in s.bundle_keys)
    return tuple(Shape(s.priority, s.disposition, s.lane, s.routes, s.reasons, s.bundle_keys,
                       bool(s.bundle_keys) and all(seen[k] == 1 for k in s.bundle_keys), s.member)
                 for s in shapes)
