"""Glue for server-rendered pages: templates, the per-request context, CSRF, flash messages, forms.

Routes translate HTTP to service calls and render what the services decided; nothing here decides a
business question.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, nodes, select_autoescape
from jinja2.runtime import Context, Macro
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from civic.accounts.service import ANONYMOUS_VIEWER, Viewer, load_session_viewer
from civic.accounts.sessions import SessionPolicy
from civic.config import ROOT, get_settings
from civic.core.inputs import Form
from civic.errors import N_, CivicError, Forbidden, Invalid, Message
from civic.items.rules import fold
from civic.web import i18n
from civic.web.assets import asset_url
from civic.workflow import rules as workflow_rules
from civic.workflow import stages


class _Globals(dict):
    """The environment's globals: adding one (a module imported late) drops the templates loaded before,
    which each hold their own copy (see _Environment)."""

    def __init__(self, environment: Environment, values: dict[str, Any]) -> None:
        super().__init__(values)
        self._environment = environment

    def _changed(self) -> None:
        for environment in (self._environment, *_BY_LOCALE.values()):
            if environment.cache is not None:
                environment.cache.clear()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        value = super().setdefault(key, default)
        self._changed()
        return value


# What a template calls most (civic's functions and methods, Jinja's macros) takes no context: Jinja still
# asks each, on every call, whether it wants one (four attribute lookups), about a fifth of the time of a
# call from a template. Such a call goes straight through; anything else (a callable object, a function
# marked @pass_context) is Jinja's own `call`, unchanged.
_PLAIN_CALLABLES = frozenset({FunctionType, MethodType, BuiltinFunctionType, Macro})


class _Context(Context):
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's own signature)
        if type(__obj) not in _PLAIN_CALLABLES or hasattr(__obj, "jinja_pass_arg"):
            return super().call(__obj, *args, **kwargs)
        if kwargs:  # a call in a loop or a block is given these for a function that takes the context
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Jinja does
            return __self.environment.undefined("value was undefined because a callable raised a"
                                                " StopIteration exception")


class _FoldTranslations(NodeTransformer):
    """`_("Log in")` with nothing but constants is translated when the template is compiled, exactly as
    the page's own gettext would translate it (civic.web.core.make_gettext: catalog text is trusted markup,
    anything else escaped). The result is a constant, which Jinja writes into the template's code as part
    of the text around it. A page has about fifty such calls (the header, the offline outbox's messages,
    each section's headings), each a lookup through the page's context on every request."""

    def __init__(self, locale: str) -> None:
        self.gettext, _ngettext = make_gettext(i18n.translations(locale))

    def visit_Call(self, node: nodes.Call) -> nodes.Node:  # noqa: N802 (Jinja's visitor names)
        self.generic_visit(node)
        if not (isinstance(node.node, nodes.Name) and node.node.name == "_"
                and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        args = [arg.value for arg in node.args if isinstance(arg, nodes.Const)]
        kwargs = {kw.key: kw.value.value for kw in node.kwargs if isinstance(kw.value, nodes.Const)}
        if not args or len(args) != len(node.args) or len(kwargs) != len(node.kwargs):
            return node
        try:
            text = self.gettext(*args, **kwargs)
        except (TypeError, ValueError, KeyError):  # left as it is: the page raises as it always did
            return node
        folded: nodes.Expr = nodes.Const(str(text), lineno=node.lineno)
        return nodes.MarkSafe(folded, lineno=node.lineno) if isinstance(text, Markup) else folded


class _Environment(Environment):
    """Jinja's environment with each template's globals in one plain dict. Jinja keeps them in a ChainMap
    over the environment's; every include and `import … with context` copies them into a new context, and
    copying a ChainMap builds the set of its keys each time: nearly a third of the status page's template
    (0.97 → 0.69 ms, docs/scaling.md).

    An environment for one language (`env_for`) translates constant texts when it compiles a template."""

    context_class = _Context
    locale: str | None = None

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals = _Globals(self, self.globals)

    def make_globals(self, d: Any) -> Any:
        return {**self.globals, **(d or {})}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if self.locale is not None:
            tree = _FoldTranslations(self.locale).visit(tree)
        return tree


env = _Environment(
    loader=FileSystemLoader(str(ROOT / "templates")),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
    cache_size=400,
)
_BY_LOCALE: dict[str, _Environment] = {}


def env_for(locale: str) -> _Environment:
    """The environment whose templates are compiled for one language: the same loader, globals, filters
    and tests as `env`, its own compiled templates."""
    localized = _BY_LOCALE.get(locale)
    if localized is None:
        localized = env.overlay(cache_size=400)
        localized.locale = locale
        _BY_LOCALE[locale] = localized
    return localized


# Text from the catalog is the only text a template may show as markup: the set of message ids is read
# once, at start-up, not on the first page a visitor asks for.
i18n.msgids()

env.globals.update(
    asset=asset_url,
    STRIP=stages.STRIP,
    STAGE_LABELS=stages.STAGE_LABELS,
    STAGE_MOTTO=stages.STAGE_MOTTO,
    STAGE_HINTS=stages.STAGE_HINTS,
    OUTCOME_LABELS=stages.OUTCOME_LABELS,
    KIND_LABELS=stages.KIND_LABELS,
    LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
)
# Lower case without diacritics, as static/count.js folds what is typed: "nguyen" finds "Nguyễn".
env.filters["fold"] = fold


# The signed cookie holds the login's key (the server checks it against user_session on every request)
# and the user's id, which only tells the page cache and the submission form that someone may be signed in.
SESSION_KEY = "sid"
SESSION_USER = "uid"


def session_policy() -> SessionPolicy:
    settings = get_settings()
    return SessionPolicy(lifetime=timedelta(hours=settings.session_lifetime_hours),
                         staff_lifetime=timedelta(hours=settings.staff_session_hours),
                         idle=timedelta(minutes=settings.session_idle_minutes))


# Pages a phone keeps a copy of once opened (see Web.offline_savable and civic/web/offline.py).
OFFLINE_SAVABLE = re.compile(r"^/(items(/[A-Za-z0-9-]+)?|submit)?$")

# The page being rendered, so that macros imported without context can translate and format.
_current: ContextVar[Web] = ContextVar("civic_web")


def _g(name: str):
    def call(*args: Any, **kwargs: Any):
        return getattr(_current.get(), name)(*args, **kwargs)

    call.__name__ = name
    return call


env.globals.update(
    _=_g("gettext"),
    ngettext=_g("ngettext"),
    fmt_dt=_g("fmt_dt"),
    fmt_date=_g("fmt_date"),
    fmt_num=_g("fmt_num"),
    csrf_token=lambda: _current.get().csrf_token,
    lang=lambda: _current.get().locale,
    url=lambda path, **query: Web.url(path, **query),
    # Behind a commune prefix (/c/NS/…, civic/web/communes.py) the root_path carries it: links stay there.
    url_for=lambda route, /, **params: (_current.get().request.scope.get("root_path", "")
                                        + path_for(_current.get().request.app, route, **params)),
    root=lambda: _current.get().request.scope.get("root_path", ""),
    site_name=lambda: i18n.site_name(_current.get().request, _current.get().db),
    limit=lambda form, name: FORMS[form].limits()[name],
)

# State of an item as templates ask it ({% if item.stage is closed %}), decided by the workflow rules.
env.tests.update(closed=workflow_rules.is_closed, awaiting_triage=workflow_rules.awaits_triage)

# Paths of the named routes, as format strings: Starlette's url_path_for walks every route (about 36 µs),
# which a list of 20 items would pay 20 times; the table is the same for every app this code builds.
_PATHS: dict[str, str] = {}


def _route_paths(routes: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out.update({k: v for k, v in _route_paths(inner.routes).items() if k not in out})
        elif getattr(route, "path_format", None) and route.name not in out:
            out[route.name] = route.path_format
    return out


def path_for(app: Any, route: str, /, **params: Any) -> str:
    """The path of a named route: {{ url_for("item_status", code=item.code) }}."""
    if not _PATHS:
        _PATHS.update(_route_paths(app.routes))
    return _PATHS[route].format(**{k: quote(str(v), safe="-._~") for k, v in params.items()})


# Forms whose limits templates read: {{ limit("RedirectForm", "destination").max }}.
FORMS: dict[str, type[Form]] = {}


def register_forms(*forms: type[Form]) -> None:
    for form in forms:
        FORMS[form.__name__] = form


def session_csrf(request: Request) -> str:
    """The browser session's CSRF token, made the first time a page needs one."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def make_gettext(translations, known: frozenset[str] | None = None
                 ) -> tuple[Callable[..., str], Callable[..., str]]:
    """Translation functions for templates. A message of the catalog (`known`, by default the msgids of
    locales/messages.pot) is translated and trusted as markup; its interpolated values are escaped. Any
    other text (a checklist entry a supervisor typed, a label stored in the database) is user text: shown
    as it is, escaped, never as markup (OWASP ASVS 5.3.1 and 5.3.3: output encoding, no stored XSS)."""
    catalog = i18n.msgids() if known is None else known

    def user_text(text: str, params: dict[str, Any]) -> str:
        escaped = escape(text)
        if not params:
            return escaped
        try:  # a message id the catalog does not have yet: its values are escaped all the same
            return escaped % params
        except (KeyError, TypeError, ValueError):
            return escaped

    def gettext(message: str, **params: Any) -> str:
        if not message:  # gettext("") is the catalog header
            return Markup("")
        if not isinstance(message, str) or message not in catalog:
            return user_text(str(message), params)
        text = Markup(translations.gettext(message))
        return text % params if params else text

    def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
        params.setdefault("num", n)
        if singular not in catalog or plural not in catalog:
            return user_text(singular if n == 1 else plural, params)
        text = Markup(translations.ngettext(singular, plural, n))
        return text % params

    return gettext, ngettext


class Web:
    """What a page needs to know about its request: language, viewer, CSRF token, flash messages."""

    def __init__(self, request: Request, session: Session | None = None, *, load_user: bool = True):
        self.request: Request = request
        self.db: Session | None = session
        self.locale: str = i18n.pick_locale(request.cookies.get(i18n.COOKIE),
                                            request.query_params.get("lang"))
        self.translations = i18n.translations(self.locale)
        self.gettext, self.ngettext = make_gettext(self.translations)
        self.viewer: Viewer = ANONYMOUS_VIEWER
        key = request.session.get(SESSION_KEY) if "session" in request.scope else None
        if session is not None and load_user and key:
            self.viewer = load_session_viewer(session, key, session_policy())
            if self.viewer.user is None:  # ended, expired or idle: forget it, the browser is anonymous now
                request.session.pop(SESSION_KEY, None)
                request.session.pop(SESSION_USER, None)

    @property
    def session(self) -> Session:
        """The request's read session: every page gets one (from the dependencies, or deps.reading())."""
        if self.db is None:
            raise RuntimeError("this page was built without a session")
        return self.db

    # -- language ------------------------------------------------------------------------------------
    def _(self, message: str, **params: Any) -> str:
        if not message:
            return ""
        text = self.translations.gettext(message)
        return text % params if params else text

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Error parameters that are messages themselves (a stage's label) are shown translated too."""
        return {k: self._(v) if isinstance(v, str) else v for k, v in params.items()}

    def error_text(self, exc: CivicError) -> str:
        return self._(exc.message, **self._params(exc.params))

    def field_errors(self, exc: Invalid) -> dict[str, str]:
        params = self._params(exc.params)
        return {field: self._(msg, **(self._params(msg.params) if isinstance(msg, Message) else params))
                for field, msg in exc.errors.items()}

    def fmt_dt(self, value, fmt: str = "short") -> str:
        return i18n.fmt_datetime(value, self.locale, fmt)

    def fmt_date(self, value) -> str:
        return i18n.fmt_date(value, self.locale)

    def fmt_num(self, value) -> str:
        return i18n.fmt_number(value, self.locale)

    # -- CSRF ----------------------------------------------------------------------------------------
    # A form page kept with holes (pagecache.keep_form) is rendered with this in place of the token.
    csrf_hole: str | None = None

    @property
    def csrf_token(self) -> str:
        if self.csrf_hole is not None:
            return self.csrf_hole
        return session_csrf(self.request)

    def check_csrf(self, form: FormData | dict) -> None:
        sent = str(form.get("csrf_token") or "")
        expected = self.request.session.get("csrf") or ""
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            raise Forbidden(N_("This form has expired or did not come from this site. "
                               "Please go back, reload the page and send it again."))

    # -- flash ---------------------------------------------------------------------------------------
    def flash(self, message: str, kind: str = "ok", **params: Any) -> None:
        messages = list(self.request.session.get("flash", []))
        messages.append({"kind": kind, "text": self._(message, **params)})
        self.request.session["flash"] = messages[-5:]

    def pop_flash(self) -> list[dict[str, str]]:
        if "flash" not in self.request.session:
            return []
        return self.request.session.pop("flash")

    @property
    def offline_savable(self) -> bool:
        """May a phone keep a copy of this page for reading without signal (static/sw.js)? The public pages
        a resident follows and the submission form; never a page for staff, who see residents' contacts."""
        viewer = self.viewer
        if viewer.is_village_head or viewer.is_supervisor or viewer.is_admin:
            return False
        return bool(OFFLINE_SAVABLE.match(self.request.url.path))

    # -- responses -----------------------------------------------------------------------------------
    def context(self, **values: Any) -> dict[str, Any]:
        ctx = {
            "request": self.request,
            "web": self,
            "locale": self.locale,
            "viewer": self.viewer,
            "path": self.request.url.path,
            "forget_saved": self.request.session.pop("forget_saved", False) if "session" in self.request.scope
            else False,
        }
        ctx.update(values)
        return ctx

    def render(self, template: str, status: int = 200, headers: dict[str, str] | None = None, **values: Any
               ) -> HTMLResponse:
        token = _current.set(self)
        try:
            page = env_for(self.locale).get_template(template)
            html = page.render(self.context(flash=self.pop_flash(), **values))
        finally:
            _current.reset(token)
        response = HTMLResponse(html, status_code=status, headers=headers)
        response.headers.setdefault("Content-Language", self.locale)
        return response

    def redirect(self, path: str, message: str | None = None, kind: str = "ok", **params: Any
                 ) -> RedirectResponse:
        if message:
            self.flash(message, kind, **params)
        return RedirectResponse(path, status_code=303)

    @staticmethod
    def url(path: str, **query: Any) -> str:
        clean = {k: v for k, v in query.items() if v not in (None, "", 0)}
        return f"{path}?{urlencode(clean)}" if clean else path


def require_user(web: Web, next_path: str | None = None) -> Viewer:
    if web.viewer.user is None:
        raise LoginRequired(next_path or web.request.url.path)
    return web.viewer


class LoginRequired(CivicError):
    status = 401

    def __init__(self, next_path: str):
        super().__init__(N_("Please log in first."))
        self.next_path = next_path


async def read_form(request: Request) -> FormData:
    """The submitted form, with limits; a malformed body is bad input, not a crash."""
    try:
        return await request.form(max_files=0, max_fields=200)
    except Exception as exc:  # multipart errors, bad encodings
        raise Invalid(N_("The form could not be read. Please try again.")) from exc


def form_dict(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}

