"""Intake's rules, without any broker."""

import base64

import pytest

from services.intake.domain import fingerprint, lane_for
from shared.auth import CredentialsError, authenticate, basic_user, parse_keys, parse_users
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


def basic(user_and_password: str) -> str:
    return "Basic " + base64.b64encode(user_and_password.encode()).decode()


def test_reporting_api_users_parse_and_authenticate_with_http_basic():
    users = parse_users("esp-one:secret:with:colons, esp-two:pw2")
    assert users == {"esp-one": "secret:with:colons", "esp-two": "pw2"}
    assert basic_user(users, basic("esp-one:secret:with:colons")) == "esp-one"
    assert basic_user(users, "basic " + basic("esp-two:pw2").split()[1]) == "esp-two"
    assert basic_user(users, basic("esp-two:wrong")) is None
    assert basic_user(users, basic("nobody:pw2")) is None
    assert basic_user(users, basic("esp-two")) is None  # no colon
    assert basic_user(users, "Basic not-base64!") is None
    assert basic_user(users, "Bearer pw2") is None and basic_user(users, None) is None


@pytest.mark.parametrize("spec", ["", "esp", "esp:", ":pw", "a:1,a:2"])
def test_bad_user_settings_are_refused_without_naming_the_password(spec):
    with pytest.raises(CredentialsError) as info:
        parse_users(spec)
    assert "2" not in str(info.value) and "pw" not in str(info.value)


def test_lane_follows_the_escalation_field():
    assert lane_for(FiledReport.model_validate(synthetic_report("escalated"))) == "escalated"
    assert lane_for(FiledReport.model_validate(synthetic_report("referral"))) == "standard"


def test_fingerprint_ignores_layout_but_not_content():
    body = synthetic_report("referral", 1)
    same = FiledReport.model_validate({**body})
    assert fingerprint(FiledReport.model_validate(body)) == fingerprint(same)
    other = FiledReport.model_validate(synthetic_report("referral", 2))
    assert fingerprint(other) != fingerprint(same)
