#!/usr/bin/env bash
# `openssl s_server -async` with the provider preferred, measured by `openssl s_time` over loopback
# with new connections (RSA-2048 certificate, TLS 1.3): s_time completes connections, and the
# server's trace shows its signatures and key exchanges completed through the device in jobs.
# Usage: provider_s_time_test.sh PROVIDER_DIR
set -euo pipefail
provider_dir=$1
work=$(mktemp -d)
trap '[[ -z "${server:-}" ]] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
  -subj /CN=localhost 2>/dev/null
port=$((20000 + RANDOM % 20000))
# Not -www (that mode sleeps a second on every async pause): the server reads its stdin, a fifo
# this script writes "Q" into at the end, so it exits normally and prints the provider's trace.
mkfifo "$work/stdin"
PN_PROVIDER_TRACE=1 openssl s_server -async -accept "127.0.0.1:$port" -cert "$work/cert.pem" \
  -key "$work/key.pem" -provider-path "$provider_dir" -provider pollnotify -provider default \
  -propquery "?provider=pollnotify" <"$work/stdin" >"$work/server.log" 2>&1 &
server=$!
exec 3>"$work/stdin"
for _ in $(seq 50); do grep -q ACCEPT "$work/server.log" && break; sleep 0.1; done
out=$(timeout 30 openssl s_time -connect "127.0.0.1:$port" -new -time 2 2>&1)
# One more connection, held open while the server reads "Q" from its stdin and quits.
(sleep 3 | timeout 10 openssl s_client -connect "127.0.0.1:$port" >/dev/null 2>&1 || true) &
client=$!
for _ in $(seq 50); do [[ $(grep -c ACCEPT "$work/server.log") -gt 1 ]] || grep -q "CIPHER is" "$work/server.log" && break; sleep 0.1; done
echo Q >&3
for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
exec 3>&-
wait "$client" 2>/dev/null || true
server=""
echo "$out" | grep -E "connections"
connections=$(sed -n 's/^\([0-9]*\) connections in [0-9.]*s.*/\1/p' <<<"$out" | head -1)
if [[ -z "$connections" || "$connections" -eq 0 ]]; then echo "s_time completed no connection" >&2; exit 1; fi
grep "pollnotify provider at" "$work/server.log" || true
for class in rsa ec; do
  jobs=$(sed -n "s/.*pollnotify provider at [a-z]*: $class: [0-9]* operations, [0-9]* through the device (\([0-9]*\) in async jobs).*/\1/p" "$work/server.log" | tail -1)
  if [[ -z "$jobs" || "$jobs" -eq 0 ]]; then echo "no $class operation of s_server went through the device in a job" >&2; exit 1; fi
done
echo "s_server -async served $connections new connections through the provider"
