#!/usr/bin/env bash
# Relayed media load and memory per call, on loopback, bounded:
#
#   benches/media_load.sh                          # 1000 calls, 30 s of G.711 RTP both ways
#   CALLS=500 HOLD_SECS=20 benches/media_load.sh
#   CALLS=4900 RTP=0 benches/media_load.sh         # signalling only: RSS with 4900 held calls
#   SWITCHBOARD_BIN=target/release/switchboard benches/media_load.sh   # skip the build
#   DIRECT=1 benches/media_load.sh                 # the generator alone, phone to phone (no PBX):
#                                                  # its own loss / latency floor
#
# 1. starts a private copy of the test PBX (UDP 64060, TLS 64061, gateway "carrier" at
#    64080, RTP ports 20000-59999, RTP timeout 1 h) with a fresh data dir; RSS idle;
# 2. sets up CALLS calls at SETUP_RATE/s: SIPp UAC = extension 1000 dialling 9555123 (407,
#    digest), switchboard → SIPp UAS as "carrier" (benches/sipp/call_load_uac_auth.xml,
#    call_load_uas.xml); each side's SDP names its own port (below) and each SIPp logs
#    "<side> <our port> <relay port>" (-trace_logs);
#    waits (bounded) until every call is answered; RSS with CALLS held calls, no RTP;
# 3. unless RTP=0: benches/media/rtpgen.rs plays both phones of every call: 50 packets/s
#    each way (172-byte G.711 packets, sends spread over each 20 ms) for HOLD_SECS,
#    through the relay; reports sent / received / loss and one-way latency p50/p99
#    (timestamps in the payload; the generator's own scheduling included — compare with
#    DIRECT=1). The PBX's CPU (utime+stime from /proc/<pid>/stat) over the RTP period →
#    CPU per 1,000 packets/s relayed; RSS during media;
# 4. the calls end with BYE (SIPp -d), SIPp exits; RSS after.
#
# SDP ports of the generator's legs: caller k → 10000+2k, callee k → 10000+2·CALLS+2k
# (CALLS ≤ 2500 with RTP). The PBX needs 4 sockets per call (2 RTP/RTCP pairs): the
# open-file limit (ulimit -n) bounds the calls it can hold.
# Only the processes this script starts are stopped (by pid). Everything runs under `timeout`.
set -euo pipefail

CALLS=${CALLS:-1000}
HOLD_SECS=${HOLD_SECS:-30}      # RTP duration
SETUP_RATE=${SETUP_RATE:-200}   # calls/s while setting up
RTP=${RTP:-1}
DIRECT=${DIRECT:-}
SETTLE_SECS=${SETTLE_SECS:-5}   # after the last answer, before measuring RSS
PBX_PORT=64060
CARRIER_PORT=64080
UAC_PORT=64100

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }

work=$(mktemp -d -t switchboard-media.XXXXXX)
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"
trap bench_cleanup EXIT
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
fds() { ls "/proc/$1/fd" | wc -l; }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  ulimit -n $(ulimit -n)"
echo "== CALLS=$CALLS HOLD_SECS=$HOLD_SECS SETUP_RATE=$SETUP_RATE RTP=$RTP DIRECT=$DIRECT benches/media_load.sh"

echo "== rustc -O benches/media/rtpgen.rs"
rustc -O --edition 2021 -o "$work/rtpgen" benches/media/rtpgen.rs

if [[ -n "$DIRECT" ]]; then
    # Phone to phone without the PBX: caller k <-> callee k.
    for ((k = 0; k < CALLS; k++)); do
        echo "caller $((10000 + 2 * k)) $((10000 + 2 * CALLS + 2 * k))"
        echo "callee $((10000 + 2 * CALLS + 2 * k)) $((10000 + 2 * k))"
    done >"$work/legs.txt"
    timeout $((HOLD_SECS + 30)) "$work/rtpgen" "$work/legs.txt" "$HOLD_SECS" | tee "$work/rtpgen.out"
    exit 0
fi

for port in $PBX_PORT $CARRIER_PORT $UAC_PORT; do require_free_udp_port "$port"; done
if [[ -z "${SWITCHBOARD_BIN:-}" ]]; then
    echo "== cargo build --release"
    cargo build --release --bin switchboard
    SWITCHBOARD_BIN=target/release/switchboard
fi

# ---- SDP ports, one per call and side ------------------------------------------------------
if [[ $RTP == 1 ]]; then
    ((CALLS <= 2500)) || { echo "RTP=1 needs CALLS <= 2500 (generator ports 10000-19999)" >&2; exit 1; }
    { echo SEQUENTIAL; for ((k = 0; k < CALLS; k++)); do echo "$((10000 + 2 * k))"; done; } >"$work/caller_ports.csv"
    { echo SEQUENTIAL; for ((k = 0; k < CALLS; k++)); do echo "$((10000 + 2 * CALLS + 2 * k))"; done; } >"$work/callee_ports.csv"
else
    printf 'SEQUENTIAL\n7000\n' >"$work/caller_ports.csv"
    cp "$work/caller_ports.csv" "$work/callee_ports.csv"
fi

# ---- the PBX ---------------------------------------------------------------------------------
mkdir -p "$work/pbx" "$work/data" "$work/uac" "$work/uas"
cp -r tests/sipp/pbx/. "$work/pbx/"
sed -i 's/1506\([01]\)/6406\1/g; s/15080/64080/; s/127.0.0.1:18080/127.0.0.1:0/; s/rtp_port_min = 30000/rtp_port_min = 20000/;
        s/rtp_port_max = 30999/rtp_port_max = 59999/; s/rtp_timeout_secs = 30/rtp_timeout_secs = 3600/' \
    "$work/pbx/sip-profiles/"*.toml
"$SWITCHBOARD_BIN" run --config "$work/pbx" --data "$work/data" >"$work/switchboard.log" 2>&1 &
pbx=$!
pids+=("$pbx")
wait_udp_port $PBX_PORT
sleep 1
echo "switchboard pid $pbx  RSS idle $(rss_kb "$pbx") kB  fds $(fds "$pbx")  (open-file limit $(awk '/Max open files/ { print $4 }' "/proc/$pbx/limits"))"
rss_idle=$(rss_kb "$pbx")

# ---- the calls -------------------------------------------------------------------------------
setup_secs=$(( (CALLS + SETUP_RATE - 1) / SETUP_RATE ))
hold_ms=$(( (setup_secs + SETTLE_SECS + HOLD_SECS + 25) * 1000 ))   # every call outlives the RTP
bound=$(( hold_ms / 1000 + setup_secs + 60 ))
(cd "$work/uas" && exec timeout $((bound + 30)) sipp -sf "$root/benches/sipp/call_load_uas.xml" -i 127.0.0.1 \
    -p $CARRIER_PORT -inf "$work/callee_ports.csv" -nostdin -timeout "${bound}s" -max_socket 65000 \
    -trace_logs -trace_err -trace_stat -stf "$work/uas.stat.csv" >"$work/uas.stdout" 2>&1) &
pids+=("$!")
wait_udp_port $CARRIER_PORT
(cd "$work/uac" && exec timeout $((bound + 30)) sipp 127.0.0.1:$PBX_PORT -sf "$root/benches/sipp/call_load_uac_auth.xml" \
    -s 9555123 -key caller 1000 -au 1000 -ap pw1000 -auth_uri 9555123@switchboard.test \
    -inf "$work/caller_ports.csv" -d "$hold_ms" -r "$SETUP_RATE" -m "$CALLS" -l "$CALLS" \
    -i 127.0.0.1 -p $UAC_PORT -max_socket 65000 -timeout "${bound}s" -timeout_error -nostdin \
    -trace_logs -trace_err -trace_stat -stf "$work/uac.stat.csv" -fd 1 \
    -trace_screen -screen_file "$work/uac.screen.log" >"$work/uac.stdout" 2>&1) &
uac=$!
pids+=("$uac")

# Bounded wait until every call is answered on both sides (the SIPp logs).
answered() { cat "$work/$1"/*_logs.log 2>/dev/null | grep -c "^$2 " || true; }
deadline=$((SECONDS + setup_secs + 60))
while (( $(answered uac caller) < CALLS || $(answered uas callee) < CALLS )); do
    if ((SECONDS > deadline)) || ! kill -0 "$uac" 2>/dev/null; then
        echo "only $(answered uac caller) callers / $(answered uas callee) callees answered of $CALLS:"
        tail -5 "$work/switchboard.log"; ls "$work/uac"; tail -5 "$work"/uac/*errors.log 2>/dev/null || true
        exit 1
    fi
    sleep 0.5
done
echo "$CALLS calls answered (setup at $SETUP_RATE/s)"
sleep "$SETTLE_SECS"
rss_calls=$(rss_kb "$pbx")
echo "RSS with $CALLS held calls, no RTP: $rss_calls kB  fds $(fds "$pbx")  => $(( (rss_calls - rss_idle) * 1024 / CALLS / 1024 )) KiB per call over idle"

if [[ $RTP == 1 ]]; then
    cat "$work"/uac/*_logs.log "$work"/uas/*_logs.log | grep -E '^(caller|callee) [0-9]+ [0-9]+' >"$work/legs.txt"
    cpu0=$(cpu_ticks "$pbx"); t0=$(date +%s.%N)
    timeout $((HOLD_SECS + 30)) "$work/rtpgen" "$work/legs.txt" "$HOLD_SECS" >"$work/rtpgen.out" &
    gen=$!
    pids+=("$gen")
    sleep $((HOLD_SECS / 2))
    rss_media=$(rss_kb "$pbx")
    wait "$gen"
    cpu1=$(cpu_ticks "$pbx"); t1=$(date +%s.%N)
    cat "$work/rtpgen.out"
    awk -v a="$cpu0" -v b="$cpu1" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" -v n="$CALLS" '
        BEGIN {
            cpu = (b - a) / hz; wall = t1 - t0; pps = n * 2 * 50
            printf "relay CPU %.2f s over %.1f s wall = %.1f%% of one core for %d packets/s in (%d out)\n", cpu, wall, cpu / wall * 100, pps, pps
            printf "=> %.1f ms CPU per s per 1,000 packets/s relayed (%.2f%% of a core)\n", cpu / wall * 1000 / (pps / 1000), cpu / wall * 100 / (pps / 1000)
        }'
    echo "RSS with $CALLS calls and media: $rss_media kB  => $(( (rss_media - rss_idle) / CALLS )) KiB per call over idle"
fi

wait "$uac" || true
echo "UAC: successful $(awk -F';' 'NR==1{for(i=1;i<=NF;i++)if($i=="SuccessfulCall(C)")c=i;next}{l=$c}END{print l}' "$work/uac.stat.csv")  failed $(awk -F';' 'NR==1{for(i=1;i<=NF;i++)if($i=="FailedCall(C)")c=i;next}{l=$c}END{print l}' "$work/uac.stat.csv")"
sleep 2
echo "RSS after the calls ended: $(rss_kb "$pbx") kB  fds $(fds "$pbx")"
grep -ciE 'error|warn' "$work/switchboard.log" | sed 's/^/PBX log lines with error|warn: /'
