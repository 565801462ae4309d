"""Verifies tokengate tokens with PyJWT, an implementation that is not ours,
against the published JWKS only. Reads JSON on stdin:
{"jwks": {...}, "issuer": "...", "audience": "...",
 "valid": [token, ...], "invalid": [token, ...]}
Exits 0 only if every valid token verifies and every invalid one is refused."""

import json
import sys

import jwt

case = json.load(sys.stdin)
keys = {key["kid"]: key for key in case["jwks"]["keys"]}
failures = []


def verify(token):
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = jwt.PyJWK.from_dict(keys[kid])
    # The algorithm comes from the published key, never from the token.
    return jwt.decode(
        token,
        jwk.key,
        algorithms=[keys[kid]["alg"]],
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

for token in case["invalid"]:
    try:
        verify(token)
        failures.append("invalid token accepted")
    except Exception:  # noqa: BLE001
        print("refused a tampered token")

for failure in failures:
    print(failure, file=sys.stderr)
sys.exit(1 if failures else 0)
