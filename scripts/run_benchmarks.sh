#!/usr/bin/env bash
# Builds the release preset, runs every benchmark suite (Google Benchmark JSON) and the main job
# (pollnotify-bench JSON + SVG), then regenerates docs/benchmarks.md from those files.
# Usage: scripts/run_benchmarks.sh [output-dir]   (default build/bench-results)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-results}
./scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
mkdir -p "$out"
suites=(wait_ctx_benchmark runtime_benchmark poller_benchmark)
[ -x build/release/benchmarks/tbb_benchmark ] && suites+=(tbb_benchmark)
[ -x build/release/benchmarks/devices_benchmark ] && suites+=(devices_benchmark)
suites+=(scaling_benchmark)
for suite in "${suites[@]}"; do
  echo "== $suite" >&2
  extra=()
  # The TBB styles, the drivers and the scaling grid swing with the machine's state: 3 repetitions,
  # interleaved, reported as medians.
  case "$suite" in
    tbb_benchmark | devices_benchmark | scaling_benchmark)
      extra=(--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true) ;;
    poller_benchmark)
      extra=(--benchmark_filter=-BM_Poller_Dispatch) ;;  # dispatch: its own run, below
  esac
  "./build/release/benchmarks/$suite" --benchmark_format=console "${extra[@]}" \
    --benchmark_out="$out/$suite.json" --benchmark_out_format=json
done
# Dispatch against the bare loop and the peer: a few nanoseconds per callback, 5 interleaved
# repetitions so the three are measured side by side in the same machine state.
echo "== poller_benchmark: dispatch" >&2
./build/release/benchmarks/poller_benchmark --benchmark_filter=BM_Poller_Dispatch \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_format=console --benchmark_out="$out/poller_dispatch.json" --benchmark_out_format=json
echo "== job_switch" >&2
./build/release/benchmarks/job_switch 1000000 5 "$out/job_switch.json"
echo "== pollnotify-bench" >&2
./build/release/benchmarks/pollnotify-bench --no-progress --json "$out/pollnotify-bench.json" \
  --plot "$out/latency_percentiles.svg" --hgrm "$out/hgrm" | tee "$out/pollnotify-bench.txt"
if pkg-config --exists liburing; then
  echo "== pollnotify-bench on io_uring: 4 KiB page-cache reads" >&2
  read_file=$(mktemp /tmp/pn-bench-read.XXXXXX)
  head -c $((16 << 20)) /dev/zero > "$read_file"
  ./build/release/benchmarks/pollnotify-bench --no-progress --device "uring:read:$read_file" \
    --mechanisms busy,uring-wait,uring-eventfd --duration 0.5 --warmup 0.1 --repetitions 3 \
    --json "$out/pollnotify-bench-uring.json" | tee "$out/pollnotify-bench-uring.txt" || true
  rm -f "$read_file"
  echo "== pollnotify-bench on io_uring: loopback echo" >&2
  ./build/release/benchmarks/pollnotify-bench --no-progress --device uring:echo \
    --mechanisms busy,adaptive,uring-wait,uring-eventfd --duration 0.5 --warmup 0.1 \
    --repetitions 3 --json "$out/pollnotify-bench-echo.json" | tee "$out/pollnotify-bench-echo.txt" || true
fi
mkdir -p docs/img
cp "$out/latency_percentiles.svg" docs/img/latency_percentiles.svg
python3 scripts/bench_report.py "$out" > docs/benchmarks.md
echo "docs/benchmarks.md regenerated from $out" >&2
