"""Staff sign-in for the /audit pages: session cookie, CSRF, cross-site refusal, throttling.

- The session cookie `evidence_staff` holds the id from `Staff.login` (stored there only as
  a hash). It is HttpOnly, SameSite=Strict, limited to /audit, and Secure except on plain
  http to 127.0.0.1/localhost (local development). Every login makes a new id and ends the
  one the browser had; logout deletes the session on the server, not only the cookie.
- Every form post must come from the bot's own origin (Origin, else Referer; neither is
  refused too) and carry a CSRF token: the session's own, or, for the login form, a random
  pre-session cookie that the form echoes (double submit).
- Failed logins are counted per client and name together, and per client across names
  (the client's address as bot/service/proxies.py settled it), with the rate limiter's
  counters: in Redis when the instances share it, so the limit holds across instances.
  Both are kept as keyed hashes (BOT_SECRET_KEY), so no address or typed name is kept.
  5 failures within 15 minutes: 429 for the rest of the window, even for the right
  password, from that client only: nobody can lock a staff member out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItemPerSecond
from starlette.concurrency import run_in_threadpool

from bot.service.ratelimit import Counters
from bot.staff import NAME

COOKIE = "evidence_staff"
LOGIN_COOKIE = "evidence_staff_login"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_PASSWORD = 1024
WRONG = "Wrong name or password."

login_router = APIRouter()


# -- Responses -------------------------------------------------------------------------


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """An /audit page: autoescaped, never cached."""
    defaults = {"user": None, "site_name": request.app.state.settings.site_name}
    response = request.app.state.templates.TemplateResponse(
        request, f"audit/{template}", defaults | context, status_code=status_code
    )
    response.headers.update(NO_STORE)
    return response


def refusal(request: Request, status_code: int, message: str, user: Any = None) -> HTMLResponse:
    return render(request, "error.html", status_code, message=message, user=user)


def _is_local(request: Request) -> bool:
    return request.url.scheme == "http" and request.url.hostname in LOCAL_HOSTS


def set_cookie(
    response: Response, request: Request, name: str, value: str, path: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=not _is_local(request),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, name: str, path: str) -> None:
    response.delete_cookie(
        name, path=path, secure=not _is_local(request), httponly=True, samesite="strict"
    )


# -- Cross-site refusal and CSRF -------------------------------------------------------


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}:{port}"


def same_origin(request: Request) -> bool:
    """The post comes from one of our own pages (Origin, or else Referer, says so)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return False  # browsers send Origin with every form post: no header, no trust
    return _origin(claimed) == _origin(str(request.base_url))


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and hmac.compare_digest(str(a).encode(), str(b).encode())


# -- Login throttling ------------------------------------------------------------------


class LoginThrottle:
    """Failed logins per client and name together, and per client across names: `limit`
    failures within `window` seconds refuse further tries for the rest of the window.

    A name is never throttled alone, so nobody can lock a staff member out by failing
    with their name. Counted with the chat rate limit's counters: in Redis when several
    instances share it, else in memory; only keyed hashes of names and addresses are kept.
    """

    def __init__(self, counters: Counters, limit: int = 5, window: int = 900) -> None:
        self.counters = counters
        self.item = RateLimitItemPerSecond(limit, window)

    def keys(self, name: str, client: str) -> tuple[str, str]:
        """(this client with this name, this client): keyed hashes."""
        pair = self.counters.digest("login", f"{client}\n{name.strip().lower()[:128]}")
        return pair, self.counters.digest("login-client", client)

    def retry_after(self, keys: tuple[str, ...]) -> int:
        """Seconds until these keys may try again; 0 when they may now."""
        blocked = [k for k in keys if not self.counters.allowed(self.item, k)]
        return max((self.counters.wait(self.item, k) for k in blocked), default=0)

    def failed(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self.counters.hit(self.item, key)

    def succeeded(self, pair_key: str) -> None:
        # Only this name's count is reset: the client's failures for other names still count.
        self.counters.clear(self.item, pair_key)


_throttle_lock = threading.Lock()


def throttle_of(app: FastAPI) -> LoginThrottle:
    with _throttle_lock:
        if not hasattr(app.state, "login_throttle"):
            app.state.login_throttle = LoginThrottle(app.state.counters)
        return app.state.login_throttle


# -- Who is signed in ------------------------------------------------------------------


@dataclass(frozen=True)
class StaffUser:
    name: str
    csrf: str
    session_id: str


def current_staff(request: Request) -> StaffUser | None:
    """The live staff session of this request's cookie (a patient's chat session id, an
    API token or anything else is not one)."""
    session_id = request.cookies.get(COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    found = request.app.state.staff.session(session_id)
    return StaffUser(found.name, found.csrf, session_id) if found else None


def _safe_next(target: str | None) -> str:
    """Only our own /audit pages are followed after login (no open redirect)."""
    bad = ("//", "\\", "..")
    if target and target.startswith("/audit") and not any(b in target for b in bad):
        return target
    return "/audit"


def staff_page(request: Request) -> StaffUser:
    user = current_staff(request)
    if user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status_code=303,
            detail="staff login required",
            headers={"Location": "/audit/login?" + urlencode({"next": _safe_next(here)})},
        )
    return user


def staff_download(request: Request) -> StaffUser:
    user = current_staff(request)
    if user is None:
        raise HTTPException(status_code=401, detail="staff login required", headers=NO_STORE)
    return user


PageUser = Annotated[StaffUser, Depends(staff_page)]
DownloadUser = Annotated[StaffUser, Depends(staff_download)]


def refused_post(request: Request, form: Mapping[str, Any], user: StaffUser) -> Response | None:
    """403 for a cross-site post or a missing or wrong CSRF token; None when it is fine."""
    if not same_origin(request):
        return refusal(request, 403, "Cross-site form posts are refused.", user)
    if not _same(form.get("csrf"), user.csrf):
        return refusal(request, 403, "This form has expired. Reload the page and retry.", user)
    return None


# -- Routes ----------------------------------------------------------------------------


def _login_form(
    request: Request,
    status_code: int = 200,
    error: str | None = None,
    name: str = "",
    next_page: str | None = None,
) -> HTMLResponse:
    """The form; after a failed post, `next_page` is the posted one (the deep link the
    staff member came for is kept through every retry)."""
    token = secrets.token_urlsafe(32)
    next_page = _safe_next(request.query_params.get("next") if next_page is None else next_page)
    response = render(
        request,
        "login.html",
        status_code,
        csrf=token,
        error=error,
        name=name,
        next=next_page,
        signed_in=current_staff(request),
    )
    set_cookie(response, request, LOGIN_COOKIE, token, "/audit/login", max_age=3600)
    return response


@login_router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _login_form(request)


@login_router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    # Argon2 (~90 ms of CPU) and the shared counters (Redis) never run on the event loop.
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: Mapping[str, Any]) -> Response:
    name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
    wanted = str(form.get("next") or "")
    if not same_origin(request):
        return _login_form(request, 403, "Cross-site form posts are refused.", "", wanted)
    if not _same(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        expired = "The login form expired. Please try again."
        return _login_form(request, 403, expired, name, wanted)
    throttle = throttle_of(request.app)
    client = request.client.host if request.client else "unknown"  # see proxies.py
    keys = throttle.keys(name, client)
    wait = throttle.retry_after(keys)
    if wait:
        message = f"Too many failed logins. Try again in {wait // 60 + 1} minutes."
        response = _login_form(request, 429, message, name, wanted)
        response.headers["Retry-After"] = str(wait)
        return response
    staff = request.app.state.staff
    valid = NAME.match(name) and 0 < len(password) <= MAX_PASSWORD
    started = staff.login(name, password) if valid else None
    if started is None:
        throttle.failed(keys)
        return _login_form(request, 401, WRONG, name[:64], wanted)
    throttle.succeeded(keys[0])
    session_id, session = started
    old = request.cookies.get(COOKIE)
    if old:
        staff.logout(old)  # rotation: whatever session this browser had ends here
    request.app.state.audit.event("login", None, {"what": "login"}, actor=session.name)
    response = RedirectResponse(_safe_next(wanted), status_code=303, headers=NO_STORE)
    set_cookie(response, request, COOKIE, session_id, "/audit", max_age=None)
    clear_cookie(response, request, LOGIN_COOKIE, "/audit/login")
    return response


@login_router.post("/logout", response_class=HTMLResponse)
async def logout(request: Request, user: PageUser) -> Response:
    form = await request.form()
    return await run_in_threadpool(_logout, request, form, user)


def _logout(request: Request, form: Mapping[str, Any], user: StaffUser) -> Response:
    refused = refused_post(request, form, user)
    if refused is not None:
        return refused
    request.app.state.staff.logout(user.session_id)
    request.app.state.audit.event("logout", None, {"what": "logout"}, actor=user.name)
    response = RedirectResponse("/audit/login", status_code=303, headers=NO_STORE)
    clear_cookie(response, request, COOKIE, "/audit")
    return response
