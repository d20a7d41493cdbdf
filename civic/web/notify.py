"""Following an item and hearing about it: the follow page (account, phone with a code, e-mail with a link),
confirming, stopping, the preferences page, and the commune admin's view of messages not delivered.

The status page (public, cached for anonymous visitors) only links here with a "Theo dõi" button; the forms
with their CSRF tokens live on these uncached pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from civic.accounts.service import administered_commune
from civic.config import get_settings
from civic.errors import N_, Conflict
from civic.items import service as items
from civic.items.models import Item
from civic.notify import service as notify
from civic.notify.schemas import (
    FORMS,
    ConfirmCodeForm,
    FollowContactForm,
    PreferencesForm,
    PushForm,
    ResendForm,
)
from civic.web import communes
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, ItemCode, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form

router = APIRouter()
register_forms(*FORMS)

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


# --- the follow page -----------------------------------------------------------------------------------

def _follow_page(web: Web, item: Item, state: FormState = EMPTY) -> HTMLResponse:
    usable = notify.configured()
    following = notify.following(web.session, item, web.viewer.id) is not None
    return web.render("notify/follow.html", status=state.status, headers=PRIVATE, item=item,
                      signed_in=web.viewer.user is not None, following=following,
                      can_sms="sms" in usable, can_email="email" in usable,
                      can_resend=("sms" in usable and item.manage_token_hash is not None
                                  and not item.reporter_id),
                      **state.context())


@router.get("/items/{code}/follow", response_class=HTMLResponse, name="follow_item")
def follow_item(web: CurrentWeb, code: ItemCode):
    return _follow_page(web, items.get_by_code(web.session, code))


@router.post("/items/{code}/manage-link", name="post_resend_manage_link")
async def post_resend_manage_link(request: Request, code: ItemCode):
    def act(db, web: Web, form: ResendForm, files) -> Done:
        item = items.get_by_code(db, code)
        if "sms" not in notify.configured():
            raise Conflict(N_("This site cannot send messages of this kind yet."))
        notify.resend_manage_link(db, item, form.phone or "")
        return Done(f"/items/{item.code}/follow",
                    N_("If this is the phone given with the item, a new manage link is on its way by SMS."))

    return await post_form(request, ResendForm, action="resend", act=act, page=_again(request, code))


def _again(request: Request, code: str):
    def page(state: FormState) -> Response:
        with reading(request) as web:
            return _follow_page(web, items.get_by_code(web.session, code), state)
    return page


@router.post("/items/{code}/follow/account", name="post_follow_account")
async def post_follow_account(request: Request, code: ItemCode):
    def act(db, web: Web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        notify.follow_account(db, item, web.viewer)
        return Done(f"/items/{item.code}", N_("You follow this item: you will hear when it changes."))

    return await post_form(request, None, action="follow_account", act=act, page=_again(request, code))


@router.post("/items/{code}/unfollow", name="post_unfollow")
async def post_unfollow(request: Request, code: ItemCode):
    def act(db, web: Web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        notify.unfollow_account(db, item, web.viewer)
        return Done(f"/items/{item.code}", N_("You no longer follow this item."))

    return await post_form(request, None, action="unfollow", act=act, page=_again(request, code))


@router.post("/items/{code}/follow/contact", name="post_follow_contact")
async def post_follow_contact(request: Request, code: ItemCode):
    def act(db, web: Web, form: FollowContactForm, files) -> Done:
        item = items.get_by_code(db, code)
        row, _secret = notify.start_contact_follow(db, item, form.channel or "", form.address, web.locale)
        if form.channel == "sms":
            return Done(f"/items/{item.code}/follow/{row.id}/code",
                        N_("We sent a code by SMS. Enter it here to start following."))
        return Done(f"/items/{item.code}/follow",
                    N_("We sent a link to your e-mail. Open it to start following."))

    return await post_form(request, FollowContactForm, action="follow_contact", act=act,
                           page=_again(request, code))


def _code_page(web: Web, item: Item, follow_id: int, state: FormState = EMPTY) -> HTMLResponse:
    row = notify.pending_follow(web.session, item, follow_id)
    return web.render("notify/code.html", status=state.status, headers=PRIVATE, item=item, follow_id=row.id,
                      **state.context())


@router.get("/items/{code}/follow/{follow_id}/code", response_class=HTMLResponse, name="follow_code")
def follow_code(web: CurrentWeb, code: ItemCode, follow_id: RowId):
    return _code_page(web, items.get_by_code(web.session, code), follow_id)


@router.post("/items/{code}/follow/{follow_id}/code", name="post_follow_code")
async def post_follow_code(request: Request, code: ItemCode, follow_id: RowId):
    def act(db, web: Web, form: ConfirmCodeForm, files) -> Done:
        item = items.get_by_code(db, code)
        notify.confirm_follow(db, notify.pending_follow(db, item, follow_id), form.code)
        return Done(f"/items/{item.code}", N_("You follow this item: you will hear when it changes."))

    def page(state: FormState) -> Response:
        with reading(request) as web:
            return _code_page(web, items.get_by_code(web.session, code), follow_id, state)

    return await post_form(request, ConfirmCodeForm, action="follow_code", act=act, page=page)


# --- an e-mail address's confirmation link ----------------------------------------------------------

def _confirm_page(web: Web, follow_id: int, token: str, state: FormState = EMPTY) -> HTMLResponse:
    from civic.notify.models import Follow

    row = web.session.get(Follow, follow_id)
    if row is None or row.user_id is not None:
        from civic.errors import NotFound

        raise NotFound(N_("This link is not valid."))
    item = web.session.get(Item, row.item_id)
    return web.render("notify/confirm.html", status=state.status, headers=PRIVATE, item=item,
                      follow_id=follow_id, token=token, **state.context())


@router.get("/notify/confirm/{follow_id}/{token}", response_class=HTMLResponse, name="confirm_follow")
def confirm_follow(web: CurrentWeb, follow_id: RowId, token: str):
    # A GET changes nothing (mail scanners open links): the page has the button that confirms.
    return _confirm_page(web, follow_id, token[:64])


@router.post("/notify/confirm/{follow_id}/{token}", name="post_confirm_follow")
async def post_confirm_follow(request: Request, follow_id: RowId, token: str):
    def act(db, web: Web, form, files) -> Done:
        from civic.notify.models import Follow

        row = db.get(Follow, follow_id)
        if row is None or row.user_id is not None:
            from civic.errors import NotFound

            raise NotFound(N_("This link is not valid."))
        notify.confirm_follow(db, row, token[:64])
        item = db.get(Item, row.item_id)
        return Done(f"/items/{item.code if item else ''}",
                    N_("You follow this item: you will hear when it changes."))

    def page(state: FormState) -> Response:
        with reading(request) as web:
            return _confirm_page(web, follow_id, token[:64], state)

    return await post_form(request, None, action="confirm", act=act, page=page)


# --- stopping ------------------------------------------------------------------------------------------

@router.get("/notify/stop/{token}", response_class=HTMLResponse, name="stop_notifications")
def stop_notifications(web: CurrentWeb, token: str):
    notify.read_stop_token(token)  # 404 for a link that is not ours
    return web.render("notify/stop.html", headers=PRIVATE, token=token)


@router.post("/notify/stop/{token}", name="post_stop_notifications")
async def post_stop_notifications(request: Request, token: str):
    def act(db, web: Web, form, files) -> Done:
        from civic.db import row_id

        notify.stop(db, token, row_id(communes.current(web.request, db)))
        return Done("/", N_("Done: you will receive no more of these messages."))

    def page(state: FormState) -> Response:
        with reading(request) as web:
            return web.render("notify/stop.html", status=state.status, headers=PRIVATE, token=token,
                              **state.context())

    return await post_form(request, None, action="stop", act=act, page=page)


# --- SMS replies: "TU CHOI" -----------------------------------------------------------------------------

@router.post("/notify/sms/received/{secret}", name="sms_received")
async def sms_received(request: Request, secret: str):
    """The SMS gateway app's `sms:received` webhook ({"event", "payload": {"message", "phoneNumber"}}): a
    reply "TU CHOI" stops every message to that phone. Answers 204 to anything well-formed."""
    import hmac as _hmac
    import json as _json

    from starlette.concurrency import run_in_threadpool

    from civic.core.inputs import normalize_phone
    from civic.db import run_write
    from civic.errors import NotFound

    expected = get_settings().sms_webhook_secret
    if not expected or not _hmac.compare_digest(secret.encode(), expected.encode()):
        raise NotFound(N_("This link is not valid."))
    body = await request.body()
    try:
        data = _json.loads(body[:10_000])
        payload = data.get("payload") or {}
        text, phone = str(payload.get("message", ""))[:200], normalize_phone(payload.get("phoneNumber"))
    except (ValueError, AttributeError):
        return Response(status_code=400)
    if data.get("event") != "sms:received" or phone is None:
        return Response(status_code=204)

    def work(db) -> bool:
        from civic.areas.service import default_commune
        from civic.db import row_id

        return notify.stop_by_reply(db, phone, text, row_id(default_commune(db)))

    await run_in_threadpool(run_write, work)
    return Response(status_code=204)


# --- preferences ---------------------------------------------------------------------------------------

def _preferences_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    viewer = require_user(web)
    prefs = notify.preferences(web.session, viewer.id or 0)
    chosen = set(prefs.channels.split(",")) if not prefs.stopped else set()
    values = state.values if state.action == "preferences" else {
        **{c: "on" for c in chosen}, "quiet_from": str(prefs.quiet_from), "quiet_to": str(prefs.quiet_to),
        "digest": "on" if prefs.digest else "", "language": prefs.language}
    usable = notify.configured()
    return web.render("notify/preferences.html", status=state.status, headers=PRIVATE,
                      has_email=bool(viewer.user and viewer.user.email), usable=usable,
                      vapid_key=get_settings().vapid_public_key if "push" in usable else "",
                      channel_names=CHANNEL_NAMES, prefs_values=values,
                      **{**state.context(), "form_values": values})


CHANNEL_NAMES = (("email", N_("E-mail")), ("sms", N_("SMS")), ("push", N_("Notifications on this phone")),
                 ("zalo", N_("Zalo")))


@router.get("/account/notifications", response_class=HTMLResponse, name="notification_preferences")
def notification_preferences(web: CurrentWeb):
    return _preferences_page(web)


@router.post("/account/notifications", name="post_notification_preferences")
async def post_notification_preferences(request: Request):
    def act(db, web: Web, form: PreferencesForm, files) -> Done:
        from civic.db import row_id

        viewer = require_user(web)
        notify.save_preferences(db, viewer, channels_chosen=form.channels, quiet_from=form.quiet_from or 0,
                                quiet_to=form.quiet_to or 0, digest=form.digest,
                                language=form.language or "vi",
                                commune_id=row_id(communes.current(web.request, db)))
        return Done("/account/notifications", N_("Your notification choices were saved."))

    def page(state: FormState) -> Response:
        with reading(request) as web:
            return _preferences_page(web, state)

    return await post_form(request, PreferencesForm, action="preferences", act=act, page=page)


@router.post("/account/notifications/push", name="post_push_subscription")
async def post_push_subscription(request: Request):
    def act(db, web: Web, form: PushForm, files) -> Done:
        from civic.db import row_id

        viewer = require_user(web)
        notify.save_push(db, viewer, form.subscription, row_id(communes.current(web.request, db)))
        return Done("/account/notifications", N_("Notifications are on for this phone."))

    def page(state: FormState) -> Response:
        with reading(request) as web:
            return _preferences_page(web, state)

    return await post_form(request, PushForm, action="push", act=act, page=page)


# --- the commune admin: messages not delivered ---------------------------------------------------------

@router.get("/admin/notifications", response_class=HTMLResponse, name="admin_notifications")
def admin_notifications(web: CurrentWeb):
    viewer = require_user(web)
    commune_id = administered_commune(viewer)
    shown = notify.summary(web.session, commune_id)
    return web.render("notify/admin.html", headers=PRIVATE, counts=shown.counts, problems=shown.problems,
                      usable=sorted(notify.configured()), state_labels=STATE_LABELS)


STATE_LABELS = {"queued": N_("Waiting to be sent"), "sending": N_("Being sent"),
                "held": N_("Held for the daily summary"), "sent": N_("Sent"), "dead": N_("Given up"),
                "no_channel": N_("Not sent: no channel")}
