// pollnotify-bench on io_uring: the device's options for a spec, and io_uring's own completion
// styles as peers (no pollnotify: the application thread reaps the CQ itself).
#pragma once

#include <atomic>
#include <cstddef>

#include "device_spec.hpp"
#include "workload.hpp"

#ifdef PN_BENCH_WITH_URING
#include "pollnotify/uring_device.hpp"
#endif

namespace pn::bench {

#ifdef PN_BENCH_WITH_URING
// The UringDevice options for `spec` with `depth` requests in flight; opens the file a read spec
// names into `file` (the caller closes it after the device is gone). Throws std::system_error.
UringOptions uring_options(const DeviceSpec& spec, std::size_t depth, int& file);
#endif

// Runs io_uring's own style (kUringWait or kUringEventfd) on the spec's operation with the
// workload's jobs (requests outstanding), rate, duration and pinning. Latency is submit to the
// application thread seeing the CQE. Throws std::runtime_error without liburing.
RunResult run_native_uring(Mechanism mechanism, const WorkloadOptions& options,
                           const std::atomic<bool>& stop);

}  // namespace pn::bench
