#!/usr/bin/env bash
# The operators' actions on the `make dev` table: the admin function's own
# handler (functions/admin), run from a terminal. On AWS, invoke the admin
# function instead (README: Operating tokengate).
#   scripts/admin.sh disable USER_ID    login, refresh and every decision refuse it; tokens die
#   scripts/admin.sh enable USER_ID     it may log in again
#   scripts/admin.sh sign_out USER_ID   every token and session dies
# Uses TABLE_NAME (tokengate-dev) on DYNAMODB_ENDPOINT (http://127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 disable|enable|sign_out USER_ID" >&2; exit 2; }
export TABLE_NAME=${TABLE_NAME:-tokengate-dev}
export DYNAMODB_ENDPOINT=${DYNAMODB_ENDPOINT:-http://127.0.0.1:${DDB_PORT:-8000}}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-local}
export AWS_REGION=${AWS_REGION:-us-east-1}
bin=${TOKENGATE_ADMIN_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet -p tokengate-local --bin tokengate-admin
  bin=target/debug/tokengate-admin
fi
exec "$bin" "$1" "$2"
