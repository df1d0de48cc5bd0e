#!/usr/bin/env bash
# The provider reads its keys from its OpenSSL config section: a valid section loads and digests
# correctly, through the device when `offload = all`; an invalid latency model, policy, class
# threshold, place of computing or fault rate makes the provider refuse to load.
# Usage: provider_config_test.sh PROVIDER_DIR
set -euo pipefail
module="$(cd "$1" && pwd)/pollnotify.so"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
write_config() {
  cat >"$work/openssl.cnf" <<CONF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
pollnotify = pollnotify_sect
default = default_sect
[pollnotify_sect]
module = $module
latency = $1
policy = $2
offload = all
${3:-}
activate = 1
[default_sect]
activate = 1
CONF
}
printf 'abc' >"$work/input"
expected=$(sha256sum "$work/input" | cut -d' ' -f1)
write_config fixed:2000 busy
got=$(OPENSSL_CONF="$work/openssl.cnf" PN_PROVIDER_TRACE=1 openssl dgst -propquery provider=pollnotify -sha256 \
  "$work/input" 2>"$work/trace" | sed 's/.*= //')
test "$got" = "$expected"
grep -q "digest: 1 operations, 1 through the device (0 in async jobs)" "$work/trace"
for bad in "warp:1|busy|" "fixed:2000|sometimes|" "fixed:2000|busy|rsa_compute = gpu" \
    "fixed:2000|busy|ec_eagain = 2" "fixed:2000|busy|digest_threshold = -1" \
    "fixed:2000|busy|cipher_latency = warp:1" "fixed:2000|busy|workers = 0" \
    "fixed:2000|busy|rsa_engines = 5000" "fixed:2000|busy|ec_capacity = 0" "fixed:2000|busy|spin = x"; do
  IFS='|' read -r latency policy extra <<<"$bad"
  write_config "$latency" "$policy" "$extra"
  if OPENSSL_CONF="$work/openssl.cnf" openssl dgst -propquery provider=pollnotify -sha256 "$work/input" \
      >/dev/null 2>&1; then
    echo "the provider loaded with a bad section: $bad"
    exit 1
  fi
done
echo "config section read: latency, policy and offload honoured, bad values refused"
