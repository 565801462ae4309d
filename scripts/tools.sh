#!/usr/bin/env bash
# Python tools in a project venv (.tools/venv), installed on first use:
# cargo-lambda + ziglang (cargo-lambda finds zig through this venv's python3),
# cfn-lint, the SAM CLI, and PyJWT (an independent verifier for the JWKS
# interop test). Source it: `. scripts/tools.sh`.
tools_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools"
venv="$tools_root/venv"
if [ ! -x "$venv/bin/cargo-lambda" ] || [ ! -x "$venv/bin/sam" ] || [ ! -x "$venv/bin/cfn-lint" ] \
  || ! "$venv/bin/python3" -c 'import jwt, cryptography' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "cargo-lambda==1.9.2" "ziglang==0.17.1" "cfn-lint==1.58.0" "aws-sam-cli==1.170.0" \
    "PyJWT[crypto]==2.10.1" "cryptography==50.0.2" >&2
fi
export PATH="$venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export TOKENGATE_PYTHON="$venv/bin/python3"
