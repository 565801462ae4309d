#!/usr/bin/env bash
# `make package`: one arm64 zip per Lambda function (release profile in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
# All functions in one cargo invocation: the shared dependencies compile once
# and the ten fat-LTO links run side by side. Every function has the same
# dependency features (one uuid feature set in Cargo.toml), so the per-function
# builds `sam build` (BuildMethod rust-cargolambda) runs afterwards find every
# artefact already compiled.
bins=()
for dir in functions/*/; do bins+=(--bin "$(basename "$dir")"); done
cargo lambda build --release --arm64 --output-format zip "${bins[@]}"
echo
echo "function      zip size"
for dir in functions/*/; do
  name=$(basename "$dir")
  printf '%-12s %9s bytes\n' "$name" "$(stat -c %s "target/lambda/$name/bootstrap.zip")"
done
