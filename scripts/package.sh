#!/usr/bin/env bash
# `make package`: one arm64 zip per Lambda function (release profile in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
# One build per function, the way `sam build` (BuildMethod rust-cargolambda)
# runs it, so a `sam build` afterwards finds every artefact already compiled.
for dir in functions/*/; do
  cargo lambda build --release --arm64 --output-format zip --bin "$(basename "$dir")"
done
echo
echo "function      zip size"
for dir in functions/*/; do
  name=$(basename "$dir")
  printf '%-12s %9s bytes\n' "$name" "$(stat -c %s "target/lambda/$name/bootstrap.zip")"
done
