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
for suite in "${suites[@]}"; do
  echo "== $suite" >&2
  extra=()
  # The TBB styles swing with the machine's state: 3 repetitions, interleaved, reported as medians.
  [ "$suite" = tbb_benchmark ] && extra=(--benchmark_repetitions=3 --benchmark_enable_random_interleaving=true)
  "./build/release/benchmarks/$suite" --benchmark_format=console "${extra[@]}" \
    --benchmark_out="$out/$suite.json" --benchmark_out_format=json
done
echo "== job_switch" >&2
./build/release/benchmarks/job_switch 1000000 5 "$out/job_switch.json"
echo "== pollnotify-bench" >&2
./build/release/benchmarks/pollnotify-bench --no-progress --json "$out/pollnotify-bench.json" \
  --plot "$out/latency_percentiles.svg" --hgrm "$out/hgrm" | tee "$out/pollnotify-bench.txt"
mkdir -p docs/img
cp "$out/latency_percentiles.svg" docs/img/latency_percentiles.svg
python3 scripts/bench_report.py "$out" > docs/benchmarks.md
echo "docs/benchmarks.md regenerated from $out" >&2
