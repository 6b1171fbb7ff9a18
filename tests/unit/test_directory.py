"""The agency directory's checks."""

import json

import pytest

from shared.directory import DirectoryError, load_directory
from shared.settings import DATA_DIR


def shipped() -> dict:
    return json.loads((DATA_DIR / "agencies.json").read_text())


def test_the_shipped_directory_loads_and_covers_the_three_kinds():
    directory = load_directory(DATA_DIR / "agencies.json")
    assert {a.kind for a in directory.agencies} == {"icac", "federal", "international"}
    assert directory.for_jurisdiction("US").kind == "federal"
    assert all("Mock" in a.name for a in directory.agencies)


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d["agencies"][0]["profile"].update(never_ack_share=1.5), "less than or equal to 1"),
    (lambda d: d["agencies"][1].update(jurisdictions=["US-CA"]), "claimed by both"),
    (lambda d: d["agencies"][1].update(id=d["agencies"][0]["id"]), "duplicate agency ids"),
    (lambda d: d["agencies"][0]["profile"]["ack_median_hours"].pop("p1"), "lacks lanes"),
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
