// pollnotify internal: how a driver whose hardware queue has one producer (the poller, or a
// device thread) admits requests from any thread: capacity, arm, a bounded multi-producer queue
// that producer drains, and a wake for the poller. Shared by the drivers in devices/ (the
// simulator, io_uring, cryptodev). Do not include directly.
#pragma once

#include <atomic>
#include <cstdint>

#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/device_counters.hpp"
#include "pollnotify/mpsc_queue.hpp"
#include "pollnotify/poller.hpp"

namespace pn::internal {

// Request: trivially copyable, with members `WaitCtx* ctx` and `RequestTicket ticket`.
template <class Request>
class SubmissionQueue : public DeviceCounters {
 public:
  // drained_by: the poller to wake after each admission; nullptr for a queue drained by a thread
  // of the device's own, which parks on the queue itself (queued.wait_nonempty).
  SubmissionQueue(Poller* drained_by, std::uint64_t capacity)
      : queued(capacity), drained_by_(drained_by), capacity_(capacity) {}

  // Any thread, never blocks: ERR once closed, EAGAIN at capacity, else armed and queued.
  SubmitResult admit(WaitCtx& ctx, Request request) noexcept {
    add(submitted);
    if (closed.load(std::memory_order_relaxed)) return refuse(ctx, SubmitResult::kFailed, failed);
    // Relaxed: the count only bounds occupancy; the queue publishes the request itself.
    if (accepted_in_flight.fetch_add(1, std::memory_order_relaxed) >= capacity_) {
      accepted_in_flight.fetch_sub(1, std::memory_order_relaxed);
      return refuse(ctx, SubmitResult::kRetry, refused_full);
    }
    // Before the request can complete and set its own; unchanged (the usual case), not rewritten.
    ctx.ensure_status(AsyncStatus::kOk);
    request.ctx = &ctx;
    request.ticket = ctx.arm();
    if (!queued.try_push(request)) {  // cannot happen: the queue holds `capacity`
      accepted_in_flight.fetch_sub(1, std::memory_order_relaxed);
      ctx.abandon(request.ticket);
      return refuse(ctx, SubmitResult::kRetry, refused_full);
    }
    add(accepted);
    if (drained_by_ != nullptr) drained_by_->notify();
    return SubmitResult::kAccepted;
  }

  MpscQueue<Request> queued;  // submitters -> the poller
  // Accepted and not yet pushed into a ring (the driver decrements it).
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> accepted_in_flight{0};
  std::atomic<bool> closed{false};  // teardown: no more admissions (relaxed: a flag)

 private:
  Poller* const drained_by_;
  const std::uint64_t capacity_;
};

}  // namespace pn::internal
