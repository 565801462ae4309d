#!/usr/bin/env bash
# A local AWS Secrets Manager: the moto server (PyPI `moto[server]`, pinned),
# in a venv of its own (.tools/moto-venv, not .tools/venv: neither set of pins
# can break the other), installed on first use. One port serves every moto
# service; `run` logs request lines only, never bodies.
#   scripts/moto.sh install                        install or refresh the venv if the pinned version is missing
#   scripts/moto.sh run PORT                       run in the foreground on 127.0.0.1:PORT (in memory)
#   scripts/moto.sh put-secret NAME JSON ENDPOINT  create NAME (or put a new value) with JSON as its
#                                                  SecretString (JSON "-": read from stdin);
#                                                  print the secret's ARN
#   scripts/moto.sh ses-identity NAME ENDPOINT     create the SES identity NAME (a domain or an
#                                                  address): moto, like SES, sends only from one
# The secrets die with the server. Dummy credentials, region us-east-1.
set -euo pipefail

VERSION=5.2.5
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/moto-venv"

install() {
  # Package metadata, not imports: importing moto.server costs ~0.6 s.
  if ! "$venv/bin/python3" -c "from importlib.metadata import version as v; import sys
sys.exit(v('moto') != '$VERSION' or not (v('flask') and v('flask-cors') and v('boto3')))" 2>/dev/null \
    || [ ! -x "$venv/bin/moto_server" ]; then
    mkdir -p "$root/.tools"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$VERSION" >&2
  fi
}

case "${1:-}" in
  install)
    install
    ;;
  run)
    port=${2:?usage: $0 run PORT}
    install
    exec "$venv/bin/moto_server" -H 127.0.0.1 -p "$port"
    ;;
  put-secret)
    name=${2:?usage: $0 put-secret NAME JSON ENDPOINT}
    json=${3:?usage: $0 put-secret NAME JSON ENDPOINT}
    endpoint=${4:?usage: $0 put-secret NAME JSON ENDPOINT}
    install
    # JSON "-": read it from stdin, which keeps a real value out of `ps`.
    if [ "$json" = - ]; then json=$(cat); fi
    # To python through the environment, not its command line.
    # No profile or session token of the user's: dummy credentials only.
    env -u AWS_PROFILE -u AWS_SESSION_TOKEN \
      SECRET_NAME="$name" SECRET_JSON="$json" SECRET_ENDPOINT="$endpoint" \
      "$venv/bin/python3" - <<'EOF'
import json, os, boto3

name, value = os.environ["SECRET_NAME"], os.environ["SECRET_JSON"]
try:
    json.loads(value)
except ValueError as e:
    raise SystemExit(f"put-secret: the value is not JSON ({e.msg}, char {e.pos})")
sm = boto3.client(
    "secretsmanager",
    endpoint_url=os.environ["SECRET_ENDPOINT"],
    region_name="us-east-1",
    aws_access_key_id="local",
    aws_secret_access_key="local",
)
try:
    arn = sm.create_secret(Name=name, SecretString=value)["ARN"]
except sm.exceptions.ResourceExistsException:
    arn = sm.put_secret_value(SecretId=name, SecretString=value)["ARN"]
print(arn)
EOF
    ;;
  ses-identity)
    identity=${2:?usage: $0 ses-identity NAME ENDPOINT}
    endpoint=${3:?usage: $0 ses-identity NAME ENDPOINT}
    install
    env -u AWS_PROFILE -u AWS_SESSION_TOKEN SES_IDENTITY="$identity" SES_ENDPOINT="$endpoint" \
      "$venv/bin/python3" - <<'EOF'
import os, boto3

ses = boto3.client(
    "sesv2",
    endpoint_url=os.environ["SES_ENDPOINT"],
    region_name="us-east-1",
    aws_access_key_id="local",
    aws_secret_access_key="local",
)
try:
    ses.create_email_identity(EmailIdentity=os.environ["SES_IDENTITY"])
except ses.exceptions.AlreadyExistsException:
    pass
EOF
    ;;
  *)
    echo "usage: $0 install | run PORT | put-secret NAME JSON ENDPOINT | ses-identity NAME ENDPOINT" >&2
    exit 2
    ;;
esac
