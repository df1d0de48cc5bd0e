// The machine's floor for a notification: a raw cache-line ping-pong between the two CPUs the
// workload uses. pollnotify-bench measures it before and after its runs; on a virtual machine it
// moves between runs (108 ns to over 600 ns here), so every latency is also given as a multiple
// of it.
#pragma once

#include <cstdint>
#include <vector>

namespace pn::bench {

struct FloorMeasurement {
  double round_trip_ns = 0;  // median over the batches
  double min_batch_ns = 0;   // fastest batch (per round trip)
  double max_batch_ns = 0;   // slowest batch (per round trip)
  std::uint64_t round_trips = 0;
};

// Ping-pongs one cache line between a thread pinned to `cpu_a` and one pinned to `cpu_b` for
// about `seconds` (-1: unpinned). Throws std::system_error when pinning fails.
FloorMeasurement measure_floor(int cpu_a, int cpu_b, double seconds);

// Two floors differ enough that the machine changed state between them: more than 25 % apart.
bool floor_changed(const FloorMeasurement& before, const FloorMeasurement& after) noexcept;

// Pins the calling thread to `cpu` (no-op for -1) and checks that it took: std::system_error
// otherwise.
void pin_this_thread_checked(int cpu);

}  // namespace pn::bench
