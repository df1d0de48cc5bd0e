// pollnotify internal: futex wait/wake with a timeout (C++20 atomic wait has none). Do not
// include directly.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace pn::internal {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "the futex word is the atomic's own storage");

// Sleeps while *word == expected, at most `timeout`. Returns false when the timeout passed.
inline bool futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       std::chrono::nanoseconds timeout) noexcept {
  const auto ns = timeout.count();
  timespec relative{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  const long result = ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word),
                                FUTEX_WAIT_PRIVATE, expected, &relative, nullptr, 0);
  return !(result == -1 && errno == ETIMEDOUT);
}

inline void futex_wake(std::atomic<std::uint32_t>& word, int waiters) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, waiters,
            nullptr, nullptr, 0);
}

}  // namespace pn::internal
