"""The rules table in docs/ is the one the code generates."""

from services.triage.domain import RULES
from services.triage.rules_table import DEFAULT_PATH, render


def test_docs_rules_table_matches_the_code():
    assert DEFAULT_PATH.read_text() == render(), (
        "docs/triage-rules.md is stale: run python -m services.triage.rules_table"
    )


def test_every_rule_has_a_row():
    table = render()
    assert all(f"| `{r.name}` |" in table for r in RULES)
