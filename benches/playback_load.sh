#!/usr/bin/env bash
# Prompt / music-on-hold playback load on loopback, bounded: how much CPU the switch spends
# generating G.711 RTP for callers it talks to itself (IVR prompts, music on hold, ringback).
#
#   benches/playback_load.sh                        # 500 calls hearing music on hold for 20 s
#   CALLS=1000 HOLD_SECS=30 benches/playback_load.sh
#   SWITCHBOARD_BIN=target/release/switchboard benches/playback_load.sh   # skip the build
#
# 1. starts a private copy of the test PBX (UDP 62060, TLS 62061, gateway at 62080, RTP ports
#    20000-59999) with one more dialplan file: 7999 => Answer(), MusicOnHold() — the `moh`
#    prompt (8 s, µ-law WAV) looped by media::player, 50 packets/s per call;
# 2. sets up CALLS calls at SETUP_RATE/s from extension 1000 (SIPp, 407 + digest,
#    benches/sipp/call_load_uac_auth.xml); each caller's SDP names the discard port (9), so
#    the packets leave the switch and are dropped by the kernel;
# 3. once every call is answered, measures the PBX's CPU (utime+stime from /proc/<pid>/stat)
#    over MEASURE_SECS: CPU per 1,000 packets/s played (calls × 50 packets/s);
# 4. the calls end with BYE (SIPp -d); the CDR leg rows give every caller's rtp_out_packets
#    over its answered time: min / median / max packets per second (the pacing, ≈ 50).
#
# Only the processes this script starts are stopped (by pid). Everything runs under `timeout`.
set -euo pipefail

CALLS=${CALLS:-500}
HOLD_SECS=${HOLD_SECS:-20}
SETUP_RATE=${SETUP_RATE:-250}
MEASURE_SECS=${MEASURE_SECS:-10}
PBX_PORT=62060
CARRIER_PORT=62080
UAC_PORT=62100

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 not found: apt-get install sqlite3" >&2; exit 1; }

work=$(mktemp -d -t switchboard-playback.XXXXXX)
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"
trap bench_cleanup EXIT
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  ulimit -n $(ulimit -n)"
echo "== CALLS=$CALLS HOLD_SECS=$HOLD_SECS SETUP_RATE=$SETUP_RATE MEASURE_SECS=$MEASURE_SECS benches/playback_load.sh"

for port in $PBX_PORT $CARRIER_PORT $UAC_PORT; do require_free_udp_port "$port"; done
if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then
    echo "== cargo build --release"
    cargo build --release --bin switchboard
    SWITCHBOARD_BIN=target/release/switchboard
fi

mkdir -p "$work/pbx" "$work/data" "$work/uac"
cp -r tests/sipp/pbx/. "$work/pbx/"
rm -f "$work/pbx/dialplan/sounds"
sed -i 's/1506\([01]\)/6206\1/g; s/15080/62080/; s/127.0.0.1:18080/127.0.0.1:0/; s/rtp_port_min = 30000/rtp_port_min = 20000/;
        s/rtp_port_max = 30999/rtp_port_max = 59999/; s/rtp_timeout_secs = 30/rtp_timeout_secs = 3600/' \
    "$work/pbx/sip-profiles/"*.toml
printf '[internal]\nexten => 7999,1,Answer()\n same => n,MusicOnHold()\n' >"$work/pbx/dialplan/zz-bench.conf"
printf 'SEQUENTIAL\n9\n' >"$work/ports.csv"

"$SWITCHBOARD_BIN" run --config "$work/pbx" --data "$work/data" --sounds "$root/dialplan/sounds" \
    >"$work/switchboard.log" 2>&1 &
pbx=$!
pids+=("$pbx")
wait_udp_port $PBX_PORT
sleep 1
rss_idle=$(rss_kb "$pbx")
echo "switchboard pid $pbx  RSS idle $rss_idle kB"

setup_secs=$(( (CALLS + SETUP_RATE - 1) / SETUP_RATE ))
hold_ms=$(( HOLD_SECS * 1000 ))
bound=$(( HOLD_SECS + setup_secs + 60 ))
(cd "$work/uac" && exec timeout $((bound + 30)) sipp 127.0.0.1:$PBX_PORT -sf "$root/benches/sipp/call_load_uac_auth.xml" \
    -s 7999 -key caller 1000 -au 1000 -ap pw1000 -auth_uri 7999@switchboard.test \
    -inf "$work/ports.csv" -d "$hold_ms" -r "$SETUP_RATE" -m "$CALLS" -l "$CALLS" \
    -i 127.0.0.1 -p $UAC_PORT -max_socket 65000 -timeout "${bound}s" -timeout_error -nostdin \
    -trace_logs -trace_err -trace_stat -stf "$work/uac.stat.csv" >"$work/uac.stdout" 2>&1) &
uac=$!
pids+=("$uac")

answered() { cat "$work"/uac/*_logs.log 2>/dev/null | grep -c "^caller " || true; }
deadline=$((SECONDS + setup_secs + 30))
while (( $(answered) < CALLS )); do
    if ((SECONDS > deadline)) || ! kill -0 "$uac" 2>/dev/null; then
        echo "only $(answered) of $CALLS calls answered"; tail -5 "$work/switchboard.log"; exit 1
    fi
    sleep 0.2
done
echo "$CALLS calls answered, each hearing music on hold"
sleep 1
cpu0=$(cpu_ticks "$pbx"); t0=$(date +%s.%N)
sleep "$MEASURE_SECS"
cpu1=$(cpu_ticks "$pbx"); t1=$(date +%s.%N)
rss_play=$(rss_kb "$pbx")
awk -v a="$cpu0" -v b="$cpu1" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" -v n="$CALLS" '
    BEGIN {
        cpu = (b - a) / hz; wall = t1 - t0; pps = n * 50
        printf "playback CPU %.2f s over %.1f s wall = %.1f%% of one core for %d streams (%d packets/s out)\n", cpu, wall, cpu / wall * 100, n, pps
        printf "=> %.1f ms CPU per s per 1,000 packets/s played (%.2f%% of a core)\n", cpu / wall * 1000 / (pps / 1000), cpu / wall * 100 / (pps / 1000)
    }'
echo "RSS with $CALLS playing calls: $rss_play kB => $(( (rss_play - rss_idle) / CALLS )) KiB per call over idle"

wait "$uac" || true
echo "UAC: successful $(awk -F';' 'NR==1{for(i=1;i<=NF;i++)if($i=="SuccessfulCall(C)")c=i;next}{l=$c}END{print l}' "$work/uac.stat.csv")  failed $(awk -F';' 'NR==1{for(i=1;i<=NF;i++)if($i=="FailedCall(C)")c=i;next}{l=$c}END{print l}' "$work/uac.stat.csv")"
kill -TERM "$pbx"; wait "$pbx" || true
# Pacing check: packets each caller was sent against its answered time × 50/s.
sqlite3 "$work/data/cdr.db" "SELECT rtp_out_packets * 1000.0 / billsec_ms FROM cdr_leg WHERE direction = 'inbound' AND billsec_ms > 0 ORDER BY 1" \
    | awk '{ v[NR] = $1 } END { if (NR) printf "packets per second sent to each caller: min %.1f  median %.1f  max %.1f (n=%d; the player paces 50/s)\n", v[1], v[int((NR+1)/2)], v[NR], NR }'
