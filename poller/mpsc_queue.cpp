// The MPSC queue is a header template; its futex calls live here, with the private futex header.
#include "pollnotify/mpsc_queue.hpp"

#include "internal/futex.hpp"

namespace pn::internal {

bool mpsc_queue_futex_wait(std::atomic<std::uint32_t>& word,
                           std::chrono::nanoseconds timeout) noexcept {
  return futex_wait(word, 1, timeout);
}

void mpsc_queue_futex_wake(std::atomic<std::uint32_t>& word) noexcept { futex_wake(word, 1); }

}  // namespace pn::internal
