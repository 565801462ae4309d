#!/usr/bin/env bash
# `make keygen ALG=EdDSA|ES256 [OUT=keys]`: a new signing key pair for
# JWT_ALGORITHM, as PKCS#8 PEM (private, for JWT_PRIVATE_KEY / Secrets Manager)
# and SPKI PEM (public, for JWT_PREVIOUS_PUBLIC_KEYS after the next rotation).
set -euo pipefail
alg="${1:-${ALG:-EdDSA}}"
out="${2:-${OUT:-keys}}"
mkdir -p "$out"
umask 077
name="$out/$alg-$(date -u +%Y%m%dT%H%M%SZ)"
# Never overwrite a key (two runs in the same second).
if [ -e "$name.pem" ]; then echo "keygen: $name.pem exists; run again in a second" >&2; exit 1; fi
case "$alg" in
  EdDSA) openssl genpkey -algorithm ed25519 -out "$name.pem" ;;
  ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.pem" ;;
  *) echo "keygen: ALG must be EdDSA or ES256, not $alg" >&2; exit 2 ;;
esac
openssl pkey -in "$name.pem" -pubout -out "$name.pub.pem"
# The Secrets Manager value (KEYS_SECRET_ARN / SigningKeySecretArn): JSON named
# like the key variables.
python3 -c 'import json, sys; print(json.dumps({"JWT_PRIVATE_KEY": open(sys.argv[1]).read()}))' \
  "$name.pem" > "$name.secret.json"
echo "private key: $name.pem   (keep secret: JWT_PRIVATE_KEY, or a Secrets Manager secret)"
echo "public key:  $name.pub.pem"
echo "secret:      $name.secret.json   (aws secretsmanager create-secret --name tokengate/signing-key --secret-string file://$name.secret.json)"
echo "SigningPublicKey parameter: $(awk '{printf "%s\\n", $0}' "$name.pub.pem")"
