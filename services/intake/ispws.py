"""The CyberTipline reporting API, XML over HTTP, under /ispws: an ESP's existing client files into
tipline unchanged (docs/ispws.md).

    GET  /status    credentials check                    POST /fileinfo  <fileDetails> of an upload
    GET  /xsd       the XML Schema of what is accepted   POST /finish    id: file the report
    POST /submit    <report>: opens a report             POST /retract   id: cancel an open report
    POST /upload    id + file: hashes kept, bytes never

HTTP Basic auth (TIPLINE_ISPWS_USERS); every answer carries a Request-ID header; errors are
HTTP 200 with a non-zero responseCode, except bad credentials (401). A finished report becomes
the same FiledReport the JSON API takes and is published the same way.
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from enum import IntEnum
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import ValidationError

from services.intake import domain
from services.intake.deps import Intake, IntakeDeps
from services.intake.open_reports import Refused, UploadedFile
from services.intake.uploads import Form, FormError, TooLarge, read_form
from shared import devkeys
from shared.auth import basic_user
from shared.connect import NotReplicated
from shared.http import REDIS_UNAVAILABLE, RETRY_AFTER_S, read_body
from shared.logging import bound, get_logger
from shared.offload import Busy
from shared.schemas import xml
from shared.schemas.events import ReportSubmitted
from shared.schemas.report import FileDetails, Report
from shared.schemas.xsd import report_xsd

log = get_logger(__name__)

XML_TYPES = ("text/xml", "application/xml")
# What a document may arrive as: clients that post a string with fetch() send text/plain, and the
# body is read as XML whatever it is labelled.
ACCEPTED_TYPES = (*XML_TYPES, "text/plain")


class Code(IntEnum):
    """The response codes the sandbox answers (a subset of the documented, non-exhaustive list)."""

    SUCCESS = 0
    SERVER_ERROR = 1000
    FILE_UPLOAD_FAILED = 1111
    AUTHENTICATION_REQUIRED = 2000
    INVALID_REQUEST = 4000
    VALIDATION_FAILED = 4100
    MALFORMED_XML = 4110
    MALFORMED_FILE = 4200
    REPORT_DOES_NOT_EXIST = 5001
    FILE_DOES_NOT_EXIST = 5002
    REPORT_ALREADY_RETRACTED = 5101
    REPORT_ALREADY_FINISHED = 5102


DESCRIPTIONS = {
    Code.SUCCESS: "Success",
    Code.SERVER_ERROR: "Server error",
    Code.FILE_UPLOAD_FAILED: "File upload failed",
    Code.AUTHENTICATION_REQUIRED: "Authentication required",
    Code.INVALID_REQUEST: "Invalid request",
    Code.VALIDATION_FAILED: "Validation failed",
    Code.MALFORMED_XML: "Malformed XML",
    Code.MALFORMED_FILE: "Malformed file",
    Code.REPORT_DOES_NOT_EXIST: "Report does not exist",
    Code.FILE_DOES_NOT_EXIST: "File does not exist",
    Code.REPORT_ALREADY_RETRACTED: "Report already retracted",
    Code.REPORT_ALREADY_FINISHED: "Report already finished",
}

# Why the store refused a change, as the code the ESP gets. Another ESP's report does not exist
# for the caller: its id tells nothing.
REFUSALS = {
    "missing": (Code.REPORT_DOES_NOT_EXIST, None),
    "expired": (Code.REPORT_DOES_NOT_EXIST, "it expired unfinished"),
    "finished": (Code.REPORT_ALREADY_FINISHED, None),
    "retracted": (Code.REPORT_ALREADY_RETRACTED, None),
    "nofile": (Code.FILE_DOES_NOT_EXIST, "no such file was uploaded to this report"),
    "full": (Code.INVALID_REQUEST, "the report has as many files as it may"),
}


class Answer(Exception):
    """Ends a request with a response document: `code`, what went wrong, and the report the
    request named, when it named one that could be read."""

    def __init__(self, code: Code, detail: str | None = None, status: int = 200,
                 headers: dict[str, str] | None = None, report_id: int | None = None) -> None:
        super().__init__(detail or DESCRIPTIONS[code])
        self.code, self.detail, self.status = code, detail, status
        self.headers = headers or {}
        self.report_id = report_id


def report_response(code: Code, detail: str | None = None, report_id: int | None = None,
                    file_id: str | None = None, md5: str | None = None) -> bytes:
    """The documented `<reportResponse>`: responseCode, responseDescription, then reportId,
    fileId and hash when there are any, in that order and nothing else."""
    description = DESCRIPTIONS[code] + (f": {detail}" if detail else "")
    return xml.document("reportResponse", [
        ("responseCode", int(code)), ("responseDescription", description),
        ("reportId", report_id), ("fileId", file_id), ("hash", md5)])


def report_done_response(code: Code, report_id: int, file_ids: list[str]) -> bytes:
    """The documented `<reportDoneResponse>`: responseCode, reportId, files (each fileId), and
    nothing else. /finish answers every outcome for a report id it could read in this shape, which
    has no description: the log line of its Request-ID says what went wrong."""
    return xml.document("reportDoneResponse", [
        ("responseCode", int(code)), ("reportId", report_id),
        ("files", [("fileId", file_id) for file_id in file_ids])])


class IspwsRoute(APIRoute):
    """Every answer of the protocol: a Request-ID header, errors as documents (HTTP 200 but for
    credentials), Redis away or an unexpected failure as 1000, nothing else leaking out."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()
        done = self.name in DONE_ROUTES

        async def route(request: Request) -> Response:
            request_id = uuid.uuid4().hex
            request.state.request_id = request_id
            with bound(request_id=request_id):
                try:
                    response = await handle(request)
                except Answer as answer:
                    response = _answer_response(answer, done, request)
                except HTTPException as exc:  # credentials not even decodable, or the shared
                    # body reader's 413/415/408/400
                    response = _answer_response(
                        UNAUTHENTICATED if exc.status_code == 401 else
                        Answer(Code.INVALID_REQUEST, str(exc.detail)), done, request)
                except Busy as exc:
                    response = _answer_response(Answer(
                        Code.SERVER_ERROR, f"intake is busy: {exc}",
                        headers={"Retry-After": str(RETRY_AFTER_S)}), done, request)
                except NotReplicated as exc:
                    response = _answer_response(Answer(
                        Code.SERVER_ERROR, f"the report is filed, on one Redis node but not "
                        f"yet on its replicas ({exc}): it is kept, and finishing it again "
                        "answers that it is finished",
                        headers={"Retry-After": str(RETRY_AFTER_S)}), done, request)
                except REDIS_UNAVAILABLE:
                    response = _answer_response(Answer(
                        Code.SERVER_ERROR, "storage unavailable; nothing was done, retry later",
                        headers={"Retry-After": str(RETRY_AFTER_S)}), done, request)
                except Exception:
                    log.exception("ispws request failed", path=request.url.path)
                    response = _answer_response(Answer(Code.SERVER_ERROR), done, request)
            response.headers["Request-ID"] = request_id
            return response

        return route


# The endpoints whose every answer for a readable report id is a `<reportDoneResponse>`.
DONE_ROUTES = {"finish"}


def _answer_response(answer: Answer, done: bool, request: Request) -> Response:
    """An error as its document. The report the request named (read by `_report_id`, or from a
    `<fileDetails>`) is in it; a /finish error is a `<reportDoneResponse>` when there is one."""
    report_id = answer.report_id or getattr(request.state, "report_id", None)
    if done and report_id is not None:
        log.info("finish refused", code=int(answer.code), reason=str(answer))
        document = report_done_response(answer.code, report_id, [])
    else:
        document = report_response(answer.code, answer.detail, report_id)
    return Response(document, status_code=answer.status, media_type="text/xml",
                    headers=answer.headers)


def _ok(document: bytes) -> Response:
    return Response(document, media_type="text/xml")


# ---- credentials ----

basic = HTTPBasic(auto_error=False, scheme_name="EspBasic", description=(
    "An ESP's user and password for the XML reporting API (TIPLINE_ISPWS_USERS); the development "
    f"pair is `{devkeys.ESP}` / `{devkeys.ISPWS_PASSWORD}`."))


UNAUTHENTICATED = Answer(Code.AUTHENTICATION_REQUIRED, "a valid user and password (HTTP Basic) "
                         "are required", status=401,
                         headers={"WWW-Authenticate": 'Basic realm="tipline reporting API"'})


async def current_esp(request: Request, intake: IntakeDeps,
                      _credentials: HTTPBasicCredentials | None = Depends(basic)) -> str:
    """The ESP whose user and password these are (compared in constant time), or 401; for
    synthetic load (the Tipline-Load header, as with the JSON API) the load profile's ESP."""
    esp = basic_user(intake.ispws_users, request.headers.get("authorization"))
    if esp is None:
        raise UNAUTHENTICATED
    try:
        return intake.filing_esp(esp, request.headers.get("tipline-load"))
    except ValueError as exc:
        raise Answer(Code.INVALID_REQUEST, str(exc)) from None


Esp = Annotated[str, Depends(current_esp)]

# ---- documents ----

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A response document; a non-zero responseCode is an error.",
          "content": {"text/xml": {"schema": {"type": "string"}}}},
    401: {"description": "No credentials, or wrong ones (responseCode 2000).",
          "content": {"text/xml": {"schema": {"type": "string"}}}},
}


def _xml_body(root: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        media: {"schema": {"type": "string", "description": f"A <{root}> document (see /xsd)."}}
        for media in XML_TYPES}}}


def _form_body(*, file: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": {"type": "string", "description": "The report id."}}
    if file:
        properties["file"] = {"type": "string", "format": "binary"}
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    content = {"multipart/form-data": {"schema": schema}}
    if not file:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"requestBody": {"required": True, "content": content}}


router = APIRouter(prefix="/ispws", tags=["CyberTipline reporting API (XML)"],
                   route_class=IspwsRoute, responses=RESPONSES)


def _refused(refusal: Refused) -> Answer:
    code, detail = REFUSALS[refusal.state]
    return Answer(code, detail)


async def _read_document(request: Request, intake: Intake, model: type, root: str) -> Any:
    """The request's XML document (bounded in size and time) read as `model` off the event loop:
    4110 or 4100."""
    settings = intake.settings
    data = await read_body(request, settings.max_body_bytes, settings.http_body_timeout_s,
                           ACCEPTED_TYPES)
    try:
        return await intake.checks.run(xml.read, data, model, root)
    except xml.MalformedXml as exc:
        raise Answer(Code.MALFORMED_XML, str(exc)) from None
    except xml.InvalidDocument as exc:
        raise Answer(Code.VALIDATION_FAILED, str(exc)) from None


def _report_id(request: Request, form: Form) -> int:
    """The form's report id; kept on the request, so that an error answer names it."""
    text = form.fields.get("id", "").strip()
    if not text.isdigit() or not 0 < int(text) < 10**15:
        raise Answer(Code.INVALID_REQUEST, "form field 'id' must be a report id")
    request.state.report_id = int(text)
    return int(text)


async def _form(request: Request, intake: Intake) -> Form:
    try:
        return await read_form(request, timeout_s=intake.settings.http_body_timeout_s)
    except FormError as exc:
        raise Answer(Code.INVALID_REQUEST, str(exc)) from None


# ---- endpoints ----

@router.get("/status", summary="Check connectivity and credentials (responseCode 0).",
            response_class=Response)
async def status(esp: Esp) -> Response:
    return _ok(report_response(Code.SUCCESS))


@cache
def _xsd() -> bytes:
    return report_xsd().encode()


@router.get("/xsd", summary="The XML Schema of the <report> and <fileDetails> documents accepted.",
            response_class=Response,
            responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}})
async def schema_document(esp: Esp) -> Response:
    return Response(_xsd(), media_type="application/xml")


@router.post("/submit", summary="Open a report from a <report> document; nothing is forwarded "
             "until /finish.", response_class=Response, openapi_extra=_xml_body("report"))
async def submit(request: Request, intake: IntakeDeps, esp: Esp) -> Response:
    report: Report = await _read_document(request, intake, Report, "report")
    report_id = await intake.open_reports.open(esp, report, intake.clock.now())
    with bound(report_id=report_id):
        log.info("report opened", esp=esp)
    return _ok(report_response(Code.SUCCESS, report_id=report_id))


@router.post("/upload", summary="Upload a file of an open report: its hashes and size are kept, "
             "its bytes never.", response_class=Response, openapi_extra=_form_body(file=True))
async def upload(request: Request, intake: IntakeDeps, esp: Esp) -> Response:
    settings = intake.settings
    try:
        form = await read_form(request, "file", settings.ispws_max_file_bytes,
                               settings.ispws_upload_timeout_s)
    except TooLarge as exc:
        raise Answer(Code.FILE_UPLOAD_FAILED, str(exc)) from None
    except FormError as exc:
        raise Answer(Code.INVALID_REQUEST, str(exc)) from None
    report_id = _report_id(request, form)
    if form.upload is None or not form.upload.complete:
        raise Answer(Code.FILE_UPLOAD_FAILED, "the form holds no complete 'file' part")
    if form.upload.size == 0:
        raise Answer(Code.MALFORMED_FILE, "the file is empty")
    hashes = form.upload.hashes()
    file = UploadedFile(file_id=uuid.uuid4().hex, seq=time.time_ns(), size=form.upload.size,
                        md5=hashes["MD5"], sha1=hashes["SHA1"], sha256=hashes["SHA256"])
    try:
        await intake.open_reports.add_file(esp, report_id, file, intake.clock.now())
    except Refused as refusal:
        raise _refused(refusal) from None
    with bound(report_id=report_id):
        log.info("file uploaded", esp=esp, file_id=file.file_id, size=file.size)
    return _ok(report_response(Code.SUCCESS, report_id=report_id, file_id=file.file_id,
                               md5=file.md5))


@router.post("/fileinfo", summary="Attach a <fileDetails> document to an uploaded file of an open "
             "report.", response_class=Response, openapi_extra=_xml_body("fileDetails"))
async def fileinfo(request: Request, intake: IntakeDeps, esp: Esp) -> Response:
    details: FileDetails = await _read_document(request, intake, FileDetails, "fileDetails")
    assert details.report_id is not None and details.file_id is not None  # the XSD requires them
    request.state.report_id = details.report_id
    store = intake.open_reports
    try:
        opened = await store.read(esp, details.report_id, intake.clock.now())
        uploaded = next((f for f in opened.files if f.file_id == details.file_id), None)
        if uploaded is None:
            raise Refused("nofile")
        await store.attach(esp, details.report_id,
                           replace(uploaded, details=details), intake.clock.now())
    except Refused as refusal:
        raise _refused(refusal) from None
    return _ok(report_response(Code.SUCCESS, report_id=details.report_id,
                               file_id=details.file_id))


@router.post("/finish", summary="File an open report with its files: it enters the pipeline.",
             response_class=Response, openapi_extra=_form_body())
async def finish(request: Request, intake: IntakeDeps, esp: Esp) -> Response:
    report_id = _report_id(request, await _form(request, intake))
    store = intake.open_reports
    for _ in range(5):  # a change between reading and finishing: read again
        try:
            opened = await store.read(esp, report_id, intake.clock.now())
            try:
                filed = intake.as_filed(esp, domain.filed_report(opened.report, [
                    (f.file_id, f.details, {"MD5": f.md5, "SHA1": f.sha1, "SHA256": f.sha256})
                    for f in opened.files]))
            except ValidationError as exc:
                raise Answer(Code.VALIDATION_FAILED, "; ".join(
                    f"{'/'.join(map(str, e['loc']))}: {e['msg']}"
                    for e in exc.errors(include_url=False, include_input=False)[:20])) from None
            lane = domain.lane_for(filed)
            if await intake.backlogs.over_bound({lane}):
                raise Answer(Code.SERVER_ERROR, f"the {lane} lane is full; the report stays open, "
                             "retry later", headers={"Retry-After": str(RETRY_AFTER_S)})
            event = ReportSubmitted(report_id=report_id, producer="intake", esp=esp, lane=lane)
            await store.finish(opened, filed, event, intake.clock.now())
        except Refused as refusal:
            if refusal.state == "changed":
                continue
            raise _refused(refusal) from None
        with bound(report_id=report_id, event_id=event.event_id):
            log.info("report accepted", esp=esp, lane=lane, files=len(filed.files), api="xml")
        return _ok(report_done_response(Code.SUCCESS, report_id,
                                        [f.file_id for f in opened.files]))
    raise Answer(Code.SERVER_ERROR, "the report kept changing while it was being finished")


@router.post("/retract", summary="Cancel an open report: nothing of it is forwarded.",
             response_class=Response, openapi_extra=_form_body())
async def retract(request: Request, intake: IntakeDeps, esp: Esp) -> Response:
    report_id = _report_id(request, await _form(request, intake))
    try:
        await intake.open_reports.retract(esp, report_id, intake.clock.now())
    except Refused as refusal:
        raise _refused(refusal) from None
    with bound(report_id=report_id):
        log.info("report retracted", esp=esp)
    return _ok(report_response(Code.SUCCESS, report_id=report_id))


