#!/usr/bin/env bash
# Runs OpenSSL's own async test (test/asynctest.c from Debian's openssl source package, the
# version of the installed libssl-dev, else the newest of the same release) against pollnotify's
# drop-in header: <openssl/async.h> is replaced by one that includes pollnotify/openssl_names.h,
# and the program links pollnotify's job and wait-context libraries (libcrypto only for
# OSSL_LIB_CTX). The source is fetched once per version (scripts/debian_source.sh) and cached
# under ~/.cache/pollnotify.
# Usage: openssl_asynctest.sh BUILD_DIR   (a release build of this repository)
set -euo pipefail
build=$(cd "${1:?usage: openssl_asynctest.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pollnotify/openssl-source
mkdir -p "$cache"

. "$repo/scripts/debian_source.sh"

installed=$(dpkg-query -W -f='${Version}' libssl-dev)
upstream=${installed%%-*}
test_source=$cache/$upstream/asynctest.c
if [ ! -f "$test_source" ]; then
  scratch=$(mktemp -d)
  version=$(fetch_debian_source openssl "$installed" "$scratch")
  # Only the upstream tarball is needed (Debian's patches do not touch the test).
  tarball=$(ls "$scratch"/openssl_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1 || true)
  if [ -z "$tarball" ]; then
    echo "openssl_asynctest: no openssl source tarball for $installed could be fetched" >&2
    exit 1
  fi
  member=$(tar -tf "$tarball" | grep '/test/asynctest\.c$')
  mkdir -p "$cache/$upstream"
  tar -xOf "$tarball" "$member" >"$test_source.tmp" && mv "$test_source.tmp" "$test_source"
  echo "$version" >"$cache/$upstream/version"
  rm -rf "$scratch"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/shim/openssl"
printf '/* OpenSSL'"'"'s async names on pollnotify'"'"'s jobs */\n#include "pollnotify/openssl_names.h"\n' \
  >"$work/shim/openssl/async.h"
cc -O2 -c -I "$work/shim" -I "$repo/runtime/include" -I "$repo/wait_ctx/include" \
   -I "$build/include" "$test_source" -o "$work/asynctest.o"
# Linked by the C++ driver: the static libraries need its runtime.
c++ "$work/asynctest.o" -o "$work/asynctest" "$build/runtime/libpollnotify_runtime.a" \
    "$build/devices/libpollnotify_devices.a" "$build/poller/libpollnotify_poller.a" \
    "$build/wait_ctx/libpollnotify_wait_ctx.a" -lcrypto -lpthread
echo "openssl_asynctest: OpenSSL $(cat "$cache/$upstream/version")'s test/asynctest.c on pollnotify"
"$work/asynctest"
