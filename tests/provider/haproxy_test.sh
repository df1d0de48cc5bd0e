#!/usr/bin/env bash
# HAProxy (Debian's, `ssl-mode-async`) with the pollnotify provider preferred, driven by h2load over
# loopback: RSA-2048 and ECDSA P-256 certificates, TLS 1.2 and 1.3, every response checked.
# 1. The provider's default thresholds: its counters (the trace each worker prints at exit) show
#    signatures and key exchanges completed through the device in async jobs, records above the
#    cipher threshold through the device, transcript digests at once, and no job left paused; rounds of abandoned handshakes leave HAProxy's fds and RSS flat; a soft reload
#    under load loses no request.
# 2. Every transcript digest pausing too (digest_threshold=0): the digests run in async jobs, the
#    fds stay flat, and if abandoned handshakes make HAProxy's RSS grow (its jobs left paused,
#    HAProxy issue #3453) the provider names the jobs left paused.
# Usage: haproxy_test.sh PROVIDER_DIR
set -euo pipefail
provider_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=haproxy_common.sh
source "$here/haproxy_common.sh"
for tool in haproxy h2load; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
work=$(mktemp -d)
haproxy_pid=""
cleanup() {
  [[ -n "$haproxy_pid" ]] && kill "$haproxy_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

make_certificate "$work" rsa -newkey rsa:2048
make_certificate "$work" ecdsa -newkey ec -pkeyopt ec_paramgen_curve:P-256
head -c 12000 /dev/urandom >"$work/body"  # one response: a record above the cipher threshold

base=$((20000 + RANDOM % 20000))
declare -A ports=([rsa13]=$base [ecdsa13]=$((base + 1)) [rsa12]=$((base + 2)) [ecdsa12]=$((base + 3)))
bind() {  # NAME CERT VERSION
  echo "    bind 127.0.0.1:${ports[$1]} ssl crt $work/$2.pem alpn h2,http/1.1 ssl-min-ver $3 ssl-max-ver $3"
}
cat >"$work/haproxy.cfg" <<CONF
$(haproxy_global "$provider_dir")
    pidfile $work/haproxy.pid
    stats socket $work/stats.sock mode 600 level admin expose-fd listeners
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tls
$(bind rsa13 rsa TLSv1.3)
$(bind ecdsa13 ecdsa TLSv1.3)
$(bind rsa12 rsa TLSv1.2)
$(bind ecdsa12 ecdsa TLSv1.2)
    http-request return status 200 content-type application/octet-stream file $work/body
CONF
haproxy -c -f "$work/haproxy.cfg" >/dev/null

# Master-worker mode: a soft reload (SIGUSR2) starts a new worker, the old one finishes its
# connections. PN_PROVIDER_TRACE: every worker prints the provider's counters when it exits.
# Usage: start_haproxy LOG [VARIABLE=VALUE...]
start_haproxy() {
  local log=$1
  shift
  env PN_PROVIDER_TRACE=1 PN_PROVIDER_LATENCY=zero "$@" haproxy -W -db -f "$work/haproxy.cfg" >"$log" 2>&1 &
  haproxy_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/${ports[ecdsa12]}") 2>/dev/null && break
    sleep 0.1
  done
}

# Soft stop: each worker finishes and exits, printing its counters.
stop_haproxy() {
  local workers pid alive
  workers=$(pgrep -P "$haproxy_pid" haproxy || true)
  kill -USR1 "$haproxy_pid"
  for _ in $(seq 100); do
    alive=0
    for pid in $haproxy_pid $workers; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  haproxy_pid=""
}

worker_pid() { pgrep -n -P "$haproxy_pid" haproxy; }  # the newest

# h2load: NAME CONNECTIONS REQUESTS [h2load options]; every request must succeed.
load() {
  local name=$1 connections=$2 requests=$3
  shift 3
  local out
  out=$(timeout 60 h2load -c "$connections" -n "$requests" "$@" "https://127.0.0.1:${ports[$name]}/" 2>&1) || {
    echo "$out" >&2
    echo "h2load failed on $name" >&2
    exit 1
  }
  if ! grep -q "requests: $requests total, $requests started, $requests done, $requests succeeded, 0 failed, 0 errored" <<<"$out"; then
    echo "$out" >&2
    echo "not every request on $name succeeded" >&2
    exit 1
  fi
  grep -E "^(TLS Protocol|Cipher|Server Temp Key):" <<<"$out" | sed "s/^/$name: /"
}

load_everything() {
  for name in rsa13 ecdsa13; do
    load "$name" 20 200       # 20 handshakes, HTTP/2
    load "$name" 20 200 --h1  # and HTTP/1.1
  done
  for name in rsa12 ecdsa12; do
    load "$name" 20 200 --h1
  done
}

# Rounds of abandoned handshakes; sets fds_first fds_last rss_first rss_last. fds must stay flat.
abandon_rounds() {
  local fds rss
  fds() { ls "/proc/$(worker_pid)/fd" | wc -l; }
  rss() { awk '/VmRSS/ {print $2}' "/proc/$(worker_pid)/status"; }
  python3 "$here/abandon_handshakes.py" 127.0.0.1 "${ports[ecdsa13]}" 200
  sleep 0.5  # let HAProxy see the last closes (nothing to synchronise with: it is another process)
  fds_first=$(fds) rss_first=$(rss)
  for _ in 1 2 3; do python3 "$here/abandon_handshakes.py" 127.0.0.1 "${ports[ecdsa13]}" 200; done
  sleep 0.5
  fds_last=$(fds) rss_last=$(rss)
  echo "after 600 abandoned handshakes: fds $fds_first -> $fds_last, RSS $rss_first -> $rss_last kB"
  if ((fds_last > fds_first + 4)); then echo "HAProxy's fds grow with abandoned handshakes" >&2; exit 1; fi
  load ecdsa13 10 100 --h1  # still serving
}

# Sums a class's counter over every worker's trace in LOG: operations=1 offloaded=2 in_jobs=3.
sum() {
  sed -n "s/.*pollnotify provider at [a-z]*: $2: \([0-9]*\) operations, \([0-9]*\) through the device (\([0-9]*\) in async jobs).*/\\$3/p" \
    "$1" | awk '{s += $1} END {print s + 0}'
}
jobs_left() { sed -n 's/.*: \([0-9]*\) async jobs left paused.*/\1/p' "$1" | awk '{s += $1} END {print s + 0}'; }

# --- 1. the default thresholds ---
start_haproxy "$work/haproxy.log"
load_everything
abandon_rounds
# 600 abandoned handshakes: a job left paused each (HAProxy issue #3453) would hold its stack.
if ((rss_last > rss_first + 8192)); then echo "HAProxy's RSS grows with abandoned handshakes" >&2; exit 1; fi

# A soft reload under load: no request lost.
timeout 60 h2load -c 10 -n 2000 --h1 "https://127.0.0.1:${ports[rsa13]}/" >"$work/reload_load.log" 2>&1 &
loader=$!
sleep 0.3
old_worker=$(worker_pid)
kill -USR2 "$haproxy_pid"
for _ in $(seq 200); do  # the reload is done when the master has forked a new worker
  new_worker=$(pgrep -P "$haproxy_pid" haproxy | grep -vx "$old_worker" | tail -1 || true)
  [[ -n "$new_worker" ]] && break
  sleep 0.1
done
[[ -n "$new_worker" ]] || { echo "the soft reload started no new worker" >&2; exit 1; }
wait "$loader" || { cat "$work/reload_load.log" >&2; echo "h2load failed across the reload" >&2; exit 1; }
grep -q "requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored" "$work/reload_load.log" || {
  cat "$work/reload_load.log" >&2
  echo "requests lost across the soft reload" >&2
  exit 1
}
load ecdsa12 10 100 --h1
stop_haproxy
log=$work/haproxy.log
grep "pollnotify provider at" "$log" || true
# HAProxy 2.6 runs only its handshakes in async jobs: its records go through the device from
# plain SSL_read/SSL_write calls, completing synchronously (counted as offloaded, not in jobs).
rsa_jobs=$(sum "$log" rsa 3) ec_jobs=$(sum "$log" ec 3) records=$(sum "$log" cipher 2)
digests=$(sum "$log" digest 1) digest_jobs=$(sum "$log" digest 3) left=$(jobs_left "$log")
echo "default thresholds: rsa $rsa_jobs and ec $ec_jobs operations in async jobs; $records records" \
  "through the device; digests $digests, $digest_jobs in jobs; $left jobs left paused"
if ((rsa_jobs == 0 || ec_jobs == 0)); then
  echo "signatures or key exchanges missed the device in async jobs" >&2
  exit 1
fi
if ((records == 0)); then echo "no 12 000-byte record went through the device" >&2; exit 1; fi
if ((digests == 0 || digest_jobs != 0)); then echo "transcript digests should compute at once" >&2; exit 1; fi
if ((left != 0)); then echo "HAProxy left $left async jobs paused" >&2; exit 1; fi

# --- 2. every transcript digest pauses ---
start_haproxy "$work/haproxy_digests.log" PN_PROVIDER_DIGEST_THRESHOLD=0
load_everything
abandon_rounds
stop_haproxy
log=$work/haproxy_digests.log
digest_jobs=$(sum "$log" digest 3) left=$(jobs_left "$log")
echo "every digest offloaded: $digest_jobs digests in async jobs; RSS $rss_first -> $rss_last kB" \
  "across abandoned handshakes; the provider counts $left jobs left paused"
if ((digest_jobs == 0)); then echo "no digest ran in an async job" >&2; exit 1; fi
if ((rss_last > rss_first + 8192 && left == 0)); then
  echo "HAProxy's RSS grew and the provider reported no job left paused" >&2
  exit 1
fi
echo "HAProxy served every request through the provider"
