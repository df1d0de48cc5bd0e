#!/usr/bin/env bash
# Builds Debian's oneTBB source package (the version of the installed libtbb-dev) with oneTBB's
# own ThreadSanitizer option (-DTBB_SANITIZE=thread, which also runs resumable tasks on threads,
# so TSan sees every hand-off), for the tsan preset: ThreadSanitizer cannot see the
# synchronisation inside Debian's uninstrumented libtbb. Built with the compiler the tsan preset
# uses (c++), so one TSan runtime serves both. Installed once per version under
# ~/.cache/pollnotify/onetbb-tsan/VERSION, with `current` pointing at it (the preset's
# CMAKE_PREFIX_PATH) and a marker the build checks. Prints the install prefix.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=$HOME/.cache/pollnotify/onetbb-tsan  # the tsan preset's CMAKE_PREFIX_PATH names it
installed=$(dpkg-query -W -f='${Version}' libtbb-dev)
prefix=$root/$installed
marker=$prefix/share/pollnotify/tbb-sanitize-thread
if [ ! -f "$marker" ]; then
  . "$repo/scripts/debian_source.sh"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  version=$(fetch_debian_source onetbb "$installed" "$work/download")
  dsc=$(ls "$work"/download/onetbb_*.dsc | head -n 1)
  dpkg-source --no-check -x "$dsc" "$work/source" >/dev/null
  cmake -S "$work/source" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=c++ -DCMAKE_C_COMPILER=cc -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DTBB_SANITIZE=thread -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF \
    -DTBBMALLOC_BUILD=OFF -DTBB4PY_BUILD=OFF >"$work/configure.log" 2>&1 ||
    { tail -n 40 "$work/configure.log" >&2; exit 1; }
  cmake --build "$work/build" -j2 >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
  cmake --install "$work/build" >/dev/null
  mkdir -p "$(dirname "$marker")"
  echo "onetbb $version, TBB_SANITIZE=thread, $(c++ --version | head -n 1)" >"$marker"
fi
ln -sfn "$prefix" "$root/current"
echo "$prefix"
