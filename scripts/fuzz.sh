#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target of fuzz/ for a while.
#
#   scripts/fuzz.sh [seconds-per-target=30] [target ...]
#
# Installs cargo-fuzz from crates.io when it is missing. cargo-fuzz needs nightly-only compiler
# flags; on a stable toolchain they are enabled with RUSTC_BOOTSTRAP=1. Each target starts from
# its committed seeds (fuzz/corpus/<target>/, left unchanged; written by
# `cd fuzz && cargo run --example make_seeds`) and writes the inputs it discovers
# to fuzz/corpus-run/<target>/ (git-ignored). Crashes land in fuzz/artifacts/<target>/.
# Prints the number of executions per target; exits non-zero if any target crashed.
set -uo pipefail

SECS="${1:-30}"
shift || true
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=(authenticate_header authenticate_cookie signed_claims webhook browser)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi
export RUSTC_BOOTSTRAP=1

echo "== building the fuzz targets"
cargo fuzz build -O || exit 1

declare -A EXECS
declare -A RESULT
FAILED=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t"
  log="$(mktemp)"
  echo "== $t: ${SECS}s"
  # -timeout: one input taking longer than 10 s is reported as a crash (a hang);
  # -rss_limit_mb: the default 2 GB, stated.
  cargo fuzz run -O "$t" "corpus-run/$t" "corpus/$t" -- \
    -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  tail -n 25 "$log"
  EXECS[$t]="$(awk '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -1)"
  if [[ $rc -ne 0 ]]; then
    RESULT[$t]="CRASH (exit $rc, see fuzz/artifacts/$t/)"
    FAILED=1
  else
    RESULT[$t]="ok"
  fi
  rm -f "$log"
done

echo "== summary (${SECS}s per target)"
for t in "${TARGETS[@]}"; do
  printf '%-22s executions=%-10s %s\n' "$t" "${EXECS[$t]:-?}" "${RESULT[$t]}"
done
exit $FAILED
