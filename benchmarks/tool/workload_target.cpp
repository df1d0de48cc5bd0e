#include "workload_target.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <utility>

#include "device_spec.hpp"
#include "pollnotify/sim_runtime.hpp"
#include "uring_peers.hpp"
#ifdef PN_BENCH_WITH_URING
#include "pollnotify/uring_device.hpp"
#endif
#ifdef PN_BENCH_WITH_CRYPTODEV
#include "pollnotify/cryptodev_device.hpp"
#endif

namespace pn::bench {

Target::Target(Target&& other) noexcept
    : runtime(std::move(other.runtime)), file(std::exchange(other.file, -1)) {}

Target::~Target() {
  runtime.reset();  // the device first: the kernel may still read into its buffers
  if (file >= 0) ::close(file);
}

namespace {

RuntimeOptions runtime_options_for(Mechanism mechanism, const WorkloadOptions& options) {
  RuntimeOptions runtime_options;
  switch (mechanism) {
    case Mechanism::kAdaptive:
      runtime_options.poller.policy = PollPolicy::kAdaptive;
      break;
    case Mechanism::kTimed:
      runtime_options.poller.policy = PollPolicy::kTimed;
      break;
    default:
      runtime_options.poller.policy = PollPolicy::kBusy;
      break;  // fd and condvar: same poller as the best callback
  }
  runtime_options.poller.interval = std::chrono::microseconds(options.timed_interval_us);
  if (runtime_options.poller.max_idle_interval < runtime_options.poller.interval) {
    runtime_options.poller.max_idle_interval = runtime_options.poller.interval;
  }
  runtime_options.poller.spin_polls = options.spin_polls;
  if (options.poller_cpu >= 0) runtime_options.poller_cpus = {options.poller_cpu};
  return runtime_options;
}

}  // namespace

Target make_target(Mechanism mechanism, const WorkloadOptions& options) {
  DeviceSpec spec;
  if (const auto error = parse_device_spec(options.device, spec)) throw std::runtime_error(*error);
  const std::size_t depth = options.depth != 0 ? options.depth : options.jobs;
  Target target;
  if (spec.kind == DeviceSpec::Kind::kSim) {
    SimRuntimeOptions sim_options;
    static_cast<RuntimeOptions&>(sim_options) = runtime_options_for(mechanism, options);
    DeviceInstanceOptions instance;
    instance.latency = LatencyModel::parse(spec.model);
    instance.capacity = depth;
    sim_options.device.instances = {instance};
    sim_options.device.seed = options.seed;
    target.runtime = std::make_unique<SimRuntime>(sim_options);
    return target;
  }
  target.runtime = std::make_unique<Runtime>(runtime_options_for(mechanism, options));
  if (spec.kind == DeviceSpec::Kind::kCryptodev) {
#ifdef PN_BENCH_WITH_CRYPTODEV
    CryptodevOptions crypto;
    crypto.device = spec.vdev;
    crypto.max_in_flight = static_cast<unsigned>(depth);
    crypto.default_op = spec.aes_gcm ? CryptoOpKind::kAesGcmEncrypt : CryptoOpKind::kSha256;
    crypto.default_size = spec.size;
    target.runtime->add_device(
        std::make_unique<CryptodevDevice>(target.runtime->poller(0), crypto));
    return target;
#else
    throw std::runtime_error("this pollnotify-bench was built without libdpdk");
#endif
  }
#ifdef PN_BENCH_WITH_URING
  target.runtime->add_device(std::make_unique<UringDevice>(
      target.runtime->poller(0), uring_options(spec, depth, target.file)));
  return target;
#else
  throw std::runtime_error("this pollnotify-bench was built without liburing");
#endif
}

}  // namespace pn::bench
