// pollnotify for oneTBB: offload from TBB tasks without blocking a worker, three ways.
//
// Continuation style (no suspension, no stack, no system call; the default choice):
//   offload_then() submits a request and returns at once; when the request completes, its
//   continuation runs as a task of the caller's task_group: a deferred task_handle
//   (task_group::defer) that keeps the group's wait open, enqueued into the caller's arena by the
//   completion callback on the poller thread (task_arena::enqueue). parallel_offload() runs a
//   range of requests this way with at most `window` in flight; offload_node is a flow graph
//   async_node whose body submits and whose completion puts the result through the node's
//   gateway (the graph's wait reserved per request).
// Suspend style (for code that must offload from the middle of a task body):
//   offload() submits and suspends the calling task (oneapi::tbb::task::suspend); the
//   completion callback resumes it (oneapi::tbb::task::resume). Each suspended task holds one of
//   oneTBB's coroutine stacks, and each suspend + resume is a swapcontext pair (docs/tbb.md has
//   the measured cost). Resume happens directly from the poller thread, never through another
//   arena (a suspended thread stays bound to its arena: oneTBB #1909, #1822).
//
// Every path: a refused submission (EAGAIN) is retried, at most OffloadOptions::max_retries
// times, after a back-off that frees the worker (continuations: the retry is a task enqueued at
// the back of the arena; suspend: worker yields); wait contexts come from a process-wide pool and
// are reused across offloads. Works with every polling policy; with the external policy
// something must poll: poll_until() runs that loop as a TBB task of its own.
//
// Memory ordering: what the caller wrote before submitting is visible to the callback (the
// device and ring publish it); the completion, and everything the callback wrote before handing
// the work back, is visible to the continuation or the resumed task (TBB's hand-over, and our
// own release/acquire pair beside it: TBBC-R1/TBBC-A1, TBBO-R1/TBBO-A2).
#pragma once

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "pollnotify/device.hpp"
#include "pollnotify/internal/tbb_request.hpp"
#include "pollnotify/poller.hpp"

namespace pn::tbb {

// Suspend style, inside a TBB task: see the banner. Never blocks the worker thread.
OffloadResult offload(Device& device, std::uint64_t user_data, const OffloadOptions& options = {});

// Inside a TBB task: lets the worker run other tasks, then continues (suspend, resumed at once).
void yield_worker();

// Runs body(i) for every i in [first, last), from inside a TBB arena, with at most `window`
// bodies at once: `window` tasks each take the next index until none is left (no barrier between
// batches). For bodies that offload() (suspend style): TBB runs new tasks before resumed ones, so
// one parallel_for whose bodies suspend would start (and suspend) nearly all of its iterations,
// each holding one of TBB's coroutine stacks, until TBB cannot map another. Keep `window` within
// the arena's coroutine cache (see offload_arena). Throws std::invalid_argument for window < 1.
template <class Body>
void parallel_window(int first, int last, int window, Body&& body) {
  if (window < 1) throw std::invalid_argument("pn::tbb::parallel_window: window must be >= 1");
  if (last <= first) return;
  // Relaxed: an index dispenser; the task group's wait orders everything the bodies did. Indices
  // go out in chunks so that the tasks rarely touch the shared counter (a cross-core miss each).
  constexpr long long kChunk = 8;
  std::atomic<long long> next{first};
  const auto drain = [&] {
    for (long long begin = next.fetch_add(kChunk, std::memory_order_relaxed); begin < last;
         begin = next.fetch_add(kChunk, std::memory_order_relaxed)) {
      const long long end = std::min<long long>(begin + kChunk, last);
      for (long long i = begin; i < end; ++i) body(static_cast<int>(i));
    }
  };
  const long long tasks = std::min<long long>(window, static_cast<long long>(last) - first);
  oneapi::tbb::task_group group;
  for (long long t = 0; t < tasks; ++t) group.run(drain);
  group.wait();
}

// --- continuation style ---

// From inside `arena` (a task of it, or the thread in its execute()): submits `user_data` to
// `device` and returns. Exactly one continuation(const OffloadResult&) follows, as a task of
// `group` enqueued into `arena` (from the poller thread, or from a worker for a refusal), unless
// the group is cancelled first: TBB then skips it (a request already accepted is still completed
// by the device; nothing else runs). group.wait() waits for the continuation. Retries of a
// refused request stop when the task group context current at the call is cancelled. The
// continuation is called as const (oneTBB keeps a deferred task's function const); an exception
// it throws reaches group.wait(). The device, arena and group must outlive the continuation.
template <class Continuation>
void offload_then(Device& device, std::uint64_t user_data, oneapi::tbb::task_arena& arena,
                  oneapi::tbb::task_group& group, Continuation&& continuation,
                  const OffloadOptions& options = {}) {
  auto* request = new internal::ContinuationRequest(device, user_data, options, arena, group);
  // The deferred task owns the request from here: its function holds the only reference, and
  // destroying it (after it ran, or unrun in a cancelled group) frees the request.
  request->continuation =
      group.defer([owner = internal::RequestOwner(request),
                   next = std::forward<Continuation>(continuation)] { next(owner.outcome()); });
  internal::start_request(*request);
}

// Runs a range of offloads in continuation style, from inside a TBB arena (its execute(), or a
// task of it, nested parallelism included): user_data_of(i) is submitted for every i in
// [first, last), at most `window` at once (lanes: each continuation runs on_result(i, result)
// and submits the lane's next index), and returns when every on_result has run. No task waits
// for a request and none holds a stack per request; the caller's task waits suspended, once per
// call (oneTBB runs enqueued tasks only at a thread's outermost dispatch level, so a thread
// waiting in a nested group.wait() would never run the continuations). Throws
// std::invalid_argument for window < 1; an exception from on_result cancels the rest of the range
// and is rethrown here.
template <class UserDataOf, class OnResult>
void parallel_offload(Device& device, int first, int last, int window, UserDataOf&& user_data_of,
                      OnResult&& on_result, const OffloadOptions& options = {}) {
  if (window < 1) throw std::invalid_argument("pn::tbb::parallel_offload: window must be >= 1");
  if (last <= first) return;
  oneapi::tbb::task_arena arena(oneapi::tbb::task_arena::attach{});
  oneapi::tbb::task_group group;
  internal::Countdown countdown;
  // Relaxed: an index dispenser; the countdown and the group's wait order what the lanes did.
  std::atomic<long long> next{first};
  struct Lane {
    Device& device;
    oneapi::tbb::task_arena& arena;
    oneapi::tbb::task_group& group;
    internal::Countdown& countdown;
    std::atomic<long long>& next;
    const int last;
    UserDataOf& user_data_of;
    OnResult& on_result;
    const OffloadOptions& options;
    // Submits the next index, if any; its continuation reports it and submits the one after.
    void submit_next() const {
      const long long index = next.fetch_add(1, std::memory_order_relaxed);
      if (index >= last) return;
      const int item = static_cast<int>(index);
      offload_then(
          device, static_cast<std::uint64_t>(user_data_of(item)), arena, group,
          [lane = *this, item,
           hold = internal::CountdownHold(countdown)](const OffloadResult& result) {
            lane.on_result(item, result);
            lane.submit_next();
          },
          options);
    }
  };
  const Lane lane{device, arena, group, countdown, next, last, user_data_of, on_result, options};
  const long long lanes = std::min<long long>(window, static_cast<long long>(last) - first);
  try {
    for (long long l = 0; l < lanes; ++l) lane.submit_next();
  } catch (...) {
    group.cancel();  // what was submitted is still completed; nothing more runs
    group.run_and_wait([&countdown] { countdown.wait(); });
    throw;
  }
  group.run_and_wait([&countdown] { countdown.wait(); });
}

// A flow-graph node that offloads every message, as an async_node: the body submits
// user_data_of(input) and returns (the graph's wait reserved for the request); the completion
// callback puts output_of(result) through the node's gateway and releases the wait. No task waits
// for the device. At most `max_in_flight` of the node's requests are in the device at once (its
// capacity is a good value): the others wait in the node, each started as an earlier one
// finishes, so the device never has to refuse a flood. graph.wait_for_all() returns once every
// request's output was put. Throws std::invalid_argument for max_in_flight 0.
template <class Input, class Output>
class offload_node : public oneapi::tbb::flow::async_node<Input, Output> {
 public:
  using base = oneapi::tbb::flow::async_node<Input, Output>;
  using gateway_type = typename base::gateway_type;

  // UserDataOf: std::uint64_t(const Input&). OutputOf: Output(const OffloadResult&), run on the
  // poller thread (small and nonblocking) or, for a refusal, on a worker.
  template <class UserDataOf, class OutputOf>
  offload_node(oneapi::tbb::flow::graph& graph, Device& device, std::size_t max_in_flight,
               UserDataOf user_data_of, OutputOf output_of, const OffloadOptions& options = {})
      : offload_node(std::make_unique<internal::NodeFlow>(max_in_flight), graph, device,
                     std::move(user_data_of), std::move(output_of), options) {}

 private:
  template <class UserDataOf, class OutputOf>
  offload_node(std::unique_ptr<internal::NodeFlow> flow, oneapi::tbb::flow::graph& graph,
               Device& device, UserDataOf user_data_of, OutputOf output_of,
               const OffloadOptions& options)
      : base(graph, oneapi::tbb::flow::unlimited,
             [&device, flow = flow.get(), user_data_of, output_of, options](const Input& input,
                                                                            gateway_type& gateway) {
               gateway.reserve_wait();
               auto* request = new internal::GatewayRequest<gateway_type, OutputOf>(
                   device, static_cast<std::uint64_t>(user_data_of(input)), options, gateway,
                   output_of, *flow);
               flow->admit(*request);
             }),
        flow_(std::move(flow)) {}

  std::unique_ptr<internal::NodeFlow> flow_;
};

// An arena for offloading: `threads` threads run its tasks (the thread that calls execute() and
// threads - 1 TBB workers), with room in oneTBB's coroutine cache for `max_suspended` suspended
// tasks. oneTBB 2021 keeps 4 coroutines per arena slot and creates (maps a stack for) and
// destroys a coroutine for every suspension beyond them: a 2-slot arena caches 8, and 64 tasks
// suspended at once made offloads 20x slower here (docs/tbb.md). The extra slots are reserved for
// external threads, so they enlarge the cache without adding workers. Throws
// std::invalid_argument for threads < 1 or max_suspended outside [0, 65536].
oneapi::tbb::task_arena offload_arena(int threads, int max_suspended = 256);

// Inside a TBB task, for a poller with the external policy: polls until done() returns true,
// yielding the worker after each empty poll. Returns the completions it delivered.
template <class Done>
std::size_t poll_until(Poller& poller, Done&& done) {
  std::size_t delivered = 0;
  while (!done()) {
    const std::size_t now = poller.poll_once();
    delivered += now;
    if (now == 0) yield_worker();
  }
  return delivered;
}

}  // namespace pn::tbb
