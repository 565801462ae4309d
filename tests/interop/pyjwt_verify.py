"""Verifies tokengate tokens with PyJWT, an implementation that is not ours,
the way the README's recipe does: against the published JWKS (or, in HS256
mode, the shared secret), checking alg, iss, aud, exp, nbf. Reads JSON on stdin:
{"jwks": {...} | "secret": "...", "issuer": "...", "audience": "...",
 "valid": [token, ...], "invalid": [token, ...], "refresh": [token, ...]}
Exits 0 only if every valid token verifies and every invalid and every
refresh token is refused; prints why each refusal happened."""

import json
import sys

import jwt

case = json.load(sys.stdin)
keys = {key["kid"]: key for key in case.get("jwks", {}).get("keys", [])}
failures = []


def verify(token):
    if "secret" in case:
        key, algorithms = case["secret"], ["HS256"]
    else:
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.PyJWK.from_dict(keys[kid]).key
        # The algorithm comes from the published key, never from the token.
        algorithms = [keys[kid]["alg"]]
    return jwt.decode(
        token,
        key,
        algorithms=algorithms,
        audience=case["audience"],
        issuer=case["issuer"],
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
    )


for token in case["valid"]:
    try:
        claims = verify(token)
        print(f"verified {jwt.get_unverified_header(token)['alg']} sub={claims['sub']}")
    except Exception as error:  # noqa: BLE001 - report every failure
        failures.append(f"valid token refused: {type(error).__name__}: {error}")

for kind in ("invalid", "refresh"):
    for token in case.get(kind, []):
        try:
            verify(token)
            failures.append(f"{kind} token accepted as an access token")
        except Exception as error:  # noqa: BLE001
            print(f"refused {kind}: {type(error).__name__}")

for failure in failures:
    print(failure, file=sys.stderr)
sys.exit(1 if failures else 0)
