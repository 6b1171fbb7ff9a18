"""docs/guarantees.md shows the role matrix the walk of every route checks (tests/role_matrix.py),
row for row: the document cannot promise one thing while the test proves another."""

from pathlib import Path

from tests.role_matrix import CALLERS, MATRIX, TABLE_BEGIN, TABLE_END, table

GUARANTEES = Path(__file__).resolve().parents[2] / "docs" / "guarantees.md"


def test_the_guarantees_show_the_role_matrix_the_walk_checks():
    text = GUARANTEES.read_text()
    assert TABLE_BEGIN in text and TABLE_END in text, "the role matrix's markers are missing"
    shown = text.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0].strip()
    assert shown == table(), "docs/guarantees.md's role matrix differs; it should read:\n" + table()


def test_the_matrix_gives_every_caller_a_status_and_names_each_request_once():
    labels = [row.label for row in MATRIX]
    assert len(labels) == len(set(labels))
    assert all(len(row.statuses) == len(CALLERS) for row in MATRIX)
    # a body is read by the agency holding the case and, with a reason, by an admin: no one else
    bodies = [row for row in MATRIX if "**a report's body**" in row.reads]
    readers = {(row.path, caller) for row in bodies
               for caller, status in zip(CALLERS, row.statuses, strict=True) if status == 200}
    assert readers == {("/v1/agencies/{agency_id}/cases/{report_id}/report", "agency"),
                       ("/v1/reports/{report_id}/body", "admin")}
