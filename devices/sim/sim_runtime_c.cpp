// The simulated runtime's C constructor: option translation at the C boundary.
#include <chrono>
#include <memory>

#include "pollnotify/internal/last_error.hpp"
#include "pollnotify/sim.h"
#include "pollnotify/sim_runtime.hpp"

namespace {

bool translate(const PN_RUNTIME_OPTIONS& in, pn::SimRuntimeOptions& out) {
  if (in.policy < PN_POLL_BUSY || in.policy > PN_POLL_EXTERNAL) {
    pn::internal::set_last_error("PN_RUNTIME_OPTIONS.policy is not a PN_POLL_* value");
    return false;
  }
  if (in.instances == 0 || in.instances > pn::SimDeviceOptions::kMaxInstances) {
    pn::internal::set_last_error("PN_RUNTIME_OPTIONS.instances must be in [1, 1024]");
    return false;
  }
  out.pollers = in.pollers;
  out.poller.policy = static_cast<pn::PollPolicy>(in.policy);
  out.poller.interval = std::chrono::nanoseconds(in.timed_interval_ns);
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

void PN_RUNTIME_OPTIONS_init(PN_RUNTIME_OPTIONS* options) {
  if (options == nullptr) return;
  *options = PN_RUNTIME_OPTIONS{1, PN_POLL_ADAPTIVE, 10'000, 1, "zero", 1024, 0.0, 0.0, 1};
}

PN_RUNTIME* PN_RUNTIME_new(const PN_RUNTIME_OPTIONS* options) {
  PN_RUNTIME_OPTIONS defaults;
  PN_RUNTIME_OPTIONS_init(&defaults);
  return pn::internal::c_boundary<PN_RUNTIME*>(nullptr, [&]() -> PN_RUNTIME* {
    pn::SimRuntimeOptions translated;
    if (!translate(options != nullptr ? *options : defaults, translated)) return nullptr;
    pn::internal::clear_last_error();
    return pn::to_c_handle(std::make_unique<pn::SimRuntime>(std::move(translated)));
  });
}

}  // extern "C"
