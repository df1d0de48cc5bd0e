// pollnotify runtime: one object that owns the pollers, the simulated device and their rings,
// built from a single options struct; what an engine author or an application embeds.
//
// Threads: submit, stats and in_flight from any thread; start/stop from any thread but a poller
// (a callback); poll_once from one thread at a time, only with the external policy.
//
// Data flow: submit(ctx) -> device instance (chosen from the context's address, so a context
// always lands on the same instance and poller) -> completion ring -> poller -> ctx's callback
// or notify eventfd. Each instance is bound to one poller; pollers share no hot state.
//
// Memory ordering: everything written before submit() is visible to the callback of that
// request's completion, and everything the callback writes before it hands work back (through a
// ReadyQueue, say) is visible to the thread that takes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pollnotify/poller.hpp"
#include "pollnotify/sim_device.hpp"

namespace pn {

struct RuntimeOptions {
  std::size_t pollers = 1;
  PollerOptions poller;          // policy, burst, intervals; cpu is taken from poller_cpus
  std::vector<int> poller_cpus;  // poller i is pinned to poller_cpus[i % size]; empty: no pinning
  SimDeviceOptions device;       // instances, latency, capacity, faults, seed, timing
};

struct RuntimeStats {
  std::vector<PollerStats> pollers;
  PollerStats total;  // sums over the pollers (cpu_time_ns too)
  DeviceStats device;
};

class Runtime {
 public:
  // Pollers per runtime (one thread each), checked up front.
  static constexpr std::size_t kMaxPollers = 256;

  // Throws std::invalid_argument on bad options (pollers outside [1, kMaxPollers], or what
  // Poller / SimDevice reject).
  explicit Runtime(RuntimeOptions options);
  // Without a prior stop(): requests still in the device complete with ERR, everything in the
  // rings is delivered, then the pollers end. Nothing is left undelivered. Must not run inside
  // one of this runtime's callbacks (it would wait for the poller thread it runs on).
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts the poller threads (none with the external policy) and device threads. False if
  // already started. If a thread cannot be created, those already started are stopped again and
  // the std::system_error propagates: the runtime is left as before.
  bool start();
  // Waits until every accepted request has been delivered, then stops the threads. False if not
  // started. With the external policy it polls on the calling thread until drained. Throws
  // std::logic_error from inside one of this runtime's callbacks (it would wait for itself). In
  // a child process after fork() it only marks the runtime stopped: the threads that would
  // deliver the inherited requests do not exist there.
  bool stop();

  // Any thread; never blocks. Sets ctx's status as the device protocol says.
  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data = 0) noexcept;
  // External policy: polls every poller once; returns completions delivered (0: idle).
  std::size_t poll_once(std::size_t max = 0);

  // Accepted requests not yet delivered: in the device plus in the rings.
  [[nodiscard]] std::uint64_t in_flight() const noexcept;
  [[nodiscard]] std::uint64_t in_flight(std::size_t poller) const noexcept;
  [[nodiscard]] RuntimeStats stats() const;
  [[nodiscard]] std::size_t poller_count() const noexcept { return pollers_.size(); }
  [[nodiscard]] Poller& poller(std::size_t index) { return *pollers_.at(index); }
  [[nodiscard]] SimDevice& device() noexcept { return *device_; }
  [[nodiscard]] std::size_t instance_for(const WaitCtx& ctx) const noexcept;
  // True when the calling thread runs one of this runtime's pollers right now (it is inside a
  // callback, or inside this runtime's poll_once).
  [[nodiscard]] bool inside_own_callback() const noexcept;

 private:
  RuntimeOptions options_;
  std::vector<std::unique_ptr<Poller>> pollers_;
  std::unique_ptr<SimDevice> device_;
  bool started_ = false;
  int started_pid_ = 0;  // the process that started the threads (fork detection)
};

}  // namespace pn
