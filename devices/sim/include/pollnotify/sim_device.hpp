// pollnotify simulated device: polling hardware, faithful enough to measure notification costs.
//
// An engine submits a request for a wait context to one of the device's instances (like
// accelerator instances / rings). The device completes it later by pushing a Completion into a
// ring of the poller the instance is bound to; the poller then delivers it to the context.
//
// Submission follows the engine side of the ASYNC_WAIT_CTX status protocol and never blocks:
//   accepted                        -> status OK, a completion (OK, or ERR if injected) follows
//   capacity reached (per thread)   -> status EAGAIN, nothing follows: the caller retries
//     or an
//     injected refusal
//   injected fatal fault, bad input -> status ERR, nothing follows
//
// Timing, per device:
//   zero latency  completes inline in the submitter (pure notification path, no device thread).
//   kPolled       the instance is a PollSource of its poller: each poll moves the requests whose
//                 time has come into the ring, as a poll of real hardware would find them.
//   kThread       one device thread per instance does the same on its own.
//
// Threads: submit from any thread. stats/in_flight from any thread. advance() only when the
// bound pollers are external (it runs the sources, as poll_once does).
//
// Memory ordering: everything the submitter wrote before submit() is visible to the callback the
// completion invokes (the thread's submission channel CH-R1/CH-A1, then ring RING-R1/RING-A2).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pollnotify/device.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace pn {

enum class LatencyKind : std::uint8_t { kZero, kFixed, kUniform, kExponential, kLogNormal, kTrace };

struct LatencyModel {
  LatencyKind kind = LatencyKind::kZero;
  double first = 0;   // fixed: ns; uniform: min ns; exponential and log-normal: mean ns
  double second = 0;  // uniform: max ns; log-normal: sigma of the underlying normal
  std::vector<std::uint64_t> trace;  // kTrace: latencies in ns, replayed in order, cyclically

  // Limits, checked by parse: every latency (fixed, uniform bounds, means, trace values) is at
  // most kMaxLatencyNs, and a log-normal sigma at most kMaxLogNormalSigma. Samples are clamped
  // to kMaxLatencyNs too (a log-normal tail or an exponential draw may go beyond).
  static constexpr double kMaxLatencyNs = 3.6e12;  // one hour
  static constexpr double kMaxLogNormalSigma = 8;

  // "zero", "fixed:NS", "uniform:MIN:MAX", "exp:MEAN", "lognormal:MEAN:SIGMA" or "trace:FILE"
  // (one latency in ns per line; LF or CRLF line ends; '#' starts a comment line). Throws
  // std::invalid_argument with a message on bad input.
  static LatencyModel parse(std::string_view spec);
  [[nodiscard]] std::string describe() const;
};

enum class DeviceTiming : std::uint8_t { kPolled, kThread };

struct DeviceInstanceOptions {
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 20;  // checked up front

  LatencyModel latency;
  // Requests each submitting thread may have in the instance (accepted, not yet completed into a
  // ring: the credits of its submission channel); more are refused with EAGAIN; 1 ..
  // kMaxCapacity. A zero-latency instance completes at submission and
  // holds none: what waits for the poller is bounded by the submitting thread's completion ring
  // instead.
  std::size_t capacity = 1024;
  std::size_t engines = 0;  // requests processed in parallel: 0 (unlimited) .. capacity
  double error_rate = 0;    // fraction of accepted requests that complete with ERR
  double refuse_rate = 0;   // fraction of submissions refused with EAGAIN (besides capacity)
  double fatal_rate = 0;    // fraction of submissions failing at once with ERR
};

struct SimDeviceOptions {
  // Instances (with DeviceTiming::kThread, one thread each), checked up front.
  static constexpr std::size_t kMaxInstances = 1024;

  std::vector<DeviceInstanceOptions> instances{DeviceInstanceOptions{}};
  std::uint64_t seed = 1;  // same seed, same submissions -> same decisions and latencies
  DeviceTiming timing = DeviceTiming::kPolled;
  int thread_cpu = -1;  // kThread: pin the device threads
  // The clock, in ns; nullptr: CheapClock. A test passes a fake one to step time by hand.
  std::uint64_t (*clock)(void* context) = nullptr;
  void* clock_context = nullptr;
};

class SimDevice final : public Device {
 public:
  // Instance i completes into pollers[i % pollers.size()]; kPolled instances register as its
  // PollSource, so the pollers must not be running yet. Each instance that is not zero-latency
  // takes a ring on its poller (given back by the destructor). Throws std::invalid_argument on
  // bad options (no instance, capacity 0, a rate outside [0, 1], no poller), std::length_error,
  // before anything is created, when a poller has no room for the rings (Poller::kMaxRings).
  SimDevice(SimDeviceOptions options, std::span<Poller* const> pollers);
  // Stops device threads, and (kPolled) any bound poller still running, since it would poll this
  // device. Requests still in the device complete with ERR (cancelled): through the rings while
  // their poller runs (waiting for room: a context has one deliverer at a time), else delivered
  // here. Gives the rings back; the pollers must outlive the device.
  ~SimDevice() override;
  SimDevice(const SimDevice&) = delete;
  SimDevice& operator=(const SimDevice&) = delete;

  // Any thread; never blocks. The instance is chosen from the context's address, so a context
  // always lands on the same instance (and poller).
  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data) noexcept override;
  // Any thread; never blocks. An instance index out of range fails with ERR.
  SubmitResult submit(std::size_t instance, WaitCtx& ctx, std::uint64_t user_data) noexcept;
  [[nodiscard]] std::size_t instance_for(const WaitCtx& ctx) const noexcept;

  // kThread: starts / stops the device threads (idempotent).
  void start() override;
  void stop() override;

  [[nodiscard]] std::size_t instance_count() const noexcept;
  [[nodiscard]] std::uint64_t in_flight(std::size_t instance) const noexcept;
  [[nodiscard]] std::uint64_t in_flight() const noexcept override;
  [[nodiscard]] std::uint64_t capacity() const noexcept override;
  [[nodiscard]] DeviceStats stats() const noexcept override;
  [[nodiscard]] std::string_view name() const noexcept override { return "sim"; }
  [[nodiscard]] std::uint64_t now_ns() const noexcept;
  [[nodiscard]] const SimDeviceOptions& options() const noexcept { return options_; }

  struct Instance;

 private:
  SimDeviceOptions options_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::thread> threads_;
  std::atomic<bool> threads_stop_{false};
  int threads_pid_ = 0;  // fork detection, as in Poller
};

}  // namespace pn
