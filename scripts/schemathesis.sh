#!/usr/bin/env bash
# The API contract: schemathesis (PyPI, pinned, own venv in .tools/) fuzzes
# the local server against openapi.yaml: every check, bounded examples, a
# fixed seed; a fresh session per authenticated case (tests/contract/hooks.py).
# Fails on any server error (5xx) or response that breaks the spec.
#
# Needs DYNAMODB_ENDPOINT (make test sets it) and a built server binary
# (TOKENGATE_LOCAL_BIN, default target/debug/tokengate-local).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DYNAMODB_ENDPOINT:?DynamoDB Local first (make test starts one)}"

venv=.tools/schemathesis-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "4.32.5"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5" >&2
fi

bin=${TOKENGATE_LOCAL_BIN:-target/debug/tokengate-local}
[ -x "$bin" ] || cargo build --locked -p tokengate-local
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
suffix=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
mkdir -p target/schemathesis
# The fuzzer's failed logins would soon throttle the hook's own logins.
HOST=127.0.0.1 PORT=$port JWT_ISSUER="http://127.0.0.1:$port" TABLE_NAME="contract-$suffix" TODOS_TABLE_NAME="contract-todos-$suffix" \
  JWT_SECRET="contract-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  LOGIN_MAX_FAILURES=1000000 LOGIN_MAX_FAILURES_PER_IP=1000000 REGISTER_MAX_PER_IP=1000000 FORGOT_MAX_PER_EMAIL=1000000 FORGOT_MIN_RESPONSE_MS=0 RUST_LOG=warn \
  CORS_ALLOWED_ORIGINS=http://contract.test \
  "$bin" >target/schemathesis/server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat target/schemathesis/server.log >&2; exit 1; }
  sleep 0.1
done

# From target/schemathesis so hypothesis' caches stay out of the tree.
root=$PWD
cd target/schemathesis
SCHEMATHESIS_HOOKS="$root/tests/contract/hooks.py" TOKENGATE_URL="http://127.0.0.1:$port" TOKENGATE_ORIGIN=http://contract.test \
  timeout 600 "$root/$venv/bin/schemathesis" run "$root/openapi.yaml" \
  --url "http://127.0.0.1:$port" \
  --checks all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" --seed 20261123 --generation-database none \
  --workers 1 --request-timeout 15 --continue-on-failure \
  --report junit --report-dir . --no-color
