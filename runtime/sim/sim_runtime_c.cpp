// The simulated runtime's C constructor: option translation at the C boundary.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "pollnotify/internal/last_error.hpp"
#include "pollnotify/internal/sized_struct.hpp"
#include "pollnotify/sim_runtime.h"
#include "pollnotify/sim_runtime.hpp"

namespace {

using pn::internal::fail_static;

// The options a caller's struct holds: its struct_size says how many fields it has.
bool read_options(const PN_SIM_RUNTIME_OPTIONS* in, PN_SIM_RUNTIME_OPTIONS& out) noexcept {
  PN_SIM_RUNTIME_OPTIONS_init(&out);
  return pn::internal::read_sized_struct(
      in, out, offsetof(PN_SIM_RUNTIME_OPTIONS, pollers) + sizeof out.pollers,
      "PN_SIM_RUNTIME_OPTIONS.struct_size is not a size this library knows "
      "(call PN_SIM_RUNTIME_OPTIONS_init first)");
}

// Checks what the C struct alone can get wrong; SimRuntime checks the rest (and throws).
bool translate(const PN_SIM_RUNTIME_OPTIONS& in, pn::SimRuntimeOptions& out) {
  if (in.policy < PN_POLL_BUSY || in.policy > PN_POLL_EXTERNAL) {
    fail_static(-EINVAL, "PN_SIM_RUNTIME_OPTIONS.policy is not a PN_POLL_* value");
    return false;
  }
  if (in.instances == 0 || in.instances > pn::SimDeviceOptions::kMaxInstances) {
    fail_static(-EINVAL, "PN_SIM_RUNTIME_OPTIONS.instances must be in [1, 1024]");
    return false;
  }
  static constexpr auto kMaxNs =
      static_cast<std::uint64_t>(std::chrono::nanoseconds::max().count());
  out.pollers = in.pollers;
  out.poller.policy = static_cast<pn::PollPolicy>(in.policy);
  out.poller.interval =
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(in.timed_interval_ns, kMaxNs)));
  if (out.poller.max_idle_interval < out.poller.interval)
    out.poller.max_idle_interval = out.poller.interval;
  pn::DeviceInstanceOptions instance;
  instance.latency = pn::LatencyModel::parse(in.latency != nullptr ? in.latency : "zero");
  instance.capacity = in.capacity;
  instance.error_rate = in.error_rate;
  instance.refuse_rate = in.refuse_rate;
  out.device.instances.assign(in.instances, instance);
  out.device.seed = in.seed;
  return true;
}

}  // namespace

extern "C" {

void PN_SIM_RUNTIME_OPTIONS_init(PN_SIM_RUNTIME_OPTIONS* options) {
  if (options == nullptr) return;
  *options = PN_SIM_RUNTIME_OPTIONS{
      sizeof(PN_SIM_RUNTIME_OPTIONS), 1, PN_POLL_ADAPTIVE, 10'000, 1, "zero", 1024, 0.0, 0.0, 1};
}

PN_RUNTIME* PN_SIM_RUNTIME_new(const PN_SIM_RUNTIME_OPTIONS* options) {
  return pn::internal::c_call_pointer<PN_RUNTIME>([&]() -> PN_RUNTIME* {
    PN_SIM_RUNTIME_OPTIONS given;
    pn::SimRuntimeOptions translated;
    if (!read_options(options, given) || !translate(given, translated)) return nullptr;
    return pn::to_c_handle(std::make_unique<pn::SimRuntime>(std::move(translated)));
  });
}

}  // extern "C"
