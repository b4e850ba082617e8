# Shared helpers of the load scripts in benches/ (sourced, not run).
# Every process a script starts goes into `pids` and is stopped by pid at exit.

pids=()

# Stops every process in `pids` (only ours), then says where the logs are ($work).
bench_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "logs and SIPp traces: $work"
}

# Fails if UDP port $1 is already taken on this machine (ours must be free).
require_free_udp_port() {
    local hex
    hex=$(printf '%04X' "$1")
    if grep -q ":$hex " /proc/net/udp; then echo "UDP port $1 is in use" >&2; exit 1; fi
}

# Waits (bounded, 5 s) until something listens on UDP port $1 of 127.0.0.1.
wait_udp_port() {
    local hex
    hex=$(printf '%04X' "$1")
    for _ in $(seq 1 50); do
        grep -q "0100007F:$hex " /proc/net/udp && return 0
        sleep 0.1
    done
    echo "nothing listens on UDP $1" >&2
    return 1
}

# VmRSS of process $1 in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
