#!/usr/bin/env bash
# A TLS 1.3 handshake between `openssl s_server -async` and `openssl s_client` over loopback with
# the pollnotify provider preferred: the server's ECDSA signature and its key exchange run in
# OpenSSL async jobs and complete through the device (PN_PROVIDER_DEVICE: the simulated one, or a
# DPDK driver); its transcript digests stay on the calling thread (below the digest threshold),
# unless PN_PROVIDER_OFFLOAD=all sends them through the device too.
# Usage: provider_tls_test.sh PROVIDER_DIR
set -euo pipefail
provider_dir=$1
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
  -out "$work/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
common=(-provider-path "$provider_dir" -provider pollnotify -provider default -propquery "?provider=pollnotify")
port=$((20000 + RANDOM % 20000))
# Not -www: that mode sleeps a second on every async pause. The server's stdin stays open (and
# empty) for as long as the test may take, so it serves the one connection and exits.
(sleep 60 | PN_PROVIDER_TRACE=1 openssl s_server -async -accept "127.0.0.1:$port" -cert "$work/cert.pem" \
  -key "$work/key.pem" -ciphersuites TLS_AES_128_GCM_SHA256 -naccept 1 "${common[@]}" >"$work/server.log" 2>&1) &
server=$!
for _ in $(seq 50); do grep -q ACCEPT "$work/server.log" && break; sleep 0.1; done
printf 'hello through the pollnotify provider\n' | timeout 20 openssl s_client -connect "127.0.0.1:$port" -brief \
  -ciphersuites TLS_AES_128_GCM_SHA256 "${common[@]}" >"$work/client.log" 2>&1 || true
for _ in $(seq 100); do grep -q "pollnotify provider at .*: AES-128-GCM" "$work/server.log" && break; sleep 0.1; done
pkill -P "$server" sleep 2>/dev/null || true
cat "$work/client.log" "$work/server.log"
grep -q "CONNECTION ESTABLISHED" "$work/client.log"
grep -q "Ciphersuite: TLS_AES_128_GCM_SHA256" "$work/client.log"
# "pollnotify provider at unload: ec: 4 operations, 2 through the device (2 in async jobs), ..."
class_counts() {  # CLASS -> "operations offloaded in_jobs"
  sed -n "s/.*pollnotify provider at [a-z]*: $1: \([0-9]*\) operations, \([0-9]*\) through the device (\([0-9]*\) in async jobs).*/\1 \2 \3/p" \
    "$work/server.log" | tail -1
}
read -r ec_ops _ ec_async <<<"$(class_counts ec)"
read -r digest_ops digest_offloaded digest_async <<<"$(class_counts digest)"
if [[ -z "$ec_async" || "$ec_async" -lt 2 ]]; then
  echo "the signature and the key exchange did not both complete through the device in async jobs" >&2
  exit 1
fi
if [[ "${PN_PROVIDER_OFFLOAD:-}" == all ]]; then
  if [[ -z "$digest_async" || "$digest_async" -eq 0 ]]; then echo "no digest went through the device" >&2; exit 1; fi
elif [[ -z "$digest_ops" || "$digest_ops" -eq 0 || "$digest_offloaded" -ne 0 ]]; then
  echo "the transcript digests should compute on the calling thread, below the threshold" >&2
  exit 1
fi
# The records too: AES-128-GCM through the provider.
records=$(sed -n 's/.*AES-GCM payloads: \([0-9]*\) computed by the device, \([0-9]*\) by libcrypto.*/\1 \2/p' "$work/server.log" | tail -1)
read -r on_driver in_libcrypto <<<"${records:-0 0}"
if [[ $((on_driver + in_libcrypto)) -eq 0 ]]; then echo "no TLS record went through the provider" >&2; exit 1; fi
echo "handshake complete; the server's EC operations: $ec_ops, $ec_async through the device in async jobs;"
echo "digests: $digest_ops ($digest_async through the device in async jobs);"
echo "its AES-128-GCM records: $on_driver computed by the driver, $in_libcrypto by libcrypto"
