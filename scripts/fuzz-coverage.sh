#!/usr/bin/env bash
# Source coverage of each fuzz target's committed corpus (fuzz/corpus/<target>/), measured with
# `cargo fuzz coverage` (a build instrumented with -C instrument-coverage runs every corpus
# input once, no fuzzing) and read with llvm-cov.
#
#   scripts/fuzz-coverage.sh [target ...]      # default: every target
#
# For each target, prints the crate's own files the corpus reaches (src/, without the
# cfg(fuzzing) entry point src/fuzzing.rs) and the lines and regions covered in them, then a
# summary line per target; the full per-file report is left in
# fuzz/coverage/<target>/report.txt (git-ignored).
#
# llvm-profdata and llvm-cov must read what this rustc writes: Debian's llvm-19 does for rustc
# 1.95 (LLVM 22), and is installed when no LLVM 19 or newer is found (the llvm-tools rustup
# component cannot be fetched on these machines). LLVM_BIN overrides the folder.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"
TARGETS=("$@")
# shellcheck source=fuzz-common.sh
source "$ROOT/scripts/fuzz-common.sh"
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${SLOW[@]}" "${FAST[@]}")

find_llvm() {
  local d v
  for d in /usr/lib/llvm-*/bin; do
    v="${d#/usr/lib/llvm-}"
    v="${v%/bin}"
    if [[ "$v" =~ ^[0-9]+$ ]] && (( v >= 19 )) && [[ -x "$d/llvm-profdata" && -x "$d/llvm-cov" ]]; then
      echo "$d"
    fi
  done | sort -V | tail -1
}
LLVM="${LLVM_BIN:-$(find_llvm)}"
if [[ -z "$LLVM" ]]; then
  echo "== installing Debian's llvm-19 (llvm-profdata, llvm-cov)"
  SUDO=""
  [[ "$(id -u)" != 0 ]] && SUDO="sudo"
  $SUDO apt-get install -y llvm-19 >/dev/null || { echo "could not install llvm-19"; exit 1; }
  LLVM="$(find_llvm)"
fi
echo "== llvm: $LLVM"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || exit 1
fi
export RUSTC_BOOTSTRAP=1
HOST="$(rustc -vV | sed -n 's/^host: //p')"
BIN="target/$HOST/coverage/$HOST/release"
# Files outside the crate's own src/ (dependencies, the standard library, the harnesses) and the
# fuzzing-only entry point are left out of the figures.
IGNORE='(\.cargo/|/rustc/|/fuzz/|src/fuzzing\.rs)'

declare -A SUMMARY
FAILED=0
for t in "${TARGETS[@]}"; do
  echo "== $t: $(find "corpus/$t" -type f | wc -l) corpus files"
  if ! cargo fuzz coverage --llvm-path "$LLVM" -s none "$t" "corpus/$t" >"/tmp/fuzz-coverage-$t.log" 2>&1; then
    tail -20 "/tmp/fuzz-coverage-$t.log"
    SUMMARY[$t]="FAILED (see /tmp/fuzz-coverage-$t.log)"
    FAILED=1
    continue
  fi
  report="coverage/$t/report.txt"
  "$LLVM/llvm-cov" report "$BIN/$t" -instr-profile="coverage/$t/coverage.profdata" \
    -ignore-filename-regex="$IGNORE" >"$report" 2>&1
  # Columns: file, regions, missed regions, cover, functions, missed, executed, lines, missed
  # lines, cover, ...; a file is reached when one of its lines ran.
  reached='$1 ~ /\.rs$/ && $8 > 0 && $9 < $8'
  awk "$reached"' { printf "   %-34s lines %5d/%-5d %6.2f%%\n", $1, $8 - $9, $8, 100 * ($8 - $9) / $8 }' "$report"
  SUMMARY[$t]="$(awk "$reached"' {
      files++; lines += $8; missed += $9; regions += $2; rmissed += $3
    }
    $1 == "TOTAL" { all = $8 }
    END {
      if (lines == 0) { print "no line of src/ reached"; exit }
      printf "files reached %d, lines %d/%d (%.1f%%), regions %d/%d (%.1f%%); %.1f%% of all src/ lines",
        files, lines - missed, lines, 100 * (lines - missed) / lines, regions - rmissed,
        regions, 100 * (regions - rmissed) / regions, 100 * (lines - missed) / all
    }' "$report")"
  echo "   $t: ${SUMMARY[$t]}"
done

echo "== coverage of the committed corpora (the crate's src/, files each target reaches)"
for t in "${TARGETS[@]}"; do
  printf '%-22s %s\n' "$t" "${SUMMARY[$t]}"
done
exit $FAILED
