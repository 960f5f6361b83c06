"""A browser session for the pages a person opens (the patient page, the viewer and the DICOMweb
reads it makes): a browser cannot add an ``Authorization`` header to a link it follows, so
``POST /login`` takes a token from a form and sets it as a cookie, which the API accepts in
place of the header for reads (``GET``/``HEAD``) only.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
makes the browser send it) and ``Secure`` when the request came over HTTPS; it lasts
:data:`SESSION_HOURS` hours. Writes (``POST``) still need the header, so a page elsewhere
cannot submit in the user's name (cross-site request forgery). Each login, accepted or refused,
is in the audit log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

__all__ = ["SESSION_COOKIE", "SESSION_HOURS", "register_session"]

SESSION_COOKIE = "heartprint_session"
SESSION_HOURS = 8

_FORM = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · heartprint</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:420px;margin:60px auto;color:#1d2430}
input{width:100%;padding:6px;margin:6px 0 12px;box-sizing:border-box}button{padding:6px 14px}
.small{font-size:.85em;color:#4a5568}</style></head>
<body><h1>heartprint</h1>
<form method="post" action="/login"><label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<input type="hidden" name="next" value="{next}"><button type="submit">Sign in</button></form>
<p class="small">Research use only: results are decision support, not a diagnosis.</p></body></html>
"""
_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                       "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _local(path: str) -> str:
    """``path`` if it is a path on this server (``/…``, not ``//…`` or ``/\\…``), else ``/viewer/``."""
    ok = path.startswith("/") and not path.startswith(("//", "/\\")) and all(ord(c) >= 32 for c in path)
    return path if ok else "/viewer/"


def register_session(app: Any, store: Any) -> None:
    """``GET /login`` (the form), ``POST /login`` (token → cookie), ``POST /logout``."""
    import html

    from heartprint.service._errors import ApiError

    @app.get("/login", tags=["service"], response_class=HTMLResponse, summary="Sign-in form for a browser",
             include_in_schema=False)  # a page for people; the operation is POST /login
    def login_form(next: str = "/viewer/") -> HTMLResponse:  # noqa: A002 - the query parameter's name
        return HTMLResponse(_FORM.replace("{next}", html.escape(_local(next), quote=True)), headers=_HEADERS)

    @app.post("/login", tags=["service"], summary="Sign in a browser: a token (form field) becomes a session cookie",
              openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                  "schema": {"type": "object", "required": ["token"],
                             "properties": {"token": {"type": "string"}, "next": {"type": "string"}}}}}}})
    async def login(request: Request) -> Response:
        request.state.audit = {"principal": None, "action": "login", "target": "session"}
        body = await request.body()
        if len(body) > 4096:
            raise ApiError(413, "too_large", "the sign-in form is at most 4096 bytes")
        form = parse_qs(body.decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        principal = store.verify(token) if token else None
        if principal is None:
            raise ApiError(401, "unauthorized", "that token is not valid")
        request.state.audit["principal"] = principal
        response = RedirectResponse(_local((form.get("next") or ["/viewer/"])[0]), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    @app.post("/logout", tags=["service"], summary="Sign a browser out (the session cookie is cleared)")
    def logout() -> Response:
        response = JSONResponse({"status": "signed out"})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
