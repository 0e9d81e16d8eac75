#!/usr/bin/env bash
# Load test of the middleware on 127.0.0.1 (never anything else).
#
#   scripts/load.sh [duration-seconds=60] [connections=64] [wrk-threads=2]
#
# Builds examples/load_target.rs in release mode, starts it on a free loopback port (it prints
# its port and four tokens: valid, expired, forged by another key, malformed), installs wrk
# with apt-get if it is missing, and drives GET /api/me (ClerkRequireAuth) with a Lua script
# that rotates the four tokens. Every response echoes the token kind (x-kind), so the script
# counts wrong statuses during the run (valid must be 200, the others 401). Then it reports:
# total requests, responses by status (only 200 and 401 are expected, never a 5xx), socket
# errors, latency percentiles, the server's RSS (VmRSS) before and after, and a sample check
# with curl: 100 requests of each kind after the run, each status checked.
# Exits non-zero on any 5xx, wrong status or failed sample.
set -euo pipefail

DURATION="${1:-60}"
CONNECTIONS="${2:-64}"
THREADS="${3:-2}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building the load target (release)"
(cd "$ROOT" && cargo build --release --example load_target --quiet)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/load_target"

if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

echo "== starting the server on 127.0.0.1"
"$BIN" > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  [[ -s "$WORK/server.out" ]] && break
  sleep 0.1
done
[[ -s "$WORK/server.out" ]] || { echo "server did not start"; cat "$WORK/server.err"; exit 1; }
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
info = json.loads(open(f"{work}/server.out").readline())
open(f"{work}/port", "w").write(str(info["port"]))
for kind, tok in info["tokens"].items():
    open(f"{work}/token.{kind}", "w").write(tok)
PY
PORT="$(cat "$WORK/port")"
URL="http://127.0.0.1:$PORT/api/me"
rss() { awk '/^VmRSS/ {print $2 " " $3}' "/proc/$SERVER_PID/status"; }

# warm-up (first requests, lazy allocations), then the baseline RSS
for kind in valid expired forged malformed; do
  curl -s -o /dev/null -H "Authorization: Bearer $(cat "$WORK/token.$kind")" "$URL"
done
RSS_BEFORE="$(rss)"

cat > "$WORK/rotate.lua" <<LUA
local kinds = {"valid", "expired", "forged", "malformed"}
local tokens = {}
for _, k in ipairs(kinds) do
  local f = assert(io.open("$WORK/token." .. k, "r"))
  tokens[k] = f:read("*a")
  f:close()
end
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  i = 0
  statuses = {}
  wrong = 0
  byKind = {valid = 0, expired = 0, forged = 0, malformed = 0}
end
function request()
  i = i + 1
  local k = kinds[(i % 4) + 1]
  return wrk.format("GET", "/api/me", {["Authorization"] = "Bearer " .. tokens[k], ["x-kind"] = k})
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local k = headers["x-kind"] or headers["X-Kind"]
  if k then byKind[k] = (byKind[k] or 0) + 1 end
  local want = (k == "valid") and 200 or 401
  if k == nil or status ~= want then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  local total = {}
  local wrongTotal = 0
  local kindTotal = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do total[s] = (total[s] or 0) + n end
    wrongTotal = wrongTotal + t:get("wrong")
    for k, n in pairs(t:get("byKind")) do kindTotal[k] = (kindTotal[k] or 0) + n end
  end
  io.write("== lua summary\n")
  io.write(string.format("requests_completed %d\n", summary.requests))
  for s, n in pairs(total) do io.write(string.format("status_%d %d\n", s, n)) end
  for k, n in pairs(kindTotal) do io.write(string.format("kind_%s %d\n", k, n)) end
  io.write(string.format("wrong_status %d\n", wrongTotal))
  io.write(string.format("socket_errors connect=%d read=%d write=%d timeout=%d non2xx3xx=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency_p%s_ms %.3f\n", tostring(p), latency:percentile(p) / 1000))
  end
  io.write(string.format("latency_max_ms %.3f\n", latency.max / 1000))
end
LUA

echo "== wrk: ${DURATION}s, $CONNECTIONS connections, $THREADS threads, GET $URL rotating valid/expired/forged/malformed"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/rotate.lua" "$URL" | tee "$WORK/wrk.out"
RSS_AFTER="$(rss)"

echo "== sample check: 100 requests of each kind with curl"
SAMPLE_FAIL=0
for kind in valid expired forged malformed; do
  want=401; [[ "$kind" == valid ]] && want=200
  tok="$(cat "$WORK/token.$kind")"
  ok=0; bad=0
  for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$URL")"
    if [[ "$code" == "$want" ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
  done
  echo "sample_$kind want=$want ok=$ok wrong=$bad"
  SAMPLE_FAIL=$((SAMPLE_FAIL + bad))
done
reason="$(curl -s -D - -o /dev/null -H "Authorization: Bearer $(cat "$WORK/token.forged")" "$URL" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-clerk-auth-reason" {print $2}')"
echo "forged token reason: $reason"

echo "== result"
echo "server RSS before: $RSS_BEFORE"
echo "server RSS after:  $RSS_AFTER"
FIVEXX="$(awk '/^status_5[0-9][0-9]/ {s += $2} END {print s + 0}' "$WORK/wrk.out")"
OTHER="$(awk '/^status_/ && $1 != "status_200" && $1 != "status_401" {s += $2} END {print s + 0}' "$WORK/wrk.out")"
WRONG="$(awk '/^wrong_status/ {print $2}' "$WORK/wrk.out")"
echo "5xx responses: $FIVEXX; statuses other than 200/401: $OTHER; wrong status for the token kind: $WRONG; sample failures: $SAMPLE_FAIL"
if [[ "$FIVEXX" != 0 || "$OTHER" != 0 || "$WRONG" != 0 || "$SAMPLE_FAIL" != 0 ]]; then
  echo "LOAD TEST FAILED"
  exit 1
fi
echo "LOAD TEST PASSED"
