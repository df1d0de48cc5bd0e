#include "workload_target.hpp"

#include <unistd.h>

#include <sys/socket.h>
#include <chrono>
#include <stdexcept>
#include <utility>
#include <vector>

#include "device_spec.hpp"
#include "loopback_echo.hpp"
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

#ifdef PN_BENCH_WITH_URING
// uring:echo through pollnotify: each submit arms a receive of the echo on the io_uring device,
// then sends the message (a receive the device refuses sends nothing, so no echo is left over).
class EchoDevice final : public Device {
 public:
  EchoDevice(Poller& poller, const UringOptions& options)
      : device_(poller, options), buffers_(options.max_in_flight * LoopbackEcho::kMessage) {}
  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data) noexcept override {
    const int client = echo_.next_client();
    unsigned char* buffer = buffers_.data() + (next_buffer_++ % device_.capacity()) *
                                                  LoopbackEcho::kMessage;  // never read
    const SubmitResult result =
        device_.submit_recv(ctx, client, buffer, LoopbackEcho::kMessage, MSG_WAITALL, user_data);
    if (result == SubmitResult::kAccepted) (void)LoopbackEcho::send_message(client);
    return result;
  }
  [[nodiscard]] std::uint64_t capacity() const noexcept override { return device_.capacity(); }
  [[nodiscard]] std::uint64_t in_flight() const noexcept override { return device_.in_flight(); }
  [[nodiscard]] DeviceStats stats() const noexcept override { return device_.stats(); }
  [[nodiscard]] std::string_view name() const noexcept override { return "uring-echo"; }

 private:
  LoopbackEcho echo_;  // destroyed after the device, which cancels the receives first
  UringDevice device_;
  std::vector<unsigned char> buffers_;
  std::uint64_t next_buffer_ = 0;  // the submitting thread's
};
#endif

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
  if (spec.echo) {
    target.runtime->add_device(std::make_unique<EchoDevice>(
        target.runtime->poller(0), uring_options(spec, depth, target.file)));
    return target;
  }
  target.runtime->add_device(std::make_unique<UringDevice>(
      target.runtime->poller(0), uring_options(spec, depth, target.file)));
  return target;
#else
  throw std::runtime_error("this pollnotify-bench was built without liburing");
#endif
}

}  // namespace pn::bench
