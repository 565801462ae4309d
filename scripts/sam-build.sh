#!/usr/bin/env bash
# `make sam-build`: what `sam build` does before `sam deploy`, into target/sam-build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
sam build --template-file template.yaml --build-dir target/sam-build "$@"
