#!/usr/bin/env bash
# Lint template.yaml the way AWS would read it: cfn-lint, then SAM's own
# validation (offline: needs a region, no credentials), then checkov.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
cfn-lint template.yaml
sam validate --lint --template-file template.yaml
# Security checks (checkov, its own venv), after the template is known valid.
scripts/checkov.sh
