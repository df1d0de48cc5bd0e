// What several test suites share: a bounded wait, a counting callback, whether a sanitizer runs.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

namespace pn::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// Waits for `done` with a generous bound: a hang becomes a failure, not a stuck test run.
template <class Predicate>
bool eventually(Predicate done, std::chrono::seconds bound = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A callback counting its calls in the std::atomic<int> it is given.
inline int count_callback(void* arg) {
  static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_relaxed);  // a count
  return 1;
}

}  // namespace pn::test
