#!/usr/bin/env bash
# Runs one scenario of tests/sipp against a test PBX that is already running, with the flags
# the Rust harness (tests/common/sipp.rs) uses, and keeps SIPp's traces. For debugging:
#
#   target/debug/switchboard run --config tests/sipp/pbx --data "$(mktemp -d)" &
#   tests/sipp/run_scenario.sh register_auth.xml -s 1001 -au 1001 -ap pw1001 [-t t1]
#
# Bounded: one call (unless -m is given), SIPp's 30 s timeout, killed after 60 s.
set -euo pipefail
command -v sipp >/dev/null || { echo "sipp not found: apt-get install sip-tester" >&2; exit 1; }
[[ $# -ge 1 ]] || { sed -n '2,7p' "$0"; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
scenario=$1
shift
[[ -f $scenario ]] || scenario="$here/$scenario"
traces=$(mktemp -d -t sipp-traces.XXXXXX)
calls=(-m 1)
for a in "$@"; do [[ $a == -m ]] && calls=(); done
status=0
timeout 60 sipp 127.0.0.1:15060 -sf "$scenario" -i 127.0.0.1 -p "${PORT:-25062}" \
    -timeout 30s -timeout_error -default_behaviors all,-bye -nostdin -auth_uri switchboard.test \
    -trace_err -error_file "$traces/errors.log" -trace_msg -message_file "$traces/messages.log" \
    "${calls[@]}" "$@" >"$traces/stdout.log" 2>&1 || status=$?
echo "sipp exit $status; traces in $traces"
[[ -s $traces/errors.log ]] && cat "$traces/errors.log"
exit "$status"
