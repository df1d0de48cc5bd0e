#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <utility>

#include "pollnotify/tbb.hpp"

namespace pn::tbb {
namespace {

// One request's state, on the task's stack (it stays put while the task is suspended). The
// request is submitted before the task suspends, so its completion may come first: whichever of
// the callback and the suspended task comes second resumes the task (exactly one does).
struct Pending {
  static constexpr std::uintptr_t kCompleted = 1;
  // 0, then the suspend point (the task suspended) or kCompleted (the callback ran).
  std::atomic<std::uintptr_t> meeting{0};
  PN_COMPLETION completion{};
};

// The poller thread: keep the completion, then hand the task back to TBB if it has suspended.
int resume_task(void* arg, const PN_COMPLETION* completion) {
  auto* pending = static_cast<Pending*>(arg);
  pending->completion = *completion;
  // TBBO-R1: publishes the completion to TBBO-A1 and TBBO-A2 (acq_rel: and reads the suspend
  // point).
  const std::uintptr_t point =
      pending->meeting.exchange(Pending::kCompleted, std::memory_order_acq_rel);
  if (point != 0) {
    oneapi::tbb::task::resume(reinterpret_cast<oneapi::tbb::task::suspend_point>(point));
  }
  return 1;
}

// Suspends the task until resume_task has run (at once if it has already).
void wait_for_completion(Pending& pending) {
  // TBBO-A1: pairs with TBBO-R1: the completion is visible.
  if (pending.meeting.load(std::memory_order_acquire) == Pending::kCompleted) return;
  oneapi::tbb::task::suspend([&pending](oneapi::tbb::task::suspend_point point) {
    // TBBO-A1 as well: acq_rel, so a completion stored before is visible.
    const std::uintptr_t before = pending.meeting.exchange(reinterpret_cast<std::uintptr_t>(point),
                                                           std::memory_order_acq_rel);
    if (before == Pending::kCompleted) oneapi::tbb::task::resume(point);
  });
  // TBBO-A2: pairs with TBBO-R1. TBB's resume orders the hand-over too, inside libtbb; this
  // acquire makes the completion's visibility ours to prove (and ThreadSanitizer's to see).
  (void)pending.meeting.load(std::memory_order_acquire);
}

// Tasks suspended by a back-off yield now, process-wide (OffloadOptions::max_suspended).
std::atomic<unsigned> yielding_tasks{0};

// One back-off step: yields the worker to other tasks (a suspension, resumed at once), unless
// max_suspended tasks are yielding already; then yields the CPU instead. A yield lets the worker
// take a new task that may be refused and yield in turn, and each suspended task holds a stack:
// unbounded, a parallel_for over many items would suspend them all.
void backoff_step(unsigned limit) {
  // Relaxed: a count against a limit; TBB's suspend/resume order the tasks themselves.
  unsigned seen = yielding_tasks.load(std::memory_order_relaxed);
  while (seen < limit) {
    if (yielding_tasks.compare_exchange_weak(seen, seen + 1, std::memory_order_relaxed)) {
      yield_worker();
      yielding_tasks.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
  std::this_thread::yield();
}

bool group_cancelled() {
  oneapi::tbb::task_group_context* context = oneapi::tbb::task::current_context();
  return context != nullptr && context->is_group_execution_cancelled();
}

}  // namespace

oneapi::tbb::task_arena offload_arena(int threads, int max_suspended) {
  constexpr int kCoroutinesPerSlot = 4;  // oneTBB 2021: arena::my_co_cache.init(4 * num_slots)
  constexpr int kMaxSuspended = 65'536;
  if (threads < 1) throw std::invalid_argument("pn::tbb::offload_arena: threads must be >= 1");
  if (max_suspended < 0 || max_suspended > kMaxSuspended) {
    throw std::invalid_argument("pn::tbb::offload_arena: max_suspended must be in [0, 65536]");
  }
  const int slots =
      std::max(threads, (max_suspended + kCoroutinesPerSlot - 1) / kCoroutinesPerSlot);
  // Workers = slots - reserved = threads - 1; the thread calling execute() takes a reserved slot.
  return oneapi::tbb::task_arena(slots, static_cast<unsigned>(slots - threads + 1));
}

void yield_worker() {
  oneapi::tbb::task::suspend(
      [](oneapi::tbb::task::suspend_point point) { oneapi::tbb::task::resume(point); });
}

OffloadResult offload(Device& device, std::uint64_t user_data, const OffloadOptions& options) {
  OffloadResult outcome;
  if (oneapi::tbb::task::current_context() == nullptr) return outcome;  // not in a TBB task
  const WaitCtxPtr ctx = WaitCtx::make();
  Pending pending;
  ctx->set_completion_callback(resume_task, &pending);
  unsigned backoff = 1;
  for (;;) {
    if (group_cancelled()) {  // nothing (more) submitted: nothing to wait for
      outcome.submit = SubmitResult::kFailed;
      outcome.status = PN_ASYNC_STATUS_ERR;
      return outcome;
    }
    // Only an accepted request suspends the task: a refused one must not hold a stack while
    // its worker takes the next task.
    const SubmitResult submitted = device.submit(*ctx, user_data);
    outcome.submit = submitted;
    if (submitted == SubmitResult::kAccepted) {
      wait_for_completion(pending);
      outcome.status = pending.completion.status;
      outcome.result = pending.completion.result;
      outcome.user_data = pending.completion.user_data;
      return outcome;
    }
    outcome.status = ctx->status();
    if (submitted == SubmitResult::kFailed || outcome.retries == options.max_retries) {
      return outcome;
    }
    ++outcome.retries;
    for (unsigned i = 0; i < backoff; ++i) backoff_step(options.max_suspended);
    backoff = std::min(backoff * 2, std::max(options.max_backoff_yields, 1U));
  }
}

}  // namespace pn::tbb
