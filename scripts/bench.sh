#!/usr/bin/env bash
# `make bench`: every benchmark, then BENCHMARKS.md from their figures.
#
# Builds the benches and the function binaries once with the bench profile
# (opt-level 3), runs them against one DynamoDB Local, and reads the arm64
# zips that `make package` left in target/lambda (building them first if any
# is missing). Benchmarks report; they never fail on a target.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
# Measured again with the release profile: the functions on the request path.
RELEASE_FUNCTIONS=${RELEASE_FUNCTIONS:-authorizer,validate,login}

missing_zip=0
for dir in functions/*/; do
  [ -f "target/lambda/$(basename "$dir")/bootstrap.zip" ] || missing_zip=1
done
if [ "$missing_zip" = 1 ]; then
  echo "== arm64 zips missing: make package first"
  scripts/package.sh
fi

. scripts/bench-env.sh
rm -rf "$BENCH_RESULTS_DIR" target/criterion
mkdir -p "$BENCH_RESULTS_DIR"

echo "== build (bench profile)"
build_started=$(date +%s)
cargo build --locked --profile bench --bins --benches "${packages[@]}"
echo "$(( $(date +%s) - build_started ))" >"$BENCH_RESULTS_DIR/build_seconds"

# The token benchmarks need no DynamoDB: run them before its JVM starts.
cargo bench --locked "${packages[@]}" --bench tokens
. scripts/ddb-background.sh
for bench in decision cold_start load login_timing; do
  echo "== $bench"
  # login_timing exits non-zero when its timing check fails: recorded in the
  # report, not a reason to stop the other benchmarks.
  cargo bench --locked "${packages[@]}" --bench "$bench" || echo "$bench" >>"$BENCH_RESULTS_DIR/failed"
done

# The zips ship the release profile (opt-level "z", fat LTO): the decision
# and the cold start of the request-path functions again, built that way
# (x86_64; in a target dir of its own, so the bench-profile binaries stay).
echo "== release profile: decision, cold start of ${RELEASE_FUNCTIONS}"
release_started=$(date +%s)
release_bins=()
for f in ${RELEASE_FUNCTIONS//,/ }; do release_bins+=(--bin "$f"); done
CARGO_TARGET_DIR=target/shipped cargo build --locked --release "${packages[@]}" \
  "${release_bins[@]}" --bench decision --bench cold_start
echo "$(( $(date +%s) - release_started ))" >"$BENCH_RESULTS_DIR/release_build_seconds"
export BENCH_VARIANT=release
CARGO_TARGET_DIR=target/shipped cargo bench --locked --profile release "${packages[@]}" --bench decision \
  || echo "decision (release)" >>"$BENCH_RESULTS_DIR/failed"
CARGO_TARGET_DIR=target/shipped TOKENGATE_BIN_DIR="$PWD/target/shipped/release" \
  COLD_START_FUNCTIONS="$RELEASE_FUNCTIONS" \
  cargo bench --locked --profile release "${packages[@]}" --bench cold_start \
  || echo "cold_start (release)" >>"$BENCH_RESULTS_DIR/failed"
unset BENCH_VARIANT

echo "$(( $(date +%s) - started ))" >"$BENCH_RESULTS_DIR/total_seconds"
python3 scripts/bench-report.py >BENCHMARKS.md
echo
echo "BENCHMARKS.md written ($(( $(date +%s) - started )) s in all)."
