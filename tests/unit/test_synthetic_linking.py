"""Synthetic data against linking: a report's person reported is its own, so nothing links by
chance; the recurring offenders link, across ESPs and states; the same seed, the same reports."""

import json
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from services.router.domain import load_ip_table, load_zip_table, resolve
from shared.directory import load_directory
from shared.linking import Linker, clues, group_reports, sightings
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from shared.synthetic import (
    OFFENDERS,
    RECURRING_SHARE,
    EspProfile,
    Mix,
    recurring_offender,
    scenario,
)
from tipline import load

WINDOW = 3600.0  # the router's default IP window
COUNT = 2000
TABLE = load_ip_table(DATA_DIR / "ip_ranges.json")
ZIPS = load_zip_table(DATA_DIR / "zip3_states.json")
DIRECTORY = load_directory(DATA_DIR / "agencies.json")
MIX = Mix(escalated=0.1, referral=0.5, informational=0.1, viral=0.2, no_location=0.1)
PROFILES = (EspProfile("careful", location=1.0, verified_contact=0.9),
            EspProfile("sloppy", location=0.3, verified_contact=0.2))


def load_bodies(count: int, share: float, seed: int = 3) -> list[tuple[str, dict[str, Any]]]:
    """A load's reports as `tipline load` makes them: (its ESP, the report)."""
    generator = load.Generator(load.Plan(curve=load.Curve.constant(100), count=count, mix=MIX,
                                         profiles=PROFILES, seed=seed, recurring_share=share))
    return [(profile.name, body) for profile, _, body in
            (generator.next() for _ in range(count))]


def parsed(bodies: list[dict[str, Any]]) -> list[tuple[int, FiledReport]]:
    return [(n, FiledReport.model_validate(b)) for n, b in enumerate(bodies, 1)]


def groups_of(reports: list[tuple[int, FiledReport]]) -> set[frozenset[int]]:
    """The link groups, found as the store finds them (`group_reports`, the reference, is
    quadratic: it is held to the same answer on a smaller set below)."""
    linker = Linker(b"test-synthetic-key", WINDOW)
    for report_id, report in reports:
        linker.add(report_id, report)
    return linker.groups.groups()


def samples() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((DATA_DIR / "samples").glob("*.json"))]


def test_without_recurring_offenders_two_thousand_reports_share_no_identifier():
    for bodies in (samples() + scenario(COUNT, seed=3, recurring_share=0),
                   [b for _, b in load_bodies(COUNT, 0)]):
        reports = parsed(bodies)
        held = Counter(c for _, r in reports for c in clues(r))
        assert held and max(held.values()) == 1, held.most_common(3)
        seen: defaultdict[str, list[float]] = defaultdict(list)
        for _, report in reports:
            for sighting in sightings(report):
                seen[sighting.ip].append(sighting.at)
        assert all(abs(a - b) > WINDOW for ats in seen.values() for i, a in enumerate(ats)
                   for b in ats[i + 1:])
        assert groups_of(reports) == set()


def test_viral_reports_share_meme_hashes_but_no_person():
    viral = [b for _, b in load_bodies(COUNT, 0)
             if b.get("batchedReport", {}).get("reason") == "VIRAL_POTENTIAL_MEME"]
    hashes = Counter(b["files"][0]["originalFileHash"][0]["value"] for b in viral)
    assert len(viral) > 300 and hashes.most_common(1)[0][1] > 50  # they do share memes
    assert groups_of(parsed(viral)) == set()


def test_the_reference_finds_the_same_groups():
    reports = parsed(scenario(400, seed=8))
    assert group_reports(reports, WINDOW) == groups_of(reports)
    assert groups_of(reports)  # a test of something


def _account(report: FiledReport) -> str | None:
    user = report.person_or_user_reported
    return user.esp_identifier if user else None


def _state(report: FiledReport) -> str | None:
    found = resolve(report, TABLE, ZIPS, DIRECTORY)
    return found.jurisdiction if found.jurisdiction and found.jurisdiction.startswith("US-") \
        else None


def _check_recurring_groups(reports: list[tuple[int, FiledReport]], esp_of: dict[int, str]
                            ) -> None:
    groups = groups_of(reports)
    by_id = dict(reports)
    offenders = {o.account for o in OFFENDERS}
    recurring = {n for n, r in reports if _account(r) in offenders}
    # Every group is one offender's reports; nearly every offender report is in one (20
    # offenders recur often enough in 2,000 reports that few are alone).
    for group in groups:
        assert len({_account(by_id[n]) for n in group}) == 1, group
        assert group <= recurring, group
    linked = sum(len(g) for g in groups)
    assert abs(linked / len(reports) - RECURRING_SHARE) < 0.015, linked
    assert linked >= 0.9 * len(recurring)
    assert len(groups) >= len(OFFENDERS) * 3 // 4
    # An offender is reported by several ESPs from several states: its cases meet at different
    # agencies, where deconfliction is needed.
    spread = [g for g in groups if len({esp_of[n] for n in g}) >= 2
              and len({s for n in g if (s := _state(by_id[n]))}) >= 2]
    assert len(spread) >= len(OFFENDERS) // 4, (len(spread), len(groups))


def test_recurring_offenders_link_across_esps_and_states_in_a_scenario():
    reports = parsed(scenario(COUNT, seed=3))
    esp_of = {n: r.incident_summary.platform or "" for n, r in reports}
    _check_recurring_groups(reports, esp_of)


def test_recurring_offenders_link_across_the_esps_of_a_load():
    made = load_bodies(COUNT, RECURRING_SHARE)
    reports = parsed([b for _, b in made])
    _check_recurring_groups(reports, {n: esp for n, (esp, _) in enumerate(made, 1)})


def test_an_offender_is_obviously_fake_and_stable():
    assert len({o.account for o in OFFENDERS}) == len({o.email for o in OFFENDERS}) \
        == len(OFFENDERS) <= 100
    for offender in OFFENDERS:
        assert offender.email.endswith("@example.com")
        assert offender.phone is None or re.fullmatch(r"\d{3}-555-01\d\d", offender.phone)
    assert any(o.phone for o in OFFENDERS) and any(o.device for o in OFFENDERS)
    bodies = scenario(600, seed=5, recurring_share=1)
    assert all(_account(FiledReport.model_validate(b)) in {o.account for o in OFFENDERS}
               for b in bodies)


def test_the_same_seed_gives_the_same_reports():
    assert scenario(300, seed=4) == scenario(300, seed=4)
    assert load_bodies(300, RECURRING_SHARE, seed=4) == load_bodies(300, RECURRING_SHARE, seed=4)
    assert scenario(300, seed=4) != scenario(300, seed=5)


def test_a_report_of_its_own_is_the_same_whatever_the_recurring_share():
    # The simulator and the agreement test run with no offenders: the other reports must be the
    # ones they would be with offenders.
    without, default = scenario(500, seed=6, recurring_share=0), scenario(500, seed=6)
    changed = [i for i, (a, b) in enumerate(zip(without, default, strict=True)) if a != b]
    assert 0 < len(changed) < 500 * RECURRING_SHARE * 2
    offenders = {o.account for o in OFFENDERS}
    assert all(default[i]["personOrUserReported"].get("espIdentifier") in offenders
               for i in changed)
    for i in changed:  # only the person reported and the reporting platform differ
        a, b = dict(without[i]), dict(default[i])
        for body in (a, b):
            body.pop("personOrUserReported")
            body["incidentSummary"] = {**body["incidentSummary"], "platform": None}
            body["reporter"] = {**body["reporter"], "companyTemplate": None}
        assert a == b


def test_a_recurring_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        recurring_offender("x", 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        load.Plan(curve=load.Curve.constant(1), count=1, recurring_share=-0.1)
