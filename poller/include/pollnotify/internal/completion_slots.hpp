// pollnotify internal: the completion ring's storage, a single-producer single-consumer ring in
// which each slot says itself whether it holds this lap's completion: the context pointer shares
// its word with a lap bit (contexts are 64-byte aligned, so bit 0 is free). The consumer polls the
// slot it will read and never writes a slot; the producer learns which slots are free from the
// consumer's index, which it reads only when its cached copy says the ring is full. A hand-off
// thus moves the slot's line once each way and nothing else, as a cache-line ping-pong does,
// where an index ring also moves the producer's index line. (atomic_queue's OptimistAtomicQueue
// keeps a marker in the slot the same way; the lap bit spares the consumer its clearing write.)
// Do not include directly.
//
// A completion whose context pointer has bit 0 set (no context's: a C caller's bad pointer) is
// stored with a null context: the consumer sees it in order and the poller counts it invalid.
//
// Threads: one producer calls try_push_burst, one consumer calls drain and has_items_seq_cst;
// size_approx and capacity from any thread.
//
// Memory ordering: a slot's fields are written before its word is published (CSLOT-R1, release
// or, in the parking handshake, seq_cst); the consumer reads them after seeing this lap's bit
// (CSLOT-A1). The consumer publishes its index after copying the slots it passed (CSLOT-R2); the
// producer refills a slot only below the index it read (ROOM-A1).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "pollnotify/completion.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/ring_room.hpp"
#include "pollnotify/spsc_ring.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace pn::internal {

class CompletionSlots {
 public:
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 32;

  // Capacity rounds up to a power of two (at least 2). Throws std::invalid_argument for 0 or
  // above kMaxCapacity.
  explicit CompletionSlots(std::size_t capacity)
      : capacity_(ring_capacity(capacity, "CompletionRing")),
        mask_(capacity_ - 1),
        slots_(new Slot[capacity_]) {}
  CompletionSlots(const CompletionSlots&) = delete;
  CompletionSlots& operator=(const CompletionSlots&) = delete;

  // Producer. Pushes as many completions as there are free slots, in order; returns how many.
  [[nodiscard]] std::size_t try_push_burst(const Completion* items, std::size_t count,
                                           Publish publish) noexcept {
    const std::uint64_t tail = producer_.tail;
    const std::uint64_t free_slots =
        ring_room(capacity_, tail, count, producer_.cached_head, consumer_.head);
    const std::size_t n = count < free_slots ? count : static_cast<std::size_t>(free_slots);
    if (n == 0) return 0;
    // Locals: the compiler reloads members after every atomic store.
    Slot* const slots = slots_.get();
    const std::uint64_t mask = mask_;
    const std::uint64_t capacity = capacity_;
    const auto fill = [&](std::size_t i) noexcept -> Slot& {
      Slot& s = slots[(tail + i) & mask];
      s.user_data = items[i].user_data;
      s.ticket = items[i].ticket;
      s.status = items[i].status;
      s.result = items[i].result;
      return s;
    };
    const auto word = [&](std::size_t i) noexcept {
      const auto ctx = reinterpret_cast<std::uintptr_t>(items[i].ctx);
      // A pointer with the lap bit set is no context's and would read as "not yet written" in
      // every other lap, stalling the ring: it goes in as null, which the consumer refuses and
      // counts (invalid).
      return ((ctx & kLapBit) == 0 ? ctx : 0) | lap_bit(tail + i, capacity);
    };
    // The first slot is published last: a consumer that sees it sees the whole burst, and in the
    // parking handshake it is the one the consumer checks before it parks.
    Slot& first = fill(0);
    for (std::size_t i = 1; i < n; ++i) {
      // CSLOT-R1: publishes the slot's fields; pairs with CSLOT-A1.
      fill(i).word.store(word(i), std::memory_order_release);
    }
    if (publish == Publish::kSeqCst) {
      // CSLOT-R1 too, seq_cst: also ordered before the producer's check of the parked flag.
      first.word.store(word(0), std::memory_order_seq_cst);
    } else {
      first.word.store(word(0), std::memory_order_release);  // CSLOT-R1
    }
    producer_.tail = tail + n;
    // Relaxed: a mirror for size_approx, ordering nothing.
    producer_.published.store(tail + n, std::memory_order_relaxed);
    return n;
  }

  // Consumer. Calls consume(const Completion&) on up to `max` completions in order. A throwing
  // consume loses nothing: the completions after it stay for the next drain.
  template <class F>
  std::size_t drain(std::size_t max, F&& consume) {
    std::uint64_t head = consumer_.head_private;
    const std::uint64_t first = head;
    struct Advance {
      CompletionSlots& ring;
      const std::uint64_t& head;
      const std::uint64_t first;
      ~Advance() {
        if (head == first) return;
        ring.consumer_.head_private = head;
        // CSLOT-R2: the slots below head are copied and free; pairs with ROOM-A1.
        ring.consumer_.head.store(head, std::memory_order_release);
      }
    } advance{*this, head, first};
    Slot* const slots = slots_.get();  // locals: they stay in registers across consume()
    const std::uint64_t mask = mask_;
    const std::uint64_t capacity = capacity_;
    while (head - first < max) {
      Slot& s = slots[head & mask];
      // CSLOT-A1: pairs with CSLOT-R1: this lap's word means the fields are written.
      const std::uintptr_t word = s.word.load(std::memory_order_acquire);
      if ((word & kLapBit) != lap_bit(head, capacity)) break;
      const Completion completion{reinterpret_cast<WaitCtx*>(word & ~kLapBit), s.user_data,
                                  s.ticket, s.status, s.result};
      ++head;
      consume(completion);
    }
    return static_cast<std::size_t>(head - first);
  }

  // Consumer (the parking handshake): does the next slot hold this lap's completion? seq_cst
  // pairs with a kSeqCst push.
  [[nodiscard]] bool has_items_seq_cst() const noexcept {
    const std::uint64_t head = consumer_.head_private;
    return (slot(head).word.load(std::memory_order_seq_cst) & kLapBit) == lap_bit(head, capacity_);
  }
  // Any thread: pushed and not yet consumed (a snapshot; exact when both sides are idle).
  [[nodiscard]] std::size_t size_approx() const noexcept {
    // Relaxed: a snapshot for statistics and heuristics; nothing is read through it.
    const std::uint64_t taken = consumer_.head.load(std::memory_order_relaxed);
    const std::uint64_t published = producer_.published.load(std::memory_order_relaxed);
    return published > taken ? static_cast<std::size_t>(published - taken) : 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // A completion as the ring stores it: 32 bytes, two to a cache line, never across one.
  struct alignas(32) Slot {
    std::atomic<std::uintptr_t> word{0};  // the context pointer | this slot's lap bit
    std::uint64_t user_data = 0;
    RequestTicket ticket{};
    std::int32_t status = 0;
    std::int32_t result = 0;
  };
  static_assert(sizeof(Slot) == 32);
  static constexpr std::uintptr_t kLapBit = 1;
  static_assert(alignof(WaitCtx) > kLapBit, "the lap bit lives in the context pointer's low bit");

  // The bit a slot holds in the lap that writes index `index`: 1 in even laps, so that the zeroed
  // slots of a new ring read as empty.
  [[nodiscard]] static std::uintptr_t lap_bit(std::uint64_t index,
                                              std::uint64_t capacity) noexcept {
    return (index & capacity) == 0 ? kLapBit : 0;
  }

  Slot& slot(std::uint64_t index) const noexcept { return slots_[index & mask_]; }

  struct alignas(kFalseSharingRange) ProducerState {
    std::uint64_t tail = 0;
    std::uint64_t cached_head = 0;  // the consumer's index when the producer last needed it
    std::atomic<std::uint64_t> published{0};
  };
  struct alignas(kFalseSharingRange) ConsumerState {
    std::uint64_t head_private = 0;
    std::atomic<std::uint64_t> head{0};  // read by the producer when it seems full
  };

  const std::size_t capacity_;
  const std::uint64_t mask_;
  const std::unique_ptr<Slot[]> slots_;
  ProducerState producer_;
  ConsumerState consumer_;
};

}  // namespace pn::internal
