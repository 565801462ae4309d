#!/usr/bin/env bash
# `make package`: one arm64 zip per Lambda function (release profile in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
# All functions in one build, so dependency features are resolved once.
functions=()
for dir in functions/*/; do functions+=(--package "$(basename "$dir")"); done
cargo lambda build --release --arm64 --output-format zip "${functions[@]}"
echo
echo "function      zip size"
for dir in functions/*/; do
  name=$(basename "$dir")
  printf '%-12s %8s bytes\n' "$name" "$(stat -c %s "target/lambda/$name/bootstrap.zip")"
done
