"""Schemathesis hooks for tokengate: a fresh session for every authenticated test case.

Used by scripts/schemathesis.sh (SCHEMATHESIS_HOOKS=tests/contract/hooks.py).


Every case that needs credentials gets a brand-new session (one login), so
cases that end sessions (logout, logout-all, logout-others,
DELETE /api/auth/sessions/{id}, a password change, a refresh reuse) cannot spoil
later ones:
  * Authorization: Bearer <access>   for validate, logout(-all, -others), sessions,
    activity, password, account, email/verify, todos
  * Refresh-Token: Bearer <refresh>  for logout-others, and for refresh (not on negative cases, because the
    server ignores the body whenever that header is present, so a negative body
    would be accepted with 200)
DELETE /api/auth/account deletes the user for good, so each of its cases gets a
user of its own (registered and logged in for that case alone), and its positive
cases mostly carry that user's real password (see `_account_password`), so the
204 is reached as well as the 403 of a wrong password.
Users are registered with an e-mail address (`<id>@contract.test`; no mail is
sent: the contract server has no MAIL_FROM), so GET /api/auth/account shows one.
Cookie mode (`Tokengate-Transport: cookie`): a browser always sends `Origin`, so
every such case gets the allowed one (TOKENGATE_ORIGIN, which the script puts in
the server's CORS_ALLOWED_ORIGINS) and reaches the cookie-mode handling.
The user is registered once (per process) with a random id; if its login gets 429
(per-account failure counter filled by wrong `currentPassword` attempts) a new user
is registered and used from then on. A 429 for the *source address* cannot be
fixed here: the script runs the server with a high LOGIN_MAX_FAILURES_PER_IP.
"""
import os
import secrets
import threading

import requests
import schemathesis

_LOCK = threading.Lock()
_STATE = {"id": None}
_PASSWORD = "fuzz-" + secrets.token_urlsafe(18)  # 8-128 characters
_TIMEOUT = 30

# Operations (by templated path) whose handlers read a bearer credential.
AUTHENTICATED_PATHS = [
    "/api/auth/validate",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/auth/logout-all",
    "/api/auth/logout-others",
    "/api/auth/sessions",
    "/api/auth/sessions/{sessionId}",
    "/api/auth/activity",
    "/api/auth/password",
    "/api/auth/account",
    "/api/auth/email/verify",
    "/api/todos",
]


def _base_url(ctx) -> str:
    env = os.environ.get("TOKENGATE_URL")
    if env:
        return env.rstrip("/")
    try:
        return ctx.operation.schema.get_base_url().rstrip("/")
    except Exception:
        return "http://127.0.0.1:3000"


def _register(base: str) -> str:
    user_id = "fz-" + secrets.token_hex(8)
    r = requests.post(
        f"{base}/api/auth/register",
        json={
            "id": user_id,
            "password": _PASSWORD,
            "name": "Schemathesis",
            "email": f"{user_id}@contract.test",
        },
        timeout=_TIMEOUT,
    )
    if r.status_code != 201:
        raise RuntimeError(f"register failed: {r.status_code} {r.text[:200]}")
    return user_id


def _login_as(base: str, user_id: str) -> dict:
    r = requests.post(
        f"{base}/api/auth/login",
        json={"id": user_id, "password": _PASSWORD},
        timeout=_TIMEOUT,
    )
    if r.status_code != 200:
        raise RuntimeError(f"login failed: {r.status_code} {r.text[:200]}")
    return r.json()


def _login(base: str) -> dict:
    with _LOCK:
        if _STATE["id"] is None:
            _STATE["id"] = _register(base)
        user_id = _STATE["id"]
    for attempt in range(2):
        r = requests.post(
            f"{base}/api/auth/login",
            json={"id": user_id, "password": _PASSWORD},
            timeout=_TIMEOUT,
        )
        if r.status_code == 200:
            return r.json()
        if r.status_code == 429 and attempt == 0:
            # The account's failure counter is full: start over with a new user.
            with _LOCK:
                if _STATE["id"] == user_id:
                    _STATE["id"] = _register(base)
                user_id = _STATE["id"]
            continue
        break
    raise RuntimeError(f"login failed: {r.status_code} {r.text[:200]}")


def _is_negative(case) -> bool:
    meta = getattr(case, "meta", None)
    try:
        return bool(meta is not None and meta.generation.mode.is_negative)
    except AttributeError:
        return False


def _deletes_the_account(case) -> bool:
    return case.operation.path == "/api/auth/account" and case.operation.method.upper() == "DELETE"


def _account_password(case) -> None:
    """A positive DELETE /api/auth/account case gets its user's real password,
    except when the generated one's length is 2 more than a multiple of 3
    (kept: 403; the simplest cases, "" among them, reach the 204).
    Decided by the case itself, so a failing case replays the same way.
    Negative cases keep their body: it is what makes them negative."""
    if _is_negative(case) or not isinstance(case.body, dict):
        return
    generated = case.body.get("password")
    if isinstance(generated, str) and len(generated) % 3 == 2:
        return
    case.body["password"] = _PASSWORD


# Not the CORS preflights (OPTIONS on the same paths): they take no credential,
# and a login per preflight case would only cost argon2 time.
@schemathesis.auth(refresh_interval=None).apply_to(path=AUTHENTICATED_PATHS).skip_for(method="OPTIONS")
class TokengateSession:
    """A fresh login (new session, new token pair) per test case."""

    def get(self, case, ctx):
        if case.operation.path == "/api/auth/refresh" and _is_negative(case):
            return None  # let the (negative) body reach the server
        base = _base_url(ctx)
        if _deletes_the_account(case):
            # Its own user: the shared one must outlive a successful deletion.
            return _login_as(base, _register(base))
        return _login(base)

    def set(self, case, data, ctx):
        if case.headers is None:
            case.headers = {}
        if _deletes_the_account(case):
            _account_password(case)
        if case.operation.path == "/api/auth/refresh":
            case.headers["Refresh-Token"] = f"Bearer {data['refreshToken']}"
        else:
            case.headers["Authorization"] = f"Bearer {data['accessToken']}"
        if case.operation.path == "/api/auth/logout-others":
            # It needs the session's refresh token beside the access token.
            case.headers["Refresh-Token"] = f"Bearer {data['refreshToken']}"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Cookie-mode cases come from the allowed origin, as a browser's would."""
    headers = case.headers or {}
    transport = next((v for k, v in headers.items() if k.lower() == "tokengate-transport"), None)
    origin = os.environ.get("TOKENGATE_ORIGIN")
    if origin and isinstance(transport, str) and transport.strip().lower() == "cookie":
        headers["Origin"] = origin
        case.headers = headers
