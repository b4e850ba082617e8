#!/usr/bin/env bash
# Authenticated REGISTER load on loopback, bounded in calls and time.
#
#   benches/register_load.sh                 # build release, 40000 REGISTERs at 4000/s
#   RATE=2000 CALLS=10000 benches/register_load.sh
#   SWITCHBOARD_BIN=target/debug/switchboard benches/register_load.sh   # skip the release build
#
# 1. starts `switchboard run --config tests/sipp/pbx` with a fresh data dir,
# 2. runs SIPp benches/sipp/register_uac.xml (REGISTER -> 401 -> REGISTER+auth -> 200, two
#    round trips each) over 1000 distinct users (1000-1999, pw<ext>) at RATE/s, CALLS in all,
#    at most LIMIT in flight, and prints the achieved rate and the failures,
# 3. runs the same client against SIPp itself (benches/sipp/register_uas.xml) at the same rate
#    and count: the SIPp ceiling on this machine,
# 4. prints the PBX's RSS (VmRSS) idle, right after the load, and SETTLE s later (completed
#    transactions expired) with the 1000 users registered.
#
# Only the processes it starts are stopped (by pid). Everything runs under `timeout`.
# Record figures with their command and date in docs/performance.md.
set -euo pipefail

RATE=${RATE:-4000}           # REGISTER transactions started per second (SIPp -r)
CALLS=${CALLS:-40000}        # total authenticated registrations (SIPp -m)
LIMIT=${LIMIT:-2000}         # max simultaneous registrations in flight (SIPp -l)
USERS=${USERS:-1000}         # distinct extensions, from 1000
TIMEBOX=${TIMEBOX:-120}      # seconds, per SIPp run
SETTLE=${SETTLE:-35}         # seconds to wait after the load before the steady-state RSS
PBX_ADDR=127.0.0.1:15060
UAS_PORT=${UAS_PORT:-17060}  # where the SIPp registrar listens for the ceiling run
UAC_PORT=${UAC_PORT:-17061}  # the SIPp client's local port

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }

work=$(mktemp -d -t switchboard-bench.XXXXXX)
pbx=""  # pid of the switchboard we started, while it runs
uas=""  # pid of the SIPp registrar we started, while it runs
stop() {  # stop <pid>: only processes this script started
    [[ -n "$1" ]] || return 0
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    stop "$pbx"
    stop "$uas"
    echo "logs and SIPp traces: $work"
}
trap cleanup EXIT

# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"
require_free_udp_port "$UAC_PORT"
require_free_udp_port "$UAS_PORT"


if [[ -n "${CEILING_ONLY:-}" ]]; then
    :  # only the SIPp-against-SIPp run
elif [[ -z "${SWITCHBOARD_BIN:-}" ]]; then
    echo "== cargo build --release"
    cargo build --release --bin switchboard
    SWITCHBOARD_BIN=target/release/switchboard
fi

# Injection file: one line per user, "ext;password", used in order.
{
    echo "SEQUENTIAL"
    for ((ext = 1000; ext < 1000 + USERS; ext++)); do echo "$ext;pw$ext"; done
} >"$work/users.csv"


# Field `name` of the last row of a SIPp -trace_stat CSV (';'-separated, header on line 1).
stat_field() {
    awk -F';' -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i; next }
        { last = $col }
        END { print (col ? last : "?") }' "$1"
}

# run_uac <label> <target> : the load client, bounded by -m and by timeout.
run_uac() {
    local label=$1 target=$2 start end status=0
    start=$(date +%s.%N)
    timeout $((TIMEBOX + 30)) sipp "$target" -sf benches/sipp/register_uac.xml \
        -inf "$work/users.csv" -r "$RATE" -rp 1000 -m "$CALLS" -l "$LIMIT" \
        -i 127.0.0.1 -p "$UAC_PORT" -auth_uri switchboard.test \
        -timeout "${TIMEBOX}s" -timeout_error -nostdin -default_behaviors all,-bye \
        -trace_stat -stf "$work/$label.stat.csv" -fd 1 \
        -trace_err -error_file "$work/$label.errors.log" \
        -trace_screen -screen_file "$work/$label.screen.log" \
        >"$work/$label.stdout" 2>&1 || status=$?
    end=$(date +%s.%N)
    local ok failed elapsed
    ok=$(stat_field "$work/$label.stat.csv" "SuccessfulCall(C)")
    failed=$(stat_field "$work/$label.stat.csv" "FailedCall(C)")
    elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
    printf '%-8s target %s/s  registered %s of %s  failed %s  wall %.2f s  => %.0f registrations/s  (sipp exit %s)\n' \
        "$label" "$RATE" "$ok" "$CALLS" "$failed" "$elapsed" \
        "$(awk -v n="$ok" -v t="$elapsed" 'BEGIN { if (t > 0 && n ~ /^[0-9]+$/) print n / t; else print 0 }')" "$status"
    if [[ -s "$work/$label.errors.log" ]]; then
        echo "         SIPp notices ($(grep -c 'Dead call' "$work/$label.errors.log" || true) late retransmitted answers as 'Dead call'), first lines of $work/$label.errors.log:"
        head -5 "$work/$label.errors.log" | sed 's/^/           /'
    fi
}

echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  $(sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' | head -1)"
echo "== command: RATE=$RATE CALLS=$CALLS LIMIT=$LIMIT USERS=$USERS benches/register_load.sh (${SWITCHBOARD_BIN:-ceiling only})"

# ---- the PBX ----------------------------------------------------------------------------
if [[ -z "${CEILING_ONLY:-}" ]]; then
require_free_udp_port 15060  # another switchboard would answer our probes
mkdir -p "$work/data"
"$SWITCHBOARD_BIN" run --config tests/sipp/pbx --data "$work/data" >"$work/switchboard.log" 2>&1 &
pbx=$!

ready=0
for _ in $(seq 1 30); do
    # each probe waits up to 1 s for the OPTIONS answer
    if timeout 10 sipp "$PBX_ADDR" -sf tests/sipp/options.xml -m 1 -timeout 1s -timeout_error \
        -i 127.0.0.1 -p "$UAC_PORT" -nostdin -default_behaviors all,-bye >/dev/null 2>&1; then
        ready=1
        break
    fi
    kill -0 "$pbx" 2>/dev/null || { echo "switchboard exited:"; tail -20 "$work/switchboard.log"; exit 1; }
done
[[ $ready == 1 ]] || { echo "switchboard did not answer OPTIONS on $PBX_ADDR"; exit 1; }

echo "switchboard RSS idle: $(rss_kb "$pbx") kB"
run_uac switchboard "$PBX_ADDR"
echo "switchboard RSS right after the load ($USERS registered contacts): $(rss_kb "$pbx") kB"
# Completed UDP transactions live on for Timer J = 64*T1 = 32 s (RFC 3261 §17.2.2); measure
# again once they are gone: the steady state with the 1000 bindings.
sleep "$SETTLE"
echo "switchboard RSS ${SETTLE} s later ($USERS registered contacts, transactions expired): $(rss_kb "$pbx") kB"
if command -v python3 >/dev/null; then
    python3 - "$work/data/switchboard.db" <<'PY' || true
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print("registrations rows:", db.execute("SELECT COUNT(*) FROM registrations").fetchone()[0])
PY
fi
stop "$pbx"
pbx=""
fi

# ---- the SIPp ceiling: the same client against SIPp as registrar -------------------------
timeout $((TIMEBOX + 40)) sipp -sf benches/sipp/register_uas.xml -i 127.0.0.1 -p "$UAS_PORT" \
    -m "$CALLS" -timeout "$((TIMEBOX + 10))s" -nostdin -default_behaviors all,-bye \
    -trace_err -error_file "$work/uas.errors.log" >"$work/uas.stdout" 2>&1 &
uas=$!
wait_udp_port "$UAS_PORT"
run_uac sipp-uas "127.0.0.1:$UAS_PORT"
stop "$uas"
uas=""
