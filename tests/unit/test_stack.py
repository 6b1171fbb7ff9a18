"""The stack helper's pure parts: replicas, their names and ports, masked URLs."""

from pathlib import Path

import pytest

from tipline.stack import Stack, StackError, masked, parse_replicas


def test_replicas_are_parsed_and_each_gets_a_name_and_a_port():
    stack = Stack(Path("/nowhere"), replicas=parse_replicas("triage=2, router=3"))
    assert stack.names == ("tracker", "triage", "triage-2", "router", "router-2", "router-3",
                           "agencies", "intake")
    assert (stack.ports["router"], stack.ports["router-2"], stack.ports["router-3"]) == (
        8003, 8103, 8203)
    env = stack.env("router", 2)
    assert env["TIPLINE_ROUTER_PORT"] == "8103" and env["TIPLINE_INTAKE_PORT"] == "8001"


@pytest.mark.parametrize("spec", ["router", "router=0", "nobody=2", "router=two"])
def test_a_bad_replica_count_is_an_error_naming_it(spec):
    with pytest.raises(StackError, match="--replicas"):
        parse_replicas(spec)


def test_a_redis_password_is_masked():
    assert masked("redis://:s3cret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert masked("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert masked("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001") == (
        "redis+cluster://:***@127.0.0.1:7000,127.0.0.1:7001")
    assert masked("redis://me:pw@host:6379/0") == "redis://me:***@host:6379/0"
