#!/usr/bin/env bash
# The scaling grid: submitting threads x pollers x devices, every grid point that fits this
# machine's CPUs (benchmarks/scaling_benchmark.cpp), 3 repetitions each, medians. Writes the
# Google Benchmark JSON, a Markdown table and an SVG plot (requests/s against submitting threads,
# a line per pollers x devices).
# Usage: scripts/scaling.sh [output-dir]   (default build/scaling)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/scaling}
./scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target scaling_benchmark
mkdir -p "$out"
./build/release/benchmarks/scaling_benchmark --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true --benchmark_out="$out/scaling.json" \
  --benchmark_out_format=json
python3 scripts/scaling_report.py "$out/scaling.json" "$out/scaling.svg" | tee "$out/scaling.md"
echo "scaling: $out/scaling.json, $out/scaling.md, $out/scaling.svg" >&2
