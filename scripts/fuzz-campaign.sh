#!/usr/bin/env bash
# A fuzzing campaign: every target for a share of TOTAL_SECONDS on all cores, then each
# corpus merged and minimised into fuzz/corpus/<target>/ (ready to commit).
#
#   scripts/fuzz-campaign.sh TOTAL_SECONDS [target ...]
#
# Each target runs for TOTAL_SECONDS / number-of-targets with one libFuzzer worker per core
# (-fork=N when FUZZ_FORK=1, else -jobs=N -workers=N), over a scratch corpus seeded from
# fuzz/corpus/<target>/ in fuzz/corpus-campaign/<target>/ (git-ignored). Afterwards
# fuzz/corpus/<target>/ becomes the smallest set of its inputs and the ones found that reaches
# the same coverage (`-merge=1` into an empty folder), plus its named seeds. Prints, per
# target, executions, exec/s (libFuzzer's average_exec_per_sec summed over the workers, and
# per worker) and libFuzzer's coverage points ("cov:"), and a total; exits non-zero when a
# target crashed (artifacts in fuzz/artifacts/<target>/). Built without a sanitizer unless
# FUZZ_SANITIZER=address.
set -uo pipefail

TOTAL="${1:?usage: scripts/fuzz-campaign.sh TOTAL_SECONDS [target ...]}"
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"
TARGETS=("$@")
# shellcheck source=fuzz-common.sh
source "$ROOT/scripts/fuzz-common.sh"
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${SLOW[@]}" "${FAST[@]}")
CORES="${FUZZ_CORES:-$(nproc)}"
SHARE=$(( TOTAL / ${#TARGETS[@]} ))
(( SHARE < 1 )) && SHARE=1

fuzz_build || exit 1
BIN="target/$(rustc -vV | sed -n 's/^host: //p')/release"
[[ -x "$BIN/${TARGETS[0]}" ]] || { echo "fuzz binaries not found under fuzz/target"; exit 1; }

declare -A EXECS RATE PER_WORKER COV RESULT BEFORE AFTER
TOTAL_EXECS=0
FAILED=0
for t in "${TARGETS[@]}"; do
  run="corpus-campaign/$t"
  logs="$(mktemp -d)"
  rm -rf "artifacts/$t"
  mkdir -p "$run" "corpus/$t" "artifacts/$t"
  BEFORE[$t]="$(find "corpus/$t" -type f | wc -l)"
  echo "== $t: ${SHARE}s on $CORES workers"
  if [[ "${FUZZ_FORK:-0}" == 1 ]]; then
    par=(-fork="$CORES")
  else
    par=(-jobs="$CORES" -workers="$CORES")
  fi
  # Each worker runs max_total_time; its stats go to fuzz-<n>.log in $logs.
  (cd "$logs" && "$ROOT/fuzz/$BIN/$t" "${par[@]}" -max_total_time="$SHARE" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ROOT/fuzz/artifacts/$t/" \
    "$ROOT/fuzz/$run" "$ROOT/fuzz/corpus/$t" >"$logs/main.log" 2>&1)
  rc=$?
  execs=0
  cov=0
  rate=0
  workers=0
  # With -jobs each worker writes fuzz-<n>.log (main.log repeats them: not counted); with
  # -fork the one process reports in main.log.
  worker_logs=("$logs"/fuzz-*.log)
  [[ -e "${worker_logs[0]}" ]] || worker_logs=("$logs/main.log")
  for log in "${worker_logs[@]}"; do
    n="$(awk '/stat::number_of_executed_units/ {print $NF}' "$log" | tail -1)"
    [[ -n "$n" ]] || continue
    execs=$(( execs + n ))
    # libFuzzer's own rate of the worker (its executions over its own running time).
    r="$(awk '/stat::average_exec_per_sec/ {print $NF}' "$log" | tail -1)"
    rate=$(( rate + ${r:-0} ))
    workers=$(( workers + 1 ))
    # libFuzzer's "cov:" field: coverage points (edges) the worker's corpus reaches.
    c="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')"
    (( ${c:-0} > cov )) && cov=${c:-0}
  done
  EXECS[$t]=$execs
  RATE[$t]=$rate
  PER_WORKER[$t]=$(( rate / (workers > 0 ? workers : 1) ))
  COV[$t]=$cov
  TOTAL_EXECS=$(( TOTAL_EXECS + execs ))
  if [[ $rc -ne 0 ]] || ls "artifacts/$t" | grep -q .; then
    RESULT[$t]="CRASH (exit $rc, see fuzz/artifacts/$t/)"
    FAILED=1
    grep -h -A3 'panicked' "$logs"/*.log | head -8
  else
    RESULT[$t]="ok"
  fi
  # Merge and minimise: the smallest set of the committed inputs and the ones found that
  # reaches all their coverage (-merge=1 into an empty folder), plus the named seeds (names
  # that are not a SHA-1: seeds and regression inputs), replaces fuzz/corpus/<target>/.
  min="$(mktemp -d)"
  if "$BIN/$t" -merge=1 "$min" "corpus/$t" "$run" >"$logs/merge.log" 2>&1; then
    find "corpus/$t" -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp {} "$min/" \;
    rm -rf "corpus/$t"
    mv "$min" "corpus/$t"
    chmod 755 "corpus/$t"
  else
    echo "merge of $t failed (corpus/$t left as it was)"
    rm -rf "$min"
  fi
  AFTER[$t]="$(find "corpus/$t" -type f | wc -l) files, $(du -sb "corpus/$t" | cut -f1) B"
  rm -rf "$logs"
done

echo "== campaign: ${TOTAL}s in all, ${SHARE}s per target, $CORES workers"
for t in "${TARGETS[@]}"; do
  printf '%-22s executions=%-11s exec/s=%-8s per-worker=%-7s cov=%-6s corpus %s -> %-22s %s\n' \
    "$t" "${EXECS[$t]}" "${RATE[$t]}" "${PER_WORKER[$t]}" "${COV[$t]}" "${BEFORE[$t]}" \
    "${AFTER[$t]}" "${RESULT[$t]}"
done
printf '%-22s executions=%-11s exec/s=%s\n' "total" "$TOTAL_EXECS" "$(( TOTAL_EXECS / (SHARE * ${#TARGETS[@]}) ))"
exit $FAILED
