#!/usr/bin/env bash
# The browser suite: the account page and the JS client in a real headless
# Chromium (Debian's chromium + chromium-driver), driven by selenium (PyPI,
# pinned, in .tools/browser-venv), against the local server on DynamoDB Local
# and moto; then the JS client's own tests under Node in header mode.
#   scripts/browser.sh install   install Chromium (apt-get) and the venv
#   scripts/browser.sh test      run the suite (part of `make test`)
# Chromium is never downloaded at run time. Screenshots: target/browser/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

SELENIUM=4.51.0
PYTEST=9.2.0
browser_venv="$root/.tools/browser-venv"

have_chromium() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null
}

install_chromium() {
  if have_chromium; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium and chromium-driver (apt-get)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    cat >&2 <<'EOF'
The browser tests need Chromium and its driver, from Debian's packages:
  sudo apt-get update && sudo apt-get install -y chromium chromium-driver
(or put a chromium and a matching chromedriver on PATH).
EOF
    exit 1
  fi
}

install_venv() {
  if ! "$browser_venv/bin/python3" -c "from importlib.metadata import version as v; import sys
sys.exit(v('selenium') != '$SELENIUM' or v('pytest') != '$PYTEST')" 2>/dev/null; then
    mkdir -p "$root/.tools"
    python3 -m venv "$browser_venv"
    "$browser_venv/bin/pip" install --quiet --disable-pip-version-check \
      "selenium==$SELENIUM" "pytest==$PYTEST"
  fi
}

case "${1:-}" in
  install)
    install_chromium
    install_venv
    ;;
  test)
    install_chromium
    install_venv
    . scripts/tools.sh >/dev/null
    . scripts/ddb-background.sh
    bin=${TOKENGATE_LOCAL_BIN:-target/debug/tokengate-local}
    [ -x "$bin" ] || cargo build --locked -p tokengate-local
    bin=$(realpath "$bin")
    mkdir -p target/browser
    # Selenium must use the system driver, never fetch one.
    export SE_OFFLINE=true
    TOKENGATE_LOCAL_BIN="$bin" "$browser_venv/bin/python3" -m pytest -q -p no:cacheprovider \
      --durations=0 tests/browser "${@:2}"
    ;;
  *)
    echo "usage: $0 install|test" >&2
    exit 2
    ;;
esac
