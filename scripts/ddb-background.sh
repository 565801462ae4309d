# Sourced by test.sh and bench.sh: one DynamoDB Local on a free port for the
# whole run, unless DYNAMODB_ENDPOINT is already set; stopped on exit.
if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then
  scripts/dynamodb-local.sh install >/dev/null
  ddb_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p target
  scripts/dynamodb-local.sh run "$ddb_port" >target/dynamodb-local.log 2>&1 &
  ddb_pid=$!
  trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ddb_port") 2>/dev/null && break
    kill -0 "$ddb_pid" 2>/dev/null || { cat target/dynamodb-local.log >&2; exit 1; }
    sleep 0.1
  done
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT"
fi
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
