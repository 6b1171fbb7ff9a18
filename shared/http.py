"""The HTTP edge every service shares: bounded request bodies, capped validation answers, 503 when
Redis is away, and the error documents the OpenAPI documents declare."""

import asyncio
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Route

from shared.connect import CLUSTER_UNAVAILABLE, NotReplicated
from shared.offload import Busy

# Redis away, restarting or still loading its append-only file: the caller should come back.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError,
                     *CLUSTER_UNAVAILABLE)
RETRY_AFTER_S = 2
MAX_ERRORS = 20  # field errors listed per report; the total is always given


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, in words.")


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="Where: the path of the offending field.")
    msg: str
    type: str


class ValidationProblem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    detail: list[FieldError] = Field(description=f"The first {MAX_ERRORS} field errors, never "
                                     "echoing submitted values.")
    error_count: int = Field(alias="errorCount", description="How many errors there were in all.")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The request was abandoned by the client."},
    401: {"model": Problem, "description": "No credential, or a wrong one."},
    403: {"model": Problem, "description": "The credential may not do this."},
    404: {"model": Problem, "description": "No such resource."},
    408: {"model": Problem, "description": "The request body did not arrive in time."},
    409: {"model": Problem, "description": "In conflict with an earlier request."},
    413: {"model": Problem, "description": "The request body is over the size limit."},
    415: {"model": Problem, "description": "The body is not of a type this endpoint takes."},
    422: {"model": ValidationProblem, "description": "Invalid: field errors, nothing done."},
    503: {"model": Problem, "description": "Redis is unavailable or the lane is full: nothing was "
          "done; retry after the Retry-After seconds."},
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}


def field_errors(exc: ValidationError | RequestValidationError, limit: int = MAX_ERRORS
                 ) -> dict[str, Any]:
    """The first `limit` errors (where and why, never the submitted values) and how many in all."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
    else:
        errors = list(exc.errors())
    return {"detail": [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                       for e in errors[:limit]],
            "errorCount": len(errors)}


def unavailable(detail: str = "Redis is unavailable; nothing was done") -> HTTPException:
    return HTTPException(status_code=503, detail=detail,
                         headers={"Retry-After": str(RETRY_AFTER_S)})


async def read_body(request: Request, limit: int, timeout_s: float,
                    media_types: tuple[str, ...] = ("application/json",)) -> bytes:
    """The request body: of an accepted media type (415), at most `limit` bytes (413), received
    within `timeout_s` (408). A client that goes away mid-upload ends the request quietly (400)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in media_types:
        raise HTTPException(status_code=415, detail=f"Content-Type must be {' or '.join(media_types)}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
    except TimeoutError:
        raise HTTPException(status_code=408, detail=f"request body not received within "
                            f"{timeout_s:g}s") from None
    except ClientDisconnect:
        raise HTTPException(status_code=400, detail="the client went away") from None
    return bytes(body)


def allowed(request: Request) -> list[str]:
    """Every method some route serves at the request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and isinstance(route, Route | APIRoute) and route.methods:
            methods |= route.methods
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Parameter errors answer like body errors (capped, values never echoed); Redis away and
    every checker busy (shared.offload) are a 503 with Retry-After, never a 500."""

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(status_code=422, content=field_errors(exc))

    async def redis_away(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                            content={"detail": "Redis is unavailable; nothing was done"})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:  # Allow names every method of the path, not its first route's
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed(request))}
        return await http_exception_handler(request, exc)

    async def busy(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                            content={"detail": f"busy: {exc}"})

    async def not_replicated(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                            content={"detail": f"the report is held by one Redis node but not "
                                     f"yet by its replicas ({exc}); retry with the same "
                                     "Idempotency-Key, which answers with it once a replica "
                                     "holds it (without one, a retry files it again)"})

    app.add_exception_handler(NotReplicated, not_replicated)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(RequestValidationError, invalid)
    for error in REDIS_UNAVAILABLE:
        app.add_exception_handler(error, redis_away)


def document_schemas(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put models that bodies refer to (read by hand, not by FastAPI) into the OpenAPI components."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                                   description=app.description)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                                 by_alias=True)
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
