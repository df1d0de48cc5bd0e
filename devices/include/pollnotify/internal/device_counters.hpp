// pollnotify internal: the counters a device driver keeps and the refusal every driver makes,
// shared by the drivers in devices/. Do not include directly.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "pollnotify/completion.hpp"
#include "pollnotify/device.hpp"

namespace pn::internal {

// Every update and read is relaxed: statistics, published by nothing and ordering nothing.
// One atomic per counter of the table (PN_DEVICE_COUNTERS), under its name; `in_flight` is the
// device's own figure, passed to snapshot().
struct DeviceCounters {
#define PN_DEVICE_COUNTER_ATOMIC(name, description) std::atomic<std::uint64_t> name{0};
  PN_DEVICE_COUNTERS(PN_DEVICE_COUNTER_ATOMIC)
#undef PN_DEVICE_COUNTER_ATOMIC

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }

  // A refused submission: counted, and the context's status says why (EAGAIN or ERR).
  static SubmitResult refuse(WaitCtx& ctx, SubmitResult result,
                             std::atomic<std::uint64_t>& counter) noexcept {
    add(counter);
    ctx.set_status(result == SubmitResult::kRetry ? AsyncStatus::kEagain : AsyncStatus::kErr);
    return result;
  }

  void count_completed(const Completion* completions, std::size_t count) noexcept {
    const std::uint64_t errors = errors_in(completions, count);
    add(completed, count);
    if (errors != 0) add(completed_err, errors);
  }

  static std::uint64_t errors_in(const Completion* completions, std::size_t count) noexcept {
    std::uint64_t errors = 0;
    for (std::size_t i = 0; i < count; ++i) errors += completions[i].status == PN_ASYNC_STATUS_ERR;
    return errors;
  }

  [[nodiscard]] DeviceStats snapshot(std::uint64_t in_flight_now) const noexcept {
    DeviceStats stats;
#define PN_DEVICE_COUNTER_READ(name, description) stats.name = name.load(std::memory_order_relaxed);
    PN_DEVICE_COUNTERS(PN_DEVICE_COUNTER_READ)
#undef PN_DEVICE_COUNTER_READ
    stats.in_flight = in_flight_now;
    return stats;
  }
};

}  // namespace pn::internal
