"""Writes docs/triage-rules.md from the rules themselves, so the table cannot drift from the code.

python -m services.triage.rules_table [PATH]   (default: docs/triage-rules.md)
"""

import sys
from pathlib import Path

from services.triage.domain import RULES

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "triage-rules.md"

HEADER = """# Triage rules

Generated from `services/triage/domain/rules.py` by `python -m services.triage.rules_table`;
a unit test fails when this file and the code disagree.

How a decision is made: any rule with effect *priority 1* makes the report priority 1 (imminent
harm), whatever else it lacks. Otherwise a report is a *referral* when `actionable` fires and
neither `esp_marked_informational` nor `viral_content` does, else *informational* (lane
`informational`, priority 3). A referral is priority 2 when any *priority 2* rule fires, else
priority 3. *rank* rules explain ordering and labels; *bundle* rules are applied with the bundle
state (the first viral-only report with a hash opens a bundle, later ones join it). Every rule
that fires is listed in the decision with its reason.

| rule | effect | what it models | public source |
|------|--------|----------------|---------------|
"""


def render() -> str:
    rows = [f"| `{r.name}` | {r.effect} | {r.criterion} | {r.source} |" for r in RULES]
    return HEADER + "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render())
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
