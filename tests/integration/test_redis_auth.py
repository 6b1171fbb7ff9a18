"""A Redis that asks for a password: services given it work, services without it stop at start-up
with the reason."""

import pytest
from redis.exceptions import AuthenticationError

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from shared.synthetic import synthetic_report
from tests.helpers import ESP, running
from tipline.stack import RedisServer, masked

pytestmark = pytest.mark.integration


@pytest.fixture
def protected(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=False, password="s3cret-pw").start()
    yield server
    server.stop()


async def test_a_service_with_the_password_works(make_settings, topology, protected):
    url = f"redis://127.0.0.1:{protected.port}/0"
    app = create_app(make_settings(IntakeSettings, redis_url=url, redis_password="s3cret-pw"))
    async with running(app) as client:
        r = await client.post("/v1/reports", json=synthetic_report("referral"),
                              headers=ESP)
        ready = await client.get("/readyz")
    assert r.status_code == 202 and ready.status_code == 200


async def test_a_service_without_it_stops_at_start_up(make_settings, protected):
    url = f"redis://127.0.0.1:{protected.port}/0"
    app = create_app(make_settings(IntakeSettings, redis_url=url))
    with pytest.raises(AuthenticationError):
        async with running(app):
            pass


def test_a_password_in_a_url_is_never_printed(protected):
    assert "s3cret-pw" in protected.url
    assert "s3cret-pw" not in masked(protected.url) and "***" in masked(protected.url)
