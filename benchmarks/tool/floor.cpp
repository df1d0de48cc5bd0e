#include "floor.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>

#include "pollnotify/internal/cpu.hpp"

namespace pn::bench {

void pin_this_thread_checked(int cpu) {
  if (cpu < 0) return;
  if (cpu >= CPU_SETSIZE) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "cannot pin to CPU " + std::to_string(cpu));
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int error = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (error != 0) {
    throw std::system_error(error, std::generic_category(),
                            "cannot pin to CPU " + std::to_string(cpu));
  }
  cpu_set_t applied;
  CPU_ZERO(&applied);
  if (::pthread_getaffinity_np(::pthread_self(), sizeof applied, &applied) != 0 ||
      CPU_COUNT(&applied) != 1 || !CPU_ISSET(cpu, &applied)) {
    throw std::system_error(EINVAL, std::generic_category(),
                            "pinning to CPU " + std::to_string(cpu) + " did not apply");
  }
}

namespace {

constexpr std::uint64_t kRoundTripsPerBatch = 2'000;
constexpr std::uint64_t kStop = ~std::uint64_t{0};

struct alignas(internal::kFalseSharingRange) Line {
  std::atomic<std::uint64_t> value{0};
};

}  // namespace

FloorMeasurement measure_floor(int cpu_a, int cpu_b, double seconds) {
  Line ping, pong;
  std::exception_ptr echo_error;
  std::thread echo([&] {
    try {
      pin_this_thread_checked(cpu_b);
    } catch (...) {
      echo_error = std::current_exception();
      // Published as an answer (BFL-R2): the error is visible once BFL-A2 sees the stop.
      pong.value.store(kStop, std::memory_order_release);
      return;
    }
    for (std::uint64_t expected = 1;; ++expected) {
      std::uint64_t seen;
      // BFL-A1: pairs with BFL-R1 (the ping).
      while ((seen = ping.value.load(std::memory_order_acquire)) < expected) internal::cpu_relax();
      if (seen == kStop) return;
      pong.value.store(seen, std::memory_order_release);  // BFL-R2: the answer; pairs with BFL-A2
    }
  });
  const auto stop_echo = [&] {
    ping.value.store(kStop, std::memory_order_release);  // the stop, published as BFL-R1
    echo.join();
  };
  try {
    pin_this_thread_checked(cpu_a);
  } catch (...) {
    stop_echo();
    throw;
  }
  using Clock = std::chrono::steady_clock;
  std::vector<double> batches;
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  std::uint64_t round = 0;
  bool echo_failed = false;
  do {
    const auto start = Clock::now();
    for (std::uint64_t i = 0; i < kRoundTripsPerBatch && !echo_failed; ++i) {
      ping.value.store(++round, std::memory_order_release);  // BFL-R1: pairs with BFL-A1
      std::uint64_t answer;
      // BFL-A2: pairs with BFL-R2 (the answer, or the echo's failure).
      while ((answer = pong.value.load(std::memory_order_acquire)) != round) {
        if (answer == kStop) {
          echo_failed = true;
          break;
        }
        internal::cpu_relax();
      }
    }
    batches.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                      kRoundTripsPerBatch);
  } while (!echo_failed && (Clock::now() < until || batches.size() < 5));
  stop_echo();
  if (echo_error) std::rethrow_exception(echo_error);
  std::sort(batches.begin(), batches.end());
  FloorMeasurement floor;
  floor.round_trip_ns = batches[batches.size() / 2];
  floor.min_batch_ns = batches.front();
  floor.max_batch_ns = batches.back();
  floor.round_trips = round;
  return floor;
}

bool floor_changed(const FloorMeasurement& before, const FloorMeasurement& after) noexcept {
  const double low = std::min(before.round_trip_ns, after.round_trip_ns);
  const double high = std::max(before.round_trip_ns, after.round_trip_ns);
  return low > 0 && high > 1.25 * low;
}

}  // namespace pn::bench
