// pollnotify SPSC ring: a bounded single-producer/single-consumer queue of trivially copyable
// items, with burst push and in-place burst drain.
//
// Threads: one producer thread calls the try_push* functions; one consumer thread calls try_pop
// and drain (each role may move between threads if the handover itself synchronizes). Any thread
// may call size_approx and capacity.
//
// Memory ordering: if the producer pushes item x (RING-R1), everything it wrote before the push is
// visible to the consumer once drain/try_pop hands it x (RING-A2). If the consumer releases a slot
// (RING-R2), its reads of that slot happen before the producer's overwrite of it (ROOM-A1).
//
// Layout: free-running 64-bit indices (never wrap in practice), slot = index & mask. The producer
// and consumer state are two cache lines apart (no false sharing) and each side caches the
// other's index, so an uncontended push or pop touches no shared line. Slots are never written by
// the consumer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/ring_room.hpp"

namespace pn {

// How a push publishes its items. kRelease is enough for a consumer that polls; kSeqCst makes
// the publication part of a Dekker handshake with a consumer that may park (it then checks a
// "parked" flag after the push, see Poller).
enum class Publish : std::uint8_t { kRelease, kSeqCst };

template <class T>
requires std::is_trivially_copyable_v<T>
class SpscRing {
 public:
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 32;

  // Capacity rounds up to a power of two. Throws std::invalid_argument for 0 or above kMaxCapacity.
  explicit SpscRing(std::size_t capacity)
      : capacity_(internal::ring_capacity(capacity, "SpscRing")), mask_(capacity_ - 1) {
    slots_ = static_cast<T*>(
        ::operator new (capacity_ * sizeof(T), std::align_val_t{internal::kFalseSharingRange}));
  }
  ~SpscRing() { ::operator delete (slots_, std::align_val_t{internal::kFalseSharingRange}); }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;
  SpscRing(SpscRing&&) = delete;
  SpscRing& operator=(SpscRing&&) = delete;

  // Producer. False when full (nothing written).
  [[nodiscard]] bool try_push(const T& item, Publish publish = Publish::kRelease) noexcept {
    return try_push_burst(&item, 1, publish) == 1;
  }

  // Producer. Pushes the first min(count, free) items with one index publication; returns how
  // many it pushed (0 when full).
  [[nodiscard]] std::size_t try_push_burst(const T* items, std::size_t count,
                                           Publish publish = Publish::kRelease) noexcept {
    const std::uint64_t tail = producer_.tail.load(std::memory_order_relaxed);  // own index
    const std::uint64_t free_slots =
        internal::ring_room(capacity_, tail, count, producer_.cached_head, consumer_.head);
    const std::size_t n = count < free_slots ? count : static_cast<std::size_t>(free_slots);
    if (n == 0) return 0;
    for (std::size_t i = 0; i < n; ++i) slots_[(tail + i) & mask_] = items[i];
    if (publish == Publish::kSeqCst) {
      // The same publication as RING-R1 below, seq_cst: also ordered before the producer's later
      // check of the consumer's parked flag.
      producer_.tail.exchange(tail + n, std::memory_order_seq_cst);
    } else {
      // RING-R1: publishes the n filled slots to the consumer; pairs with RING-A2.
      producer_.tail.store(tail + n, std::memory_order_release);
    }
    return n;
  }

  // Consumer. False when empty.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    return drain(1, [&out](const T& item) { out = item; }) == 1;
  }

  // Consumer. Calls consume(const T&) on up to max items in place, then frees them all with one
  // index publication. Returns how many it consumed. If consume throws, the items consumed so
  // far (the throwing one included) are freed and the exception propagates.
  template <class F>
  std::size_t drain(std::size_t max, F&& consume) {
    const std::uint64_t head = consumer_.head.load(std::memory_order_relaxed);  // own index
    std::uint64_t available = consumer_.cached_tail - head;
    if (available < max) {
      // Overlap the two cache misses of an empty-to-ready transition: the slot line is fetched
      // while the tail is.
      __builtin_prefetch(&slots_[head & mask_]);
      // RING-A2: pairs with RING-R1: the slots up to tail are filled.
      consumer_.cached_tail = producer_.tail.load(std::memory_order_acquire);
      available = consumer_.cached_tail - head;
      if (available == 0) return 0;
    }
    const std::size_t n = max < available ? max : static_cast<std::size_t>(available);
    std::size_t consumed = 0;
    struct Release {
      SpscRing& ring;
      std::uint64_t head;
      std::size_t& consumed;
      // RING-R2: frees the consumed slots to the producer; pairs with ROOM-A1.
      ~Release() { ring.consumer_.head.store(head + consumed, std::memory_order_release); }
    } release{*this, head, consumed};
    while (consumed < n) {
      const T& item = slots_[(head + consumed) & mask_];
      ++consumed;  // counted before the call, so a throwing item is not delivered twice
      consume(item);
    }
    return n;
  }

  // Any thread. Items pushed and not yet consumed (a snapshot; exact when both sides are idle).
  [[nodiscard]] std::size_t size_approx() const noexcept {
    // Relaxed: a snapshot for statistics and heuristics; nothing is read through it.
    const std::uint64_t head = consumer_.head.load(std::memory_order_relaxed);
    const std::uint64_t tail = producer_.tail.load(std::memory_order_relaxed);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }
  // Consumer (or after a seq_cst handshake): is anything published? seq_cst pairs with a kSeqCst
  // push in the parking handshake.
  [[nodiscard]] bool has_items_seq_cst() const noexcept {
    return producer_.tail.load(std::memory_order_seq_cst) !=
           consumer_.head.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct alignas(internal::kFalseSharingRange) ProducerState {
    std::atomic<std::uint64_t> tail{0};
    std::uint64_t cached_head = 0;
  };
  struct alignas(internal::kFalseSharingRange) ConsumerState {
    std::atomic<std::uint64_t> head{0};
    std::uint64_t cached_tail = 0;
  };

  // Read-only after construction, shared by both sides.
  const std::size_t capacity_;
  const std::uint64_t mask_;
  T* slots_ = nullptr;
  ProducerState producer_;
  ConsumerState consumer_;

  static_assert(alignof(ProducerState) >= internal::kFalseSharingRange &&
                    sizeof(ProducerState) % internal::kFalseSharingRange == 0,
                "producer and consumer state must be a prefetch pair apart (no false sharing)");
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
};

}  // namespace pn
