"""Intake's rules, without any broker."""

import pytest

from services.intake.domain import fingerprint, lane_for
from shared.auth import CredentialsError, authenticate, parse_keys
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report


def test_esp_keys_parse_and_authenticate():
    keys = parse_keys("alpha:k1, beta:k2")
    assert authenticate(keys, "Bearer k2") == "beta"
    assert authenticate(keys, "bearer k1") == "alpha"
    assert authenticate(keys, "Bearer nope") is None
    assert authenticate(keys, "Basic k1") is None
    assert authenticate(keys, None) is None
    assert authenticate(keys, "Bearer ") is None


@pytest.mark.parametrize("spec", ["", "alpha", "alpha:", ":k", "a:k,b:k"])
def test_bad_key_settings_are_refused(spec):
    with pytest.raises(CredentialsError):
        parse_keys(spec)


def test_lane_follows_the_escalation_field():
    assert lane_for(FiledReport.model_validate(synthetic_report("escalated"))) == "escalated"
    assert lane_for(FiledReport.model_validate(synthetic_report("referral"))) == "standard"


def test_fingerprint_ignores_layout_but_not_content():
    body = synthetic_report("referral", 1)
    same = FiledReport.model_validate({**body})
    assert fingerprint(FiledReport.model_validate(body)) == fingerprint(same)
    other = FiledReport.model_validate(synthetic_report("referral", 2))
    assert fingerprint(other) != fingerprint(same)
