#!/usr/bin/env bash
# Runs OpenSSL's own async test (test/asynctest.c from Debian's openssl source package, the
# version of the installed libssl-dev, else the newest of the same release) against pollnotify's
# drop-in header: <openssl/async.h> is replaced by one that includes pollnotify/openssl_names.h,
# and the program links pollnotify's job and wait-context libraries (libcrypto only for
# OSSL_LIB_CTX). The source is fetched once per version with a private deb-src list (the
# system's apt configuration is not changed) and cached under ~/.cache/pollnotify.
# Usage: openssl_asynctest.sh BUILD_DIR   (a release build of this repository)
set -euo pipefail
build=$(cd "${1:?usage: openssl_asynctest.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pollnotify/openssl-source
mkdir -p "$cache"

apt_dir=$cache/apt
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial"
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
cat >"$apt_dir/parts/deb-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_options=(-o "Dir::Etc::SourceList=$apt_dir/none" -o "Dir::Etc::SourceParts=$apt_dir/parts"
             -o "Dir::State::Lists=$apt_dir/lists")

installed=$(dpkg-query -W -f='${Version}' libssl-dev)
upstream=${installed%%-*}
test_source=$cache/$upstream/asynctest.c
if [ ! -f "$test_source" ]; then
  apt-get "${apt_options[@]}" update -qq
  available=$(apt-cache "${apt_options[@]}" showsrc openssl | sed -n 's/^Version: //p' | sort -rV)
  # The installed version first, then the same release series, newest first: only the upstream
  # tarball is needed (Debian's patches do not touch the test).
  candidates=$( (grep -xF "$installed" <<<"$available" || true; grep "^${upstream%.*}\." <<<"$available") |
               awk '!seen[$0]++')
  scratch=$(mktemp -d)
  chmod 755 "$scratch"  # apt's download user writes here
  tarball=
  for version in $candidates; do
    (cd "$scratch" && apt-get "${apt_options[@]}" source --download-only -qq "openssl=$version" \
       >/dev/null 2>&1) || true
    tarball=$(ls "$scratch"/openssl_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1 || true)
    [ -n "$tarball" ] && break
  done
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
