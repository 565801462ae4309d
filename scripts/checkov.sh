#!/usr/bin/env bash
# Static security checks on template.yaml: checkov (PyPI, pinned, own venv in
# .tools/ so its dependencies never meet cfn-lint's or SAM's). Offline: no
# platform API key, no guideline or mapping download. Fails on any failed
# check. Part of scripts/lint-template.sh (make test).
#
# A skip that concerns one resource sits next to it in template.yaml
# (`# checkov:skip=CKV_...:reason`). The skips below hold for every resource
# of their type, each with its reason:
set -euo pipefail
cd "$(dirname "$0")/.."

skips=(
  # Lambda DLQ: every function is invoked synchronously, the API functions by
  # API Gateway, the admin function by an operator's `aws lambda invoke`
  # (RequestResponse, the default): the caller gets the error; a DLQ only
  # ever receives failed async events.
  CKV_AWS_116
  # Lambda in a VPC: the functions reach only DynamoDB and Secrets Manager,
  # and register and account also SES (their codes' messages): public
  # endpoints behind IAM and TLS; a VPC would add NAT or endpoints (cost)
  # and cold-start latency, and protect nothing.
  CKV_AWS_117
  # Lambda environment encrypted with a CMK: the environment holds no secret
  # (keys are read from Secrets Manager at run time; local/tests/template.rs
  # asserts it) and Lambda encrypts it at rest with the AWS managed key.
  CKV_AWS_173
  # Log groups encrypted with a CMK: CloudWatch Logs encrypts at rest; the
  # logs hold no credential (the access log format has no header; the
  # functions never log tokens); a CMK costs and needs a key policy for the
  # logs service.
  CKV_AWS_158
)

version=3.3.30
venv=.tools/checkov-venv
if ! "$venv/bin/checkov" --version 2>/dev/null | grep -qx "$version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$version" >&2
fi

# BC_SKIP_MAPPING: no download of the platform's check-id mapping (offline).
BC_SKIP_MAPPING=TRUE "$venv/bin/checkov" --file template.yaml --framework cloudformation \
  --quiet --compact --skip-download \
  --skip-check "$(IFS=,; echo "${skips[*]}")" "$@"
