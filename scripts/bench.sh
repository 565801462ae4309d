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

echo "$(( $(date +%s) - started ))" >"$BENCH_RESULTS_DIR/total_seconds"
python3 scripts/bench-report.py >BENCHMARKS.md
echo
echo "BENCHMARKS.md written ($(( $(date +%s) - started )) s in all)."
