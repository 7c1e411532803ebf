#!/usr/bin/env bash
# Usage: bash k6/test.sh
# 1. scripts/setup-k6 (pinned k6 in .cache/bin)
# 2. `k6 inspect --execution-requirements` and `k6 archive` of every script, quick and full
#    profile: imports, options and env parsing; prints each scenario's planned duration and
#    checks the quick profile fits the lab's budget (every scenario x 3 runtimes in 10 min)
# 3. a real smoke run of every scenario (2 s, 2 VUs) against the Go reference server on a free
#    loopback port: k6 exits 0, requests were made, all checks passed
# 4. the documented remote-write command line into a loopback Prometheus (when `prometheus`
#    is installed, as scripts/setup does): the samples arrive with run_id/scenario/runtime labels
# The server (and Prometheus) are stopped at the end, also on failure. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

scripts/setup-k6
K6="${K6:-$repo/.cache/bin/k6}"
"$K6" version

work="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

scenarios=(load spike soak squeeze payload pod-kill compute-scaling interference)
three='TARGETS=rust=http://127.0.0.1:1,go=http://127.0.0.1:2,django=http://127.0.0.1:3'

echo
echo "=== inspect and archive"
for profile in quick full; do
  total=0
  for s in "${scenarios[@]}"; do
    "$K6" inspect --execution-requirements -e PROFILE="$profile" -e "$three" "k6/$s.js" >"$work/inspect.json" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "FAIL: k6 inspect k6/$s.js ($profile)" >&2; exit 1; }
    "$K6" archive -q -e PROFILE="$profile" -e "$three" -O "$work/$s.tar" "k6/$s.js" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "FAIL: k6 archive k6/$s.js ($profile)" >&2; exit 1; }
    "$K6" inspect -e PROFILE="$profile" -e "$three" -e SCENARIO="$s" k6/bench.js >/dev/null 2>"$work/err" ||
      { cat "$work/err" >&2; echo "FAIL: k6 inspect k6/bench.js SCENARIO=$s ($profile)" >&2; exit 1; }
    seconds=$(python3 - "$work/inspect.json" "$s" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
def secs(text):
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u]
               for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", text))
names = sorted(d["scenarios"])
assert names and all(v["exec"] == "run" for v in d["scenarios"].values()), names
assert d["tags"]["run_id"] and d["summaryTrendStats"], "tags/summaryTrendStats"
total = secs(d["totalDuration"])
# compute-scaling's duration is a cap (maxDuration); it takes ~20 s in the quick profile.
print(20 if sys.argv[2] == "compute-scaling" else round(total))
print(f"  {sys.argv[2]:16} {len(names)} k6 scenario(s), {d['maxVUs']:3} VUs max, "
      f"{d['totalDuration']} planned (3 targets)", file=sys.stderr)
EOF
    )
    total=$((total + seconds))
  done
  # The node-only scenarios (podmeter-lab run --cluster): checked, not in the lab's total.
  for s in hpa rolling-update; do
    "$K6" inspect -e PROFILE="$profile" -e "$three" "k6/$s.js" >/dev/null 2>"$work/err" ||
      { cat "$work/err" >&2; echo "FAIL: k6 inspect k6/$s.js ($profile)" >&2; exit 1; }
  done
  # The suites (podmeter-lab run --suite): each its own command, not in the lab's total.
  for s in fib snowflake sha256; do
    "$K6" inspect --execution-requirements -e PROFILE="$profile" -e "$three" "k6/$s.js" >"$work/inspect.json" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "FAIL: k6 inspect k6/$s.js ($profile)" >&2; exit 1; }
    "$K6" archive -q -e PROFILE="$profile" -e "$three" -O "$work/$s.tar" "k6/$s.js" 2>"$work/err" ||
      { cat "$work/err" >&2; echo "FAIL: k6 archive k6/$s.js ($profile)" >&2; exit 1; }
    python3 - "$work/inspect.json" "$s" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["scenarios"] and all(v["exec"] == "run" for v in d["scenarios"].values())
print(f"  suite {sys.argv[2]:10} {len(d['scenarios'])} k6 scenario(s), {d['maxVUs']:3} VUs max, "
      f"{d['totalDuration']} planned (3 targets)")
EOF
  done
  echo "  $profile profile: every scenario for 3 runtimes: about ${total} s of load"
  if [[ $profile == quick ]] && ((total > 540)); then
    echo "FAIL: the quick profile takes ${total} s, over the lab's 9-minute share of 10 minutes" >&2
    exit 1
  fi
done

echo
echo "=== smoke run against the Go reference server"
servers/setup go
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PORT=$port HOST=127.0.0.1 servers/run go >"$work/server.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/server.log" >&2; echo "FAIL: the Go server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$url/health" >/dev/null || { cat "$work/server.log" >&2; echo "FAIL: no /health at $url" >&2; exit 1; }

# Tiny overrides shared by every scenario: each one runs for a few seconds.
tiny=(-e DURATION=2s -e VUS=2 -e START_VUS=1 -e BASELINE=1s -e RAMP=1s -e RAMP_DOWN=0s
      -e THINK=0.05 -e GRACE=1s -e GAP=0s -e ITERATIONS=1 -e N_VALUES=1000,50000)

# run NAME SCRIPT [k6 args...]: k6 run, then check the summary JSON.
run() {
  local name=$1 script=$2
  shift 2
  local summary="$work/$name.json"
  if ! "$K6" run -q "${tiny[@]}" -e RUN_ID="smoke-$name" -e SUMMARY_FILE="$summary" "$@" "$script" \
    >"$work/$name.out" 2>&1; then
    cat "$work/$name.out" >&2
    echo "FAIL: k6 run $script ($name) exited non-zero" >&2
    return 1
  fi
  python3 - "$summary" "$name" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
name = sys.argv[2]
reqs = d["k6"]["metrics"]["http_reqs"]["values"]["count"]
rows = d["rows"]
problems = []
if reqs <= 0:
    problems.append("no http_reqs")
for r in rows:
    if r["requests"] <= 0:
        problems.append(f"{r['runtime']}: no requests in the main phase")
    if r["checks_rate"] != 1 or r["failed"] != 0:
        problems.append(f"{r['runtime']}: checks {r['checks_rate']}, failed {r['failed']}")
    if d["scenario"] == "pod-kill" and not r["pod_kill"]["series"]:
        problems.append(f"{r['runtime']}: no per-second series")
    if d["scenario"] == "compute-scaling" and any(c["server_median_ms"] is None for c in r["compute"]):
        problems.append(f"{r['runtime']}: no Server-Timing medians")
if d["run_id"] != f"smoke-{name}":
    problems.append(f"run_id {d['run_id']}")
if problems:
    sys.exit(f"FAIL: {name}: " + "; ".join(problems))
print(f"  ok  {name:18} {reqs:4} requests, " +
      ", ".join(f"{r['runtime']} {r['requests']} main-phase, p95 {r['p95_ms']:.2f} ms" for r in rows))
EOF
}

failed=0
for s in load spike soak squeeze payload pod-kill compute-scaling; do
  run "$s" "k6/$s.js" -e BASE_URL="$url" || failed=1
done
run interference k6/interference.js -e TARGETS="go=$url,go-b=$url" || failed=1
run bench-soak k6/bench.js -e SCENARIO=soak -e TARGETS="go=$url" || failed=1
run sequential k6/load.js -e TARGETS="go=$url,go-b=$url" || failed=1
# The suites, every test for two targets, stages and VUs scaled down to seconds.
for s in fib snowflake sha256; do
  run "suite-$s" "k6/$s.js" -e STAGE_SCALE=0.05 -e VU_SCALE=0.05 -e TARGETS="go=$url,go-b=$url" || failed=1
done

echo
echo "=== remote write to Prometheus (the command line of k6/README.md)"
if command -v prometheus >/dev/null; then
  pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "global: {scrape_interval: 1m}" >"$work/prometheus.yml"
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" --web.enable-remote-write-receiver \
    >"$work/prometheus.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$pport/-/ready" >/dev/null 2>&1 && break
    sleep 0.2
  done
  if K6_PROMETHEUS_RW_SERVER_URL="http://127.0.0.1:$pport/api/v1/write" \
    K6_PROMETHEUS_RW_TREND_STATS='p(50),p(95),p(99),avg,max' \
    "$K6" run -q "${tiny[@]}" --out experimental-prometheus-rw -e RUN_ID=smoke-rw -e BASE_URL="$url" \
    k6/load.js >"$work/rw.out" 2>&1; then
    query='k6_http_reqs_total{run_id="smoke-rw",scenario="load",runtime="go",phase="main"}'
    got=$(curl -fsS -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=sum($query)" |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    p95=$(curl -fsS -G "http://127.0.0.1:$pport/api/v1/query" \
      --data-urlencode 'query=count(k6_http_req_duration_p95{run_id="smoke-rw"})' |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    if [[ $got != 0 && $p95 != 0 ]]; then
      echo "  ok  $query = $got; k6_http_req_duration_p95 series: $p95"
    else
      echo "FAIL: remote write: $query = $got, p95 series $p95" >&2
      failed=1
    fi
  else
    cat "$work/rw.out" >&2
    echo "FAIL: k6 run --out experimental-prometheus-rw" >&2
    failed=1
  fi
else
  echo "  skipped: no prometheus binary (scripts/setup installs Debian's)"
fi

if ((failed)); then
  echo "k6/test.sh: FAILED" >&2
  exit 1
fi
echo "k6/test.sh: all scenarios ran"
