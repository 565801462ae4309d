#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:$PORT against DynamoDB Local.
#
#   PORT            the API's port (3000)
#   DDB_PORT        DynamoDB Local's port (8000), when this script starts it
#   DDB_PERSIST=1   keep DynamoDB Local's data in .dynamodb/ (default: in memory)
#   DYNAMODB_ENDPOINT  use this DynamoDB instead of starting one
#   JWT_SECRET      signing secret; a random dev-only one is generated if unset
#   TOKENGATE_LOCAL_BIN  a prebuilt server binary (skips `cargo build`)
#
# Ctrl-C or SIGTERM stops the server and the DynamoDB Local it started.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT=${PORT:-3000}
export TABLE_NAME=${TABLE_NAME:-tokengate-dev}
export TODOS_TABLE_NAME=${TODOS_TABLE_NAME:-tokengate-todos-dev}
# DynamoDB Local accepts any credentials; never reach for real ones here.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_REGION=${AWS_REGION:-us-east-1}

server_pid=""
ddb_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$ddb_pid" ]; then kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true; fi
  exit 0
}
trap cleanup EXIT INT TERM

bin=${TOKENGATE_LOCAL_BIN:-}
if [ -z "$bin" ]; then
  cargo build -p tokengate-local
  bin=target/debug/tokengate-local
fi

if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then
  ddb_port=${DDB_PORT:-8000}
  scripts/dynamodb-local.sh install >/dev/null
  storage=()
  if [ "${DDB_PERSIST:-0}" = 1 ]; then storage=(.dynamodb); fi
  mkdir -p target
  scripts/dynamodb-local.sh run "$ddb_port" "${storage[@]}" >target/dynamodb-local-dev.log 2>&1 &
  ddb_pid=$!
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ddb_port") 2>/dev/null && break
    kill -0 "$ddb_pid" 2>/dev/null || { cat target/dynamodb-local-dev.log >&2; exit 1; }
    sleep 0.1
  done
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT (${storage[*]:-in memory})"
fi

if [ -z "${JWT_SECRET:-}" ]; then
  JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  export JWT_SECRET
  echo "JWT_SECRET is not set: using a random DEV-ONLY secret (tokens die with this process)."
fi

"$bin" &
server_pid=$!
wait "$server_pid"
