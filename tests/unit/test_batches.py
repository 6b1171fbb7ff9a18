"""A batch's envelope is read before its reports, and its reports one at a time."""

import json

import pytest

from services.intake.batches import BatchReader, BatchRefused
from shared.synthetic import synthetic_report


def refused(body: bytes, max_reports: int = 3) -> dict:
    with pytest.raises(BatchRefused) as caught:
        BatchReader(max_reports).read(body)
    return caught.value.body


@pytest.mark.parametrize(("body", "loc", "kind"), [
    (b'{"reports": [{}, {}, {}, {}]}', ["reports"], "too_long"),
    (b'{"reports": []}', ["reports"], "too_short"),
    (b'[{}]', [], "model_type"),
    (b'{"reports": {}}', ["reports"], "list_type"),
    (b'{"reports": [{}], "more": 1}', [], "extra_forbidden"),
    (b'{}', [], "missing"),
    (b'{"reports": [{}, ', [], "json_invalid"),
])
def test_an_envelope_that_is_not_a_batch_is_refused_whole_with_one_error(body, loc, kind):
    answer = refused(body)
    assert answer["errorCount"] == 1
    assert answer["detail"][0]["loc"] == loc and answer["detail"][0]["type"] == kind


def test_items_that_are_not_objects_are_named_the_first_twenty_and_counted():
    answer = refused(json.dumps({"reports": [{}] + ["secret@example.com"] * 30}).encode(), 100)
    assert answer["errorCount"] == 30 and len(answer["detail"]) == 20
    assert answer["detail"][0]["loc"] == ["reports", 1]
    assert "secret@example.com" not in json.dumps(answer)


def test_each_report_is_read_on_its_own_in_order():
    bad = synthetic_report("referral", 1)
    bad["files"] = [{"fileName": "x"} for _ in range(25)]  # each lacks its hashes
    body = json.dumps({"reports": [synthetic_report("referral", 0), bad,
                                   synthetic_report("escalated", 2)]}).encode()
    items = BatchReader(3).read(body)
    assert [i.index for i in items] == [0, 1, 2]
    assert items[0].report is not None and items[2].report is not None
    assert items[1].report is None and items[1].errors is not None
    assert len(items[1].errors["detail"]) == 20 and items[1].errors["errorCount"] == 25
