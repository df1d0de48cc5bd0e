// pollnotify internal: the completion ring's storage, a single-producer single-consumer ring in
// which each slot says itself whether it is full (its context pointer, null when empty), so the
// consumer polls the slot it will read and nothing else: one cache line moves per hand-off, where
// an index-based ring moves the producer's index line and then the slot's. (atomic_queue's
// OptimistAtomicQueue keeps its sentinel in the slot the same way.) Do not include directly.
//
// Threads: one producer calls try_push_burst, one consumer calls drain and has_items_seq_cst;
// size_approx and capacity from any thread.
//
// Memory ordering: a slot's fields are written before its context pointer is published (CSLOT-R1,
// release or, in the parking handshake, seq_cst); the consumer reads them after seeing the pointer
// (CSLOT-A1) and empties the slot (CSLOT-R2) only once it has copied them; the producer refills a
// slot only after seeing it empty (CSLOT-A2).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "pollnotify/completion.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/spsc_ring.hpp"

namespace pn::internal {

class CompletionSlots {
 public:
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 32;

  // Capacity rounds up to a power of two (at least 2). Throws std::invalid_argument for 0 or
  // above kMaxCapacity.
  explicit CompletionSlots(std::size_t capacity)
      : capacity_(round_up_pow2(capacity)), mask_(capacity_ - 1), slots_(new Slot[capacity_]) {}
  CompletionSlots(const CompletionSlots&) = delete;
  CompletionSlots& operator=(const CompletionSlots&) = delete;

  // Producer. Pushes the first completions that find their slots empty; returns how many.
  [[nodiscard]] std::size_t try_push_burst(const Completion* items, std::size_t count,
                                           Publish publish) noexcept {
    const std::uint64_t tail = producer_.tail;
    std::size_t n = 0;
    // CSLOT-A2: pairs with CSLOT-R2: the consumer has copied what it read from this slot.
    while (n < count && slot(tail + n).ctx.load(std::memory_order_acquire) == nullptr) {
      Slot& s = slot(tail + n);
      s.user_data = items[n].user_data;
      s.ticket = items[n].ticket;
      s.status = items[n].status;
      s.result = items[n].result;
      ++n;
    }
    if (n == 0) return 0;
    // The first slot is published last: a consumer that sees it sees the whole burst, and in the
    // parking handshake it is the one the consumer checks before it parks.
    for (std::size_t i = 1; i < n; ++i) {
      // CSLOT-R1: publishes the slot's fields; pairs with CSLOT-A1.
      slot(tail + i).ctx.store(encode(items[i].ctx), std::memory_order_release);
    }
    if (publish == Publish::kSeqCst) {
      // CSLOT-R1 too, seq_cst: also ordered before the producer's check of the parked flag.
      slot(tail).ctx.store(encode(items[0].ctx), std::memory_order_seq_cst);
    } else {
      slot(tail).ctx.store(encode(items[0].ctx), std::memory_order_release);  // CSLOT-R1
    }
    producer_.tail = tail + n;
    // Relaxed: a mirror for size_approx, ordering nothing.
    producer_.published.store(tail + n, std::memory_order_relaxed);
    return n;
  }

  // Consumer. Calls consume(const Completion&) on up to `max` completions in order, each copied
  // out of its slot and its slot emptied first (a throwing consume loses nothing: the completions
  // after it stay for the next drain). Returns how many it consumed.
  template <class F>
  std::size_t drain(std::size_t max, F&& consume) {
    std::uint64_t head = consumer_.head;
    std::size_t n = 0;
    struct Advance {
      CompletionSlots& ring;
      const std::uint64_t& head;
      ~Advance() {
        ring.consumer_.head = head;
        // Relaxed: a mirror for size_approx, ordering nothing.
        ring.consumer_.taken.store(head, std::memory_order_relaxed);
      }
    } advance{*this, head};
    while (n < max) {
      Slot& s = slot(head);
      // CSLOT-A1: pairs with CSLOT-R1: the slot's fields are written.
      WaitCtx* const ctx = s.ctx.load(std::memory_order_acquire);
      if (ctx == nullptr) break;
      const Completion completion{decode(ctx), s.user_data, s.ticket, s.status, s.result};
      // CSLOT-R2: the slot is copied; pairs with CSLOT-A2.
      s.ctx.store(nullptr, std::memory_order_release);
      ++head;
      ++n;
      consume(completion);
    }
    return n;
  }

  // Consumer (the parking handshake): is the next slot full? seq_cst pairs with a kSeqCst push.
  [[nodiscard]] bool has_items_seq_cst() const noexcept {
    return slots_[consumer_.head & mask_].ctx.load(std::memory_order_seq_cst) != nullptr;
  }
  // Any thread: pushed and not yet consumed (a snapshot; exact when both sides are idle).
  [[nodiscard]] std::size_t size_approx() const noexcept {
    // Relaxed: a snapshot for statistics and heuristics; nothing is read through it.
    const std::uint64_t taken = consumer_.taken.load(std::memory_order_relaxed);
    const std::uint64_t published = producer_.published.load(std::memory_order_relaxed);
    return published > taken ? static_cast<std::size_t>(published - taken) : 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // A completion as the ring stores it: 32 bytes, two to a cache line, never across one.
  struct alignas(32) Slot {
    std::atomic<WaitCtx*> ctx{nullptr};  // null: empty
    std::uint64_t user_data = 0;
    RequestTicket ticket{};
    std::int32_t status = 0;
    std::int32_t result = 0;
  };
  static_assert(sizeof(Slot) == 32);

  // A completion without a context is still carried (the poller counts it invalid): it travels
  // as this marker, since null means empty.
  static WaitCtx* encode(WaitCtx* ctx) noexcept {
    return ctx != nullptr ? ctx : reinterpret_cast<WaitCtx*>(std::uintptr_t{1});
  }
  static WaitCtx* decode(WaitCtx* ctx) noexcept {
    return ctx != reinterpret_cast<WaitCtx*>(std::uintptr_t{1}) ? ctx : nullptr;
  }

  Slot& slot(std::uint64_t index) const noexcept { return slots_[index & mask_]; }

  static std::size_t round_up_pow2(std::size_t capacity) {
    if (capacity == 0 || capacity > kMaxCapacity) {
      throw std::invalid_argument("CompletionRing capacity must be between 1 and 2^32");
    }
    std::size_t rounded = 2;
    while (rounded < capacity) rounded <<= 1;
    return rounded;
  }

  struct alignas(kFalseSharingRange) ProducerState {
    std::uint64_t tail = 0;
    std::atomic<std::uint64_t> published{0};
  };
  struct alignas(kFalseSharingRange) ConsumerState {
    std::uint64_t head = 0;
    std::atomic<std::uint64_t> taken{0};
  };

  const std::size_t capacity_;
  const std::uint64_t mask_;
  const std::unique_ptr<Slot[]> slots_;
  ProducerState producer_;
  ConsumerState consumer_;
};

}  // namespace pn::internal
