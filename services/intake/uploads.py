"""Reading the forms of the XML reporting API from the request stream.

An upload is hashed as it arrives (MD5, SHA1, SHA256) and counted, and nothing else is kept of it:
no temporary file, no buffer larger than one chunk, never a log line. Form fields other than the
file are small and bounded.
"""

import asyncio
import hashlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

MAX_FIELD_BYTES = 200  # a form field other than the file (a report id)
MAX_PARTS = 8
MAX_FORM_BYTES = 4096  # a form without a file


class FormError(ValueError):
    """The request is not a form this endpoint reads; the message says why."""


class TooLarge(FormError):
    pass


@dataclass
class Upload:
    """What is kept of an uploaded file: its size and hashes."""

    size: int = 0
    complete: bool = False  # its part ended with a boundary: nothing was cut off
    md5: "hashlib._Hash" = field(default_factory=hashlib.md5)
    sha1: "hashlib._Hash" = field(default_factory=hashlib.sha1)
    sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256)

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        self.md5.update(data)
        self.sha1.update(data)
        self.sha256.update(data)

    def hashes(self) -> dict[str, str]:
        return {"MD5": self.md5.hexdigest(), "SHA1": self.sha1.hexdigest(),
                "SHA256": self.sha256.hexdigest()}


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    upload: Upload | None = None


async def read_form(request: Request, file_field: str | None = None, max_file_bytes: int = 0,
                    timeout_s: float = 60) -> Form:
    """The fields of a urlencoded or multipart form; with `file_field`, that part of a multipart
    form hashed as it streams (at most `max_file_bytes`, else TooLarge)."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    try:
        async with asyncio.timeout(timeout_s):
            if media == b"application/x-www-form-urlencoded":
                return await _urlencoded(request)
            if media == b"multipart/form-data" and options.get(b"boundary"):
                return await _multipart(request, options[b"boundary"], file_field, max_file_bytes)
    except TimeoutError:
        raise FormError(f"the form did not arrive within {timeout_s:g}s") from None
    except ClientDisconnect:
        raise FormError("the client went away") from None
    raise FormError("the body must be a form (application/x-www-form-urlencoded or "
                    "multipart/form-data)")


async def _urlencoded(request: Request) -> Form:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise TooLarge(f"the form is over {MAX_FORM_BYTES} bytes")
    try:
        parsed = parse_qs(body.decode("ascii"), strict_parsing=False, max_num_fields=MAX_PARTS)
    except (UnicodeDecodeError, ValueError):
        raise FormError("the form is not valid application/x-www-form-urlencoded") from None
    return Form(fields={k: v[0] for k, v in parsed.items()})


async def _multipart(request: Request, boundary: bytes, file_field: str | None,
                     max_file_bytes: int) -> Form:
    form = Form()
    part: dict[str, object] = {}
    header_field, header_value = bytearray(), bytearray()
    errors: list[FormError] = []

    def on_part_begin() -> None:
        if len(part.get("seen", [])) >= MAX_PARTS:  # type: ignore[arg-type]
            errors.append(FormError(f"more than {MAX_PARTS} parts"))
        part.update(name=None, value=bytearray(), file=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        if bytes(header_field).strip().lower() == b"content-disposition":
            _, params = parse_options_header(bytes(header_value))
            name = params.get(b"name", b"").decode("utf-8", "replace")
            part["name"] = name
            if file_field is not None and name == file_field:
                part["file"] = True
                if form.upload is not None:
                    errors.append(FormError(f"more than one '{file_field}' part"))
                form.upload = Upload()
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if errors:
            return
        if part.get("file"):
            assert form.upload is not None
            form.upload.feed(data[start:end])
            if form.upload.size > max_file_bytes:
                errors.append(TooLarge(f"the file is over the limit of {max_file_bytes} bytes"))
            return
        value = part["value"]
        assert isinstance(value, bytearray)
        value.extend(data[start:end])
        if len(value) > MAX_FIELD_BYTES:
            errors.append(TooLarge(f"form field '{part['name']}' is over {MAX_FIELD_BYTES} bytes"))

    def on_part_end() -> None:
        seen = part.setdefault("seen", [])
        assert isinstance(seen, list)
        seen.append(part.get("name"))
        if part.get("file") and form.upload is not None:
            form.upload.complete = True
        if part.get("name") and not part.get("file"):
            value = part["value"]
            assert isinstance(value, bytearray)
            form.fields[str(part["name"])] = value.decode("utf-8", "replace")

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    async for chunk in request.stream():
        try:
            parser.write(chunk)
        except Exception:  # the parser's own errors: the body is not multipart
            raise FormError("the body is not valid multipart/form-data") from None
        if errors:
            raise errors[0]
    try:
        parser.finalize()
    except Exception:
        raise FormError("the body is not valid multipart/form-data") from None
    if errors:
        raise errors[0]
    return form
