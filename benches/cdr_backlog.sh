#!/usr/bin/env bash
# What a locked CDR database costs while calls go on: the backlog the writer queues, the
# memory it takes, that no call waits and no record is lost. Bounded, loopback only.
#
#   benches/cdr_backlog.sh                              # 500 calls/s for 20 s, lock 25 s
#   RATE=300 SECS=10 LOCK_SECS=15 benches/cdr_backlog.sh
#   SWITCHBOARD_BIN=target/release/switchboard benches/cdr_backlog.sh   # skip the build
#
# A private copy of the test PBX (63060 UDP/TCP, 63061 TLS, carrier 63080, RTP 20000-39999)
# runs with the default [cdr]. The script holds an exclusive lock on <data>/cdr.db with the
# sqlite3 CLI for LOCK_SECS while SIPp (extension 1000 → 9555123 → carrier, 1 s hold) makes
# RATE × SECS calls. Every second it samples the PBX's RSS and `switchboard cdr status`
# (backlog). Then it releases the lock and reports: SIPp's outcome and INVITE→200 p99 (calls
# must not notice), the peak backlog, RSS growth per queued operation, the drain time, and
# leg rows = 2 × successful calls. Needs sipp and sqlite3.
set -euo pipefail

RATE=${RATE:-500}
SECS=${SECS:-20}
LOCK_SECS=${LOCK_SECS:-25}
PBX_PORT=63060
CARRIER_PORT=63080
UAC_PORT=63100

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 not found: apt-get install sqlite3" >&2; exit 1; }
work=$(mktemp -d -t switchboard-cdr-backlog.XXXXXX)
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"
trap bench_cleanup EXIT
for port in $PBX_PORT $CARRIER_PORT $UAC_PORT; do require_free_udp_port "$port"; done
if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then
    cargo build --release --bin switchboard
    SWITCHBOARD_BIN=target/release/switchboard
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
printf 'SEQUENTIAL\n7000\n' >"$work/sdp_port.csv"

mkdir -p "$work/pbx" "$work/data"
cp -r tests/sipp/pbx/. "$work/pbx/"
sed -i "s/1506\([01]\)/6306\1/g; s/15080/$CARRIER_PORT/; s/127.0.0.1:18080/127.0.0.1:0/; s/rtp_port_min = 30000/rtp_port_min = 20000/;
        s/rtp_port_max = 30999/rtp_port_max = 39999/; s/rtp_timeout_secs = 30/rtp_timeout_secs = 3600/" \
    "$work/pbx/sip-profiles/"*.toml
"$SWITCHBOARD_BIN" run --config "$work/pbx" --data "$work/data" >"$work/switchboard.log" 2>&1 &
pbx=$!
pids+=("$pbx")
wait_udp_port $PBX_PORT
timeout 600 sipp -sf benches/sipp/call_load_uas.xml -i 127.0.0.1 -p $CARRIER_PORT \
    -inf "$work/sdp_port.csv" -nostdin -timeout 590s -max_socket 65000 >"$work/uas.stdout" 2>&1 &
pids+=("$!")
wait_udp_port $CARRIER_PORT

backlog() {
    "$SWITCHBOARD_BIN" cdr status --data "$work/data" 2>/dev/null |
        awk -F'[:,]' '/"backlog":/ { gsub(/ /, "", $2); print $2; exit }' || true
}

rss0=$(rss_kb "$pbx")
echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== RATE=$RATE SECS=$SECS LOCK_SECS=$LOCK_SECS benches/cdr_backlog.sh; PBX RSS idle $rss0 kB"
(echo "BEGIN EXCLUSIVE; SELECT 'locked';"; sleep "$LOCK_SECS"; echo "COMMIT;") |
    sqlite3 "$work/data/cdr.db" >"$work/lock.out" 2>&1 &
locker=$!
pids+=("$locker")
sleep 0.5
calls=$((RATE * SECS))
(cd "$work" && timeout $((SECS * 4 + 60)) sipp "127.0.0.1:$PBX_PORT" -sf "$root/benches/sipp/call_load_uac_auth.xml" \
    -s 9555123 -key caller 1000 -au 1000 -ap pw1000 -auth_uri 9555123@switchboard.test \
    -d 1000 -inf "$work/sdp_port.csv" -r "$RATE" -m "$calls" -i 127.0.0.1 -p $UAC_PORT \
    -max_socket 65000 -timeout "$((SECS * 4 + 30))s" -timeout_error -nostdin \
    -trace_stat -stf "$work/uac.stat.csv" -fd 1 -trace_rtt -rtt_freq 1 >"$work/uac.stdout" 2>&1) &
uac=$!
peak_backlog=0
peak_rss=$rss0
while kill -0 "$locker" 2>/dev/null; do
    b=$(backlog); r=$(rss_kb "$pbx")
    [[ -n $b ]] && ((b > peak_backlog)) && peak_backlog=$b
    ((r > peak_rss)) && peak_rss=$r
    sleep 1
done
released=$(date +%s%3N)
wait "$uac" || true
drained=""
for _ in $(seq 1 600); do
    [[ $(backlog) == 0 ]] && { drained=$(($(date +%s%3N) - released)); break; }
    sleep 0.1
done
ok=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i; next } { v = $c } END { print v }' "$work/uac.stat.csv")
failed=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedCall(C)") c = i; next } { v = $c } END { print v }' "$work/uac.stat.csv")
p99=$(cat "$work"/*_rtt.csv 2>/dev/null | awk -F';' '$3 == "invite" { print $2 }' | sort -n |
    awk '{ v[NR] = $1 } END { print (NR ? v[int((NR - 1) * 0.99) + 1] : "-") }')
legs=$("$SWITCHBOARD_BIN" cdr export --data "$work/data" --mode leg --format csv 2>/dev/null | tail -n +2 | wc -l)
echo "calls $calls  ok $ok  failed $failed  INVITE->200 p99 ${p99} ms (database locked for ${LOCK_SECS} s)"
echo "peak backlog $peak_backlog operations  RSS $rss0 -> $peak_rss kB" \
    "($(awk -v a="$rss0" -v b="$peak_rss" -v n="$peak_backlog" 'BEGIN { printf "%.0f", n ? (b - a) * 1024 / n : 0 }') bytes per queued operation)"
echo "drained ${drained:-not within 60} ms after the lock was released"
echo "leg rows $legs (2 x ok = $((2 * ok)))"
grep -c "CDR database cannot be written" "$work/switchboard.log" | xargs echo "loud log lines:"
