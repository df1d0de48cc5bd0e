// pollnotify internal: a ring's capacity, and the producer's room in a single-producer ring whose
// consumer publishes its index (pn::SpscRing, the completion ring, the MPSC queue's capacity).
// Do not include directly.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pn::internal {

// A ring's capacity: `requested` rounded up to a power of two, at least 2. Throws
// std::invalid_argument naming `ring` for 0 or above 2^32.
[[nodiscard]] inline std::size_t ring_capacity(std::size_t requested, const char* ring) {
  if (requested == 0 || requested > (std::size_t{1} << 32)) {
    throw std::invalid_argument(std::string(ring) + " capacity must be between 1 and 2^32");
  }
  return std::bit_ceil(requested < 2 ? std::size_t{2} : requested);
}

// Producer: the free slots for a push of `wanted` items at `tail`, from the consumer index the
// producer last read; that copy is refreshed only when it shows too little room, so a push that
// fits reads no line the consumer writes.
[[nodiscard]] inline std::uint64_t ring_room(std::uint64_t capacity, std::uint64_t tail,
                                             std::uint64_t wanted, std::uint64_t& cached_head,
                                             const std::atomic<std::uint64_t>& head) noexcept {
  std::uint64_t room = capacity - (tail - cached_head);
  if (room < wanted) {
    // ROOM-A1: pairs with RING-R2 and CSLOT-R2: the consumer is done with every slot below the
    // index it published, so the producer may overwrite them.
    cached_head = head.load(std::memory_order_acquire);
    room = capacity - (tail - cached_head);
  }
  return room;
}

}  // namespace pn::internal
