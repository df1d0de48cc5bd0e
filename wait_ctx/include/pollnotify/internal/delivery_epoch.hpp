// pollnotify internal: the delivery epochs that let WaitCtx::destroy() and cancel_pending() wait
// for callbacks without a read-modify-write on the delivery path (quiescent-state based
// reclamation, as DPDK's QSBR and userspace RCU do it).
//
// A delivering thread is inside a section while it checks tickets and runs callbacks: entering
// publishes the global epoch it saw in its own record, then a light barrier (a compiler barrier:
// internal/asymmetric_barrier.hpp); leaving stores 0. synchronize() (the owner's destroy or
// cancel_pending, after it made the context's old tickets stale) runs the heavy barrier
// (membarrier), advances the epoch and waits until every thread that was inside a section when it
// did has left it. A delivery that entered before the advance may have seen the old generation
// and is waited for; one that entered after sees the new generation (the barriers order the two).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pn::internal {

class DeliverySection {
 public:
  // Any thread; sections nest (only the outermost publishes and runs the barrier).
  DeliverySection() noexcept;
  ~DeliverySection();
  DeliverySection(const DeliverySection&) = delete;
  DeliverySection& operator=(const DeliverySection&) = delete;

  // Whether this thread is inside a section (it must not wait in synchronize()).
  [[nodiscard]] static bool inside() noexcept;
};

// The owner, after making stale what no delivery may act on any more: returns once every
// section open at the call has closed. Must not be called from inside a section.
void synchronize_deliveries() noexcept;

// The same in two halves, for an owner that may not wait (inside a section): retire_deliveries()
// advances the epoch and returns it; deliveries_passed(epoch) is true, without waiting, once
// every section open at that retire_deliveries() has closed (the calling thread's own open
// section included: a section it is still inside has not passed).
[[nodiscard]] std::uint64_t retire_deliveries() noexcept;
[[nodiscard]] bool deliveries_passed(std::uint64_t epoch) noexcept;

// Tests: the per-thread records ever made (threads that exited give theirs back for reuse).
[[nodiscard]] std::size_t delivery_record_count() noexcept;

}  // namespace pn::internal
