"""The rules table in docs/ is the one the code generates."""

from services.triage.rules_table import DEFAULT_PATH, render


def test_docs_rules_table_matches_the_code():
    assert DEFAULT_PATH.read_text() == render(), (
        "docs/triage-rules.md is stale: run python -m services.triage.rules_table"
    )
