"""Schemathesis hooks for tokengate: a fresh session for every authenticated test case.

Used by scripts/schemathesis.sh (SCHEMATHESIS_HOOKS=tests/contract/hooks.py).


Every case that needs credentials gets a brand-new session (one login), so
cases that end sessions (logout, logout-all, DELETE /api/auth/sessions/{id},
a password change, a refresh reuse) cannot spoil later ones:
  * Authorization: Bearer <access>   for validate, logout(-all), sessions, activity, password, todos
  * Refresh-Token: Bearer <refresh>  for refresh (not on negative cases, because the
    server ignores the body whenever that header is present, so a negative body
    would be accepted with 200)
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
    "/api/auth/sessions",
    "/api/auth/sessions/{sessionId}",
    "/api/auth/activity",
    "/api/auth/password",
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
        json={"id": user_id, "password": _PASSWORD, "name": "Schemathesis"},
        timeout=_TIMEOUT,
    )
    if r.status_code != 201:
        raise RuntimeError(f"register failed: {r.status_code} {r.text[:200]}")
    return user_id


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


# Not the CORS preflights (OPTIONS on the same paths): they take no credential,
# and a login per preflight case would only cost argon2 time.
@schemathesis.auth(refresh_interval=None).apply_to(path=AUTHENTICATED_PATHS).skip_for(method="OPTIONS")
class TokengateSession:
    """A fresh login (new session, new token pair) per test case."""

    def get(self, case, ctx):
        if case.operation.path == "/api/auth/refresh" and _is_negative(case):
            return None  # let the (negative) body reach the server
        return _login(_base_url(ctx))

    def set(self, case, data, ctx):
        if case.headers is None:
            case.headers = {}
        if case.operation.path == "/api/auth/refresh":
            case.headers["Refresh-Token"] = f"Bearer {data['refreshToken']}"
        else:
            case.headers["Authorization"] = f"Bearer {data['accessToken']}"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Cookie-mode cases come from the allowed origin, as a browser's would."""
    headers = case.headers or {}
    transport = next((v for k, v in headers.items() if k.lower() == "tokengate-transport"), None)
    origin = os.environ.get("TOKENGATE_ORIGIN")
    if origin and isinstance(transport, str) and transport.strip().lower() == "cookie":
        headers["Origin"] = origin
        case.headers = headers
