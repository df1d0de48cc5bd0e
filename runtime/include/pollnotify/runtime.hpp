// pollnotify runtime: one object that owns the pollers and any number of devices (the
// application adds them); what an engine author or an application embeds.
//
// Threads: submit, stats and in_flight from any thread; add_device before start(); start/stop
// from any thread but a poller (a callback); poll_once from one thread at a time, only with the
// external policy.
//
// Data flow: submit(ctx) -> a device (it arms ctx and enqueues the request) -> the device's
// completion ring on one of the runtime's pollers -> the poller -> ctx's callback or notify
// eventfd. Pollers share no hot state.
//
// Memory ordering: everything written before submit() is visible to the callback of that
// request's completion, and everything the callback writes before it hands work back (through a
// MpscQueue, say) is visible to the thread that takes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "pollnotify/device.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/runtime.h"

namespace pn {

struct RuntimeOptions {
  std::size_t pollers = 1;
  // stop() waits at most this long for the requests in flight (> 0; nanoseconds::max(): no
  // bound); past it, what is still in flight is left to the devices and reported.
  std::chrono::nanoseconds stop_timeout{std::chrono::seconds(10)};
  PollerOptions poller;          // policy, burst, intervals; cpu is taken from poller_cpus
  std::vector<int> poller_cpus;  // poller i is pinned to poller_cpus[i % size]; empty: no pinning
};

struct RuntimeStats {
  std::vector<PollerStats> pollers;
  PollerStats total;                 // sums over the pollers (cpu_time_ns too)
  std::vector<DeviceStats> devices;  // one per device, in the order they were added
  DeviceStats device;                // sums over the devices
};

class Runtime {
 public:
  // Limits, checked up front: pollers per runtime (one thread each), devices per runtime.
  static constexpr std::size_t kMaxPollers = 256;
  static constexpr std::size_t kMaxDevices = 64;

  // Creates the pollers (not started). Throws std::invalid_argument on bad options (pollers
  // outside [1, kMaxPollers], or what Poller rejects).
  explicit Runtime(RuntimeOptions options);
  // Without a prior stop(): the devices complete what they still hold with ERR, everything in
  // the rings is delivered, then the pollers end. Nothing is left undelivered. Must not run
  // inside one of this runtime's callbacks (it would wait for the poller thread it runs on).
  virtual ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The pollers, for building a device that completes into them (before start()).
  [[nodiscard]] std::span<Poller* const> pollers() const noexcept { return poller_view_; }
  // Before start(): the runtime owns the device from now on (destroyed before the pollers).
  // Returns it. Throws std::logic_error once started, std::length_error past kMaxDevices,
  // std::invalid_argument for nullptr.
  Device& add_device(std::unique_ptr<Device> device);
  [[nodiscard]] std::size_t device_count() const noexcept { return devices_.size(); }
  // Throws std::out_of_range for an index past device_count().
  [[nodiscard]] Device& device_at(std::size_t index) const { return *devices_.at(index); }

  // Starts the poller threads (none with the external policy) and the devices' threads. False
  // if already started. If a thread cannot be created or pinned, what was started is stopped
  // again and the exception propagates: the runtime is left as before.
  bool start();
  // Waits until every accepted request has been delivered, at most options().stop_timeout, then
  // stops the threads. False if not started. With the external policy it polls on the calling
  // thread until drained. Requests still in flight at the timeout (a device that never
  // completes them) stay in their devices, counted by stop_left_in_flight(); the devices'
  // teardown (this runtime's destructor) cancels them with ERR. Throws std::logic_error from
  // inside one of this runtime's callbacks (it would wait for itself). In a child process after
  // fork() it only marks the runtime stopped: the threads that would deliver the inherited
  // requests do not exist there.
  bool stop();
  // Requests still in flight when the last stop() gave up waiting; 0 when it drained.
  [[nodiscard]] std::uint64_t stop_left_in_flight() const noexcept { return stop_left_in_flight_; }
  [[nodiscard]] const RuntimeOptions& options() const noexcept { return options_; }

  // Any thread; never blocks. Submits to the first device (kFailed, status ERR, if there is
  // none); Device::submit on device_at(i) reaches the others.
  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data = 0) noexcept;
  // External policy: polls every poller once; returns completions delivered (0: idle).
  std::size_t poll_once(std::size_t max = 0);

  // Accepted requests not yet delivered: in the devices plus in the rings.
  [[nodiscard]] std::uint64_t in_flight() const noexcept;
  [[nodiscard]] RuntimeStats stats() const;
  [[nodiscard]] std::size_t poller_count() const noexcept { return pollers_.size(); }
  [[nodiscard]] Poller& poller(std::size_t index) { return *pollers_.at(index); }
  // True when the calling thread runs one of this runtime's pollers right now (it is inside a
  // callback, or inside this runtime's poll_once).
  [[nodiscard]] bool inside_own_callback() const noexcept;

 private:
  RuntimeOptions options_;
  std::vector<std::unique_ptr<Poller>> pollers_;
  std::vector<Poller*> poller_view_;
  std::vector<std::unique_ptr<Device>> devices_;  // destroyed before the pollers
  bool started_ = false;
  int started_pid_ = 0;  // the process that started the threads (fork detection)
  std::uint64_t stop_left_in_flight_ = 0;
};

// The C handle of a runtime built in C++ (PN_RUNTIME_free destroys it): a C++ engine may hand
// its runtime to C code. nullptr (with PN_get_last_error) when out of memory.
[[nodiscard]] PN_RUNTIME* to_c_handle(std::unique_ptr<Runtime> runtime) noexcept;
// The runtime behind a C handle; nullptr for NULL.
[[nodiscard]] Runtime* from_c_handle(PN_RUNTIME* runtime) noexcept;

}  // namespace pn
