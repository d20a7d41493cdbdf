"""The people's boards: the commune administrator records a board's election, its members and the commune
People's Committee's recognition; everyone sees the recognised boards and their members (public office
holders: names and villages, never phones). Routes decide nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civic import clock
from civic.accounts import service as accounts
from civic.boards import rules
from civic.boards import service as boards
from civic.boards.schemas import (
    FORMS,
    BoardForm,
    BoardJoinForm,
    BoardLeaveForm,
    BoardReplaceForm,
    EndBoardForm,
    MemberForm,
    MemberRefForm,
    RecogniseForm,
)
from civic.db import row_id
from civic.errors import N_, NotFound
from civic.web import communes
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form

router = APIRouter()
register_forms(*FORMS)

LABELS = {"kinds": rules.KINDS, "positions": rules.POSITIONS, "leave_reasons": rules.LEAVE_REASONS,
          "end_reasons": rules.END_REASONS}


def _list_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    commune_id = accounts.administered_commune(require_user(web))
    return web.render("boards/admin_list.html", status=state.status, BOARDS=LABELS,
                      boards=boards.views(web.session, commune_id),
                      kinds=[(k, web._(v)) for k, v in rules.KINDS.items()], today=clock.today_local(),
                      inspection_min=rules.INSPECTION_MIN, investment_max=rules.INVESTMENT_MAX,
                      **state.context())


def _board_page(web: Web, board_id: int, state: FormState = EMPTY) -> HTMLResponse:
    commune_id = accounts.administered_commune(require_user(web))
    found = boards.views(web.session, commune_id, board_id=board_id)
    if not found:
        raise NotFound(N_("This board does not exist."))
    view = found[0]
    board = view.board
    end_reasons = [(k, web._(v)) for k, v in rules.END_REASONS.items()
                   if k != rules.PROJECT_CLOSED or board.kind == rules.INVESTMENT]
    return web.render("boards/admin_board.html", status=state.status, BOARDS=LABELS, view=view,
                      positions=[(k, web._(v)) for k, v in rules.POSITIONS.items()],
                      leave_reasons=[(k, web._(v)) for k, v in rules.LEAVE_REASONS.items()],
                      end_reasons=end_reasons,
                      leaving=[(str(r.member.id), f"{r.name} · {r.village}") for r in view.members],
                      can_change=board.recognised_on is not None and not view.ended,
                      today=clock.today_local(),
                      **state.context())


@router.get("/admin/boards", response_class=HTMLResponse, name="board_admin")
def board_admin(web: CurrentWeb):
    return _list_page(web)


@router.post("/admin/boards")
async def create_board(request: Request):
    def act(db, web: Web, form: BoardForm, files) -> Done:
        require_user(web)
        board = boards.create_board(db, web.viewer, form)
        return Done(f"/admin/boards/{board.id}", N_("The board's election was recorded. Add its members."))

    def again(state: FormState) -> HTMLResponse:
        with reading(request) as web:
            return _list_page(web, state)

    return await post_form(request, BoardForm, action="board", act=act, page=again)


@router.get("/admin/boards/{board_id}", response_class=HTMLResponse, name="board_admin_page")
def board_admin_page(web: CurrentWeb, board_id: RowId):
    return _board_page(web, board_id)


def _board_post(request: Request, board_id: int, action: str, schema, run, message: str):
    def act(db, web: Web, form, files) -> Done:
        require_user(web)
        run(db, web.viewer, board_id, form)
        return Done(f"/admin/boards/{board_id}", message)

    def again(state: FormState) -> HTMLResponse:
        with reading(request) as web:
            return _board_page(web, board_id, state)

    return post_form(request, schema, action=action, act=act, page=again)


@router.post("/admin/boards/{board_id}/member")
async def add_board_member(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "member", MemberForm, boards.add_member,
                             N_("The member was added."))


@router.post("/admin/boards/{board_id}/member/remove")
async def remove_board_member(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "remove", MemberRefForm,
                             lambda db, viewer, bid, form: boards.remove_member(db, viewer, bid,
                                                                                form.target_id),
                             N_("The member was removed."))


@router.post("/admin/boards/{board_id}/recognise")
async def recognise_board(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "recognise", RecogniseForm, boards.recognise,
                             N_("The recognition was recorded: the board acts from that date."))


@router.post("/admin/boards/{board_id}/join")
async def join_board(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "join", BoardJoinForm, boards.join,
                             N_("The new member was recorded: they take office on the date of the decision."))


@router.post("/admin/boards/{board_id}/leave")
async def leave_board(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "leave", BoardLeaveForm, boards.leave,
                             N_("The member's leaving was recorded."))


@router.post("/admin/boards/{board_id}/replace")
async def replace_board_member(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "replace", BoardReplaceForm, boards.replace,
                             N_("The replacement was recorded: it takes effect on the date of the decision."))


@router.post("/admin/boards/{board_id}/end")
async def end_board(request: Request, board_id: RowId):
    return await _board_post(request, board_id, "end", EndBoardForm, boards.end_board,
                             N_("The end of the board was recorded."))


# --- public -----------------------------------------------------------------------------------------------

@router.get("/boards", response_class=HTMLResponse, name="board_list")
def board_list(web: CurrentWeb):
    commune = communes.current(web.request, web.session)
    return web.render("boards/list.html", BOARDS=LABELS, commune=commune,
                      boards=boards.views(web.session, row_id(commune), recognised_only=True))
