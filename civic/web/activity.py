"""My activity: the items a signed-in person sent, supports, pledged to, commented on, judged or follows,
with what changed since their last visit. An anonymous visitor learns how to sign in and link a household."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from civic import clock
from civic.activity import rules
from civic.activity import service as activity
from civic.db import row_id, run_write
from civic.web import communes
from civic.web.deps import CurrentWeb, Db, PageNumber
from civic.web.views import lookups

router = APIRouter()

PAGE_SIZE = 20


@router.get("/me/activity", response_class=HTMLResponse, name="my_activity")
def my_activity(web: CurrentWeb, db: Db, page: PageNumber = 1):
    viewer = web.viewer
    if viewer.user is None:
        return web.render("resident/activity.html", found=None, reasons=rules.REASONS,
                          headers={"Cache-Control": "no-store"})
    commune = communes.current(web.request, db)
    user_id = row_id(viewer.user)
    now = clock.now()
    since = run_write(lambda session: activity.touch_visit(session, user_id, now))
    found = activity.my_activity(db, row_id(commune), user_id, viewer.household_ids, since,
                                 page=page, page_size=PAGE_SIZE)
    return web.render("resident/activity.html", found=found, reasons=rules.REASONS,
                      look=lookups(db, row_id(commune)), has_household=bool(viewer.household_ids),
                      headers={"Cache-Control": "no-store"})
