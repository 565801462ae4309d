#!/usr/bin/env bash
# `make load`: the local server (bench profile) under a realistic mix for a
# fixed time: login 5 %, validate 70 %, refresh 20 %, logout 5 % from
# LOAD_CLIENTS (32) clients for LOAD_SECONDS (30), loopback only. Reports
# throughput, p50/p99 per route and statuses, then checks the invariants
# (tokens vs sessions, no orphan session, no 5xx, flat server RSS) and fails
# if one does not hold. See tests/benches/load.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-env.sh
. scripts/ddb-background.sh
mkdir -p "$BENCH_RESULTS_DIR"
cargo build --locked --profile bench --bins --benches "${packages[@]}"
LOAD_PHASES=mix LOAD_SECONDS=${LOAD_SECONDS:-30} LOAD_CLIENTS=${LOAD_CLIENTS:-32} \
  cargo bench --locked "${packages[@]}" --bench load
