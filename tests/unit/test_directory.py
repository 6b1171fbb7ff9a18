"""The agency directory: what it covers, and its checks at start-up."""

import json

import pytest

from shared.directory import DirectoryError, load_directory
from shared.geo import US_JURISDICTIONS
from shared.settings import DATA_DIR


def shipped() -> dict:
    return json.loads((DATA_DIR / "agencies.json").read_text())


DIRECTORY = load_directory(DATA_DIR / "agencies.json")


def test_every_state_dc_and_territory_has_a_task_force():
    covered = {j[3:] for a in DIRECTORY.agencies if a.kind == "icac" for j in a.jurisdictions}
    assert covered == set(US_JURISDICTIONS)


def test_large_states_have_regional_task_forces_with_one_default():
    for state in ("US-CA", "US-TX", "US-FL", "US-NY"):
        holders = DIRECTORY.for_jurisdiction(state)
        assert len(holders) >= 2
        assert sum(1 for a in holders if a.region.default) == 1


def test_federal_partners_and_international_liaisons():
    kinds = [a.kind for a in DIRECTORY.agencies]
    assert kinds.count("federal") == 2
    liaisons = [a for a in DIRECTORY.agencies if a.kind == "international"]
    assert len(liaisons) >= 13 and DIRECTORY.for_jurisdiction("INTL")
    assert DIRECTORY.by_id(DIRECTORY.federal.default).kind == "federal"


def test_every_name_says_mock_and_every_profile_has_a_capacity():
    assert all("Mock" in a.name for a in DIRECTORY.agencies)
    assert all(a.profile.capacity_per_day > 0 for a in DIRECTORY.agencies)


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d["agencies"][0]["profile"].update(never_ack_share=1.5), "less than or equal to 1"),
    (lambda d: d["agencies"][0]["profile"].update(outcome_share=-0.1), "greater than or equal to 0"),
    (lambda d: d["agencies"][0].update(jurisdictions=["US-ZZ"]), "unknown US state or territory code"),
    (lambda d: d["agencies"][0].update(jurisdictions=["Ohio"]), "not a jurisdiction"),
    (lambda d: d["agencies"][1].update(jurisdictions=d["agencies"][0]["jurisdictions"]),
     "without regions"),
    (lambda d: d["agencies"][1].update(id=d["agencies"][0]["id"]), "duplicate agency ids"),
    (lambda d: d["agencies"][0]["profile"]["ack_median_hours"].pop("p1"), "lacks lanes"),
    (lambda d: d["federal"].update(default="icac-oh"), "not a federal agency"),
    (lambda d: [a["region"].update(default=True) for a in d["agencies"]
                if a.get("region") and a["jurisdictions"] == ["US-TX"]], "default regions"),
    (lambda d: [a["region"]["zip3"].append("770") for a in d["agencies"]
                if a["id"] == "icac-tx-dallas"], "ZIP prefixes in more than one region"),
])
def test_a_bad_directory_is_a_clear_start_up_error(tmp_path, breakage, message):
    data = shipped()
    breakage(data)
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DirectoryError, match=message):
        load_directory(path)


def test_a_missing_directory_says_where_it_looked(tmp_path):
    with pytest.raises(DirectoryError, match="not found"):
        load_directory(tmp_path / "nope.json")
