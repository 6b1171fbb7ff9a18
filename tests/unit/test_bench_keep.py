"""`python -m bench --keep`: the phases of an earlier run join this one's results, each saying
when and on what machine it was measured; this run's date and machine stay its own."""

from bench.run import keep_phases


def run(started: str, cpu: str, phases: dict) -> dict:
    return {"started_at": started, "machine": {"cpu": cpu}, "settings": {"reports": 1},
            "phases": phases, "measured_at": {name: started for name in phases}}


def test_kept_phases_say_when_and_where_they_ran():
    earlier = run("2026-11-01T00:00:00+00:00", "AMD EPYC", {"pipeline": {"old": 1},
                                                           "simulate": {"year": 1}})
    now = run("2026-12-01T00:00:00+00:00", "Intel Xeon", {"pipeline": {"new": 1}})
    keep_phases(now, earlier)
    assert now["started_at"] == "2026-12-01T00:00:00+00:00"
    assert now["phases"] == {"pipeline": {"new": 1}, "simulate": {"year": 1}}
    assert now["measured_at"]["simulate"] == "2026-11-01T00:00:00+00:00"
    assert now["kept"] == {"simulate": {"measured_at": "2026-11-01T00:00:00+00:00",
                                        "cpu": "AMD EPYC"}}
    # kept again by a later run on a third machine: still the run that measured it
    later = run("2026-12-02T00:00:00+00:00", "ARM", {"pipeline": {"newer": 1}})
    keep_phases(later, now)
    assert later["kept"]["simulate"]["cpu"] == "AMD EPYC"
