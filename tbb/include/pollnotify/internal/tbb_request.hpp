// pollnotify internal: one continuation-style TBB offload in flight (pollnotify/tbb.hpp's
// offload_then, parallel_offload and offload_node). Do not include directly.
#pragma once

#include <oneapi/tbb/concurrent_queue.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "pollnotify/device.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace pn::tbb {

struct OffloadOptions {
  unsigned max_retries = 1'000'000;  // EAGAIN retries before giving up (a stuck device is an error)
  unsigned max_backoff_yields = 64;  // worker yields between two tries, at most
  // Suspend style: tasks yielding in a back-off at once, process-wide. A yield suspends the task
  // (holding one of TBB's coroutine stacks) and frees the worker to take a new task, which may be
  // refused and yield too: unbounded, a parallel_for over many items would suspend them all (and
  // TBB fails to map more stacks). Past it a back-off step yields the CPU (sched_yield) instead.
  // Tasks waiting for an accepted request are bounded by the device's capacity.
  unsigned max_suspended = 256;
};

struct OffloadResult {
  // kAccepted: `status` and `result` are the completion's. kRetry: gave up after max_retries
  // refusals (status EAGAIN). kFailed: refused with ERR, called outside a TBB task (suspend
  // style), no wait context could be made, or the task's group was cancelled before the request
  // was submitted (status ERR).
  SubmitResult submit = SubmitResult::kFailed;
  int status = PN_ASYNC_STATUS_ERR;  // PN_ASYNC_STATUS_*
  std::int32_t result = 0;           // the device's result code
  std::uint64_t user_data = 0;       // kAccepted: the completion's (the value submitted)
  unsigned retries = 0;              // EAGAIN refusals before the outcome
};

namespace internal {

// A pooled wait context, process-wide (suspend and continuation styles alike): taken for one
// request, given back when its outcome has been read. nullptr when none can be made.
WaitCtx* take_wait_ctx() noexcept;
void give_back_wait_ctx(WaitCtx* ctx) noexcept;

// One request: submitted by start_request (and its retries), finished exactly once when its
// outcome is final: by the completion callback on the poller thread, or on the thread that was
// refused for good.
class Request {
 public:
  Request(Device& device, std::uint64_t user_data, const OffloadOptions& options,
          oneapi::tbb::task_arena* retry_arena);
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  virtual ~Request();  // gives the wait context back

  // Hands the outcome on; after it the request may be gone.
  virtual void finish() noexcept = 0;

  // The outcome as published by finish's caller (TBBC-A1).
  [[nodiscard]] const OffloadResult& published_outcome() const noexcept {
    (void)published_.load(std::memory_order_acquire);  // TBBC-A1: pairs with TBBC-R1
    return outcome_;
  }

 protected:
  // What finish() calls before it hands the request over: publishes the outcome (TBBC-R1).
  void publish() noexcept {
    published_.store(true, std::memory_order_release);  // TBBC-R1: the outcome, to TBBC-A1
  }

 private:
  friend void start_request(Request& request) noexcept;
  friend void retry_request(Request& request) noexcept;
  friend int complete_request(void* arg, const PN_COMPLETION* completion);

  Device& device_;
  const std::uint64_t user_data_;
  const OffloadOptions options_;
  oneapi::tbb::task_arena* const retry_arena_;  // nullptr: the arena the refusal happened in
  // Retries stop when this is cancelled: the context current when the request was made.
  oneapi::tbb::task_group_context* const cancel_context_;
  WaitCtx* const ctx_;
  OffloadResult outcome_;
  unsigned backoff_ = 1;    // enqueue hops before the next try
  unsigned hops_left_ = 0;  // of the current back-off
  // An accepted request is finished by the last of its completion and the return of the submit
  // call: the completion (and the continuation after it) may come first, and the caller may
  // destroy the device once the continuations ran, so finish waits until no call is in it.
  std::atomic<int> arrivals_left_{0};
  std::atomic<bool> published_{false};
  // The first arrival's writes (the outcome, or the device's own) are seen by the last, which
  // finishes.
  [[nodiscard]] bool last_to_arrive() noexcept {
    // TBBC-RA2: release for the first arrival, acquire for the last; pairs with itself in the
    // other party.
    return arrivals_left_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
};

// Submits the request; a refusal is retried from tasks enqueued into the arena (a back-off of
// 1, 2, 4, ... hops to the back of its queue), a final refusal or a cancellation finishes it.
// After an acceptance the request belongs to its completion callback.
void start_request(Request& request) noexcept;

// offload_then: finishing enqueues the continuation, a deferred task of the caller's group.
class ContinuationRequest final : public Request {
 public:
  ContinuationRequest(Device& device, std::uint64_t user_data, const OffloadOptions& options,
                      oneapi::tbb::task_arena& arena, oneapi::tbb::task_group& group)
      : Request(device, user_data, options, &arena), arena_(arena), group_(group) {}
  void finish() noexcept override {
    oneapi::tbb::task_handle next = std::move(continuation);
    oneapi::tbb::task_arena& arena = arena_;
    // The continuation may run, and the caller's group.wait() return and the arena go, before
    // enqueue returns: a second deferred task, never run, holds the group's wait until then.
    oneapi::tbb::task_handle enqueue_guard;
    try {
      enqueue_guard = group_.defer([] {});
    } catch (...) {  // out of memory: enqueue unguarded
    }
    publish();                       // TBBC-R1, for the continuation's TBBC-A1
    arena.enqueue(std::move(next));  // the continuation may run (and free this) at once
  }  // enqueue_guard goes here, unrun: the group's wait may end from now on
  oneapi::tbb::task_handle continuation;  // deferred; owns this request through a RequestOwner

 private:
  oneapi::tbb::task_arena& arena_;
  oneapi::tbb::task_group& group_;
};

// The continuation's hold on its request: the request is freed with the deferred task, after it
// ran or, in a cancelled group, unrun.
class RequestOwner {
 public:
  explicit RequestOwner(Request* request) noexcept : request_(request) {}
  RequestOwner(RequestOwner&& other) noexcept : request_(std::exchange(other.request_, nullptr)) {}
  RequestOwner(const RequestOwner&) = delete;
  RequestOwner& operator=(const RequestOwner&) = delete;
  RequestOwner& operator=(RequestOwner&&) = delete;
  ~RequestOwner() { delete request_; }
  [[nodiscard]] const OffloadResult& outcome() const noexcept {
    return request_->published_outcome();
  }

 private:
  Request* request_;
};

// offload_node's flow control: at most max_in_flight of its requests are started; the others wait
// in the node and start, one for each, as started ones finish. A count of started plus waiting
// requests decides: the body starts a request when the count was below the bound, else parks
// it; a finishing request whose count was above the bound owes exactly one parked request its
// start (pushed, or about to be).
class NodeFlow {
 public:
  explicit NodeFlow(std::size_t max_in_flight);
  NodeFlow(const NodeFlow&) = delete;
  NodeFlow& operator=(const NodeFlow&) = delete;
  // The body, inside the graph's arena: starts the request now, or parks it.
  void admit(Request& request);
  // A request finished (any thread): starts the parked request it owes, as a task of the graph's
  // arena (never inline: a chain of refusals would nest).
  void finished() noexcept;

 private:
  const long max_in_flight_;
  std::atomic<long> requests_{0};  // started and parked
  oneapi::tbb::concurrent_queue<Request*> parked_;
  std::once_flag arena_once_;
  std::unique_ptr<oneapi::tbb::task_arena> arena_;  // the graph's, attached at the first body
};

// offload_node: finishing puts the output through the node's gateway, lets the node start a
// parked request, and releases the graph's wait the body reserved.
template <class Gateway, class OutputOf>
class GatewayRequest final : public Request {
 public:
  GatewayRequest(Device& device, std::uint64_t user_data, const OffloadOptions& options,
                 Gateway& gateway, const OutputOf& output_of, NodeFlow& flow)
      : Request(device, user_data, options, nullptr),
        gateway_(gateway),
        output_of_(output_of),
        flow_(flow) {}
  void finish() noexcept override {
    publish();  // TBBC-R1 (read back by this very thread: the order is the program's)
    Gateway& gateway = gateway_;
    NodeFlow& flow = flow_;
    try {
      (void)gateway.try_put(output_of_(published_outcome()));
    } catch (...) {  // the output could not be made or put: the message is dropped
    }
    delete this;
    flow.finished();
    gateway.release_wait();  // the graph may end from here on
  }

 private:
  Gateway& gateway_;
  const OutputOf& output_of_;  // the node's body keeps it for the node's life
  NodeFlow& flow_;
};

// parallel_offload's continuations still to come: each holds the count while it may run (a
// continuation that submits the next item takes a new hold before it lets its own go), so the
// count reaches 0 when every lane has ended, run or skipped by a cancelled group.
class Countdown {
 public:
  Countdown() = default;
  Countdown(const Countdown&) = delete;
  Countdown& operator=(const Countdown&) = delete;
  void hold() noexcept { live_.fetch_add(1, std::memory_order_relaxed); }  // by a holder
  void release() noexcept;
  // Inside a TBB task, once: lets the caller's own hold go and suspends the task until the count
  // is 0. A suspended task's thread goes back to the arena's outermost dispatch, where oneTBB runs
  // enqueued tasks (the continuations), which a thread waiting at a nested level does not.
  void wait();

 private:
  static constexpr std::uintptr_t kDone = 1;
  std::atomic<long> live_{1};  // the waiter's own hold, and one per continuation that may run
  // 0, then the waiter's suspend point or kDone (the count reached 0): whichever of the last
  // release and the suspension comes second resumes the waiter.
  std::atomic<std::uintptr_t> meeting_{0};
};

// A continuation's hold on its Countdown, released with the deferred task's function.
class CountdownHold {
 public:
  explicit CountdownHold(Countdown& countdown) noexcept : countdown_(&countdown) {
    countdown.hold();
  }
  CountdownHold(CountdownHold&& other) noexcept
      : countdown_(std::exchange(other.countdown_, nullptr)) {}
  CountdownHold(const CountdownHold&) = delete;
  CountdownHold& operator=(const CountdownHold&) = delete;
  CountdownHold& operator=(CountdownHold&&) = delete;
  ~CountdownHold() {
    if (countdown_ != nullptr) countdown_->release();
  }

 private:
  Countdown* countdown_;
};

}  // namespace internal
}  // namespace pn::tbb
