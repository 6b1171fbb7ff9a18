"""The live dashboard, served by the tracker: a sign-in form (an analyst key becomes a session
cookie), then one page that reads the tracker's own API every second. Its script, style and
charts ship with the package: nothing is built, nothing is fetched from elsewhere. A page asked
for before signing in (a report's, an agency's, `?projector`) is the one shown after."""

import html
import re
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from services.tracker.deps import Tracker
from shared import devkeys
from shared.auth import SESSION_COOKIE, SESSION_HOURS, session_name, session_token
from shared.http import read_body
from shared.service import dependency

STATIC = Path(__file__).parent / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_tracker = dependency(Tracker)


def _signed_in(request: Request) -> bool:
    tracker = _tracker(request)
    return session_name(tracker.readers, request.cookies.get(SESSION_COOKIE),
                        tracker.clock.now()) is not None


# Where sign-in may lead: a dashboard page of this tracker (its path and query), nothing else.
_NEXT = re.compile(r"/dashboard(/[A-Za-z0-9._~/-]*)?(\?[A-Za-z0-9._~=&%+-]*)?")


def _next(asked: str | None) -> str:
    return (asked if asked and _NEXT.fullmatch(asked) and "//" not in asked and ".." not in asked
            else "/dashboard")


def _login_page(next_page: str = "/dashboard") -> str:
    return ((STATIC / "login.html").read_text()
            .replace("<!--analyst-key-->", devkeys.ANALYST_KEY)
            .replace("<!--next-->", html.escape(_next(next_page), quote=True)))


def _page(request: Request) -> Response:
    if not _signed_in(request):
        asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return HTMLResponse(_login_page(asked))
    return HTMLResponse((STATIC / "dashboard.html").read_text(),
                        headers={"Cache-Control": "no-store"})


@router.get("")
async def dashboard(request: Request) -> Response:
    return _page(request)


@router.get("/reports/{report_id}")
async def report_page(request: Request, report_id: int) -> Response:
    return _page(request)


@router.get("/agencies/{agency_id}")
async def agency_page(request: Request, agency_id: str) -> Response:
    return _page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    body = await read_body(request, 4096, 10, ("application/x-www-form-urlencoded",))
    form = parse_qs(body.decode(errors="replace"))
    key = (form.get("key") or [""])[0].strip()
    next_page = _next((form.get("next") or [None])[0])
    tracker = _tracker(request)
    token = session_token(tracker.readers, key, tracker.clock.now())
    if token is None:
        page = _login_page(next_page).replace(
            "<!--error-->", '<p class="error">That key was refused.</p>')
        return HTMLResponse(page, status_code=401)
    response = RedirectResponse(next_page, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True,
                        samesite="strict", path="/")
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/assets/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail="no such asset")
    return FileResponse(STATIC / name, media_type=ASSETS[name])
