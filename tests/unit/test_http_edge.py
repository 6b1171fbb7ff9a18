"""The HTTP edge every service shares: a 405 names every method its path serves; a check that
finds every worker busy is a 503 with Retry-After."""

import httpx
from fastapi import FastAPI

from shared.http import install_error_handlers
from shared.offload import Busy


async def test_a_405_allows_every_method_of_the_path_not_only_its_first_routes():
    app = FastAPI()

    @app.put("/v1/faults/{kind}")
    async def put(kind: str) -> int:
        return 1

    @app.delete("/v1/faults/{kind}")
    async def delete(kind: str) -> int:
        return 1

    @app.get("/v1/faults")
    async def listing() -> int:
        return 1

    install_error_handlers(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        options = await c.options("/v1/faults/slow")
        post = await c.post("/v1/faults")
        missing = await c.get("/v1/nothing")
    assert options.status_code == 405 and options.headers["allow"] == "DELETE, PUT"
    assert post.status_code == 405 and post.headers["allow"] == "GET"
    assert missing.status_code == 404 and "allow" not in missing.headers


async def test_every_checker_busy_is_a_503_with_retry_after():
    app = FastAPI()

    @app.post("/v1/reports/batch")
    async def batch() -> int:
        raise Busy("2 checks in hand and 0 waiting; nothing was done, retry later")

    install_error_handlers(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/v1/reports/batch")
    assert r.status_code == 503 and r.headers["retry-after"] and "retry later" in r.json()["detail"]
