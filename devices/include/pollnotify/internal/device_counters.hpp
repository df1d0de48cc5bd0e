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
struct DeviceCounters {
  std::atomic<std::uint64_t> submitted{0}, accepted{0}, refused_full{0}, refused_other{0},
      failed{0}, completed{0}, completed_err{0};

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
    std::uint64_t errors = 0;
    for (std::size_t i = 0; i < count; ++i) errors += completions[i].status == PN_ASYNC_STATUS_ERR;
    add(completed, count);
    if (errors != 0) add(completed_err, errors);
  }

  [[nodiscard]] DeviceStats snapshot(std::uint64_t in_flight) const noexcept {
    DeviceStats stats;
    stats.submitted = submitted.load(std::memory_order_relaxed);
    stats.accepted = accepted.load(std::memory_order_relaxed);
    stats.refused_full = refused_full.load(std::memory_order_relaxed);
    stats.refused_other = refused_other.load(std::memory_order_relaxed);
    stats.failed = failed.load(std::memory_order_relaxed);
    stats.completed = completed.load(std::memory_order_relaxed);
    stats.completed_err = completed_err.load(std::memory_order_relaxed);
    stats.in_flight = in_flight;
    return stats;
  }
};

}  // namespace pn::internal
