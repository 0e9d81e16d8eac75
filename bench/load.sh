#!/usr/bin/env bash
# Load test on loopback: actix-clerk against bare actix-web, a hand-written jsonwebtoken
# middleware, clerk-rs 0.5 and Express + @clerk/express, all in one run.
#
#   bench/load.sh                 # 2 rounds, wrk -t1 -c32 -d10s per server
#   ROUNDS=1 DURATION=5s bench/load.sh
#
# Each server runs alone, pinned to CPU $SERVER_CPU (0) with one worker (Node: one process);
# wrk runs pinned to CPU $CLIENT_CPU (1) and sends one valid RS256 session token in the
# Authorization header on every request. Everything listens on 127.0.0.1 only; nothing leaves
# the machine (clerk-rs fetches its JWKS from a local server started here).
# Prints, per round: req/s, p50/p99 latency, server CPU time per request, the share of its core
# the server used, VmRSS after the run, each against bare actix-web of the same round; then a
# summary (best req/s of the rounds, means of the rest) and the targets of BENCHMARKS.md.
# The machine may be shared: see BENCHMARKS.md for how to read req/s against the CPU columns.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS="$HERE/peers"
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-32}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}
JWKS_PORT=${JWKS_PORT:-18099}

log() { printf '%s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  apt-get update && apt-get install -y wrk
fi
for tool in cargo node npm openssl taskset curl; do
  command -v "$tool" >/dev/null || { log "missing: $tool"; exit 1; }
done

log "building release binaries (bench/peers)"
cargo build --release --quiet --manifest-path "$PEERS/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$PEERS/target}/release"
if [ ! -d "$PEERS/express/node_modules/@clerk/express" ]; then
  log "installing express peer (npm ci)"
  (cd "$PEERS/express" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- key, token, JWKS --------------------------------------------------------------------
WORK=$(mktemp -d)
SERVER_PID=""
JWKS_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$JWKS_PID" ]; then kill "$JWKS_PID" 2>/dev/null || true; wait "$JWKS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

KID=ins_bench
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/key.pem" 2>/dev/null
openssl pkey -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem"
TOKEN=$("$BIN/benchtool" mint "$WORK/key.pem" "$KID")
"$BIN/benchtool" jwks "$WORK/key.pem" "$KID" >"$WORK/jwks.json"
# Same token with one signature character changed: must be refused by every auth server.
SIG=${TOKEN##*.}
if [ "${SIG:5:1}" = A ]; then FLIP=B; else FLIP=A; fi
BAD_TOKEN="${TOKEN%.*}.${SIG:0:5}${FLIP}${SIG:6}"

"$BIN/benchtool" serve-jwks "$JWKS_PORT" "$WORK/jwks.json" 2>/dev/null &
JWKS_PID=$!

export CLERK_JWT_KEY
CLERK_JWT_KEY=$(cat "$WORK/pub.pem")
export CLERK_SECRET_KEY=sk_live_bench_dummy_not_a_real_key
export CLERK_PUBLISHABLE_KEY="pk_live_$(printf 'clerk.example.com$' | base64)"
export CLERK_TELEMETRY_DISABLED=1
export NODE_ENV=production

# name | kind (bare: no check; strict: bad token → 401; lax: bad token → signed-out header) | command
SERVERS=(
  "actix-web bare|bare|$BIN/bare"
  "ClerkWithAuth, cache on|lax|$BIN/actix_clerk with cache"
  "ClerkWithAuth, cache off|lax|$BIN/actix_clerk with nocache"
  "ClerkRequireAuth, cache on|strict|$BIN/actix_clerk require cache"
  "ClerkRequireAuth, cache off|strict|$BIN/actix_clerk require nocache"
  "jsonwebtoken hand-written|strict|$BIN/jwt"
  "clerk-rs 0.5|strict|env CLERK_API_URL=http://127.0.0.1:$JWKS_PORT/v1 $BIN/clerk_rs"
  "express bare (info)|bare|env BARE=1 node $PEERS/express/server.js"
  "@clerk/express 2|strict|node $PEERS/express/server.js"
)

URL="http://127.0.0.1:$PORT/"

wait_port() {
  for _ in $(seq 1 200); do
    if curl -s -o /dev/null "$URL"; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Checks that the server signs the valid token in and refuses the tampered one.
check_server() {
  local kind=$1 code head
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL")
  [ "$code" = 200 ] || { log "  valid token answered $code"; return 1; }
  head=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL")
  if grep -qi '^x-clerk-auth-status' <<<"$head"; then log "  valid token not signed in"; return 1; fi
  case $kind in
    strict)
      code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BAD_TOKEN" "$URL")
      [ "$code" = 401 ] || { log "  tampered token answered $code"; return 1; } ;;
    lax)
      head=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $BAD_TOKEN" "$URL")
      grep -qi '^x-clerk-auth-status: signed-out' <<<"$head" || { log "  tampered token not signed out"; return 1; } ;;
  esac
}

# wrk latency ("812.00us", "1.20ms", "1.01s") to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}

RESULTS="$WORK/results.tsv" # round, name, rps, p50, p99, rss_kib, errors, cpu_us_per_req
: >"$RESULTS"
TICKS=$(getconf CLK_TCK)

# utime + stime of a process (all its threads), in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

run_one() {
  local round=$1 name=$2 kind=$3 cmd=$4 out rps p50 p99 rss errs non2xx sockerr t0 t1 reqs cpu
  # shellcheck disable=SC2086
  taskset -c "$SERVER_CPU" $cmd >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_port; then log "$name: did not start"; cat "$WORK/server.log" >&2; exit 1; fi
  if [ "$kind" != bare ] && ! check_server "$kind"; then
    log "$name: failed the token check"; cat "$WORK/server.log" >&2; exit 1
  fi
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null
  t0=$(cpu_ticks "$SERVER_PID")
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency \
    -H "Authorization: Bearer $TOKEN" "$URL")
  t1=$(cpu_ticks "$SERVER_PID")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$TICKS" -v n="$reqs" 'BEGIN { printf "%.2f", d / hz * 1e6 / n }')
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out"); sockerr=${sockerr:-0}
  errs=$((non2xx + sockerr))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$rss" "$errs" "$cpu" >>"$RESULTS"
  log "  $name: $rps req/s, $cpu µs server CPU per request"
}

# Columns: req/s and its ratio to bare actix-web; latency; server CPU time (user+system, all
# threads) per request and bare's CPU time over it (throughput per CPU-second against bare, not
# skewed by other tenants of the machine taking turns on the server's core); the share of its
# core the server used (CPU %: below ~90 % the server was not the bottleneck); RSS after the
# run and its ratio to bare.
HEADER='printf "%-28s %9s %7s %8s %8s %9s %7s %6s %8s %6s %6s\n", "server", "req/s", "x bare", "p50 ms", "p99 ms", "CPU us/r", "x bare", "CPU %", "RSS MiB", "x bare", "errors"'
ROW='printf "%-28s %9.0f %7.3f %8.3f %8.3f %9.2f %7.3f %6.0f %8.1f %6.2f %6d\n"'

print_round() {
  awk -F'\t' -v r="$1" '
    $1 == r { n++; name[n] = $2; rps[n] = $3; p50[n] = $4; p99[n] = $5; rss[n] = $6; err[n] = $7; cpu[n] = $8
              if ($2 == "actix-web bare") { brps = $3; brss = $6; bcpu = $8 } }
    END {
      '"$HEADER"'
      for (i = 1; i <= n; i++)
        '"$ROW"', name[i], rps[i], rps[i] / brps, p50[i], p99[i], cpu[i], bcpu / cpu[i], rps[i] * cpu[i] / 1e4, rss[i] / 1024, rss[i] / brss, err[i]
    }' "$RESULTS"
}

log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
log "wrk -t1 -c$CONNS -d$DURATION (warm-up $WARMUP), server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
for round in $(seq 1 "$ROUNDS"); do
  log "round $round (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  for entry in "${SERVERS[@]}"; do
    IFS='|' read -r name kind cmd <<<"$entry"
    run_one "$round" "$name" "$kind" "$cmd"
  done
done
log "done (load average: $(cut -d' ' -f1-3 /proc/loadavg))"

echo
echo "wrk -t1 -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up); server pinned to CPU $SERVER_CPU, one worker; wrk on CPU $CLIENT_CPU"
echo "CPU us/r: server CPU time (user+system, all threads) per request; its 'x bare' is bare's CPU us/r over this one"
for round in $(seq 1 "$ROUNDS"); do
  echo
  echo "round $round"
  print_round "$round"
done

echo
echo "summary over $ROUNDS rounds: req/s best of the rounds (other tenants only ever slow a run down) and its"
echo "ratio to bare's best, with the server's CPU % in that round (below ~90 %: the server was not the"
echo "bottleneck, so that req/s says little about its cost); everything else is the mean of the rounds"
echo "(ratios: mean of the per-round ratios)"
awk -F'\t' '
  { if ($2 == "actix-web bare") { brss[$1] = $6; bcpu[$1] = $8 } rows[NR] = $0 }
  END {
    for (i = 1; i <= NR; i++) {
      split(rows[i], f, "\t"); k = f[2]
      if (!(k in cnt)) { order[++n] = k }
      cnt[k]++; if (f[3] > best[k]) { best[k] = f[3]; bestuse[k] = f[3] * f[8] / 1e4 }
      rps[k] += f[3]; p50[k] += f[4]; p99[k] += f[5]
      rss[k] += f[6]; rssr[k] += f[6] / brss[f[1]]; err[k] += f[7]; cpu[k] += f[8]; cpur[k] += bcpu[f[1]] / f[8]
    }
    printf "%-28s %9s %9s %7s %6s %8s %8s %9s %7s %8s %6s %6s\n", "server", "req/s mean", "best", "x bare", "CPU %", "p50 ms", "p99 ms", "CPU us/r", "x bare", "RSS MiB", "x bare", "errors"
    B = best["actix-web bare"]
    for (i = 1; i <= n; i++) { k = order[i]; c = cnt[k]
      printf "%-28s %10.0f %9.0f %7.3f %6.0f %8.3f %8.3f %9.2f %7.3f %8.1f %6.2f %6d\n", k, rps[k] / c, best[k], best[k] / B, bestuse[k], p50[k] / c, p99[k] / c, cpu[k] / c, cpur[k] / c, rss[k] / c / 1024, rssr[k] / c, err[k]
    }
    for (i = 1; i <= n; i++) { k = order[i]; R[k] = best[k]; Q[k] = best[k] / B; S[k] = rssr[k] / cnt[k]
                               C[k] = cpu[k] / cnt[k]; P[k] = cpur[k] / cnt[k] }
    print ""
    print "targets (req/s: best of the rounds; CPU: from the server CPU time per request)"
    printf "  %-52s %14s %14s\n", "", "req/s", "CPU"
    split("ClerkWithAuth, cache on|ClerkRequireAuth, cache on", on, "|")
    split("ClerkWithAuth, cache off|ClerkRequireAuth, cache off", off, "|")
    jwt = "jsonwebtoken hand-written"; crs = "clerk-rs 0.5"; ex = "@clerk/express 2"
    for (j = 1; j <= 2; j++) check(on[j] " >= 0.85 x bare", Q[on[j]], P[on[j]], 0.85)
    for (j = 1; j <= 2; j++) check(off[j] " >= 0.95 x jsonwebtoken", R[off[j]] / R[jwt], C[jwt] / C[off[j]], 0.95)
    for (j = 1; j <= 2; j++) check(off[j] " >= 1.3 x clerk-rs", R[off[j]] / R[crs], C[crs] / C[off[j]], 1.3)
    for (j = 1; j <= 2; j++) {
      check(on[j] " >= 50 x @clerk/express", R[on[j]] / R[ex], C[ex] / C[on[j]], 50)
      check(off[j] " >= 50 x @clerk/express", R[off[j]] / R[ex], C[ex] / C[off[j]], 50)
    }
    for (j = 1; j <= 2; j++) {
      check(on[j] " RSS <= 2 x bare", S[on[j]], "", -2)
      check(off[j] " RSS <= 2 x bare", S[off[j]], "", -2)
    }
  }
  # bound > 0: values must be >= bound; bound < 0: <= -bound. An empty value is not shown.
  function verdict(v, bound) { return (bound > 0 ? v >= bound : v <= -bound) ? "met   " : "MISSED" }
  function check(label, v1, v2, bound) {
    printf "  %-52s %7.3f %s", label, v1, verdict(v1, bound)
    if (v2 != "") printf " %7.3f %s", v2, verdict(v2, bound)
    printf "\n"
  }' "$RESULTS"
