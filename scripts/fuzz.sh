#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target of fuzz/ for a while.
#
#   scripts/fuzz.sh [seconds-per-target=30] [target ...]
#
# Without targets: the request targets (authenticate_header, authenticate_cookie,
# signed_claims, webhook, browser) for the given seconds each, then the fast targets (fast_*,
# the pure layers through `actix_clerk::fuzzing`, 15-110 k exec/s per process) for FAST_SECS each
# (default: a third of the given seconds, at least 5).
#
# Built without a sanitizer (`-s none`): the crate forbids unsafe code, and AddressSanitizer
# costs the fast targets half their speed. FUZZ_SANITIZER=address builds with it.
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
# shellcheck source=fuzz-common.sh
source "$ROOT/scripts/fuzz-common.sh"
FAST_SECS="${FAST_SECS:-$(( SECS / 3 > 5 ? SECS / 3 : 5 ))}"
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${SLOW[@]}" "${FAST[@]}")

fuzz_build || exit 1

declare -A EXECS
declare -A RESULT
declare -A RATE
FAILED=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus-run/$t" "artifacts/$t" "corpus/$t"
  log="$(mktemp)"
  secs="$SECS"
  [[ $t == fast_* ]] && secs="$FAST_SECS"
  echo "== $t: ${secs}s"
  # -timeout: one input taking longer than 10 s is reported as a crash (a hang);
  # -rss_limit_mb: the default 2 GB, stated.
  cargo fuzz run -O -s "$SANITIZER" "$t" "corpus-run/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  tail -n 25 "$log"
  EXECS[$t]="$(awk '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -1)"
  RATE[$t]="$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | awk '{print $2}')"
  if [[ $rc -ne 0 ]]; then
    RESULT[$t]="CRASH (exit $rc, see fuzz/artifacts/$t/)"
    FAILED=1
  else
    RESULT[$t]="ok"
  fi
  rm -f "$log"
done

echo "== summary (${SECS}s per request target, ${FAST_SECS}s per fast target)"
for t in "${TARGETS[@]}"; do
  printf '%-22s executions=%-10s exec/s=%-8s %s\n' "$t" "${EXECS[$t]:-?}" "${RATE[$t]:-?}" "${RESULT[$t]}"
done
exit $FAILED
