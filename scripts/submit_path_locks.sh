#!/usr/bin/env bash
# Whether the drivers' submit path executes locked instructions (lock-prefixed, xchg with memory,
# mfence) in the steady state: runs devices_benchmark's run-to-completion loops under
# `perf record` and reads `perf annotate` of each submit function: the share of its samples that
# fall on a locked instruction or the one after it (where a slow instruction's samples land).
# A locked instruction executed per request costs tens of cycles and shows up here; one that
# sits on a branch the benchmark never takes (refusals, the shared queue past 64 threads, the
# fallback fence, claiming a channel) has no sample. Also lists how many locked instructions
# each function contains in all. x86-64, a release build with its benchmarks, perf installed.
# Usage: scripts/submit_path_locks.sh [build-dir]   (default build/release)
set -eu  # no pipefail: awk may stop reading before perf or objdump ends
cd "$(dirname "$0")/.."
build=${1:-build/release}
bench=$build/benchmarks/devices_benchmark
command -v perf >/dev/null || { echo "submit_path_locks: perf is not installed" >&2; exit 1; }
[ -x "$bench" ] || { echo "submit_path_locks: build $bench first" >&2; exit 1; }
data=$(mktemp /tmp/pn-locks.XXXXXX)
trap 'rm -f "$data"' EXIT
measure() {  # benchmark filter, symbol
  perf record -q -o "$data" "$bench" --benchmark_filter="$1" --benchmark_min_time=1 >/dev/null 2>&1
  perf annotate -i "$data" --stdio -s "$2" 2>/dev/null | awk -v name="$2" '
    /^ +[0-9.]+ +:/ {
      share = $1 + 0; total += share
      if (after) { locked += share; after = 0 }
      if ($0 ~ /\tlock |[: ]lock |xchg |mfence/) { locked += share; after = 1; count++ }
    }
    END { printf "%s: %d locked instruction(s) in the function, %.2f %% of its samples on them\n", name, count, locked }'
}
measure 'BM_Uring/pollnotify$' 'pn::UringDevice::submit_nop'
measure 'BM_Cryptodev/pollnotify$' 'pn::CryptodevDevice::submit_sha256'
