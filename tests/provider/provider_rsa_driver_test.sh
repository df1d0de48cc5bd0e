#!/usr/bin/env bash
# RSA on a DPDK driver that offers it (crypto_openssl): `openssl speed -async_jobs 16 rsa2048`
# signs through the driver, and a TLS 1.2 handshake with an RSA certificate (rsa_pkcs1_sha256)
# between `openssl s_server -async` and `s_client` has its signature computed by the driver in an
# async job. The provider's trace says what the driver computed. Both prefer the provider in the
# default library context, where crypto_openssl's own libcrypto calls come back into it on the
# poller thread: had those gone through the device, speed would wait for ever (bounded here).
# Usage: provider_rsa_driver_test.sh PROVIDER_DIR
set -euo pipefail
provider_dir=$1
export PN_PROVIDER_DEVICE=cryptodev:crypto_openssl PN_PROVIDER_TRACE=1
work=$(mktemp -d)
server=""
trap '[[ -z "$server" ]] || kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
by_driver() {  # FILE -> the rsa class's "computed by the driver" count
  sed -n 's/.*pollnotify provider at [a-z]*: rsa: .* \([0-9]*\) computed by the driver.*/\1/p' "$1" | tail -1
}
# -elapsed: speed otherwise divides by the process's CPU time, the poller thread's included.
timeout 100 openssl speed -provider-path "$provider_dir" -provider pollnotify -provider default \
  -propquery provider=pollnotify -elapsed -seconds 1 -async_jobs 16 rsa2048 >"$work/speed.log" 2>&1
grep -E "^rsa 2048 bits|pollnotify provider at .*: rsa" "$work/speed.log"
grep -Eq "^rsa 2048 bits .*[0-9]" "$work/speed.log" || { echo "no RSA-2048 rate" >&2; exit 1; }
signed=$(by_driver "$work/speed.log")
[[ -n "$signed" && "$signed" -gt 0 ]] || { echo "speed's signatures did not reach the driver" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
  -subj /CN=localhost 2>/dev/null
common=(-provider-path "$provider_dir" -provider pollnotify -provider default -propquery "?provider=pollnotify")
port=$((20000 + RANDOM % 20000))
(sleep 60 | openssl s_server -async -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" \
  -tls1_2 -naccept 1 "${common[@]}" >"$work/server.log" 2>&1) &
server=$!
for _ in $(seq 100); do grep -q ACCEPT "$work/server.log" && break; sleep 0.1; done
printf 'hello\n' | timeout 20 env -u PN_PROVIDER_DEVICE openssl s_client -connect "127.0.0.1:$port" \
  -brief -tls1_2 -sigalgs RSA+SHA256 "${common[@]}" >"$work/client.log" 2>&1 || true
for _ in $(seq 100); do grep -q "pollnotify provider at .*: rsa" "$work/server.log" && break; sleep 0.1; done
pkill -P "$server" sleep 2>/dev/null || true
cat "$work/client.log"
grep "pollnotify provider at .*: rsa" "$work/server.log"
grep -q "CONNECTION ESTABLISHED" "$work/client.log"
grep -q "Protocol version: TLSv1.2" "$work/client.log"
grep -q "Signature type: RSA$" "$work/client.log"
in_jobs=$(sed -n 's/.*pollnotify provider at [a-z]*: rsa: [0-9]* operations, [0-9]* through the device (\([0-9]*\) in async jobs).*/\1/p' "$work/server.log" | tail -1)
handshake_signed=$(by_driver "$work/server.log")
if [[ -z "$handshake_signed" || "$handshake_signed" -lt 1 || -z "$in_jobs" || "$in_jobs" -lt 1 ]]; then
  echo "the handshake's RSA signature was not computed by the driver in an async job" >&2
  exit 1
fi
echo "openssl speed: $signed signatures by crypto_openssl; TLS 1.2: the server's signature by the driver in a job"
