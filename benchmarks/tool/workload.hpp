// pollnotify-bench workload: application jobs on a pinned thread, offloading to the simulated
// device; one notification mechanism per run. Shared by the tool and its tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "latency_histogram.hpp"

namespace pn::bench {

// The first five notify through pollnotify; the last two are io_uring's own completion styles
// without pollnotify (peers, on uring devices only).
enum class Mechanism : std::uint8_t {
  kBusy,
  kAdaptive,
  kTimed,
  kEventfd,
  kCondvar,
  kUringWait,      // the application thread submits and waits in io_uring_wait_cqe
  kUringEventfd,   // a registered eventfd, waited for with epoll
  kCryptodevPoll,  // the application thread enqueues and polls dequeue_burst itself
};

inline constexpr Mechanism kAllMechanisms[] = {Mechanism::kBusy,         Mechanism::kAdaptive,
                                               Mechanism::kTimed,        Mechanism::kEventfd,
                                               Mechanism::kCondvar,      Mechanism::kUringWait,
                                               Mechanism::kUringEventfd, Mechanism::kCryptodevPoll};

// True for io_uring's own styles, which run on uring devices only.
constexpr bool native_uring(Mechanism mechanism) noexcept {
  return mechanism == Mechanism::kUringWait || mechanism == Mechanism::kUringEventfd;
}
// True for a device's own style (no pollnotify): io_uring's, or DPDK's polling loop.
constexpr bool native_peer(Mechanism mechanism) noexcept {
  return native_uring(mechanism) || mechanism == Mechanism::kCryptodevPoll;
}

const char* name_of(Mechanism mechanism) noexcept;
// Accepts the names above and the short forms busy, adaptive, timed, eventfd, condvar,
// uring-wait, uring-eventfd, cryptodev-poll.
bool parse_mechanism(const std::string& text, Mechanism& out) noexcept;

struct WorkloadOptions {
  std::string device = "zero";  // device spec (DeviceSpec): a sim latency model or uring:...
  std::size_t jobs = 64;        // concurrent jobs, one wait context each
  std::size_t depth = 0;        // device capacity (in-flight requests); 0: as many as jobs
  double duration_s = 1.5;      // measured time per run (after the warm-up)
  double warmup_s = 0.2;
  std::uint64_t requests = 0;  // stop after this many measured completions (0: duration only)
  std::uint32_t timed_interval_us = 10;
  std::uint32_t spin_polls = 4096;
  std::uint32_t app_spin_us = 50;  // callback mechanisms: the application spins before parking
  int app_cpu = 0;
  int poller_cpu = 1;
  std::uint64_t seed = 1;
  // Open loop when above 0: requests/s issued on a fixed schedule by at most `jobs` jobs; latency
  // runs from the intended send time, so a request held back by a slow one still counts its wait
  // (coordinated omission corrected, as wrk2 does). 0: closed loop, each job submits again as
  // soon as it has its result.
  double rate = 0;
  bool progress = false;  // a progress line on stderr
};

struct RunResult {
  Mechanism mechanism{};
  std::string device;             // the device spec it ran on
  std::uint64_t completions = 0;  // measured window
  std::uint64_t submitted = 0;    // accepted submissions, whole run
  std::uint64_t notified = 0;     // notifications seen, whole run
  std::uint64_t lost = 0;         // accepted and never notified
  std::uint64_t duplicated = 0;   // notified more than once
  std::uint64_t eagain = 0;
  std::uint64_t errors = 0;
  std::size_t jobs = 0;  // concurrent jobs (open loop: at most this many outstanding)
  double rate = 0;       // open loop: the requested rate (0: closed loop)
  double seconds = 0;    // measured window
  double poller_cpu_percent = 0;
  double app_cpu_percent = 0;
  bool interrupted = false;
  LatencyHistogram resume_ns;  // submit -> the job runs again (the application sees the result)
  LatencyHistogram notify_ns;  // submit -> the notification (callback, fd seen, or condvar wake)
  [[nodiscard]] double throughput() const noexcept {
    return seconds > 0 ? static_cast<double>(completions) / seconds : 0;
  }
};

// Runs one mechanism; returns its figures. `stop` (e.g. set by SIGINT) ends it early. Throws
// std::system_error when a thread cannot be pinned as asked, std::runtime_error on set-up
// failures.
RunResult run_workload(Mechanism mechanism, const WorkloadOptions& options,
                       const std::atomic<bool>& stop);

}  // namespace pn::bench
