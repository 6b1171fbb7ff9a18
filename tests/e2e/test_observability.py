"""/metrics of every real process after a small flood: what each consumer handled equals what was
sent, every consumer group's lag and pending count is back to zero, the gap's figures are there."""

import time
from collections import defaultdict

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from shared.topology import TRIAGE_LANES, Topology
from tests.faults import harness

pytestmark = pytest.mark.e2e


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


def total(samples, name: str, **labels: str) -> float:
    return sum(value for found, value in samples[name]
               if all(found.get(k) == v or (k == "stream" and found.get(k) in v)
                      for k, v in labels.items()))


def drained(metrics: dict) -> bool:
    return all(metrics[name][gauge] and all(value == 0 for _, value in metrics[name][gauge])
               for name in ("triage", "router", "agencies", "tracker")
               for gauge in ("tipline_group_lag", "tipline_group_pending"))


def test_every_service_counts_what_it_handled_and_its_lag_returns_to_zero(tmp_path):
    t = Topology()
    stack = harness.fault_stack(tmp_path)
    try:
        f = harness.flood(stack, n=300, run_id="metrics")
        f.join(120)
        assert f.error is None and len(f.accepted) == 300
        harness.settle(stack, set(f.accepted))
        # the groups' gauges are sampled every few seconds, and the agencies' answers may still be
        # in a batch: read until every group is drained (or the deadline)
        deadline = time.monotonic() + 30
        while True:
            metrics = {name: scrape(stack.url(name)) for name in stack.names}
            if drained(metrics) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        cases = sum(redis.Redis.from_url(stack.redis_url).xlen(t.agency_inbox(a))
                    for a in _agency_ids(stack))
    finally:
        stack.stop()
    submitted = list(t.submitted.values())
    triaged = [t.triaged[lane] for lane in TRIAGE_LANES]
    handled = "tipline_entries_handled_total"
    assert total(metrics["triage"], handled, stream=submitted) == 300
    assert total(metrics["router"], handled, stream=triaged) == 300
    assert total(metrics["tracker"], handled, stream=submitted) == 300
    assert total(metrics["tracker"], handled, stream=triaged) == 300
    assert total(metrics["agencies"], handled) == cases > 0
    for name in ("triage", "router", "agencies", "tracker"):
        lag = metrics[name]["tipline_group_lag"]
        assert lag and all(value == 0 for _, value in lag), (name, lag)
        assert all(value == 0 for _, value in metrics[name]["tipline_group_pending"]), name
        assert total(metrics[name], "tipline_entries_dead_lettered_total") == 0
        assert metrics[name]["tipline_handler_seconds_count"], name
    assert total(metrics["intake"], "tipline_http_requests_total", route="/v1/reports/batch",
                 status="200") == len(range(0, 300, 50))
    assert total(metrics["tracker"], "tipline_gap_submitted") == 300
    assert total(metrics["tracker"], "tipline_gap_forwarded") == cases


def _agency_ids(stack) -> list[str]:
    from pathlib import Path

    from shared.directory import load_directory

    return [a.id for a in load_directory(Path(stack.settings["TIPLINE_DIRECTORY_FILE"])).agencies]
