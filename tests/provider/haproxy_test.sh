#!/usr/bin/env bash
# HAProxy (Debian's, `ssl-mode-async`) with the pollnotify provider preferred, driven by h2load over
# loopback: RSA-2048 and ECDSA P-256 certificates, TLS 1.2 and 1.3, every response checked. The
# provider's counters (its trace at exit) must show signatures and key exchanges completed through
# the device in async jobs; rounds of abandoned handshakes must leave HAProxy's fds flat, and the
# jobs HAProxy leaves paused are reported by the provider's counter. A soft reload under load
# loses no request.
# Usage: haproxy_test.sh PROVIDER_DIR
set -euo pipefail
provider_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
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

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.key" -out "$work/rsa.crt" -days 1 \
  -subj /CN=localhost 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ecdsa.key" \
  -out "$work/ecdsa.crt" -days 1 -subj /CN=localhost 2>/dev/null
cat "$work/rsa.crt" "$work/rsa.key" >"$work/rsa.pem"
cat "$work/ecdsa.crt" "$work/ecdsa.key" >"$work/ecdsa.pem"

base=$((20000 + RANDOM % 20000))
declare -A ports=([rsa13]=$base [ecdsa13]=$((base + 1)) [rsa12]=$((base + 2)) [ecdsa12]=$((base + 3)))
bind() {  # NAME CERT VERSION
  echo "    bind 127.0.0.1:${ports[$1]} ssl crt $work/$2.pem alpn h2,http/1.1 ssl-min-ver $3 ssl-max-ver $3"
}
cat >"$work/haproxy.cfg" <<CONF
global
    nbthread 1
    ssl-mode-async
    ssl-provider-path $provider_dir
    ssl-provider pollnotify
    ssl-provider default
    ssl-propquery ?provider=pollnotify
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
    http-request return status 200 content-type text/plain string "served through pollnotify"
CONF
haproxy -c -f "$work/haproxy.cfg" >/dev/null

# Master-worker mode: a soft reload (SIGUSR2) starts a new worker, the old one finishes its
# connections. PN_PROVIDER_TRACE: every worker prints the provider's counters when it exits.
PN_PROVIDER_TRACE=1 PN_PROVIDER_LATENCY=zero haproxy -W -db -f "$work/haproxy.cfg" \
  >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/${ports[ecdsa12]}") 2>/dev/null && break
  sleep 0.1
done

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

for name in rsa13 ecdsa13; do
  load "$name" 20 200        # 20 handshakes, HTTP/2
  load "$name" 20 200 --h1   # and HTTP/1.1
done
for name in rsa12 ecdsa12; do
  load "$name" 20 200 --h1
done

# Rounds of abandoned handshakes: fds must stay flat.
fds() { ls "/proc/$(worker_pid)/fd" | wc -l; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$(worker_pid)/status"; }
python3 "$here/abandon_handshakes.py" 127.0.0.1 "${ports[ecdsa13]}" 200
sleep 0.5  # let HAProxy see the last closes (nothing to synchronise with: it is another process)
fds_first=$(fds) rss_first=$(rss)
for _ in 1 2 3; do python3 "$here/abandon_handshakes.py" 127.0.0.1 "${ports[ecdsa13]}" 200; done
sleep 0.5
fds_last=$(fds) rss_last=$(rss)
echo "after abandoned handshakes: fds $fds_first -> $fds_last, RSS $rss_first -> $rss_last kB"
if ((fds_last > fds_first + 4)); then echo "HAProxy's fds grow with abandoned handshakes" >&2; exit 1; fi
# 600 abandoned handshakes: a job left paused each (HAProxy issue #3453) would hold its stack.
if ((rss_last > rss_first + 8192)); then echo "HAProxy's RSS grows with abandoned handshakes" >&2; exit 1; fi
load ecdsa13 10 100 --h1  # still serving

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

workers=$(pgrep -P "$haproxy_pid" haproxy || true)
kill -USR1 "$haproxy_pid"  # soft stop: each worker finishes and exits, printing its counters
for _ in $(seq 100); do
  alive=0
  for pid in $haproxy_pid $workers; do kill -0 "$pid" 2>/dev/null && alive=1; done
  ((alive)) || break
  sleep 0.1
done
haproxy_pid=""
sum() {  # CLASS FIELD-NUMBER over every worker's trace: operations=1 offloaded=2 in_jobs=3
  sed -n "s/.*pollnotify provider at [a-z]*: $1: \([0-9]*\) operations, \([0-9]*\) through the device (\([0-9]*\) in async jobs).*/\\$2/p" \
    "$work/haproxy.log" | awk '{s += $1} END {print s + 0}'
}
rsa_jobs=$(sum rsa 3) ec_jobs=$(sum ec 3) digests=$(sum digest 1) records=$(sum cipher 1)
grep "pollnotify provider at" "$work/haproxy.log" || true
left=$(sed -n 's/.*: \([0-9]*\) async jobs left paused.*/\1/p' "$work/haproxy.log" | awk '{s += $1} END {print s + 0}')
echo "provider counters over the workers: rsa $rsa_jobs and ec $ec_jobs operations in async jobs;" \
  "$digests digests and $records records on the calling thread; $left jobs left paused by HAProxy"
if ((rsa_jobs == 0 || ec_jobs == 0)); then echo "signatures or key exchanges missed the device" >&2; exit 1; fi
if ((digests == 0 || records == 0)); then echo "no digest or record went through the provider" >&2; exit 1; fi
echo "HAProxy served every request through the provider"
