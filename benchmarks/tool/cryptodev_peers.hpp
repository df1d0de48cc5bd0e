// pollnotify-bench on DPDK cryptodev: EAL set-up for the run's devices, and DPDK's own style as a
// peer: the application thread enqueues ops and polls dequeue_burst itself (no pollnotify), on a
// second instance of the same driver (VDEV_peer), so that it never shares pollnotify's device.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "workload.hpp"

namespace pn::bench {

// Initialises DPDK's EAL with each spec's vdev and its peer instance. "" or why it failed.
std::string init_cryptodev_eal(const std::vector<std::string>& device_specs);

// Runs kCryptodevPoll on the spec's operation with the workload's jobs (ops outstanding), rate,
// duration and pinning. Latency is enqueue to the application thread dequeuing the op.
RunResult run_native_cryptodev(const WorkloadOptions& options, const std::atomic<bool>& stop);

}  // namespace pn::bench
