"""Roles and reads without Redis: a key opens one role, a session answers its role, the tracker
refuses a key configured for two roles, and the reads of a body are stages of its timeline."""

import json

import pytest

from services.tracker.app import bootstrap
from services.tracker.config import TrackerSettings
from services.tracker.domain import timeline
from shared.auth import (
    Caller,
    CredentialsError,
    identify,
    one_role_per_key,
    session_caller,
    session_token,
)

NOWHERE = dict(redis_url="redis://127.0.0.1:1/0", prefix="unit")
KEYS = {"agency": {"k-wa": "icac-wa"}, "analyst": {"k-an": "workshop"}, "admin": {"k-ad": "ops"}}


def test_a_key_names_its_caller_and_role_and_a_wrong_one_nobody():
    assert identify(KEYS, "k-wa") == Caller("icac-wa", "agency")
    assert identify(KEYS, "k-ad") == Caller("ops", "admin")
    assert identify(KEYS, "k-ad").text == "ops (admin)"
    assert identify(KEYS, "nope") is None and identify(KEYS, None) is None


def test_a_session_answers_the_role_of_the_key_it_was_made_from():
    now = 1_800_000_000.0
    sessions = {"analyst": KEYS["analyst"], "admin": KEYS["admin"]}
    assert session_caller(sessions, session_token(KEYS["admin"], "k-ad", now), now) == Caller(
        "ops", "admin")
    assert session_caller(sessions, session_token(KEYS["analyst"], "k-an", now), now).role == "analyst"
    assert session_caller(sessions, "ops:9999999999:forged", now) is None


def test_a_key_configured_for_two_roles_is_refused_without_printing_it():
    with pytest.raises(CredentialsError, match="analyst 'workshop' and admin 'ops' share a key") as e:
        one_role_per_key({"analyst": {"k-same": "workshop"}, "admin": {"k-same": "ops"}})
    assert "k-same" not in str(e.value)
    with pytest.raises(CredentialsError) as e:
        bootstrap(TrackerSettings(**NOWHERE, analyst_keys="workshop:twice-used-key",
                                  admin_keys="ops:twice-used-key"))
    assert "twice-used-key" not in str(e.value)


def test_the_reads_of_a_body_are_stages_of_its_timeline_in_time_order():
    fields = {"submitted": json.dumps({"at": "2026-01-01T00:00:00+00:00", "lane": "standard"}),
              "handoff:icac-wa": json.dumps({"at": "2026-01-01T00:00:02+00:00",
                                             "why": "jurisdiction"})}
    reads = [{"at": "2026-01-01T00:00:03+00:00", "who": "icac-wa", "role": "agency",
              "route": "agency-case", "reason": None, "reportId": 7},
             {"at": "2026-01-01T00:00:01+00:00", "who": "ops", "role": "admin",
              "route": "admin-body", "reason": "legal-process", "reportId": 7}]
    t = timeline(7, fields, reads)
    assert [(s.stage, s.agency) for s in t.stages] == [
        ("submitted", None), ("read", None), ("handoff", "icac-wa"), ("read", "icac-wa")]
    assert t.stages[1].detail == {"who": "ops", "role": "admin", "route": "admin-body",
                                  "reason": "legal-process"}
    assert [h.agency for h in t.handoffs] == ["icac-wa"]  # a read is not a handoff
