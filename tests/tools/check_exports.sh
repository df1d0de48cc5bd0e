#!/bin/sh
# The shared library exports the API only (cmake/pollnotify.map): no pn::internal name but the two
# that public inline code calls. Usage: check_exports.sh path/to/libpollnotify.so
set -eu
library=$1
exports=$(nm -DC --defined-only "$library") || { echo "cannot read $library" >&2; exit 1; }
leaked=$(printf '%s\n' "$exports" | grep 'pn::internal::' | grep -v 'pn::internal::mpsc_queue_futex_' || true)
if [ -n "$leaked" ]; then
  echo "exported internals:" >&2
  printf '%s\n' "$leaked" >&2
  exit 1
fi
for name in PN_get_last_error_code PN_RUNTIME_new PN_SIM_RUNTIME_new 'pn::Poller::poll_once'; do
  printf '%s\n' "$exports" | grep -q "$name" || { echo "not exported: $name" >&2; exit 1; }
done
echo "exports ok"
