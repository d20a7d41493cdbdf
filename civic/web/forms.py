"""The one way a form is posted: read → check CSRF → prepare files → parse → service → 303, or the same
page again.

    @router.post("/do/{code}/budget")
    async def add_budget(request: Request, code: ItemCode):
        return await post_form(
            request, BudgetLineForm,
            act=lambda db, web, form, files: impl.add_budget_line(db, items.get_by_code(db, code),
                                                                  web.viewer, form)
                and Done(f"/do/{code}", N_("The budget line was added.")),
            page=lambda state: desk_again(request, code, state))  # the page, rendered inside reading()

- The body is read with limits (url-encoded, or multipart with the files the route allows).
- CSRF is checked against the session before anything else is looked at (403 when it fails).
- Files are checked and processed (decoded, turned, stripped of EXIF, resized) before the writing
  transaction opens, so a slow photo never holds the database's write lock.
- Then the form waits for its turn: on SQLite a worker works on one form at a time (`deps.write_turns`,
  CIVIC_WRITERS), as the database writes one transaction at a time and a second form would only slow the
  one writing. It waits on the event loop, holding no thread. What follows runs in its turn.
- The form is parsed into its schema; bad input re-renders the same page with 422, the values kept and
  each message next to its field.
- A route's `prepare(db, web, form, files)`, when it has one, runs in a read session first: checks and
  work that change nothing, done before the writing transaction so the database's one writer waits for
  as little as possible; it raises as `act` does.
- The service runs in one writing unit of work (retried on a lost race). It returns `Done`: where to go
  and the flash message. `Invalid`, `Conflict`, `TooLarge` and `StorageUnavailable` (the media folder
  cannot be written: 503) re-render the page with their status and message; other errors (403, 404, a
  login needed) go to the error pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from civic.core.inputs import Form
from civic.db import run_write, unit_of_work
from civic.errors import N_, CivicError, Conflict, Invalid, TooLarge
from civic.media import service as media
from civic.media.schemas import FileField, Prepared, Upload
from civic.media.storage import StorageUnavailable
from civic.web.core import Web, read_form
from civic.web.uploads import read_multipart

F = TypeVar("F", bound=Form)

FILES_NOT_KEPT = N_("Your files were not kept: please choose them again.")


@dataclass
class Done:
    """Where a successful post goes, and what the flash message says there."""

    path: str
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "ok"


@dataclass
class FormState:
    """What a page needs to show a refused form again: which form, the values sent, the messages."""

    action: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    status: int = 200

    def context(self) -> dict[str, Any]:
        """The names the templates use."""
        return {"form_action": self.action, "form_values": dict(self.values), "form_errors": self.errors,
                "form_message": self.message}


EMPTY = FormState()

Act = Callable[[Session, Web, Any, dict[str, list[Prepared]]], Done]
Prepare = Callable[[Session, Web, Any, dict[str, list[Prepared]]], None]
Page = Callable[[FormState], Response]


async def read_body(request: Request, files: Mapping[str, FileField] | None = None
                    ) -> tuple[dict[str, Any], dict[str, list[Upload]]]:
    """The form's values (a list where a name repeats) and its files; Invalid/TooLarge carry `.values`."""
    if files:
        values, uploads = await read_multipart(request, file_fields={k: f.most for k, f in files.items()})
        return dict(values), uploads
    form = await read_form(request)
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out, {}


def _flat(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a form shows them again: one text a field, except repeated fields (checkboxes)."""
    return dict(values)


class _ListView(dict):
    """A mapping whose getlist() reads repeated fields, for Form.parse."""

    def getlist(self, key: str) -> list[Any]:
        value = self.get(key)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]


async def post_form(request: Request, schema: type[Form] | None, *, act: Act, page: Page, action: str = "",
                    files: Mapping[str, FileField] | None = None, prepare: Prepare | None = None) -> Response:
    """Handle one form post the way every form in civic is handled (see the module's docstring)."""
    try:
        values, uploads = await read_body(request, files)
    except (Invalid, TooLarge) as exc:
        sent = getattr(exc, "values", None)
        if sent is None:
            raise
        return await run_in_threadpool(_refused, request, page, action, sent, exc)
    early: _Files | None = None
    if any(uploads.values()):  # the slow part, before the form waits for its turn to write
        early = await run_in_threadpool(_files_first, request, values, uploads, files or {})
    async with request.app.state.write_turns:
        return await run_in_threadpool(_handle, request, schema, act, page, action, values, uploads, files,
                                       prepare, early)


@dataclass
class _Files:
    """A form's files, checked and processed before its turn to write: what they became, or why not."""

    prepared: dict[str, list[Prepared]]
    error: Invalid | TooLarge | None = None


def _files_first(request: Request, values: dict[str, Any], uploads: dict[str, list[Upload]],
                 files: Mapping[str, FileField]) -> _Files:
    Web(request).check_csrf(values)  # no file is looked at for a form that fails its CSRF check
    return _prepare_files(uploads, files)


def _prepare_files(uploads: dict[str, list[Upload]], files: Mapping[str, FileField]) -> _Files:
    try:
        return _Files(media.prepare_files(uploads, files))
    except (Invalid, TooLarge) as exc:
        return _Files({}, exc)


def _refused(request: Request, page: Page, action: str, values: Mapping[str, Any], exc: CivicError
             ) -> Response:
    web = Web(request)
    errors = web.field_errors(exc) if isinstance(exc, Invalid) else {}
    if not errors and exc.field:
        errors = {exc.field: web.error_text(exc)}
    return page(FormState(action, _flat(values), errors, web.error_text(exc), exc.status))


def _handle(request: Request, schema: type[Form] | None, act: Act, page: Page, action: str,
            values: dict[str, Any], uploads: dict[str, list[Upload]], files: Mapping[str, FileField] | None,
            prepare: Prepare | None = None, early: _Files | None = None) -> Response:
    web = Web(request)
    web.check_csrf(values)
    # The slow part (decoding, turning, resizing) ran before the form's turn to write (`early`).
    done_files = early if early is not None else _prepare_files(uploads, files or {})
    prepared, file_error = done_files.prepared, done_files.error
    parsed = None
    try:
        if schema is not None:
            parsed = schema.parse(_ListView(values))
    except Invalid as exc:
        errors = web.field_errors(exc)
        if file_error is not None and file_error.field:
            errors.setdefault(file_error.field, web.error_text(file_error))
        elif uploads and files:
            for name in files:
                if uploads.get(name):
                    errors.setdefault(name, web._(FILES_NOT_KEPT))
        return page(FormState(action, _flat(values), errors, web.error_text(exc), exc.status))
    if file_error is not None:
        return _refused(request, page, action, values, file_error)

    def work(db: Session) -> tuple[Web, Done]:
        w = Web(request, db)
        return w, act(db, w, parsed, prepared)

    try:
        if prepare is not None:
            with unit_of_work() as db:
                prepare(db, Web(request, db), parsed, prepared)
        web, done = run_write(work)
    except (Invalid, Conflict, TooLarge, StorageUnavailable) as exc:
        # StorageUnavailable: the media folder cannot be written; the transaction rolled back, and the
        # page comes back with 503 and everything typed (only the files must be chosen again).
        web = Web(request)
        errors = web.field_errors(exc) if isinstance(exc, Invalid) else {}
        if isinstance(exc, Invalid | StorageUnavailable):
            for name in files or {}:
                if uploads.get(name):
                    errors.setdefault(name, web._(FILES_NOT_KEPT))
        return page(FormState(action, _flat(values), errors, web.error_text(exc), exc.status))
    return web.redirect(done.path, done.message, done.kind, **done.params)
