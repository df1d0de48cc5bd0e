// pollnotify for oneTBB: offload from inside a TBB task without blocking its worker.
//
// offload() submits a request to a device and suspends the calling task
// (oneapi::tbb::task::suspend): the worker thread goes on with other tasks, and the request's
// completion callback, on the poller thread, resumes the task (oneapi::tbb::task::resume), which
// then returns the completion. A completion that arrives before the suspend function has
// returned is fine (TBB resumes the task once it is fully suspended). A refused submission
// (EAGAIN) is retried after a back-off that yields the worker to other tasks instead of blocking
// it: 1, 2, 4, ... up to OffloadOptions::max_backoff_yields yields between tries, at most
// max_retries tries; at most OffloadOptions::max_suspended tasks yield at once. Works with every
// polling policy; with the external policy something must
// poll: poll_until() runs that loop as a TBB task of its own, yielding between empty polls.
//
// Threads: offload and yield_worker from inside a TBB task (a parallel_for body, a flow-graph
// node, a task_group task). Memory ordering: what the task wrote before offload() is visible to
// the callback (the device and ring publish it); the completion the callback saw, and
// everything the callback wrote before resuming, is visible to the task after offload returns
// (TBB's resume hands the task over with release/acquire).
//
// When not to use it: outside TBB, use JobDriver or CoOffload; for work much shorter than a
// suspend/resume (a few microseconds here, see docs/tbb.md), waiting in place may cost less.
#pragma once

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "pollnotify/device.hpp"
#include "pollnotify/poller.hpp"

namespace pn::tbb {

struct OffloadOptions {
  unsigned max_retries = 1'000'000;  // EAGAIN retries before giving up (a stuck device is an error)
  unsigned max_backoff_yields = 64;  // worker yields between two tries, at most
  // Tasks yielding in a back-off at once, process-wide. A yield suspends the task (holding one
  // of TBB's coroutine stacks) and frees the worker to take a new task, which may be refused and
  // yield too: unbounded, a parallel_for over many items would suspend them all (and TBB fails
  // to map more stacks). Past it a back-off step yields the CPU (sched_yield) instead. Tasks
  // waiting for an accepted request are bounded by the device's capacity.
  unsigned max_suspended = 256;
};

struct OffloadResult {
  // kAccepted: `status` and `result` are the completion's. kRetry: gave up after max_retries
  // refusals (status EAGAIN). kFailed: refused with ERR, called outside a TBB task, or the task's
  // group was cancelled before the request was submitted (status ERR).
  SubmitResult submit = SubmitResult::kFailed;
  int status = PN_ASYNC_STATUS_ERR;  // PN_ASYNC_STATUS_*
  std::int32_t result = 0;           // the device's result code
  std::uint64_t user_data = 0;       // kAccepted: the completion's (the value submitted)
  unsigned retries = 0;              // EAGAIN refusals before the outcome
};

// Inside a TBB task: see the banner. Never blocks the worker thread.
OffloadResult offload(Device& device, std::uint64_t user_data, const OffloadOptions& options = {});

// Inside a TBB task: lets the worker run other tasks, then continues (suspend, resumed at once).
void yield_worker();

// Runs body(i) for every i in [first, last), from inside a TBB arena, with at most `window`
// bodies at once: `window` tasks each take the next index until none is left (no barrier between
// batches). Why a bound: TBB runs new tasks before resumed ones, so one parallel_for whose bodies
// suspend in offload() would start (and suspend) nearly all of its iterations, each holding one
// of TBB's coroutine stacks, until TBB cannot map another. Keep `window` within the arena's
// coroutine cache (see offload_arena). Throws std::invalid_argument for window < 1.
template <class Body>
void parallel_offload(int first, int last, int window, Body&& body) {
  if (window < 1) throw std::invalid_argument("pn::tbb::parallel_offload: window must be >= 1");
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
