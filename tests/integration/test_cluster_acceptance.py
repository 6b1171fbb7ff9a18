"""Intake on a real Redis Cluster answering only once replicas hold a report
(TIPLINE_ACCEPT_REPLICAS, Redis WAIT): 202 when its replica has it, 503 with Retry-After when
fewer replicas than asked for have it in time, and the report kept, never published twice."""

import pytest
import redis
from redis.crc import key_slot

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from shared.connect import cluster_nodes
from shared.synthetic import synthetic_report
from tests.helpers import ESP, running, stream_events
from tests.integration.test_ispws import Client, code

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_url(cluster_url: str) -> str:
    """Every test here on the cluster: one node has no replica to wait for."""
    return cluster_url


def replica_of(cluster_url: str, key: str) -> redis.Redis:
    """A client of the replica of the master serving `key`, reading (READONLY)."""
    nodes, _, _ = cluster_nodes(cluster_url)
    any_node = redis.Redis(host=nodes[0][0], port=nodes[0][1])
    slot = key_slot(key.encode())
    master = next(m[2].decode() for start, end, m, *_ in any_node.execute_command(
        "CLUSTER", "SLOTS") if start <= slot <= end)
    for line in any_node.execute_command("CLUSTER", "NODES").decode().splitlines():
        _id, address, flags, master_id, *_ = line.split()
        if "slave" in flags and master_id == master:
            host, port = address.split("@")[0].rsplit(":", 1)
            replica = redis.Redis(host=host, port=int(port))
            replica.execute_command("READONLY")
            return replica
    raise AssertionError(f"the master of slot {slot} has no replica")


async def test_a_report_answered_202_is_on_the_replica(make_settings, topology, redis_client,
                                                       cluster_url):
    settings = make_settings(IntakeSettings, accept_replicas=1)
    async with running(create_app(settings)) as client:
        r = await client.post("/v1/reports", json=synthetic_report("referral", 1), headers=ESP)
    assert r.status_code == 202, r.text
    replica = replica_of(cluster_url, topology.submitted["standard"])
    # the replica holds the event and the body when 202 comes (that WAIT is what makes it so is
    # shown by the test with the replica stopped, below)
    assert replica.xlen(topology.submitted["standard"]) == 1
    assert replica.exists(topology.report_body(r.json()["reportId"]))


async def test_fewer_replicas_than_asked_is_503_and_a_retry_publishes_nothing_twice(
        make_settings, topology, redis_client):
    settings = make_settings(IntakeSettings, accept_replicas=2, accept_timeout_ms=100)
    headers = {**ESP, "Idempotency-Key": "one-report"}
    async with running(create_app(settings)) as client:
        first = await client.post("/v1/reports", json=synthetic_report("referral", 1),
                                  headers=headers)
        again = await client.post("/v1/reports", json=synthetic_report("referral", 1),
                                  headers=headers)
    for r in (first, again):
        assert r.status_code == 503 and r.headers["Retry-After"], r.text
        assert "1 of 2 replicas" in r.json()["detail"]
    # kept on the master and its replica, once: the retry found it by its key
    [event] = await stream_events(redis_client, topology.submitted["standard"])
    assert event["esp"] == "example-esp"


async def test_the_xml_api_finishes_only_once_a_replica_holds_the_report(
        make_settings, topology, redis_client, cluster_url):
    from tests.integration.test_ispws import USERS

    for replicas, expected in ((1, 0), (2, 1000)):
        settings = make_settings(IntakeSettings, ispws_users=USERS, accept_replicas=replicas,
                                 accept_timeout_ms=100)
        async with running(create_app(settings)) as http:
            esp = Client(http)
            report_id = await esp.open()
            await esp.upload(report_id, b"synthetic")
            done = await esp.finish(report_id)
        assert code(done) == expected, done.text
        if replicas == 2:
            assert done.headers["Retry-After"]
    replica = replica_of(cluster_url, topology.submitted["standard"])
    events = sum(replica.xlen(s) for s in topology.submitted.values())
    assert events == 2  # each finished report once, the refused answer's too


async def test_a_report_is_not_answered_202_while_its_replica_is_stopped(
        make_settings, topology, redis_client, cluster_url):
    """SIGSTOP the replica: WAIT cannot be answered, so intake answers 503 (the report kept on
    the master); once the replica runs again the retry, by the same key, is answered 202 with the
    same report, published once."""
    import os
    import signal

    replica = replica_of(cluster_url, topology.submitted["standard"])
    pid = int(replica.info("server")["process_id"])
    settings = make_settings(IntakeSettings, accept_replicas=1, accept_timeout_ms=200)
    headers = {**ESP, "Idempotency-Key": "while-stopped"}
    async with running(create_app(settings)) as client:
        os.kill(pid, signal.SIGSTOP)
        try:
            refused = await client.post("/v1/reports", json=synthetic_report("referral", 1),
                                        headers=headers)
        finally:
            os.kill(pid, signal.SIGCONT)
        accepted = await client.post("/v1/reports", json=synthetic_report("referral", 1),
                                     headers=headers)
    assert refused.status_code == 503 and "0 of 1 replicas" in refused.json()["detail"]
    assert accepted.status_code == 202, accepted.text
    [event] = await stream_events(redis_client, topology.submitted["standard"])
    assert event["report_id"] == accepted.json()["reportId"]
