#!/usr/bin/env bash
# `openssl speed -async_jobs 16` on the handshake's asymmetric operations through the provider:
# every algorithm reports a rate, and the provider's trace shows the RSA and EC operations
# completed through the device inside async jobs.
# Usage: provider_speed_test.sh PROVIDER_DIR
set -euo pipefail
provider_dir=$1
# -elapsed: speed otherwise divides by the process's CPU time, the poller thread's included.
out=$(PN_PROVIDER_TRACE=1 timeout 100 openssl speed -provider-path "$provider_dir" -provider pollnotify \
  -provider default -propquery provider=pollnotify -elapsed -seconds 1 -async_jobs 16 \
  rsa2048 ecdsap256 ecdhp256 ecdhx25519 2>&1)
echo "$out" | grep -E "^(rsa|ecdsa| +[0-9]+ bits)|pollnotify provider"
for line in "^rsa 2048 bits " "ecdsa \(nistp256\)" "ecdh \(nistp256\)" "ecdh \(X25519\)"; do
  grep -Eq "$line.*[0-9]" <<<"$out" || { echo "no rate for $line" >&2; exit 1; }
done
for class in rsa ec; do
  jobs=$(sed -n "s/.*pollnotify provider at [a-z]*: $class: [0-9]* operations, [0-9]* through the device (\([0-9]*\) in async jobs).*/\1/p" <<<"$out" | tail -1)
  if [[ -z "$jobs" || "$jobs" -eq 0 ]]; then echo "no $class operation went through the device in a job" >&2; exit 1; fi
done
echo "openssl speed ran the handshake's operations through the device in async jobs"
