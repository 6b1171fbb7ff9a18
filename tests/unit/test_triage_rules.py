"""Every triage rule on its own, without any broker."""

import pytest

from services.triage.domain import RULES, as_bundle_first, as_bundle_member, load_known_hashes, triage
from services.triage.domain.evidence import KnownHashError
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from tests.report_builder import build, file

KNOWN = load_known_hashes(DATA_DIR / "known_hashes.json")


def decide(**spec):
    return triage(FiledReport.model_validate(build(**spec)), KNOWN)


def fired(**spec) -> set[str]:
    return set(decide(**spec).rules)


REFERRAL = dict(user=("id",), files=(file("A2"),), location=("US", "CA"))


def test_escalated_report_is_priority_one():
    d = decide(escalate="Synthetic: urgent", **REFERRAL)
    assert (d.priority, d.lane) == (1, "p1") and "esp_escalation" in d.rules


def test_escalation_wins_even_without_actionable_data():
    d = decide(escalate="Synthetic: urgent", user=(), location=None)
    assert d.priority == 1 and d.disposition == "informational"


def test_sextortion_with_an_identified_minor_is_imminent():
    assert "sextortion_with_identified_minor" in fired(
        annotations={"sextortion": True}, victims=({"age": 15},), **REFERRAL)


def test_sextortion_without_a_victim_or_with_an_adult_is_not_imminent():
    assert decide(annotations={"sextortion": True}, **REFERRAL).priority != 1
    assert decide(annotations={"sextortion": True}, victims=({"age": 30},), **REFERRAL).priority != 1
    unidentified = ({"id": False, "age": None},)
    assert decide(annotations={"sextortion": True}, victims=unidentified, **REFERRAL).priority != 1


def test_sadistic_exploitation_with_an_identified_minor_is_imminent():
    d = decide(annotations={"sadisticOnlineExploitation": True}, victims=({"age": 12},), **REFERRAL)
    assert d.priority == 1 and "sadistic_exploitation_with_identified_minor" in d.rules


def test_a_live_streamed_file_is_imminent_whatever_else_is_missing():
    d = decide(user=(), location=None, files=(file("B2", liveStreaming=True),))
    assert d.priority == 1 and "live_streaming" in d.rules


def test_enticement_describing_a_meeting_is_imminent():
    d = decide(incident="enticement", content="Synthetic chat: let's meet at the mall", **REFERRAL)
    assert d.priority == 1 and "enticement_planned_meeting" in d.rules


def test_enticement_without_a_meeting_is_not_imminent():
    d = decide(incident="enticement", content="Synthetic chat: how old are you", **REFERRAL)
    assert d.priority == 2 and "contact_offence" in d.rules


def test_a_meeting_outside_enticement_is_not_the_meeting_rule():
    assert "enticement_planned_meeting" not in fired(content="meet tonight", **REFERRAL)


def test_identifier_content_and_location_make_a_referral():
    d = decide(**REFERRAL)
    assert (d.disposition, d.priority, d.lane) == ("referral", 3, "p3")
    assert "actionable" in d.rules


@pytest.mark.parametrize("missing, text", [
    (dict(user=()), "user identifier"),
    (dict(files=()), "file or content"),
    (dict(location=None), "location clue"),
])
def test_a_report_missing_a_part_is_informational_and_says_which(missing, text):
    d = decide(**{**REFERRAL, **missing})
    assert d.disposition == "informational" and d.lane == "informational"
    [hit] = [r for r in d.reasons if r.rule == "not_actionable"]
    assert text in hit.reason


def test_a_proxy_address_is_no_location_clue():
    d = decide(user=("id",), files=(file(),), location=None, ips=(("192.0.2.5", True),))
    assert d.disposition == "informational"
    d = decide(user=("id",), files=(file(),), location=None, ips=(("192.0.2.5", False),))
    assert d.disposition == "referral"


def test_the_esp_can_mark_a_report_informational():
    d = decide(annotations={"informational": True}, **REFERRAL)
    assert d.disposition == "informational" and "esp_marked_informational" in d.rules


def test_viral_files_alone_are_informational_but_not_when_more_is_described():
    viral = dict(user=("id",), location=("US", "CA"), files=(file("B2", viral=True),))
    assert decide(**viral).disposition == "informational"
    assert "viral_content" in decide(**viral).rules
    assert decide(**viral, content="Synthetic: the user also asked for more").disposition == "referral"


@pytest.mark.parametrize("incident", ["trafficking", "tourism", "molestation", "enticement"])
def test_a_contact_offence_referral_is_priority_two(incident):
    d = decide(incident=incident, **REFERRAL)
    assert (d.priority, d.lane) == (2, "p2") and "contact_offence" in d.rules


def test_an_identified_minor_victim_makes_priority_two():
    d = decide(victims=({"age": 16},), **REFERRAL)
    assert d.priority == 2 and "identified_minor_victim" in d.rules


@pytest.mark.parametrize("cls", ["A1", "B1"])
def test_novel_sex_act_imagery_is_priority_two(cls):
    d = decide(user=("id",), files=(file(cls),))
    assert d.priority == 2 and "novel_sex_act_imagery" in d.rules


def test_known_sex_act_imagery_ranks_below_novel():
    novel = decide(user=("id",), files=(file("A1"),))
    known = decide(user=("id",), files=(file("A1", known=True),))
    assert known.priority > novel.priority
    assert "only_known_files" in known.rules and "novel_files" in novel.rules
    assert (known.known_files, known.novel_files) == (1, 0)


@pytest.mark.parametrize("flag", ["infant", "physicalHarm", "violenceGore"])
def test_novel_files_with_harm_indicators_are_priority_two(flag):
    d = decide(user=("id",), files=(file("B2", **{flag: True}),))
    assert d.priority == 2 and "novel_harm_indicators" in d.rules


def test_labels_carry_age_content_and_annotations():
    d = decide(user=("id",), files=(file("A1", generativeAi=True), file("B2", known=True, viral=True)))
    assert {"age:prepubescent", "age:pubescent", "content:sex-act",
            "content:lascivious-exhibition", "file:generative-ai", "file:viral",
            "file:novel", "file:previously-seen"} <= set(d.labels)


def test_known_files_match_by_md5_sha1_and_sha256():
    for hash_type, value in (("MD5", "0" * 28 + "a001"), ("SHA1", "0" * 36 + "b002"),
                             ("SHA256", "0" * 60 + "c003")):
        spec = build(user=("id",), files=({"originalFileHash": [{"hashType": hash_type,
                                                                  "value": value.upper()}]},))
        assert triage(FiledReport.model_validate(spec), KNOWN).known_files == 1


def test_actionability_scores_fields_and_lists_the_missing():
    bare = decide(user=(), location=None)
    full = decide(user=("id", "verified-email"), ips=(("192.0.2.9", False),),
                  victims=({"age": 9},), files=(file(),))
    assert bare.actionability.score == 0 and len(bare.actionability.missing) == 7
    assert full.actionability.score == 100 and full.actionability.missing == ()


def test_a_verified_contact_raises_actionability():
    unverified = decide(user=("id", "email"))
    verified = decide(user=("id", "verified-email"))
    assert verified.actionability.score == unverified.actionability.score + 5
    assert "verifiedContact" in unverified.actionability.missing


def test_viral_only_reports_carry_their_bundle_keys_and_others_none():
    viral = decide(user=("id",), files=(file("B2", seed=3, viral=True),))
    assert viral.bundle_keys and viral.bundle_keys[0].startswith("MD5:")
    assert decide(**REFERRAL).bundle_keys == ()
    assert decide(escalate="x", files=(file("B2", viral=True),)).bundle_keys == ()


def test_a_bundle_member_is_informational_and_says_whose_bundle():
    d = decide(user=("id",), files=(file("B1", viral=True),))
    member, first = as_bundle_member(d, 41), as_bundle_first(d, 41)
    assert (member.disposition, member.lane, member.bundle_role) == ("informational", "informational",
                                                                    "member")
    assert member.rules[-1] == "viral_bundle_member" and member.bundle_id == "bundle-41"
    assert (first.lane, first.bundle_role) == (d.lane, "first")


def test_every_rule_has_a_name_a_source_and_a_one_line_criterion():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for r in RULES:
        assert r.source and r.criterion and "\n" not in r.criterion


def test_a_bad_known_hash_list_is_a_clear_error(tmp_path):
    path = tmp_path / "known.json"
    path.write_text('{"MD5": ["abc"]}')
    with pytest.raises(KnownHashError, match="MD5 values not 32 hex digits"):
        load_known_hashes(path)
