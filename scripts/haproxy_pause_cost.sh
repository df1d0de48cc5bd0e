#!/usr/bin/env bash
# What one pause per handshake costs HAProxy: its CPU time (task-clock of the whole process, the
# provider's poller included) and context switches per handshake, with an RSA-2048 certificate
# and a zero-latency device, when nothing pauses (both classes computed at once) against when the
# RSA signature pauses. Needs perf (linux-perf), haproxy and h2load; a release build.
# Usage: scripts/haproxy_pause_cost.sh [handshakes]   (default 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/provider/haproxy_common.sh
source tests/provider/haproxy_common.sh
handshakes=${1:-3000}
provider_dir=$(pwd)/build/release/provider
for tool in perf haproxy h2load; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 2; }
done
work=$(mktemp -d)
haproxy_pid=""
trap '[[ -z "$haproxy_pid" ]] || kill "$haproxy_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
make_certificate "$work" rsa -newkey rsa:2048
port=$((20000 + RANDOM % 20000))
cat >"$work/haproxy.cfg" <<CONF
$(haproxy_global "$provider_dir")
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend tls
    bind 127.0.0.1:$port ssl crt $work/rsa.pem alpn http/1.1 ssl-min-ver TLSv1.3
    http-request return status 200 content-type text/plain string "ok"
CONF
client_cpu=$(($(nproc) - 1))
measure() {  # LABEL VARIABLE=VALUE...
  local label=$1
  shift
  env PN_PROVIDER_LATENCY=zero "$@" haproxy -db -f "$work/haproxy.cfg" >/dev/null 2>&1 &
  haproxy_pid=$!
  sleep 0.5
  taskset -c "$client_cpu" h2load -c 50 -n 50 --h1 "https://127.0.0.1:$port/" >/dev/null 2>&1
  perf stat -x, -e task-clock,context-switches -p "$haproxy_pid" -o "$work/stat" -- sleep 3 &
  local perf_pid=$!
  sleep 0.2
  taskset -c "$client_cpu" h2load -c "$handshakes" -n "$handshakes" --h1 "https://127.0.0.1:$port/" \
    >/dev/null 2>&1
  wait "$perf_pid"
  kill "$haproxy_pid"
  wait "$haproxy_pid" 2>/dev/null || true
  haproxy_pid=""
  awk -F, -v label="$label" -v n="$handshakes" '
    /task-clock/ {cpu = $1} /context-switches/ {switches = $1}
    END {printf "| %s | %.3f | %.2f |\n", label, cpu / n, switches / n}' "$work/stat"
}
echo "| RSA-2048 certificate, zero latency | HAProxy CPU ms per handshake | context switches per handshake |"
echo "|---|---:|---:|"
at_once=100000
measure "nothing pauses" PN_PROVIDER_RSA_THRESHOLD=$at_once PN_PROVIDER_EC_THRESHOLD=$at_once
measure "the RSA signature pauses" PN_PROVIDER_EC_THRESHOLD=$at_once
measure "nothing pauses" PN_PROVIDER_RSA_THRESHOLD=$at_once PN_PROVIDER_EC_THRESHOLD=$at_once
measure "the RSA signature pauses" PN_PROVIDER_EC_THRESHOLD=$at_once
