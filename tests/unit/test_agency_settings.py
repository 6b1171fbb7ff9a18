"""The mock agencies' settings: how long they let their inboxes gather is bounded by their clock."""

from services.agencies.config import AgenciesSettings


def test_the_agencies_linger_at_most_a_tenth_of_a_simulated_hour(monkeypatch):
    monkeypatch.delenv("TIPLINE_LINGER_MS", raising=False)
    assert AgenciesSettings(sim_seconds_per_hour=2.5).linger_ms == 200  # a day in a minute
    # a simulated hour in 50 ms: a case waiting 200 ms in its inbox would wait four hours
    assert AgenciesSettings(sim_seconds_per_hour=0.05).linger_ms == 5
    assert AgenciesSettings(sim_seconds_per_hour=0.05, linger_ms=2).linger_ms == 2
