// pollnotify MPSC queue: a bounded lock-free multi-producer / single-consumer queue with an
// optional park of the consumer. Two uses in pollnotify: every device's submission queue
// (submitting threads -> the poller that drains it), and the ready queue where callbacks put the
// work their completion made ready (typically a paused job) for an application thread to resume.
//
// Threads: any thread pushes (callbacks on poller threads); one consumer thread pops.
//
// Memory ordering: everything a producer wrote before try_push(x) is visible to the consumer
// after the pop that returns x (RQ-R4/RQ-A5). If the consumer parks in pop_wait, a push either is
// seen by the consumer's re-check or wakes it (seq_cst Dekker handshake on the slot sequence and
// the sleeping flag), so no wakeup is lost.
//
// Capacity: size it for the most items ever queued at once (for jobs: the number of jobs);
// try_push returns false when full and the caller must keep the item.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/ring_room.hpp"

namespace pn {
namespace internal {
bool mpsc_queue_futex_wait(std::atomic<std::uint32_t>& word,
                           std::chrono::nanoseconds timeout) noexcept;
void mpsc_queue_futex_wake(std::atomic<std::uint32_t>& word) noexcept;
}  // namespace internal

template <class T>
requires std::is_trivially_copyable_v<T>
class MpscQueue {
 public:
  // Capacity rounds up to a power of two; throws std::invalid_argument for 0 or above 2^32.
  explicit MpscQueue(std::size_t capacity)
      : capacity_(internal::ring_capacity(capacity, "MpscQueue")), mask_(capacity_ - 1) {
    // Every slot's sequence starts at 0: position p is full when its slot holds p + 1.
    slots_ = std::make_unique<Slot[]>(capacity_);
  }
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  // Any thread; lock-free. False when full. Wakes the consumer if it is parked.
  [[nodiscard]] bool try_push(const T& item) noexcept {
    std::uint64_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
      // Free room from the consumer's index, not from the slot: the consumer never writes a
      // slot, so a push moves the slot's line once (to this producer) and the consumer's poll
      // moves it back: one line per handoff. Signed: a stale position may be behind the head;
      // the claim below then fails and reloads it.
      // RQ-A6: pairs with RQ-R6: a cached index carries the consumer's release (RQ-R5) along.
      if (static_cast<std::int64_t>(position - cached_head_.load(std::memory_order_acquire)) >=
          static_cast<std::int64_t>(capacity_)) {
        // RQ-A4: pairs with RQ-R5: the consumer is done with the slots below its index.
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        cached_head_.store(head, std::memory_order_release);  // RQ-R6: pairs with RQ-A6
        if (static_cast<std::int64_t>(position - head) >= static_cast<std::int64_t>(capacity_)) {
          return false;  // full: the slot still holds an item one lap behind
        }
      }
      // Relaxed: the claim only reserves the position; RQ-R4 publishes its content.
      if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) break;
    }
    Slot* const slot = &slots_[position & mask_];
    slot->value = item;
    // RQ-R4 (seq_cst): publishes the value to RQ-A5 and is ordered before the sleeping check
    // (Dekker).
    slot->sequence.store(position + 1, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) != 0 &&
        sleeping_.exchange(0, std::memory_order_seq_cst) != 0) {
      internal::mpsc_queue_futex_wake(sleeping_);
    }
    return true;
  }

  // Consumer. False when empty (or the next item is still being written).
  [[nodiscard]] bool try_pop(T& out) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);  // its own index
    Slot& slot = slots_[head & mask_];
    // RQ-A5: pairs with RQ-R4: the slot's value is complete.
    if (slot.sequence.load(std::memory_order_acquire) != head + 1) return false;
    out = slot.value;
    // RQ-R5: frees the slot for the producer one lap ahead; pairs with RQ-A4. Producers read
    // the index only when the queue looks full, so its line stays with the consumer.
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer. Pops one item, waiting up to `timeout` (nanoseconds::max(): no limit): spins
  // briefly, then parks on a futex until a producer wakes it. False if nothing arrived in time,
  // or wake_consumer() was called (since the last pop_wait that returned because of it).
  [[nodiscard]] bool pop_wait(T& out, std::chrono::nanoseconds timeout) noexcept {
    const auto deadline = deadline_after(timeout);
    for (int spin = 0; spin < 256; ++spin) {
      if (try_pop(out)) return true;
      internal::cpu_relax();
    }
    for (;;) {
      // RQ-P1: announce the sleep, then re-check (RQ-P2) with seq_cst: the items pair with RQ-R4,
      // the interruption with RQ-W1 (each side writes, then reads the other's flag: Dekker).
      sleeping_.store(1, std::memory_order_seq_cst);
      // RQ-P2: the re-check (seq_cst loads), then the interruption flag.
      if (has_items_seq_cst() ||
          interrupted_.exchange(false, std::memory_order_seq_cst)) {  // RQ-W2: pairs with RQ-W1
        sleeping_.store(0, std::memory_order_relaxed);
        return try_pop(out);
      }
      const auto remaining = deadline - std::chrono::steady_clock::now();
      if (remaining <= std::chrono::nanoseconds::zero()) {
        sleeping_.store(0, std::memory_order_relaxed);
        return false;
      }
      (void)internal::mpsc_queue_futex_wait(sleeping_, remaining);
      sleeping_.store(0, std::memory_order_relaxed);
      if (try_pop(out)) return true;
    }
  }

  // Consumer. Waits up to `timeout` until an item is there, without taking it. True if one is.
  [[nodiscard]] bool wait_nonempty(std::chrono::nanoseconds timeout) noexcept {
    sleeping_.store(1, std::memory_order_seq_cst);  // RQ-P1, as in pop_wait
    if (has_items_seq_cst()) {                      // RQ-P2
      sleeping_.store(0, std::memory_order_relaxed);
      return true;
    }
    internal::mpsc_queue_futex_wait(sleeping_, timeout);
    sleeping_.store(0, std::memory_order_relaxed);
    return has_items_seq_cst();
  }

  // Any thread: makes a pop_wait in progress, or the next one, return (false if it finds
  // nothing).
  void wake_consumer() noexcept {
    interrupted_.store(true, std::memory_order_seq_cst);  // RQ-W1: pairs with RQ-W2 (Dekker)
    if (sleeping_.exchange(0, std::memory_order_seq_cst) != 0) {
      internal::mpsc_queue_futex_wake(sleeping_);
    }
  }

  // Consumer, in a parking handshake: is an item published? seq_cst pairs with RQ-R4.
  [[nodiscard]] bool has_items_seq_cst() const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);  // the consumer's own
    return slots_[head & mask_].sequence.load(std::memory_order_seq_cst) == head + 1;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // now + timeout, saturated: a huge timeout means no deadline rather than signed overflow.
  static std::chrono::steady_clock::time_point deadline_after(
      std::chrono::nanoseconds timeout) noexcept {
    const auto now = std::chrono::steady_clock::now();
    const auto room = std::chrono::steady_clock::time_point::max() - now;
    if (timeout >= room) return std::chrono::steady_clock::time_point::max();
    return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  }

  struct Slot {
    std::atomic<std::uint64_t> sequence{0};
    T value{};
  };

  const std::size_t capacity_;
  const std::uint64_t mask_;
  std::unique_ptr<Slot[]> slots_;
  // Producers: the next position to claim, and the consumer's index as last read.
  alignas(internal::kFalseSharingRange) std::atomic<std::uint64_t> tail_{0};
  std::atomic<std::uint64_t> cached_head_{0};
  // The consumer's index: written by the consumer, read by producers when the queue looks full.
  alignas(internal::kFalseSharingRange) std::atomic<std::uint64_t> head_{0};
  alignas(internal::kFalseSharingRange) std::atomic<std::uint32_t> sleeping_{0};
  std::atomic<bool> interrupted_{false};
};

}  // namespace pn
