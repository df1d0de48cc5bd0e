#!/usr/bin/env bash
# Cross-builds the job layer with the AArch64 context switch and runs tests/runtime/job_smoke.c
# under qemu-user. Needs g++-aarch64-linux-gnu and qemu-user (installed by setup.sh). CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/aarch64
mkdir -p "$out"
includes=(-Iwait_ctx/include -Iruntime/include -Iruntime)
for source in wait_ctx/wait_ctx.cpp wait_ctx/async_wait.cpp wait_ctx/delivery_epoch.cpp \
              wait_ctx/asymmetric_barrier.cpp \
              wait_ctx/last_error.cpp runtime/job.cpp runtime/fiber.cpp; do
  aarch64-linux-gnu-g++ -std=c++20 -O2 -Wall -Wextra -Werror -c "${includes[@]}" "$source" \
    -o "$out/$(basename "$source" .cpp).o"
done
aarch64-linux-gnu-gcc -c runtime/fiber_aarch64.S -o "$out/fiber_aarch64.o"
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -c "${includes[@]}" tests/runtime/job_smoke.c -o "$out/job_smoke.o"
aarch64-linux-gnu-g++ "$out"/*.o -o "$out/job_smoke" -static -pthread
qemu-aarch64 "$out/job_smoke"
