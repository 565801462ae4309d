# Sourced by test.sh, bench.sh and load.sh: the local AWS services for the
# whole run, each on a free port and stopped on exit (one EXIT trap for both):
#   DynamoDB Local                unless DYNAMODB_ENDPOINT is already set
#   moto (Secrets Manager)        unless MOTO_ENDPOINT is already set
# Exports DYNAMODB_ENDPOINT, MOTO_ENDPOINT (http://127.0.0.1:PORT) and dummy
# AWS credentials. Logs in target/dynamodb-local.log and target/moto.log.
bg_pids=""
bg_stop() {
  local pid
  for pid in $bg_pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $bg_pids; do wait "$pid" 2>/dev/null || true; done
}
# A free loopback port, not one of the arguments (ports picked, not yet bound).
bg_free_port() {
  python3 -c '
import socket, sys
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if str(port) not in sys.argv[1:]: break
print(port)' "$@"
}
. "$(dirname "${BASH_SOURCE[0]}")/wait-port.sh"
mkdir -p target

# Both start at once; then wait for each.
ddb_port="" moto_port=""
if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then
  scripts/dynamodb-local.sh install >/dev/null
  ddb_port=$(bg_free_port)
  trap bg_stop EXIT
  scripts/dynamodb-local.sh run "$ddb_port" >target/dynamodb-local.log 2>&1 &
  ddb_pid=$!
  bg_pids="$bg_pids $ddb_pid"
fi
if [ -z "${MOTO_ENDPOINT:-}" ]; then
  scripts/moto.sh install
  moto_port=$(bg_free_port $ddb_port)
  trap bg_stop EXIT
  scripts/moto.sh run "$moto_port" >target/moto.log 2>&1 &
  moto_pid=$!
  bg_pids="$bg_pids $moto_pid"
fi
if [ -n "$ddb_port" ]; then
  wait_port "$ddb_pid" "$ddb_port" target/dynamodb-local.log
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$ddb_port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT"
fi
if [ -n "$moto_port" ]; then
  wait_port "$moto_pid" "$moto_port" target/moto.log
  export MOTO_ENDPOINT="http://127.0.0.1:$moto_port"
  echo "moto (Secrets Manager, SES v2) on $MOTO_ENDPOINT"
fi
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
