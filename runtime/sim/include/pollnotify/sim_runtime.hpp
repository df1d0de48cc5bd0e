// A runtime built around one SimDevice from one options struct (what the tests, benchmarks,
// examples and the C call PN_SIM_RUNTIME_new use): pollnotify::sim_runtime, above both the
// runtime and the simulator. Anything a Runtime does, it does; device() is the simulator.
#pragma once

#include "pollnotify/runtime.hpp"
#include "pollnotify/sim_device.hpp"

namespace pn {

struct SimRuntimeOptions : RuntimeOptions {
  SimDeviceOptions device;  // instances, latency, capacity, faults, seed, timing
};

class SimRuntime : public Runtime {
 public:
  // Throws std::invalid_argument on bad options (what Runtime or SimDevice reject).
  explicit SimRuntime(SimRuntimeOptions options);
  [[nodiscard]] SimDevice& device() const noexcept { return device_; }

 private:
  SimDevice& device_;
};

}  // namespace pn
