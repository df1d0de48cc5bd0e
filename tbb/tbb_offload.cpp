#include <oneapi/tbb/concurrent_queue.h>
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

// Wait contexts reused across offloads, any thread to any thread (oneTBB's concurrent_queue).
// A context is handed out again only once its last delivery has finished (in_flight() 0: a
// context given back from inside its own callback is still being delivered), so one thread at a
// time delivers for it. Never destroyed: a poller may outlive static destructors.
class WaitCtxPool {
 public:
  WaitCtx* take() noexcept {
    WaitCtx* ctx = nullptr;
    if (free_.try_pop(ctx)) {
      if (ctx->in_flight() == 0) return ctx;
      free_.push(ctx);  // still being delivered: later
    }
    return WaitCtx::create();
  }
  void give_back(WaitCtx* ctx) noexcept { free_.push(ctx); }

 private:
  oneapi::tbb::concurrent_queue<WaitCtx*> free_;
};

WaitCtxPool& wait_ctx_pool() {
  static auto* const pool = new WaitCtxPool;  // leaked on purpose (see WaitCtxPool)
  return *pool;
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
  struct PooledWaitCtx {
    WaitCtx* const ctx = internal::take_wait_ctx();
    ~PooledWaitCtx() { internal::give_back_wait_ctx(ctx); }
  } pooled;
  if (pooled.ctx == nullptr) return outcome;  // out of memory
  WaitCtx* const ctx = pooled.ctx;
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

namespace internal {

void Countdown::release() noexcept {
  // TBBW-R1: the last release publishes every continuation's effects to TBBW-A1 (acq_rel: and
  // sees the other releases').
  if (live_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  const std::uintptr_t point = meeting_.exchange(kDone, std::memory_order_acq_rel);
  if (point != 0) {
    oneapi::tbb::task::resume(reinterpret_cast<oneapi::tbb::task::suspend_point>(point));
  }
}

void Countdown::wait() {
  // TBBW-A1: pairs with TBBW-R1.
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) return;
  oneapi::tbb::task::suspend([this](oneapi::tbb::task::suspend_point point) {
    const std::uintptr_t before =
        meeting_.exchange(reinterpret_cast<std::uintptr_t>(point), std::memory_order_acq_rel);
    if (before == kDone) oneapi::tbb::task::resume(point);
  });
  (void)meeting_.load(std::memory_order_acquire);  // TBBW-A1, after the resume (as TBBO-A2)
}

NodeFlow::NodeFlow(std::size_t max_in_flight)
    : max_in_flight_(static_cast<long>(std::min<std::size_t>(max_in_flight, 1L << 30))) {
  if (max_in_flight == 0) {
    throw std::invalid_argument("pn::tbb::offload_node: max_in_flight must be >= 1");
  }
}

void NodeFlow::admit(Request& request) {
  std::call_once(arena_once_, [this] {
    arena_ = std::make_unique<oneapi::tbb::task_arena>(oneapi::tbb::task_arena::attach{});
  });
  // TBBN-RA1: acq_rel; pairs with itself in finished(): a finisher that sees this count sees the
  // request parked (or about to be).
  if (requests_.fetch_add(1, std::memory_order_acq_rel) < max_in_flight_) {
    start_request(request);
    return;
  }
  parked_.push(&request);
}

void NodeFlow::finished() noexcept {
  // TBBN-RA1, as in admit().
  if (requests_.fetch_sub(1, std::memory_order_acq_rel) <= max_in_flight_) return;
  Request* next = nullptr;
  while (!parked_.try_pop(next)) std::this_thread::yield();  // its admit() is pushing it
  try {
    arena_->enqueue([next] { start_request(*next); });
  } catch (...) {  // out of memory: start it here
    start_request(*next);
  }
}

WaitCtx* take_wait_ctx() noexcept { return wait_ctx_pool().take(); }

void give_back_wait_ctx(WaitCtx* ctx) noexcept {
  if (ctx != nullptr) wait_ctx_pool().give_back(ctx);
}

Request::Request(Device& device, std::uint64_t user_data, const OffloadOptions& options,
                 oneapi::tbb::task_arena* retry_arena)
    : device_(device),
      user_data_(user_data),
      options_(options),
      retry_arena_(retry_arena),
      cancel_context_(oneapi::tbb::task::current_context()),
      ctx_(take_wait_ctx()) {}

Request::~Request() { give_back_wait_ctx(ctx_); }

// The poller thread: the outcome is the completion's.
int complete_request(void* arg, const PN_COMPLETION* completion) {
  auto& request = *static_cast<Request*>(arg);
  request.outcome_.status = completion->status;
  request.outcome_.result = completion->result;
  request.outcome_.user_data = completion->user_data;
  if (request.last_to_arrive()) request.finish();
  return 1;
}

// A task at the back of the arena: one hop of a back-off, or the next try.
void retry_request(Request& request) noexcept {
  if (request.hops_left_ > 1) {
    --request.hops_left_;
    const auto hop = [&request] { retry_request(request); };
    try {
      if (request.retry_arena_ != nullptr) {
        request.retry_arena_->enqueue(hop);
      } else {
        oneapi::tbb::this_task_arena::enqueue(hop);
      }
      return;
    } catch (...) {  // out of memory: try now instead
    }
  }
  start_request(request);
}

void start_request(Request& request) noexcept {
  if (request.ctx_ == nullptr) {  // no wait context could be made
    request.outcome_.submit = SubmitResult::kFailed;
    request.finish();
    return;
  }
  if (request.cancel_context_ != nullptr &&
      request.cancel_context_->is_group_execution_cancelled()) {
    request.outcome_.submit = SubmitResult::kFailed;
    request.outcome_.status = PN_ASYNC_STATUS_ERR;
    request.finish();
    return;
  }
  request.ctx_->set_completion_callback(complete_request, &request);
  // Written before the submission: once it is accepted the completion may come at any time.
  request.outcome_.submit = SubmitResult::kAccepted;
  request.arrivals_left_.store(2, std::memory_order_relaxed);  // published by the device's queue
  const SubmitResult submitted = request.device_.submit(*request.ctx_, request.user_data_);
  if (submitted == SubmitResult::kAccepted) {
    if (request.last_to_arrive()) request.finish();
    return;
  }
  request.outcome_.submit = submitted;
  request.outcome_.status = request.ctx_->status();
  if (submitted == SubmitResult::kFailed ||
      request.outcome_.retries == request.options_.max_retries) {
    request.finish();
    return;
  }
  ++request.outcome_.retries;
  request.hops_left_ = request.backoff_ + 1;
  request.backoff_ =
      std::min(request.backoff_ * 2, std::max(request.options_.max_backoff_yields, 1U));
  retry_request(request);
}

}  // namespace internal

}  // namespace pn::tbb
