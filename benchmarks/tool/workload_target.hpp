// pollnotify-bench: the runtime a run submits to, its poller set up for the mechanism and the
// device the spec names (simulated, io_uring or cryptodev).
#pragma once

#include <memory>

#include "pollnotify/runtime.hpp"
#include "workload.hpp"

namespace pn::bench {

// Owns the runtime and the file a uring read device reads.
struct Target {
  std::unique_ptr<Runtime> runtime;
  int file = -1;
  Target() = default;
  Target(Target&& other) noexcept;
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;
  Target& operator=(Target&&) = delete;
  ~Target();
};

// Throws std::runtime_error for a device spec it cannot build (and what the runtime and the
// device throw for their options).
Target make_target(Mechanism mechanism, const WorkloadOptions& options);

}  // namespace pn::bench
