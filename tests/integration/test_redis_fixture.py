"""The testcontainers path of the Redis fixture, exercised for real when a Docker engine answers."""

import pytest
import redis

from tests.conftest import docker_answers, start_testcontainer

pytestmark = [pytest.mark.integration, pytest.mark.docker]


def test_the_testcontainers_redis_answers_and_keeps_streams():
    if not docker_answers():
        pytest.skip("no Docker engine answers: the testcontainers path cannot run here")
    url, container = start_testcontainer()
    try:
        client = redis.Redis.from_url(url)
        client.xadd("probe", {"data": "{}"})
        assert client.xlen("probe") == 1
        assert client.info("server")["redis_version"].startswith("7.")
    finally:
        container.stop()
