"""Reading multipart uploads with limits, and the registry of routes that accept them.

`read_multipart(request, file_fields={"photos": 5})` streams the body through python-multipart and
returns (text values, {field: [Upload, …]}) without spooling to disk. A file over
settings.upload_max_bytes is refused (TooLarge, 413) as soon as it passes the limit — it is never held
whole; more files than a field allows, a file in a field that takes none, or a malformed body are
Invalid (422). Both errors carry `.values` (the text fields read), so a form can be shown again with
everything else the user typed: after a refusal the rest of the body is still parsed, without keeping
any more file bytes (the body as a whole is capped by BodyLimit, below).

Request bodies are capped at 1 MB by civic.web.middleware.BodyLimit. A route that takes files calls
`allow_uploads(path_pattern, files=N)` at import; BodyLimit then lets a multipart/form-data request to
a matching path carry N × upload_max_bytes plus FORM_OVERHEAD. Every other route, and a url-encoded
request to an upload route, keeps the 1 MB cap.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from civic.config import get_settings
from civic.errors import N_, CivicError, Invalid, TooLarge
from civic.media import rules
from civic.media.schemas import Upload
from civic.web.core import form_dict, read_form

FORM_OVERHEAD = 256 * 1024
MAX_FIELDS = 200
MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class UploadRoute:
    pattern: re.Pattern
    files: int

    def max_body(self, per_file: int) -> int:
        return self.files * per_file + FORM_OVERHEAD


UPLOAD_ROUTES: list[UploadRoute] = []


def allow_uploads(path_pattern: str, files: int) -> None:
    """Let multipart requests to paths matching `path_pattern` (a regex matched whole) carry `files` files."""
    UPLOAD_ROUTES.append(UploadRoute(re.compile(path_pattern), files))


def upload_body_limit(path: str, content_type: str) -> int | None:
    """The body cap for this request when it is a multipart upload to an upload route, else None."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    for route in UPLOAD_ROUTES:
        if route.pattern.fullmatch(path):
            return route.max_body(get_settings().upload_max_bytes)
    return None


class _Refused:
    """The first refusal met while reading; raised when the whole body has been parsed."""

    def __init__(self) -> None:
        self.error: Invalid | TooLarge | None = None

    def set(self, error) -> None:
        if self.error is None:
            self.error = error


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = ""
    data: bytearray = field(default_factory=bytearray)
    dropped: bool = False


@dataclass
class _Reading:
    """The parser's place: the part being read, the header being read, the text fields counted so far."""

    part: _Part = field(default_factory=_Part)
    hname: bytes = b""
    hvalue: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    fields: int = 0


async def read_multipart(request: Request, *, file_fields: dict[str, int],
                         max_bytes: int | None = None) -> tuple[dict[str, str], dict[str, list[Upload]]]:
    """The form's text values and its files by field, within the limits; see the module's docstring."""
    max_bytes = max_bytes or get_settings().upload_max_bytes
    values: dict[str, str] = {}
    files: dict[str, list[Upload]] = {name: [] for name in file_fields}
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        # A url-encoded form (an old client, a test): text values only, no files.

        return form_dict(await read_form(request)), files

    _, params = parse_options_header(ctype)
    boundary = params.get(b"boundary")
    try:
        charset = codecs.lookup(params.get(b"charset", b"utf-8").decode("latin-1")).name
    except LookupError:
        charset = "utf-8"
    refused = _Refused()
    bad_form = Invalid(N_("The form could not be read. Please try again."))
    if not boundary:
        raise bad_form

    state = _Reading()

    def decode(raw: bytes) -> str:
        return raw.decode(charset, errors="replace")

    def on_part_begin() -> None:
        state.part = _Part()
        state.headers = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.hname += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.hvalue += data[start:end]

    def on_header_end() -> None:
        state.headers[state.hname.lower()] = state.hvalue
        state.hname, state.hvalue = b"", b""

    def on_headers_finished() -> None:
        part = state.part
        disposition, options = parse_options_header(state.headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise _Malformed()
        part.name = decode(options[b"name"])
        if b"filename" in options:
            part.filename = decode(options[b"filename"])
            part.content_type = decode(state.headers.get(b"content-type", b""))[:100]
            if part.name not in file_fields:
                refused.set(Invalid(N_("This form does not take files here."), field=part.name))
                part.dropped = True
            elif refused.error is not None:
                part.dropped = True
        else:
            state.fields += 1
            if state.fields > MAX_FIELDS:
                raise _Malformed()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state.part
        if part.dropped:
            return
        part.data.extend(data[start:end])
        if part.filename is None:
            if len(part.data) > MAX_FIELD_BYTES:
                raise _Malformed()
        elif len(part.data) > max_bytes:
            name = rules.clean_filename(part.filename)
            refused.set(TooLarge(rules.TOO_LARGE, field=part.name, name=name, mb=rules.mb(max_bytes)))
            part.dropped = True
            part.data = bytearray()

    def on_part_end() -> None:
        part = state.part
        if part.filename is None:
            if part.name not in file_fields:
                values[part.name] = decode(bytes(part.data))
            return
        if part.dropped or (not part.filename and not part.data):
            return  # a file input left empty sends an empty part without a name
        bucket = files[part.name]
        if len(bucket) >= file_fields[part.name]:
            refused.set(Invalid(rules.TOO_MANY, field=part.name, count=file_fields[part.name]))
            return
        bucket.append(Upload(part.filename, part.content_type, bytes(part.data)))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except _Malformed:
        bad_form.values = values  # type: ignore[attr-defined]
        raise bad_form from None
    except Exception as exc:
        if type(exc).__name__ == "BodyTooLarge":  # the middleware's cap: let it answer 413
            raise
        bad_form.values = values  # type: ignore[attr-defined]
        raise bad_form from exc
    if refused.error is not None:
        error: CivicError = refused.error
        error.values = values  # type: ignore[attr-defined]
        raise error
    return values, files


class _Malformed(Exception):
    pass
