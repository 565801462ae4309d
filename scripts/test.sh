#!/usr/bin/env bash
# `make test`: every check CI runs. Starts one DynamoDB Local and one moto
# server (a local Secrets Manager) for the whole suite (unless
# DYNAMODB_ENDPOINT / MOTO_ENDPOINT are set) and stops them on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# cfn-lint, the SAM CLI and PyJWT (the interop test's verifier).
. scripts/tools.sh

. scripts/ddb-background.sh

cargo fmt --all -- --check
scripts/lint-template.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The API contract: schemathesis against the local server and openapi.yaml.
scripts/schemathesis.sh
# The account page and the JS client in headless Chromium, then under Node.
scripts/browser.sh test
