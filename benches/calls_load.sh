#!/usr/bin/env bash
# Call (signalling) load on loopback, stepped, bounded in calls and time:
#
#   benches/calls_load.sh                                  # build release, steps 250..2000 calls/s
#   STEPS="1000 1500" STEP_SECS=5 benches/calls_load.sh
#   SWITCHBOARD_BIN=target/release/switchboard benches/calls_load.sh   # skip the build
#   TARGETS="switchboard" benches/calls_load.sh           # only ours (also: kamailio sipp)
#   TARGETS="switchboard switchboard_nocdr" benches/calls_load.sh   # the cost of CDRs
#
# Path through switchboard (the B2BUA, with the least authentication that still uses the
# outbound route): SIPp UAC = extension 1000 dialling 9555123 → INVITE → 407 → ACK →
# INVITE with MD5 digest → switchboard routes to the gateway "carrier" (strips the 9) →
# a new B-leg INVITE with the SDP rewritten to two relay ports → SIPp UAS as "carrier" →
# 200 → 200 (SDP rewritten) → ACK → hold HOLD_MS → BYE → BYE → 200. No RTP is sent.
# benches/sipp/call_load_uac_auth.xml, benches/sipp/call_load_uas.xml.
#
# For scale, in the same run and at the same rates, the same call without the 407 round
# trip (benches/sipp/call_load_uac.xml) goes
#   - through Kamailio as a minimal stateful proxy (benches/kamailio/kamailio.cfg: tm + rr,
#     no auth, no media, the SDP untouched), and
#   - straight from SIPp to SIPp.
# The steps interleave the targets (rate 1: kamailio, switchboard, sipp; rate 2: ...) so a
# noisy neighbour hits all of them alike; PAUSE_SECS between runs lets an overloaded run's
# retransmissions and timers die out before the next one.
#
# Per step and target: STEP_SECS × rate calls (SIPp -m), outcome from -trace_stat, the
# response time "invite" (the INVITE that gets answered → its 200, ms) from -trace_rtt:
# p50 / p99 / max. A step passes with 0 failed calls and p99 < 50 ms.
#
# CDRs: `switchboard` runs with the default [cdr] (leg + bridge records and CEL into
# <data>/cdr.db); after each of its steps the script counts that step's leg records with
# `switchboard cdr export` and checks rows = 2 × SIPp's successful calls exactly.
# CDR_TOML replaces the default [cdr] of `switchboard`, e.g. CDR_TOML=$'[cdr]\ncel = true'.
# `switchboard_nocdr` is a second private PBX with `[cdr] enabled = false`, so the same run
# shows what CDR writing costs.
#
# Private copies of the test PBX on other ports (65060 UDP/TCP, 65061 TLS, carrier at
# 65080, RTP 20000-39999; without CDRs: 64060/64061, carrier 64080, RTP 40000-59999) keep
# clear of the integration tests (15060/15061/15080).
# Only the processes this script starts are stopped (by pid). Everything runs under `timeout`.
set -euo pipefail

STEPS=${STEPS:-"250 500 1000 1500 2000"}  # offered call rates (SIPp -r), calls/s
STEP_SECS=${STEP_SECS:-10}                # each step makes rate × STEP_SECS calls
HOLD_MS=${HOLD_MS:-1000}                  # answered → BYE (SIPp -d)
TARGETS=${TARGETS:-"kamailio switchboard sipp"}
KAM_CHILDREN=${KAM_CHILDREN:-2}           # Kamailio UDP workers (2 did best here: 2500/s clean, 8: 2000/s)
PAUSE_SECS=${PAUSE_SECS:-20}              # quiet time between runs (an overloaded run leaves a backlog)
P99_LIMIT_MS=${P99_LIMIT_MS:-50}
PBX_PORT=65060
CARRIER_PORT=65080                        # the private PBX's gateway "carrier" (SIPp UAS)
NOCDR_PBX_PORT=64060                      # the PBX without CDRs, and its carrier
NOCDR_CARRIER_PORT=64080
KAM_PORT=65070
FAR_UAS_PORT=65090                        # SIPp UAS behind Kamailio and for SIPp → SIPp
UAC_PORT=65100                            # the SIPp UAC (one per run, in turn)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }

work=$(mktemp -d -t switchboard-calls.XXXXXX)
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"
trap bench_cleanup EXIT
for port in $PBX_PORT $CARRIER_PORT $NOCDR_PBX_PORT $NOCDR_CARRIER_PORT $KAM_PORT $FAR_UAS_PORT $UAC_PORT; do
    require_free_udp_port "$port"
done

if [[ " $TARGETS " == *" switchboard"* && -z "${SWITCHBOARD_BIN:-}" ]]; then
    echo "== cargo build --release"
    cargo build --release --bin switchboard
    SWITCHBOARD_BIN=target/release/switchboard
fi

# 4 sockets per call (2 RTP/RTCP pairs) in the PBX, plus SIPp's per-call state.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# One SDP media port for every call (no RTP is sent in this benchmark).
printf 'SEQUENTIAL\n7000\n' >"$work/sdp_port.csv"

# Field `name` of the last row of a SIPp -trace_stat CSV.
stat_field() {
    awk -F';' -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i; next }
        { last = $col }
        END { print (col ? last : "?") }' "$1"
}
# p50 p99 max count of the "invite" response times (ms) in a -trace_rtt file.
percentiles() {
    awk -F';' 'NR > 1 && $3 == "invite" { print $2 }' "$1" | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- - - 0"; exit }
            p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
            print p50, p99, v[NR], NR
        }'
}

# ---- the systems under test ---------------------------------------------------------------
declare -A pbx_pid pbx_port pbx_data
# start_switchboard <target> <sip port> <carrier port> <first rtp port> <last rtp port> [extra toml]
start_switchboard() {
    local target=$1 port=$2 carrier=$3 rtp_min=$4 rtp_max=$5 extra=${6:-}
    local conf="$work/$target/pbx" data="$work/$target/data"
    mkdir -p "$conf" "$data"
    cp -r tests/sipp/pbx/. "$conf/"
    sed -i "s/1506\([01]\)/${port:0:3}6\1/g; s/15080/$carrier/; s/127.0.0.1:18080/127.0.0.1:0/; s/rtp_port_min = 30000/rtp_port_min = $rtp_min/;
            s/rtp_port_max = 30999/rtp_port_max = $rtp_max/; s/rtp_timeout_secs = 30/rtp_timeout_secs = 3600/" \
        "$conf/sip-profiles/"*.toml
    [[ -n $extra ]] && printf '%s\n' "$extra" >"$conf/sip-profiles/zz-bench.toml"
    "$SWITCHBOARD_BIN" run --config "$conf" --data "$data" >"$work/$target.log" 2>&1 &
    pbx_pid[$target]=$!
    pbx_port[$target]=$port
    pbx_data[$target]=$data
    pids+=("$!")
    wait_udp_port "$port"
    start_uas "carrier_$target" "$carrier"
}
start_kamailio() {
    mkdir -p "$work/kamailio/run"
    sed "s/CHILDREN/$KAM_CHILDREN/; s/LISTEN_ADDR/127.0.0.1:$KAM_PORT/; s/UAS_ADDR/127.0.0.1:$FAR_UAS_PORT/" \
        benches/kamailio/kamailio.cfg >"$work/kamailio/kamailio.cfg"
    timeout 3600 kamailio -f "$work/kamailio/kamailio.cfg" -DD -E -Y "$work/kamailio/run" \
        -m 512 -M 32 >"$work/kamailio.log" 2>&1 &
    pids+=("$!")
    wait_udp_port $KAM_PORT
}
start_uas() {  # start_uas <label> <port>: SIPp UAS in server mode, until we stop it
    timeout 3600 sipp -sf benches/sipp/call_load_uas.xml -i 127.0.0.1 -p "$2" \
        -inf "$work/sdp_port.csv" -nostdin -timeout 3500s -max_socket 65000 \
        -trace_err -error_file "$work/uas_$1.errors.log" >"$work/uas_$1.stdout" 2>&1 &
    pids+=("$!")
    wait_udp_port "$2"
}

# run_step <target> <rate>: one bounded SIPp UAC run; prints one result row.
declare -A best
run_step() {
    local target=$1 rate=$2 calls dest scenario label status=0 cpu0 cpu1
    calls=$((rate * STEP_SECS))
    label="${target}_${rate}"
    local auth=() pbx=""
    case $target in
        switchboard*) dest=127.0.0.1:${pbx_port[$target]}; scenario=call_load_uac_auth.xml
            pbx=${pbx_pid[$target]}
            auth=(-au 1000 -ap pw1000 -auth_uri 9555123@switchboard.test) ;;
        kamailio) dest=127.0.0.1:$KAM_PORT; scenario=call_load_uac.xml ;;
        sipp) dest=127.0.0.1:$FAR_UAS_PORT; scenario=call_load_uac.xml ;;
    esac
    local step_start_ms
    step_start_ms=$(date +%s%3N)
    local rss0=""
    if [[ -n $pbx ]]; then
        cpu0=$(proc_cpu_ticks "$pbx")
        rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pbx/status")
    fi
    mkdir -p "$work/$label"
    (cd "$work/$label" && timeout $((STEP_SECS * 4 + 60)) sipp "$dest" -sf "$root/benches/sipp/$scenario" \
        -s 9555123 -key caller 1000 "${auth[@]}" -d "$HOLD_MS" -inf "$work/sdp_port.csv" \
        -r "$rate" -rp 1000 -m "$calls" -i 127.0.0.1 -p "$UAC_PORT" -max_socket 65000 \
        -timeout "$((STEP_SECS * 4 + 30))s" -timeout_error -nostdin \
        -trace_stat -stf "$work/$label.stat.csv" -fd 1 \
        -trace_rtt -rtt_freq 1 \
        -trace_err -error_file "$work/$label.errors.log" \
        -trace_screen -screen_file "$work/$label.screen.log" \
        >"$work/$label.stdout" 2>&1) || status=$?
    cat "$work/$label"/*_rtt.csv >"$work/$label.rtt.csv" 2>/dev/null || true  # SIPp names it itself
    local ok failed retrans p50 p99 max n cpu=""
    ok=$(stat_field "$work/$label.stat.csv" "SuccessfulCall(C)")
    failed=$(stat_field "$work/$label.stat.csv" "FailedCall(C)")
    retrans=$(stat_field "$work/$label.stat.csv" "Retransmissions(C)")
    read -r p50 p99 max n < <(percentiles "$work/$label.rtt.csv")
    if [[ -n $pbx ]]; then
        cpu1=$(proc_cpu_ticks "$pbx")
        cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" -v n="$calls" \
            'BEGIN { printf "  PBX CPU %.2f s (%.2f ms/call)", (b - a) / hz, (b - a) / hz * 1000 / n }')
        cpu+="  RSS before $rss0 kB, after $(awk '/^VmRSS:/ { print $2 }' "/proc/$pbx/status") kB"
    fi
    local verdict=FAIL
    if [[ $failed == 0 && $ok == "$calls" && $p99 != - ]] && ((p99 < P99_LIMIT_MS)); then
        verdict=ok
        best[$target]=$rate
    fi
    local cdr=""
    if [[ $target == switchboard ]]; then
        # Wait until the CDR writer has committed everything queued (its status file says
        # backlog 0; bounded), so an overloaded step is counted after it caught up.
        local backlog=""
        for _ in $(seq 1 120); do
            sleep 0.5
            backlog=$("$SWITCHBOARD_BIN" cdr status --data "${pbx_data[$target]}" 2>/dev/null |
                awk -F'[:,]' '/"backlog":/ { gsub(/ /, "", $2); print $2; exit }' || true)
            [[ $backlog == 0 ]] && break
        done
        local legs
        legs=$("$SWITCHBOARD_BIN" cdr export --data "${pbx_data[$target]}" --mode leg --format csv \
            --from "$step_start_ms" 2>/dev/null | tail -n +2 | wc -l)
        cdr="  CDR leg rows $legs"
        if [[ $legs == $((2 * ok)) ]]; then cdr+=" = 2 x ok"; else cdr+=" != 2 x ok ($((2 * ok)))"; verdict=FAIL; fi
    fi
    printf '%-17s %5s/s  calls %6s  ok %6s  failed %5s  retrans %5s  INVITE->200 ms p50 %3s p99 %4s max %5s  %-4s (sipp exit %s)%s%s\n' \
        "$target" "$rate" "$calls" "$ok" "$failed" "$retrans" "$p50" "$p99" "$max" "$verdict" "$status" "$cpu" "$cdr"
}
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)  $(sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' | head -1)  $(kamailio -v 2>/dev/null | head -1)"
echo "== STEPS=\"$STEPS\" STEP_SECS=$STEP_SECS HOLD_MS=$HOLD_MS TARGETS=\"$TARGETS\" KAM_CHILDREN=$KAM_CHILDREN benches/calls_load.sh"

for target in $TARGETS; do
    case $target in
        switchboard) start_switchboard switchboard $PBX_PORT $CARRIER_PORT 20000 39999 "${CDR_TOML:-}"
            echo "switchboard pid ${pbx_pid[switchboard]} RSS idle $(rss_kb "${pbx_pid[switchboard]}") kB" ;;
        switchboard_nocdr) start_switchboard switchboard_nocdr $NOCDR_PBX_PORT $NOCDR_CARRIER_PORT 40000 59999 \
                $'[cdr]\nenabled = false'
            echo "switchboard_nocdr pid ${pbx_pid[switchboard_nocdr]} RSS idle $(rss_kb "${pbx_pid[switchboard_nocdr]}") kB" ;;
        kamailio) command -v kamailio >/dev/null || { echo "kamailio not found: apt-get install kamailio" >&2; exit 1; }
            start_kamailio ;;
    esac
done
[[ " $TARGETS " == *" kamailio "* || " $TARGETS " == *" sipp "* ]] && start_uas far $FAR_UAS_PORT

for rate in $STEPS; do
    for target in $TARGETS; do
        run_step "$target" "$rate"
        sleep "$PAUSE_SECS"
    done
done

echo "== highest clean rate (0 failed, p99 < ${P99_LIMIT_MS} ms) among the steps:"
for target in $TARGETS; do echo "   $target: ${best[$target]:-none}"; done
if [[ -n "${best[switchboard]:-}" && -n "${best[switchboard_nocdr]:-}" ]]; then
    awk -v a="${best[switchboard]}" -v b="${best[switchboard_nocdr]}" \
        'BEGIN { printf "   with CDRs / without = %.2f (target >= 0.90)\n", a / b }'
fi
if [[ -n "${best[switchboard]:-}" && -n "${best[kamailio]:-}" ]]; then
    awk -v a="${best[switchboard]}" -v b="${best[kamailio]}" \
        'BEGIN { printf "   switchboard / kamailio = %.2f (target >= 0.5)\n", a / b }'
fi
