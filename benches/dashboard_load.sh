#!/usr/bin/env bash
# Dashboard load: what the live-call WebSocket costs the PBX while it holds many calls that
# keep changing, and what a dashboard receives. Loopback, bounded:
#
#   benches/dashboard_load.sh                      # 1000 live calls, 30 s per phase
#   LIVE_CALLS=500 MEASURE_SECS=20 benches/dashboard_load.sh
#   WATCHERS=10 benches/dashboard_load.sh          # ten dashboards at once
#   SWITCHBOARD_BIN=target/release/switchboard benches/dashboard_load.sh   # skip the build
#   EXTRA_SECS=120 benches/dashboard_load.sh       # keep the load up 120 s more at the end
#                                                  # (for a browser on the dashboard)
#
# 1. a private copy of the test PBX (SIP UDP 63060, TLS 63061, gateway "carrier" at 63080,
#    web admin 127.0.0.1:63088, RTP 20000-29999, RTP timeout 1 h, CDRs on as shipped) with a
#    fresh data dir and a web account `bench` (`switchboard admin set-password`);
# 2. calls arrive and end continuously: SIPp UAC = extension 1000 dialling 9555123 (407,
#    digest) at RATE = LIVE_CALLS / (RING_MS + HOLD_MS) calls/s; the SIPp UAS "carrier"
#    rings (180) for RING_MS, then answers (200); the caller hangs up HOLD_MS after the
#    answer. Each call goes ringing → up → gone, so in steady state about LIVE_CALLS calls
#    are live and 3 × RATE of them change every second. No RTP is sent (SDP port 7000).
# 3. after the ramp, three phases of MEASURE_SECS each: A without a watcher, B with
#    WATCHERS watchers (benches/ws_watch.rs: login, `/api/v1/calls/live`, messages/s,
#    bytes/s, largest message and batch, change → delta delay), A2 without again. The PBX
#    CPU (utime + stime from /proc/<pid>/stat) of each phase; live calls from
#    `/api/v1/status` at each phase start.
# 4. an admin hangs one live call up (DELETE /api/v1/calls/{id}, cookie + CSRF): 204, and
#    the PBX log line with hangup_by=admin.
# When the calls are up, one line `READY web=http://127.0.0.1:63088 user=bench password=...`
# tells another tool (a browser test) it can log in; EXTRA_SECS keeps the load up longer.
# Only the processes this script starts are stopped (by pid). Everything runs under `timeout`.
set -euo pipefail

LIVE_CALLS=${LIVE_CALLS:-1000}
RING_MS=${RING_MS:-2000}        # 180 → 200 at the callee
HOLD_MS=${HOLD_MS:-18000}       # answer → BYE from the caller
MEASURE_SECS=${MEASURE_SECS:-30}
WATCHERS=${WATCHERS:-1}
EXTRA_SECS=${EXTRA_SECS:-0}     # load kept up after the phases
PBX_PORT=63060
CARRIER_PORT=63080
UAC_PORT=63100
WEB_PORT=63088
WEB=127.0.0.1:$WEB_PORT
BENCH_USER=bench
BENCH_PASSWORD=dashboard-bench-password

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found: apt-get install curl" >&2; exit 1; }

work=$(mktemp -d -t switchboard-dashboard.XXXXXX)
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"
trap bench_cleanup EXIT
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for port in $PBX_PORT $CARRIER_PORT $UAC_PORT; do require_free_udp_port "$port"; done
if awk -v p=":$(printf '%04X' $WEB_PORT)" '$2 ~ p "$" && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp; then
    echo "TCP port $WEB_PORT is in use (listening)" >&2; exit 1
fi

cycle_ms=$((RING_MS + HOLD_MS))
rate=$(( (LIVE_CALLS * 1000 + cycle_ms - 1) / cycle_ms ))
ramp_secs=$(( cycle_ms / 1000 + 5 ))
run_secs=$(( ramp_secs + 3 * MEASURE_SECS + EXTRA_SECS + 15 ))
calls=$(( rate * run_secs ))
bound=$(( run_secs + cycle_ms / 1000 + 60 ))

echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== LIVE_CALLS=$LIVE_CALLS RING_MS=$RING_MS HOLD_MS=$HOLD_MS MEASURE_SECS=$MEASURE_SECS WATCHERS=$WATCHERS benches/dashboard_load.sh"
echo "   $rate calls/s, each ringing ${RING_MS} ms then up ${HOLD_MS} ms; ramp ${ramp_secs} s"

echo "== rustc -O benches/ws_watch.rs"
rustc -O --edition 2021 -o "$work/ws_watch" benches/ws_watch.rs
if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then
    echo "== cargo build --release"
    cargo build --release --bin switchboard
    SWITCHBOARD_BIN=target/release/switchboard
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- the PBX -------------------------------------------------------------------------------
mkdir -p "$work/pbx" "$work/data" "$work/uac" "$work/uas"
cp -r tests/sipp/pbx/. "$work/pbx/"
sed -i "s/1506\([01]\)/6306\1/g; s/15080/$CARRIER_PORT/; s/127.0.0.1:18080/$WEB/; s/rtp_port_min = 30000/rtp_port_min = 20000/;
        s/rtp_port_max = 30999/rtp_port_max = 29999/; s/rtp_timeout_secs = 30/rtp_timeout_secs = 3600/" \
    "$work/pbx/sip-profiles/"*.toml
printf '%s\n' "$BENCH_PASSWORD" | "$SWITCHBOARD_BIN" admin set-password --data "$work/data" "$BENCH_USER" >/dev/null
"$SWITCHBOARD_BIN" run --config "$work/pbx" --data "$work/data" >"$work/switchboard.log" 2>&1 &
pbx=$!
pids+=("$pbx")
wait_udp_port $PBX_PORT
curl -s -o /dev/null --retry 20 --retry-connrefused --retry-delay 0 --max-time 10 "http://$WEB/login" || true
csrf=$(curl -s -c "$work/cookies" -H 'Content-Type: application/json' --max-time 10 \
    -d "{\"name\":\"$BENCH_USER\",\"password\":\"$BENCH_PASSWORD\"}" "http://$WEB/api/v1/login" |
    grep -o '"csrf[a-z_]*":"[^"]*"' | cut -d'"' -f4 || true)
live_calls() {
    curl -s -b "$work/cookies" --max-time 10 "http://$WEB/api/v1/status" |
        sed -n 's/.*"calls":{"active":\([0-9]*\).*/\1/p' || true
}
echo "switchboard pid $pbx  RSS idle $(rss_kb "$pbx") kB  live calls $(live_calls)"

# ---- the calls -----------------------------------------------------------------------------
printf 'SEQUENTIAL\n7000\n' >"$work/sdp_port.csv"
# The load UAS with a 180 and RING_MS of ringing before its 200.
awk -v ring="$RING_MS" '
    /<send>/ && !done {
        print "  <send>\n    <![CDATA[\n\n      SIP/2.0 180 Ringing\n      [last_Via:]\n      [last_Record-Route:]\n      [last_From:]\n      [last_To:];tag=[pid]u[call_number]\n      [last_Call-ID:]\n      [last_CSeq:]\n      Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>\n      Content-Length: 0\n\n    ]]>\n  </send>\n"
        print "  <pause milliseconds=\"" ring "\"/>\n"
        done = 1
    }
    { print }' benches/sipp/call_load_uas.xml >"$work/uas_ringing.xml"
(cd "$work/uas" && exec timeout $((bound + 30)) sipp -sf "$work/uas_ringing.xml" -i 127.0.0.1 \
    -p $CARRIER_PORT -inf "$work/sdp_port.csv" -nostdin -timeout "${bound}s" -max_socket 65000 \
    -trace_err -trace_stat -stf "$work/uas.stat.csv" >"$work/uas.stdout" 2>&1) &
pids+=("$!")
wait_udp_port $CARRIER_PORT
(cd "$work/uac" && exec timeout $((bound + 30)) sipp 127.0.0.1:$PBX_PORT -sf "$root/benches/sipp/call_load_uac_auth.xml" \
    -s 9555123 -key caller 1000 -au 1000 -ap pw1000 -auth_uri 9555123@switchboard.test \
    -inf "$work/sdp_port.csv" -d "$HOLD_MS" -r "$rate" -m "$calls" -l $((LIVE_CALLS * 2)) \
    -i 127.0.0.1 -p $UAC_PORT -max_socket 65000 -timeout "${bound}s" -timeout_error -nostdin \
    -trace_err -trace_stat -stf "$work/uac.stat.csv" -fd 1 >"$work/uac.stdout" 2>&1) &
uac=$!
pids+=("$uac")
sleep "$ramp_secs"
kill -0 "$uac" 2>/dev/null || { echo "SIPp UAC ended early:"; tail -5 "$work/uac.stdout"; exit 1; }
echo "READY web=http://$WEB user=$BENCH_USER password=$BENCH_PASSWORD live_calls=$(live_calls)"

# ---- the phases ----------------------------------------------------------------------------
hz=$(getconf CLK_TCK)
declare -A cpu_pct
phase() {  # phase <name> <watchers>
    local name=$1 n=$2 c0 c1 t0 t1 live
    live=$(live_calls)
    c0=$(cpu_ticks "$pbx"); t0=$(date +%s.%N)
    local wpids=()
    for ((i = 0; i < n; i++)); do
        timeout $((MEASURE_SECS + 30)) "$work/ws_watch" "$WEB" "$BENCH_USER" "$BENCH_PASSWORD" "$MEASURE_SECS" \
            >"$work/watch_${name}_${i}.out" 2>&1 &
        wpids+=("$!")
        pids+=("$!")
    done
    if ((n == 0)); then sleep "$MEASURE_SECS"; else for p in "${wpids[@]}"; do wait "$p" || true; done; fi
    c1=$(cpu_ticks "$pbx"); t1=$(date +%s.%N)
    cpu_pct[$name]=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz / (t1 - t0) * 100 }')
    echo "phase $name: $n watcher(s), live calls at start $live, PBX CPU ${cpu_pct[$name]}% of one core, RSS $(rss_kb "$pbx") kB"
    ((n > 0)) && cat "$work/watch_${name}_0.out"
    return 0
}
phase A 0
phase B "$WATCHERS"
phase A2 0
awk -v a="${cpu_pct[A]}" -v b="${cpu_pct[B]}" -v c="${cpu_pct[A2]}" -v n="$WATCHERS" 'BEGIN {
    base = (a + c) / 2
    printf "== PBX CPU without watcher %.1f%% (A %.1f, A2 %.1f), with %d watcher(s) %.1f%%: +%.1f points of one core\n", base, a, c, n, b, b - base
}'
# An admin hangs one live call up (DELETE /api/v1/calls/{id}): 204, and the PBX logs it.
# (the middle one of the list, oldest first: answered, and far from its own end).
victim=$(curl -s -b "$work/cookies" --max-time 10 "http://$WEB/api/v1/calls" |
    grep -o '{"id":"[^"]*","linkedid"' | cut -d'"' -f4 | awk '{ id[NR] = $0 } END { print id[int((NR + 1) / 2)] }' || true)
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$work/cookies" -H "X-CSRF-Token: $csrf" \
    --max-time 10 "http://$WEB/api/v1/calls/$victim")
sleep 1
echo "== admin hang-up of call $victim: HTTP $code; PBX log: $(grep -c 'hangup_by' "$work/switchboard.log") line(s) with hangup_by"
grep -m1 'hung up by an administrator' "$work/switchboard.log" || true

stat_field() {  # stat_field <SIPp -trace_stat CSV> <column>: its last value
    awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { v = $c } END { print (c ? v : "?") }' "$1"
}
echo "== SIPp so far: $(stat_field "$work/uac.stat.csv" "SuccessfulCall(C)") calls completed, $(stat_field "$work/uac.stat.csv" "FailedCall(C)") failed"
if ((EXTRA_SECS > 0)); then
    echo "== load kept up for $EXTRA_SECS s more (live calls $(live_calls))"
    sleep "$EXTRA_SECS"
fi
