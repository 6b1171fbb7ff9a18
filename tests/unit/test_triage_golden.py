"""A golden table of synthetic reports with the priority, disposition and rules each must get."""

import pytest

from services.triage.domain import RULES, load_known_hashes, triage
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from tests.report_builder import build, file

KNOWN = load_known_hashes(DATA_DIR / "known_hashes.json")
R = dict(user=("id",), files=(file("A2"),), location=("US", "CA"))
AN, NF = "actionable", "novel_files"

GOLDEN = [
    ("plain referral", R, 3, "referral", {AN, NF}),
    ("escalated referral", {**R, "escalate": "Synthetic: urgent"}, 1, "referral",
     {"esp_escalation", AN, NF}),
    ("escalated, nothing else", dict(escalate="Synthetic", user=(), location=None), 1,
     "informational", {"esp_escalation", "not_actionable"}),
    ("sextortion of a minor", {**R, "annotations": {"sextortion": True}, "victims": ({"age": 15},)},
     1, "referral", {"sextortion_with_identified_minor", AN, "identified_minor_victim", NF}),
    ("sextortion, no victim", {**R, "annotations": {"sextortion": True}}, 3, "referral", {AN, NF}),
    ("sadistic exploitation of a minor",
     {**R, "annotations": {"sadisticOnlineExploitation": True}, "victims": ({"age": 12},)}, 1,
     "referral", {"sadistic_exploitation_with_identified_minor", AN, "identified_minor_victim", NF}),
    ("live stream, nothing else", dict(user=(), location=None, files=(file("B2", liveStreaming=True),)),
     1, "informational", {"live_streaming", "not_actionable", NF}),
    ("enticement, meeting", {**R, "incident": "enticement", "content": "Synthetic: let's meet at the park"},
     1, "referral", {"enticement_planned_meeting", AN, "contact_offence", NF}),
    ("enticement, no meeting", {**R, "incident": "enticement", "content": "Synthetic: how was school"},
     2, "referral", {AN, "contact_offence", NF}),
    ("trafficking", {**R, "incident": "trafficking"}, 2, "referral", {AN, "contact_offence", NF}),
    ("sex tourism", {**R, "incident": "tourism"}, 2, "referral", {AN, "contact_offence", NF}),
    ("molestation", {**R, "incident": "molestation"}, 2, "referral", {AN, "contact_offence", NF}),
    ("minor victim", {**R, "victims": ({"age": 16},)}, 2, "referral", {AN, "identified_minor_victim", NF}),
    ("adult victim", {**R, "victims": ({"age": 30},)}, 3, "referral", {AN, NF}),
    ("novel A1", dict(user=("id",), files=(file("A1"),)), 2, "referral",
     {AN, "novel_sex_act_imagery", NF}),
    ("novel B1", dict(user=("id",), files=(file("B1"),)), 2, "referral",
     {AN, "novel_sex_act_imagery", NF}),
    ("known A1 only", dict(user=("id",), files=(file("A1", known=True),)), 3, "referral",
     {AN, "only_known_files"}),
    ("known A1 with novel A2", dict(user=("id",), files=(file("A1", known=True), file("A2"))), 3,
     "referral", {AN, NF}),
    ("novel infant", dict(user=("id",), files=(file("B2", infant=True),)), 2, "referral",
     {AN, "novel_harm_indicators", NF}),
    ("known physical harm", dict(user=("id",), files=(file("B2", known=True, physicalHarm=True),)), 3,
     "referral", {AN, "only_known_files"}),
    ("no identifier", {**R, "user": ()}, 3, "informational", {"not_actionable", NF}),
    ("no content", dict(user=("id",)), 3, "informational", {"not_actionable"}),
    ("chat content, no file", dict(user=("id",), content="Synthetic chat transcript"), 3, "referral",
     {AN}),
    ("proxy address only", dict(user=("id",), files=(file(),), location=None,
                                ips=(("192.0.2.5", True),)), 3, "informational",
     {"not_actionable", NF}),
    ("direct address only", dict(user=("id",), files=(file(),), location=None,
                                 ips=(("192.0.2.5", False),)), 3, "referral", {AN, NF}),
    ("ESP says informational", {**R, "annotations": {"informational": True}}, 3, "informational",
     {AN, "esp_marked_informational", NF}),
    ("viral file", dict(user=("id",), files=(file("B2", viral=True),)), 3, "informational",
     {AN, "viral_content", NF}),
    ("known meme", dict(user=("id",), files=(file("B2", known=True, potentialMeme=True),)), 3,
     "informational", {AN, "viral_content", "only_known_files"}),
    ("viral file and a described exchange",
     dict(user=("id",), files=(file("B2", viral=True),), content="Synthetic: asked for more"), 3,
     "referral", {AN, NF}),
    ("escalated viral file", dict(escalate="Synthetic", user=("id",), files=(file("B2", viral=True),)),
     1, "informational", {"esp_escalation", AN, "viral_content", NF}),
    ("email as the identifier", dict(user=("email",), files=(file(),), location=("GB", None)), 3,
     "referral", {AN, NF}),
    ("misleading domain, described", dict(incident="domain", user=("id",), content="Synthetic URL"), 3,
     "referral", {AN}),
    ("unsolicited material to a minor", {**R, "incident": "unsolicited", "victims": ({"age": 13},)}, 2,
     "referral", {AN, "identified_minor_victim", NF}),
    ("live-streamed trafficking",
     {**R, "incident": "trafficking", "files": (file("A2", liveStreaming=True),)}, 1, "referral",
     {"live_streaming", AN, "contact_offence", NF}),
    ("enticement, meeting in the notes",
     {**R, "incident": "enticement", "info": "Synthetic: offered to pick you up tonight"}, 1, "referral",
     {"enticement_planned_meeting", AN, "contact_offence", NF}),
]


def test_every_rule_that_triage_checks_fires_in_some_golden_report():
    """A rule added without a golden report of its own fails here (the bundle rules are applied
    with the bundle state, by the bundle tests)."""
    checked = {r.name for r in RULES if r.check is not None}
    fired = set().union(*(rules for *_, rules in GOLDEN))
    assert checked - fired == set(), f"rules no golden report makes fire: {checked - fired}"
    assert fired - checked == set(), f"golden reports name rules that do not exist: {fired - checked}"


@pytest.mark.parametrize("name, spec, priority, disposition, rules", GOLDEN,
                         ids=[g[0] for g in GOLDEN])
def test_golden_report(name, spec, priority, disposition, rules):
    decision = triage(FiledReport.model_validate(build(**spec)), KNOWN)
    assert (decision.priority, decision.disposition, set(decision.rules)) == (
        priority, disposition, rules)
    assert decision.lane == ("p1" if priority == 1 else "informational"
                             if disposition == "informational" else f"p{priority}")
