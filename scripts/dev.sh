#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:$PORT against DynamoDB Local,
# with its signing key read the production way: from a Secrets Manager secret
# (a local one, in a moto server), re-read every KEYS_REFRESH_SECS.
#
#   PORT            the API's port (3000)
#   DDB_PORT        DynamoDB Local's port (8000), when this script starts it
#   DDB_PERSIST=1   keep DynamoDB Local's data in .dynamodb/ (default: in memory)
#   DYNAMODB_ENDPOINT  use this DynamoDB instead of starting one
#   MOTO_PORT       the moto server's port (4566), when this script starts it
#   MOTO_ENDPOINT   use this moto (Secrets Manager, SES v2) instead of starting one
#   MAIL_FROM       the sender of verification and reset codes (no-reply@tokengate.local);
#                   its domain is made an SES identity in moto. Each message's code is
#                   also printed here ("mail to ...: code ...").
#   JWT_SECRET      signing secret; a random dev-only one is generated if unset.
#                   Stored with JWT_PREVIOUS_SECRET (if set) as the JSON secret
#                   tokengate/dev/keys; neither reaches the server's environment.
#   DEV_KEYS=env    skip Secrets Manager: JWT_SECRET (and JWT_ALGORITHM,
#                   JWT_PRIVATE_KEY, ...) go to the server as environment, as
#                   before; also the case whenever JWT_ALGORITHM is not HS256
#   TOKENGATE_LOCAL_BIN  a prebuilt server binary (skips `cargo build`)
#   CORS_ALLOWED_ORIGINS browser origins allowed to call the API with the
#                   refresh cookie (default: the server's own origin, where
#                   the account page is)
#   WEB_ROOT        the account page served at / (default: web/)
#
# The server gets KEYS_SECRET_ARN (the secret) and
# AWS_ENDPOINT_URL_SECRETS_MANAGER (moto) instead of JWT_SECRET, and
# AWS_ENDPOINT_URL_SESV2 (moto) for mail. Rotate by hand:
#   scripts/moto.sh put-secret tokengate/dev/keys \
#     '{"JWT_SECRET": "<new>", "JWT_PREVIOUS_SECRET": "<old>"}' "$MOTO_ENDPOINT"
#
# Ctrl-C or SIGTERM stops the server and the DynamoDB Local and moto it started.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT=${PORT:-3000}
export TABLE_NAME=${TABLE_NAME:-tokengate-dev}
export TODOS_TABLE_NAME=${TODOS_TABLE_NAME:-tokengate-todos-dev}
# The issuer is the public URL: discovery derives jwks_uri from it.
export JWT_ISSUER=${JWT_ISSUER:-http://127.0.0.1:$PORT}
# The account page at / calls the API from the server's own origin.
export WEB_ROOT=${WEB_ROOT:-$PWD/web}
export CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-http://127.0.0.1:$PORT,http://localhost:$PORT}
# DynamoDB Local and moto accept any credentials; never reach for real ones here.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_REGION=${AWS_REGION:-us-east-1}
secret_name=tokengate/dev/keys

case "${DEV_KEYS:-secretsmanager}" in
  env | secretsmanager) ;;
  *) echo "DEV_KEYS must be env or secretsmanager (got ${DEV_KEYS})" >&2; exit 2 ;;
esac
keys=${DEV_KEYS:-secretsmanager}
if [ "$keys" = secretsmanager ] && [ "${JWT_ALGORITHM:-HS256}" != HS256 ]; then
  echo "JWT_ALGORITHM=$JWT_ALGORITHM: keys from the environment (the local secret holds HS256 secrets only)."
  keys=env
fi

server_pid=""
ddb_pid=""
moto_pid=""
# cleanup STATUS: stop what this script started, then exit with STATUS
# (a failure's own; 0 after Ctrl-C or SIGTERM, the normal way to stop).
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in $server_pid $ddb_pid $moto_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in $server_pid $ddb_pid $moto_pid; do wait "$pid" 2>/dev/null || true; done
  exit "$1"
}
trap 'cleanup "$?"' EXIT
trap 'cleanup 0' INT TERM

. "$(dirname "${BASH_SOURCE[0]}")/wait-port.sh"
# A fixed port someone else already holds would pass wait_port: refuse it.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1 is already in use: set $2 to another port (or $3 to use what runs there)" >&2
    exit 1
  fi
}

bin=${TOKENGATE_LOCAL_BIN:-}
if [ -z "$bin" ]; then
  cargo build -p tokengate-local
  bin=target/debug/tokengate-local
fi

mkdir -p target
# DynamoDB Local and moto start at once; then wait for each.
ddb_port=""
if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then
  ddb_port=${DDB_PORT:-8000}
  port_free "$ddb_port" DDB_PORT DYNAMODB_ENDPOINT
  scripts/dynamodb-local.sh install >/dev/null
  storage=()
  if [ "${DDB_PERSIST:-0}" = 1 ]; then storage=(.dynamodb); fi
  scripts/dynamodb-local.sh run "$ddb_port" "${storage[@]}" >target/dynamodb-local-dev.log 2>&1 &
  ddb_pid=$!
fi
moto_port=""
# moto serves the mail (SES v2) whatever the keys' source.
if [ -z "${MOTO_ENDPOINT:-}" ]; then
  moto_port=${MOTO_PORT:-4566}
  port_free "$moto_port" MOTO_PORT MOTO_ENDPOINT
  scripts/moto.sh install
  scripts/moto.sh run "$moto_port" >target/moto-dev.log 2>&1 &
  moto_pid=$!
fi
if [ -n "$ddb_port" ]; then
  wait_port "$ddb_pid" "$ddb_port" target/dynamodb-local-dev.log
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT (${storage[*]:-in memory})"
fi
if [ -n "$moto_port" ]; then
  wait_port "$moto_pid" "$moto_port" target/moto-dev.log
  export MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
  echo "moto (Secrets Manager, SES v2) on $MOTO_ENDPOINT"
fi

# Mail goes through the real SES v2 SDK to moto; each code is also printed here.
export MAIL_FROM=${MAIL_FROM:-no-reply@tokengate.local}
export MAIL_ECHO=1
export AWS_ENDPOINT_URL_SESV2=$MOTO_ENDPOINT
scripts/moto.sh ses-identity "${MAIL_FROM#*@}" "$MOTO_ENDPOINT"
echo "Mail from $MAIL_FROM via SES v2 on moto; each message's code is printed below."

if [ -z "${JWT_SECRET:-}" ]; then
  JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  echo "JWT_SECRET is not set: using a random DEV-ONLY secret (tokens die with this process)."
fi
export JWT_SECRET

if [ "$keys" = secretsmanager ]; then
  # The JSON is built by python from the environment and piped: the secret
  # never appears on a command line or in this script's output.
  KEYS_SECRET_ARN=$(python3 -c '
import json, os
keys = {"JWT_SECRET": os.environ["JWT_SECRET"]}
if os.environ.get("JWT_PREVIOUS_SECRET"):
    keys["JWT_PREVIOUS_SECRET"] = os.environ["JWT_PREVIOUS_SECRET"]
print(json.dumps(keys))' | scripts/moto.sh put-secret "$secret_name" - "$MOTO_ENDPOINT")
  export KEYS_SECRET_ARN
  export AWS_ENDPOINT_URL_SECRETS_MANAGER=$MOTO_ENDPOINT
  unset JWT_SECRET JWT_PREVIOUS_SECRET
  echo "Signing keys in the local secret $secret_name ($KEYS_SECRET_ARN on $MOTO_ENDPOINT)."
  echo "Rotate by hand (the server picks it up within KEYS_REFRESH_SECS, default 300 s):"
  echo "  scripts/moto.sh put-secret $secret_name '{\"JWT_SECRET\": \"<new>\", \"JWT_PREVIOUS_SECRET\": \"<old>\"}' $MOTO_ENDPOINT"
fi

# EMF metrics, as the functions write them on AWS; a summary at exit.
export METRICS_FILE="${METRICS_FILE:-target/metrics-dev.jsonl}"
echo "EMF metrics go to $METRICS_FILE; a one-line summary is printed when the server stops."
echo "Operators' actions, in another terminal: scripts/admin.sh disable|enable|sign_out USER_ID"

"$bin" &
server_pid=$!
wait "$server_pid"
