#!/usr/bin/env bash
# Installs the Debian packages pollnotify builds with, when missing. Idempotent; downloads from
# nowhere but the Debian archive. With --tsan it also builds, once per version, Debian's oneTBB
# source package for ThreadSanitizer (scripts/build_tbb_tsan.sh), which the tsan preset uses.
# Usage: setup.sh [--tsan]
set -euo pipefail
tsan=false
case "${1:-}" in
  "") ;;
  --tsan) tsan=true ;;
  *) echo "usage: setup.sh [--tsan]" >&2; exit 2 ;;
esac
packages=(cmake ninja-build g++ clang libclang-rt-14-dev pkg-config python3 git
          libtbb-dev libbenchmark-dev libgtest-dev libgmock-dev libssl-dev openssl
          libboost-dev libconcurrentqueue-dev nlohmann-json3-dev liburing-dev
          libdpdk-dev libreaderwriterqueue-dev g++-aarch64-linux-gnu qemu-user dpkg-dev
          haproxy nghttp2-client)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if $tsan; then
  echo "setup: libtbb for ThreadSanitizer in $("$(dirname "$0")/build_tbb_tsan.sh")" >&2
fi
