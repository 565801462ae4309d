# Sourced by bench.sh and load.sh: one package set for every bench build and
# run, so Cargo's feature resolution (and so the build) is the same each time.
packages=(-p integration-tests -p tokengate-local)
for dir in functions/*/; do packages+=(-p "$(basename "$dir")"); done
export BENCH_RESULTS_DIR="$PWD/target/bench-results"
export TOKENGATE_BIN_DIR="$PWD/target/release"
