#!/usr/bin/env bash
# The load test of actix-clerk, on loopback only (127.0.0.1; nothing leaves the machine): its
# throughput against bare actix-web, a hand-written jsonwebtoken middleware, clerk-rs 0.5 and
# Express + @clerk/express; many distinct sessions against its token cache; the floor of a fresh
# verification; and its correctness under load with valid, expired, forged and malformed tokens.
#
#   bench/load.sh                                  # everything, defaults below (~15 min)
#   ROUNDS=1 DURATION=3s WARMUP=1s bench/load.sh   # a quick look
#   MODE=check bench/load.sh                       # only the correctness-under-load phase
#   MODE=perf bench/load.sh                        # only the profile (perf record)
#   PERF=1 bench/load.sh                           # everything, then the profile
#
# Needs only Rust (cargo), Node (node, npm) and the package registries: installs wrk, curl and
# taskset if missing (and perf, when asked for a profile) with apt-get (through sudo when not
# root), builds bench/peers (release) and `npm ci`s the Express peer itself. Exits non-zero when
# a server does not start, answers the curl check wrongly, answers anything but 2xx under load,
# or fails the check phase.
#
# Environment (defaults in brackets):
#   MODE [all]            all: rounds, then the check phase, then the profile if PERF=1;
#                         check: only the check phase; perf: only the profile
#   ROUNDS [3]            interleaved rounds: each round runs every server once, in turn
#   DURATION [10s]        wrk measurement per server and round (wrk -d)
#   WARMUP [2s]           wrk run before each measurement, not counted
#   CONNS [32]            wrk connections (wrk -t1 -c$CONNS: one wrk thread; 32 as in the runs of
#                         BENCHMARKS.md)
#   SESSIONS ["1000 5000 10000 50000"]
#                         the many-sessions runs: for each N, wrk rotates over N distinct valid
#                         tokens (one user and session each, one signing key) against bare
#                         actix-web, ClerkRequireAuth with its token cache (default capacity
#                         10 000 entries) and without; empty: no many-sessions runs
#   APIKEY [1]            1: an API-key group per round: bare actix-web and ClerkRequireAuth
#                         accepting API keys, both sent one API key issued by the testing kit's
#                         Backend API stand-in (benchtool serve-backend, 127.0.0.1), verified once
#                         and then answered from the machine-token cache (TTL 10 s); 0: none
#   CHECK_DURATION [10s]  check phase: wrk duration per server
#   CHECK_CONNS [16]      check phase: connections of each of the 5 concurrent wrk (one per kind)
#   PERF [0]              1: profile after the rounds (MODE=all)
#   PERF_SECONDS [5]      length of the profile (perf record -g) under load
#   PERF_CACHE [on]       the profiled server: ClerkRequireAuth with its token cache on (a cache
#                         hit per request) or off (a fresh RS256 verification per request)
#   RS256_COUNT [20000]   RS256 verifications timed per round (benchtool rs256)
#   SERVER_CPU [0]        CPU the server (one worker / one Node process) is pinned to
#   CLIENT_CPU [1]        CPU wrk is pinned to
#   PORT [18080]          the servers' port; JWKS_PORT [18099] the local JWKS of clerk-rs
#
# Tokens: `benchtool setup` (bench/peers, with the project's minter, the crate's testing kit,
# version 1 session tokens) generates one RSA key and mints, in one go, max(SESSIONS, 1000) session
# tokens into a file (session i: user `user_2bench` + i in 21 digits); the single-token runs use
# session 0. Every server answers a signed-in request with the handler a user writes
# (bench/peers/src/handler.rs: `web::ReqData<Auth>` in, `web::Json` of `{"userId":"…"}` out);
# bare actix-web runs the same handler body with session 0's user id as a constant, and every
# server's answer to session 0 is checked with curl to be byte for byte the same before it is
# loaded.
#
# Printed (progress on stderr; the report on stdout):
#   - per round and group (single token; then each N of SESSIONS): req/s and its ratio to bare
#     actix-web of the same round and group; p50/p99 latency (ms); the server's CPU time per
#     request (user+system of all its threads, from /proc/PID/stat before and after the run) and
#     bare's CPU time per request over it; the share of its core the server used (CPU %: below
#     ~90 % the server was not the bottleneck); VmRSS after the run and its ratio to bare;
#     non-2xx responses and socket errors;
#   - the summary: per server, the MEDIAN over rounds of req/s, of the per-round ratio to bare
#     (with the min-max range over rounds), of latency, CPU time per request (and its per-round
#     ratio to bare, min-max), RSS; the many-sessions summary likewise;
#   - the RS256 limit: one RS256 verification of the benchmark token (benchtool rs256 on
#     SERVER_CPU, µs each, per round), limit_req_s = 1e6 / (bare CPU µs per request + RS256 µs),
#     and each cache-off actix-clerk server's req/s as a ratio to that limit (and the same in CPU
#     time: (bare CPU + RS256) / its CPU per request); medians and min-max over rounds;
#   - the targets of BENCHMARKS.md, met or MISSED, from the medians of the per-round ratios;
#   - check phase: for each actix-clerk server (lax and strict, cache on and off), 5 wrk run at
#     once, one per token kind (valid: session 0; sessions: rotating over 1000 sessions;
#     expired; forged: session 0's header and claims signed by another key; malformed), every
#     response checked in wrk's Lua against its kind (strict: 200 with the user's JSON, else
#     401; lax: 200 with the user's JSON and no x-clerk-auth-status, else 200 with
#     `{"userId":null}` and x-clerk-auth-status: signed-out), then 20 curl requests of each kind;
#     prints per kind the responses, wrong answers, 5xx, socket errors, wrong curl answers, the
#     server's VmRSS before and after, Clerk's reason (x-clerk-auth-reason) for refused kinds;
#     then PASSED or FAILED (exit 1);
#   - profile: the top 25 symbols of ClerkRequireAuth, cache on, under load, then the top 25 in
#     user space (perf report --no-children: self time); samples the cpu-clock software event
#     where hardware counters are missing (virtual machines), says so and goes on when perf
#     cannot sample at all;
#   - on stderr, last: how long the phases took.
# The machine may be shared: read req/s against the CPU columns (see BENCHMARKS.md).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS="$HERE/peers"
MODE=${MODE:-all}
APIKEY=${APIKEY:-1}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-32}
SESSIONS=${SESSIONS-1000 5000 10000 50000}
CHECK_DURATION=${CHECK_DURATION:-10s}
CHECK_CONNS=${CHECK_CONNS:-16}
PERF=${PERF:-0}
PERF_SECONDS=${PERF_SECONDS:-5}
RS256_COUNT=${RS256_COUNT:-20000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}
JWKS_PORT=${JWKS_PORT:-18099}
CHECK_SESSIONS=1000

log() { printf '%s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case $MODE in all | check | perf) ;; *) die "MODE must be all, check or perf (not '$MODE')" ;; esac

# --- tools and builds --------------------------------------------------------------------
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
APT_UPDATED=0
apt_install() { # package...
  command -v apt-get >/dev/null || die "missing: $* (no apt-get here: install it yourself)"
  log "installing $* (apt-get)"
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq && APT_UPDATED=1; fi
  $SUDO apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v taskset >/dev/null || apt_install util-linux
for tool in cargo node npm taskset curl wrk; do
  command -v "$tool" >/dev/null || die "missing: $tool"
done
[ "$(nproc)" -ge 2 ] || log "warning: $(nproc) CPU: server and wrk will share it"

log "building release binaries (bench/peers)"
cargo build --release --quiet --manifest-path "$PEERS/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$PEERS/target}/release"
if [ "$MODE" = all ] && [ ! -d "$PEERS/express/node_modules/@clerk/express" ]; then
  log "installing the Express peer (npm ci)"
  (cd "$PEERS/express" && npm ci --no-audit --no-fund --loglevel=error)
fi

# --- key, tokens, JWKS -------------------------------------------------------------------
WORK=$(mktemp -d)
SERVER_PID=""
JWKS_PID=""
BACKEND_PID=""
WRK_PIDS=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local pid
  for pid in "${WRK_PIDS[@]}" "$SERVER_PID" "$JWKS_PID" "$BACKEND_PID"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

NTOKENS=$CHECK_SESSIONS
if [ "$MODE" = all ]; then
  for n in $SESSIONS; do [ "$n" -gt "$NTOKENS" ] && NTOKENS=$n; done
fi
log "minting $NTOKENS session tokens (benchtool setup)"
"$BIN/benchtool" setup "$WORK" "$NTOKENS" 2>/dev/null
TOKEN=$(cat "$WORK/token")
TOKENS="$WORK/tokens"
user_id() { printf 'user_2bench%021d' "$1"; }
body_of() { printf '{"userId":"%s"}' "$(user_id "$1")"; }
BODY0=$(body_of 0)
# Session 0's token with one signature character changed: refused by every auth server.
SIG=${TOKEN##*.}
if [ "${SIG:5:1}" = A ]; then FLIP=B; else FLIP=A; fi
BAD_TOKEN="${TOKEN%.*}.${SIG:0:5}${FLIP}${SIG:6}"

"$BIN/benchtool" serve-jwks "$JWKS_PORT" "$WORK/jwks.json" 2>/dev/null &
JWKS_PID=$!
API_KEY=""
if [ "$MODE" = all ] && [ "$APIKEY" = 1 ]; then
  "$BIN/benchtool" serve-backend "$WORK" 2>/dev/null &
  BACKEND_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/api_key" ] && break; sleep 0.1; done
  [ -s "$WORK/api_key" ] || die "the Backend API stand-in did not start"
  API_KEY=$(cat "$WORK/api_key")
fi

export CLERK_JWT_KEY
CLERK_JWT_KEY=$(cat "$WORK/pub.pem")
export CLERK_SECRET_KEY=sk_live_bench_dummy_not_a_real_key
CLERK_PUBLISHABLE_KEY="pk_live_$(printf 'clerk.example.com$' | base64)"
export CLERK_PUBLISHABLE_KEY
export CLERK_TELEMETRY_DISABLED=1
export NODE_ENV=production PORT

URL="http://127.0.0.1:$PORT/"
ON="$BIN/actix_clerk require cache"
OFF="$BIN/actix_clerk require nocache"

# name | kind (bare: no check of the token; strict: bad token → 401; lax: bad token →
# x-clerk-auth-status: signed-out) | command
SERVERS=(
  "actix-web bare|bare|$BIN/bare"
  "ClerkWithAuth, cache on|lax|$BIN/actix_clerk with cache"
  "ClerkWithAuth, cache off|lax|$BIN/actix_clerk with nocache"
  "ClerkRequireAuth, cache on|strict|$ON"
  "ClerkRequireAuth, cache off|strict|$OFF"
  "jsonwebtoken hand-written|strict|$BIN/jwt"
  "clerk-rs 0.5|strict|env CLERK_API_URL=http://127.0.0.1:$JWKS_PORT/v1 $BIN/clerk_rs"
  "express bare (info)|bare|env BARE=1 node $PEERS/express/server.js"
  "@clerk/express 2|strict|node $PEERS/express/server.js"
)
# The many-sessions runs, for each N of SESSIONS.
SESSION_SERVERS=(
  "actix-web bare|bare|$BIN/bare"
  "ClerkRequireAuth, cache on|strict|$ON"
  "ClerkRequireAuth, cache off|strict|$OFF"
)
# The API-key group (APIKEY=1): both get the API key's header.
APIKEY_SERVERS=(
  "actix-web bare|bare|$BIN/bare"
  "ClerkRequireAuth, API key, cache on|strict|env CLERK_SECRET_KEY=$(cat "$WORK/backend_secret" 2>/dev/null || true) CLERK_API_URL=$(cat "$WORK/backend_url" 2>/dev/null || true) $BIN/actix_clerk require cache apikey"
)
# The check phase.
CHECK_SERVERS=(
  "ClerkWithAuth, cache on|lax|$BIN/actix_clerk with cache"
  "ClerkWithAuth, cache off|lax|$BIN/actix_clerk with nocache"
  "ClerkRequireAuth, cache on|strict|$ON"
  "ClerkRequireAuth, cache off|strict|$OFF"
)

# wrk scripts. Each wrk thread reads the token file itself, in init().
# sessions.lua FILE N: request i carries token (i mod N) + 1 of FILE, each request pre-formatted.
cat >"$WORK/sessions.lua" <<'LUA'
local reqs, n, i = {}, 0, 0
function init(args)
  local want = tonumber(args[2])
  for line in io.lines(args[1]) do
    if n == want then break end
    n = n + 1
    reqs[n] = wrk.format("GET", nil, {Host = wrk.headers["Host"], Authorization = "Bearer " .. line})
  end
  assert(n == want, "fewer tokens than asked in " .. args[1])
end
function request()
  i = i % n + 1
  return reqs[i]
end
LUA
# check.lua FILE N STATUS BODY AUTH: rotates over the first N tokens of FILE like sessions.lua
# and checks every response: status STATUS; body BODY exactly ("*": any; "user": any
# {"userId":"user_2bench<digits>"}); x-clerk-auth-status AUTH ("none": absent; "*": any).
cat >"$WORK/check.lua" <<'LUA'
local reqs, n, i = {}, 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local want = tonumber(args[2])
  for line in io.lines(args[1]) do
    if n == want then break end
    n = n + 1
    reqs[n] = wrk.format("GET", nil, {Host = wrk.headers["Host"], Authorization = "Bearer " .. line})
  end
  assert(n == want, "fewer tokens than asked in " .. args[1])
  want_status, want_body, want_auth = tonumber(args[3]), args[4], args[5]
  responses, wrong, fivexx, first_wrong = 0, 0, 0, ""
end
function request()
  i = i % n + 1
  return reqs[i]
end
function response(status, headers, body)
  responses = responses + 1
  if status >= 500 then fivexx = fivexx + 1 end
  local auth = nil
  for k, v in pairs(headers) do
    if string.lower(k) == "x-clerk-auth-status" then auth = v end
  end
  body = body or ""
  local ok = status == want_status
  if want_body == "user" then
    ok = ok and string.match(body, '^{"userId":"user_2bench%d+"}$') ~= nil
  elseif want_body ~= "*" then
    ok = ok and body == want_body
  end
  if want_auth == "none" then
    ok = ok and auth == nil
  elseif want_auth ~= "*" then
    ok = ok and auth == want_auth
  end
  if not ok then
    wrong = wrong + 1
    if first_wrong == "" then
      first_wrong = string.format("status %d, x-clerk-auth-status %s, body %s", status,
        tostring(auth), string.sub(body, 1, 80))
    end
  end
end
function done(summary, latency, requests)
  local r, w, f, fw = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    r = r + t:get("responses")
    w = w + t:get("wrong")
    f = f + t:get("fivexx")
    if fw == "" then fw = t:get("first_wrong") end
  end
  local e = summary.errors
  io.write(string.format("check_result %d %d %d %d\n", r, w, f,
    e.connect + e.read + e.write + e.timeout))
  if fw ~= "" then io.write("check_first_wrong " .. fw .. "\n") end
end
LUA

# --- servers -----------------------------------------------------------------------------
start_server() { # command
  if curl -s -o /dev/null "$URL"; then die "something already answers on $URL: set PORT"; fi
  # shellcheck disable=SC2086
  taskset -c "$SERVER_CPU" $1 >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if curl -s -o /dev/null "$URL"; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  log "server did not start: $1"; cat "$WORK/server.log" >&2; exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# GET / with a token: sets CODE, BODY, AUTH_STATUS and AUTH_REASON (the x-clerk-auth-status
# and x-clerk-auth-reason headers).
get() {
  local head
  head=$(curl -s -D - -o "$WORK/body" -H "Authorization: Bearer $1" "$URL" | tr -d '\r')
  CODE=$(awk 'NR == 1 { print $2 }' <<<"$head")
  AUTH_STATUS=$(awk -F': ' 'tolower($1) == "x-clerk-auth-status" { print $2 }' <<<"$head")
  AUTH_REASON=$(awk -F': ' 'tolower($1) == "x-clerk-auth-reason" { print $2 }' <<<"$head")
  BODY=$(cat "$WORK/body")
}

# Before loading a server: session 0 answers 200 with exactly bare's bytes, signed in; a
# session-N token (when given: token number N+1 of the file) answers that session's user id;
# the tampered token is refused (strict: 401; lax: signed out).
check_server() { # kind [N]
  local kind=$1 n=${2:-}
  get "$TOKEN"
  [ "$CODE" = 200 ] || { log "  session 0 answered $CODE"; return 1; }
  [ "$BODY" = "$BODY0" ] || { log "  session 0 answered body '$BODY', not '$BODY0'"; return 1; }
  [ -z "$AUTH_STATUS" ] || { log "  session 0 not signed in ($AUTH_STATUS)"; return 1; }
  if [ -n "$n" ] && [ "$kind" != bare ]; then
    get "$(sed -n "${n}p" "$TOKENS")"
    [ "$BODY" = "$(body_of $((n - 1)))" ] || { log "  session $((n - 1)) answered '$BODY'"; return 1; }
  fi
  case $kind in
    strict)
      get "$BAD_TOKEN"
      [ "$CODE" = 401 ] || { log "  tampered token answered $CODE"; return 1; } ;;
    lax)
      get "$BAD_TOKEN"
      [ "$AUTH_STATUS" = signed-out ] || { log "  tampered token not signed out"; return 1; } ;;
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

# utime + stime of a process (all its threads), in clock ticks.
TICKS=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

RESULTS="$WORK/results.tsv" # round, group, name, rps, p50, p99, rss_kib, non2xx, sockerr, cpu_us/req
RS256="$WORK/rs256.tsv"     # round, rs256_us (aws-lc-rs), rs256_us (jsonwebtoken)
: >"$RESULTS"
: >"$RS256"

# One measured run: start, curl check, warm-up, measure, stop. $5: empty for the single token
# in a header, or N for the many-sessions Lua script.
run_one() { # round group name kind cmd [N]
  local round=$1 group=$2 name=$3 kind=$4 cmd=$5 n=${6:-} out rps p50 p99 rss non2xx sockerr t0 t1 reqs cpu
  local load=(-H "Authorization: Bearer $TOKEN")
  [ -z "$n" ] || load=(-s "$WORK/sessions.lua")
  local args=()
  [ -z "$n" ] || args=(-- "$TOKENS" "$n")
  start_server "$cmd"
  if ! check_server "$kind" "$n"; then
    log "$name: failed the curl check"; cat "$WORK/server.log" >&2; exit 1
  fi
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" "${load[@]}" "$URL" "${args[@]}" >/dev/null
  t0=$(cpu_ticks "$SERVER_PID")
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${load[@]}" "$URL" "${args[@]}")
  t1=$(cpu_ticks "$SERVER_PID")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
  stop_server
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$TICKS" -v n="$reqs" 'BEGIN { printf "%.2f", d / hz * 1e6 / n }')
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out"); sockerr=${sockerr:-0}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$group" "$name" "$rps" "$p50" "$p99" \
    "$rss" "$non2xx" "$sockerr" "$cpu" >>"$RESULTS"
  log "  $name${n:+, $n sessions}: $rps req/s, $cpu µs server CPU per request"
}

# --- report ------------------------------------------------------------------------------
# Medians and ranges over rounds, in POSIX awk (mawk has no sort). Ratios to bare are taken per
# round (bare of the same round and group), then their median and min-max over rounds.
cat >"$WORK/report.awk" <<'AWK'
function median(list,   a, n, i, j, t) {
  n = split(list, a, " ")
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(list,   a, n, i, m) { n = split(list, a, " "); m = a[1] + 0; for (i = 2; i <= n; i++) if (a[i] + 0 < m) m = a[i] + 0; return m }
function hi(list,   a, n, i, m) { n = split(list, a, " "); m = a[1] + 0; for (i = 2; i <= n; i++) if (a[i] + 0 > m) m = a[i] + 0; return m }
function range(list) { return sprintf("%.3f-%.3f", lo(list), hi(list)) }
function add(arr, k, v) { arr[k] = (k in arr) ? arr[k] " " v : v }
# bound > 0: value must be >= bound; bound < 0: <= -bound.
function verdict(v, bound) { return (bound > 0 ? v >= bound : v <= -bound) ? "met   " : "MISSED" }
function check(label, v1, v2, bound) {
  printf "  %-52s %7.3f %s", label, v1, verdict(v1, bound)
  if (v2 != "") printf " %7.3f %s", v2, verdict(v2, bound)
  printf "\n"
}
FILENAME == rsfile { rs[$1] = $2; add(RSL, "x", $2); add(JWL, "x", $3); next }
{
  r = $1; g = $2; k = g SUBSEP $3
  if (!(g in seen_g)) { seen_g[g] = 1; groups[++ng] = g }
  if (!(k in seen_k)) { seen_k[k] = 1; names[g, ++nn[g]] = $3 }
  RPS[r, k] = $4; CPU[r, k] = $10; RSS[r, k] = $7
  add(rps, k, $4); add(p50, k, $5); add(p99, k, $6); add(rss, k, $7); add(cpu, k, $10)
  err[k] += $8; sock[k] += $9; rows[++nr] = $0
}
END {
  B = "actix-web bare"
  if (what == "round") {
    for (gi = 1; gi <= ng; gi++) {
      g = groups[gi]
      print ""
      print "round " round ", " (g == "single" ? "one token (session 0)" : g == "apikey" ? "one API key (machine-token cache)" : g " distinct sessions, rotating")
      printf "%-30s %9s %7s %8s %8s %9s %7s %6s %8s %6s %7s %6s\n", "server", "req/s", "x bare", "p50 ms", "p99 ms", "CPU us/r", "x bare", "CPU %", "RSS MiB", "x bare", "non-2xx", "sockerr"
      for (i = 1; i <= nr; i++) {
        split(rows[i], f, "\t")
        if (f[1] != round || f[2] != g) continue
        b = round SUBSEP g SUBSEP B
        printf "%-30s %9.0f %7.3f %8.3f %8.3f %9.2f %7.3f %6.0f %8.1f %6.2f %7d %6d\n", f[3], f[4], f[4] / RPS[b], f[5], f[6], f[10], CPU[b] / f[10], f[4] * f[10] / 1e4, f[7] / 1024, f[7] / RSS[b], f[8], f[9]
      }
    }
    exit
  }
  # Per-round ratios to bare of the same round and group.
  for (i = 1; i <= nr; i++) {
    split(rows[i], f, "\t"); r = f[1]; g = f[2]; k = g SUBSEP f[3]; b = r SUBSEP g SUBSEP B
    add(xr, k, f[4] / RPS[b]); add(xc, k, CPU[b] / f[10]); add(xm, k, f[7] / RSS[b])
  }
  for (gi = 1; gi <= ng; gi++) {
    g = groups[gi]
    print ""
    if (g == "single") print "summary over " rounds " round(s), one token (session 0): medians over rounds; x bare: median of the per-round ratios [min-max over rounds]"
    else if (g == "apikey") print "API key: one key verified once by the Backend API stand-in, then from the machine-token cache; bare gets the same header"
    else print "many sessions: " g " distinct sessions, rotating (the token cache holds 10000 by default)"
    printf "%-30s %9s %7s %13s %8s %8s %9s %7s %13s %6s %8s %6s %7s %6s\n", "server", "req/s", "x bare", "[min-max]", "p50 ms", "p99 ms", "CPU us/r", "x bare", "[min-max]", "CPU %", "RSS MiB", "x bare", "non-2xx", "sockerr"
    for (j = 1; j <= nn[g]; j++) {
      k = g SUBSEP names[g, j]
      printf "%-30s %9.0f %7.3f %13s %8.3f %8.3f %9.2f %7.3f %13s %6.0f %8.1f %6.2f %7d %6d\n", names[g, j], median(rps[k]), median(xr[k]), range(xr[k]), median(p50[k]), median(p99[k]), median(cpu[k]), median(xc[k]), range(xc[k]), median(rps[k]) * median(cpu[k]) / 1e4, median(rss[k]) / 1024, median(xm[k]), err[k], sock[k]
    }
  }
  # The floor of a fresh verification: bare's work plus one RS256 verification.
  if (("x" in RSL) && (("single" SUBSEP B) in seen_k)) {
    print ""
    print "bare request + one RS256 verification (the floor of a request that verifies its token):"
    printf "  one RS256 verification (benchtool rs256, CPU %s): %.2f us, median over rounds [%.2f-%.2f] (jsonwebtoken::crypto::verify: %.2f us)\n", cpu_no, median(RSL["x"]), lo(RSL["x"]), hi(RSL["x"]), median(JWL["x"])
    for (i = 1; i <= nr; i++) {
      split(rows[i], f, "\t"); r = f[1]
      if (f[2] == "single" && f[3] == B) { lim = 1e6 / (f[10] + rs[r]); add(LIM, "x", lim); add(BC, "x", f[10]) }
    }
    printf "  bare CPU per request %.2f us: limit_req_s = 1e6 / (%.2f + %.2f) = %.0f (median of the per-round limits: %.0f)\n", median(BC["x"]), median(BC["x"]), median(RSL["x"]), 1e6 / (median(BC["x"]) + median(RSL["x"])), median(LIM["x"])
    printf "  %-30s %9s %9s %13s %14s %13s\n", "", "req/s", "x limit", "[min-max]", "x limit (CPU)", "[min-max]"
    split("ClerkWithAuth, cache off|ClerkRequireAuth, cache off|jsonwebtoken hand-written", off, "|")
    for (j = 1; j <= 3; j++) {
      k = "single" SUBSEP off[j]
      if (!(k in seen_k)) continue
      delete q; delete qc
      for (i = 1; i <= nr; i++) {
        split(rows[i], f, "\t"); r = f[1]
        if (f[2] != "single" || f[3] != off[j]) continue
        b = r SUBSEP "single" SUBSEP B
        add(q, "x", f[4] / (1e6 / (CPU[b] + rs[r]))); add(qc, "x", (CPU[b] + rs[r]) / f[10])
      }
      LQ[off[j]] = q["x"]; LQC[off[j]] = qc["x"]
      printf "  %-30s %9.0f %9.3f %13s %14.3f %13s\n", off[j], median(rps[k]), median(q["x"]), range(q["x"]), median(qc["x"]), range(qc["x"])
    }
    print "  (x limit: req/s over limit_req_s of the same round; x limit (CPU): (bare CPU + RS256) / the server's CPU per request)"
  }
  # The targets of BENCHMARKS.md, on the medians of the per-round ratios.
  if (("single" SUBSEP "@clerk/express 2") in seen_k) {
    S = "single" SUBSEP
    print ""
    print "targets (medians over rounds of the per-round ratios; req/s, then CPU time per request)"
    printf "  %-52s %14s %14s\n", "", "req/s", "CPU"
    split("ClerkWithAuth, cache on|ClerkRequireAuth, cache on", on, "|")
    split("ClerkWithAuth, cache off|ClerkRequireAuth, cache off", off, "|")
    jwt = "jsonwebtoken hand-written"; crs = "clerk-rs 0.5"; ex = "@clerk/express 2"
    for (j = 1; j <= 2; j++) check(on[j] " >= 0.95 x bare", median(xr[S on[j]]), median(xc[S on[j]]), 0.95)
    for (j = 1; j <= 2; j++) check(off[j] " >= 1.1 x jsonwebtoken", vs(off[j], jwt, 0), vs(off[j], jwt, 1), 1.1)
    for (j = 1; j <= 2; j++) check(off[j] " >= 0.9 x (bare + RS256)", median(LQ[off[j]]), median(LQC[off[j]]), 0.9)
    for (j = 1; j <= 2; j++) check(off[j] " >= 1.3 x clerk-rs", vs(off[j], crs, 0), vs(off[j], crs, 1), 1.3)
    R = "ClerkRequireAuth, cache on"; RO = "ClerkRequireAuth, cache off"
    if (("5000" SUBSEP R) in seen_k) check(R ", 5000 sessions >= 0.9 x bare", median(xr["5000" SUBSEP R]), median(xc["5000" SUBSEP R]), 0.9)
    if (("50000" SUBSEP R) in seen_k) check(R ", 50000 sessions >= cache off", svs("50000", R, RO, 0), svs("50000", R, RO, 1), 1.0)
    A = "ClerkRequireAuth, API key, cache on"
    if (("apikey" SUBSEP A) in seen_k) check("API key, cache on >= 0.9 x bare", median(xr["apikey" SUBSEP A]), median(xc["apikey" SUBSEP A]), 0.9)
    for (j = 1; j <= 2; j++) {
      check(on[j] " >= 50 x @clerk/express", vs(on[j], ex, 0), vs(on[j], ex, 1), 50)
      check(off[j] " >= 50 x @clerk/express", vs(off[j], ex, 0), vs(off[j], ex, 1), 50)
    }
    for (j = 1; j <= 2; j++) {
      check(on[j] " RSS <= 2 x bare", median(xm[S on[j]]), "", -2)
      check(off[j] " RSS <= 2 x bare", median(xm[S off[j]]), "", -2)
    }
  }
}
# As vs(), within a many-sessions group g.
function svs(g, a, b, use_cpu,   r, l, ka, kb) {
  l = ""; ka = g SUBSEP a; kb = g SUBSEP b
  for (r = 1; r <= rounds; r++) {
    if (!((r SUBSEP ka) in RPS) || !((r SUBSEP kb) in RPS)) continue
    l = l " " (use_cpu ? CPU[r, kb] / CPU[r, ka] : RPS[r, ka] / RPS[r, kb])
  }
  return median(l)
}
# Median over rounds of a's req/s over b's (cpu = 0), or of b's CPU per request over a's.
function vs(a, b, use_cpu,   r, l, ka, kb) {
  l = ""; ka = "single" SUBSEP a; kb = "single" SUBSEP b
  for (r = 1; r <= rounds; r++) {
    if (!((r SUBSEP ka) in RPS) || !((r SUBSEP kb) in RPS)) continue
    l = l " " (use_cpu ? CPU[r, kb] / CPU[r, ka] : RPS[r, ka] / RPS[r, kb])
  }
  return median(l)
}
AWK

report() { # what [round]
  awk -F'\t' -v what="$1" -v round="${2:-}" -v rounds="$ROUNDS" -v rsfile="$RS256" -v cpu_no="$SERVER_CPU" \
    -f "$WORK/report.awk" "$RS256" "$RESULTS"
}

# --- the rounds --------------------------------------------------------------------------
rounds() {
  log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB"
  log "wrk -t1 -c$CONNS -d$DURATION (warm-up $WARMUP), server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; sessions: ${SESSIONS:-none}"
  local round entry name kind cmd n rs
  for round in $(seq 1 "$ROUNDS"); do
    log "round $round of $ROUNDS (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    rs=$(taskset -c "$SERVER_CPU" "$BIN/benchtool" rs256 "$WORK" "$RS256_COUNT")
    printf '%s\t%s\t%s\n' "$round" "$(awk '$1 == "rs256_us" {print $2}' <<<"$rs")" \
      "$(awk '$1 == "rs256_jsonwebtoken_us" {print $2}' <<<"$rs")" >>"$RS256"
    log "  one RS256 verification: $(awk '$1 == "rs256_us" {print $2}' <<<"$rs") µs"
    for entry in "${SERVERS[@]}"; do
      IFS='|' read -r name kind cmd <<<"$entry"
      run_one "$round" single "$name" "$kind" "$cmd"
    done
    for n in $SESSIONS; do
      for entry in "${SESSION_SERVERS[@]}"; do
        IFS='|' read -r name kind cmd <<<"$entry"
        run_one "$round" "$n" "$name" "$kind" "$cmd" "$n"
      done
    done
    if [ -n "$API_KEY" ]; then
      local saved_token=$TOKEN saved_bad=$BAD_TOKEN
      TOKEN=$API_KEY BAD_TOKEN=ak_not_issued_by_the_stand_in
      for entry in "${APIKEY_SERVERS[@]}"; do
        IFS='|' read -r name kind cmd <<<"$entry"
        run_one "$round" apikey "$name" "$kind" "$cmd"
      done
      TOKEN=$saved_token BAD_TOKEN=$saved_bad
    fi
  done
  log "rounds done (load average: $(cut -d' ' -f1-3 /proc/loadavg))"

  echo
  echo "wrk -t1 -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up); each server pinned to CPU $SERVER_CPU, one worker; wrk on CPU $CLIENT_CPU"
  echo "CPU us/r: server CPU time (user+system, all threads) per request; its 'x bare' is bare's CPU us/r over this one"
  for round in $(seq 1 "$ROUNDS"); do report round "$round"; done
  report summary
  # Under load every request must have been answered 2xx.
  if awk -F'\t' '$8 > 0 { bad = 1 } END { exit !bad }' "$RESULTS"; then
    echo
    echo "FAILED: non-2xx responses under load (column non-2xx)"
    return 1
  fi
}

# --- the check phase ---------------------------------------------------------------------
# kind | token file | tokens to rotate over | strict: status body auth | lax: status body auth
CHECK_KINDS=(
  "valid|$WORK/check/valid|1|200 $BODY0 none|200 $BODY0 none"
  "sessions|$TOKENS|$CHECK_SESSIONS|200 user none|200 user none"
  "expired|$WORK/check/expired|1|401 * *|200 {\"userId\":null} signed-out"
  "forged|$WORK/check/forged|1|401 * *|200 {\"userId\":null} signed-out"
  "malformed|$WORK/check/malformed|1|401 * *|200 {\"userId\":null} signed-out"
)

check_phase() {
  local entry name kind cmd k kname file n strict lax want w_status w_body w_auth i failed=0 line resp wrong fivexx sock
  local rss0 rss1 rss
  echo
  echo "check phase: each actix-clerk server under 5 concurrent wrk -t1 -c$CHECK_CONNS -d$CHECK_DURATION, one per token kind, every response checked;"
  echo "then 20 curl requests per kind (curl wrong; reason: x-clerk-auth-reason of the last); RSS: the server's VmRSS before and after the load"
  printf '%-30s %-10s %10s %7s %5s %8s %10s  %-13s %s\n' "server" "kind" "responses" "wrong" "5xx" "sockerr" "curl wrong" "RSS MiB" "reason"
  for entry in "${CHECK_SERVERS[@]}"; do
    IFS='|' read -r name kind cmd <<<"$entry"
    log "check: $name"
    start_server "$cmd"
    if ! check_server "$kind" "$CHECK_SESSIONS"; then
      log "$name: failed the curl check"; cat "$WORK/server.log" >&2; exit 1
    fi
    rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
    WRK_PIDS=()
    for k in "${CHECK_KINDS[@]}"; do
      IFS='|' read -r kname file n strict lax <<<"$k"
      if [ "$kind" = strict ]; then want=$strict; else want=$lax; fi
      read -r w_status w_body w_auth <<<"$want"
      taskset -c "$CLIENT_CPU" wrk -t1 -c"$CHECK_CONNS" -d"$CHECK_DURATION" -s "$WORK/check.lua" "$URL" \
        -- "$file" "$n" "$w_status" "$w_body" "$w_auth" >"$WORK/check.$kname" 2>&1 &
      WRK_PIDS+=($!)
    done
    for i in "${WRK_PIDS[@]}"; do wait "$i" || true; done
    WRK_PIDS=()
    rss1=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
    rss=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN { printf "%.1f -> %.1f", a / 1024, b / 1024 }')
    for k in "${CHECK_KINDS[@]}"; do
      IFS='|' read -r kname file n strict lax <<<"$k"
      if [ "$kind" = strict ]; then want=$strict; else want=$lax; fi
      read -r w_status w_body w_auth <<<"$want"
      line=$(grep '^check_result' "$WORK/check.$kname" || true)
      if [ -z "$line" ]; then
        log "  $kname: wrk gave no result:"; cat "$WORK/check.$kname" >&2; failed=1; continue
      fi
      read -r _ resp wrong fivexx sock <<<"$line"
      # After the load: a few requests of this kind with curl (one token of the kind).
      local cw=0
      for _ in $(seq 1 20); do
        get "$(head -n1 "$file")"
        if [ "$CODE" != "$w_status" ]; then cw=$((cw + 1)); continue; fi
        case $w_body in
          '*') ;;
          user) [[ $BODY =~ ^\{\"userId\":\"user_2bench[0-9]+\"\}$ ]] || cw=$((cw + 1)) ;;
          *) [ "$BODY" = "$w_body" ] || cw=$((cw + 1)) ;;
        esac
      done
      printf '%-30s %-10s %10d %7d %5d %8d %10d  %-13s %s\n' "$name" "$kname" "$resp" "$wrong" "$fivexx" \
        "$sock" "$cw" "$rss" "${AUTH_REASON:--}"
      grep '^check_first_wrong' "$WORK/check.$kname" | sed 's/^check_first_wrong/    first wrong answer:/' || true
      if [ "$resp" -eq 0 ] || [ "$wrong" -ne 0 ] || [ "$fivexx" -ne 0 ] || [ "$cw" -ne 0 ]; then failed=1; fi
    done
    stop_server
  done
  if [ "$failed" = 0 ]; then echo "check phase PASSED"; else echo "check phase FAILED"; return 1; fi
}

# --- the profile -------------------------------------------------------------------------
profile() {
  echo
  local server="$ON"
  case ${PERF_CACHE:-on} in on) ;; off) server="$OFF" ;; *) die "PERF_CACHE must be on or off" ;; esac
  echo "profile: ClerkRequireAuth, cache ${PERF_CACHE:-on}, under wrk -t1 -c$CONNS (one token), perf record -g for ${PERF_SECONDS}s"
  if ! command -v perf >/dev/null; then
    (apt_install linux-perf) || true
  fi
  if ! command -v perf >/dev/null || ! perf --version >/dev/null 2>&1; then
    echo "perf: not available on this machine (apt-get install linux-perf failed); no profile"
    return 0
  fi
  local event=() stat
  stat=$(perf stat -e instructions true 2>&1 || true)
  if ! grep -q '[0-9] *instructions' <<<"$stat"; then
    echo "perf: hardware counters are not supported here (perf stat -e instructions: $(grep -o '<not supported>\|<not counted>' <<<"$stat" | head -n1 || echo error)); sampling the cpu-clock software event instead"
    event=(-e cpu-clock)
  fi
  start_server "$server"
  check_server strict || { log "failed the curl check"; exit 1; }
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null
  local secs=${PERF_SECONDS%s}
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$((secs + 2))s" -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null &
  WRK_PIDS=($!)
  sleep 1
  if perf record "${event[@]}" -F 999 -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$secs" >"$WORK/perf.log" 2>&1 \
    && [ -s "$WORK/perf.data" ]; then
    wait "${WRK_PIDS[0]}" || true
    WRK_PIDS=()
    perf report -i "$WORK/perf.data" --stdio --no-children --sort symbol -g none --percent-limit 0 \
      >"$WORK/perf.txt" 2>/dev/null || true
    # perf pads every line to the longest (Rust) symbol and appends empty columns: trim them.
    top() { # pattern
      awk -v pat="$1" '!/^#/ && !/^[[:space:]]*$/ && $0 ~ pat && n < 25 {
        sub(/([[:space:]]+-)*[[:space:]]*$/, ""); print substr($0, 1, 200); n++ }' "$WORK/perf.txt"
    }
    grep -m1 '^# Samples' "$WORK/perf.txt" | sed 's/^# //' || true
    echo "top 25 symbols (perf report --no-children --sort symbol: self time; [k] kernel, [.] user space;"
    echo "long names cut at 200 characters):"
    top '%'
    echo "top 25 user-space symbols (same report, [.] only; shares of all samples):"
    top '\\[\\.\\]'
  else
    wait "${WRK_PIDS[0]}" || true
    WRK_PIDS=()
    echo "perf: cannot sample on this machine (perf record failed: $(tail -n1 "$WORK/perf.log")); no profile"
  fi
  stop_server
}

status=0
SECONDS=0
case $MODE in
  all)
    rounds || status=1
    check_phase || status=1
    if [ "$PERF" = 1 ]; then profile; fi
    ;;
  check) check_phase || status=1 ;;
  perf) profile ;;
esac
log "bench/load.sh MODE=$MODE took $((SECONDS / 60))m$((SECONDS % 60))s (after the build and the tokens)"
exit "$status"
