// Jobs at their limits: a stack overflow ends on the guard, pool sizes and the process-wide job
// limit are errors, a foreign thread never resumes another's job.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pollnotify/async_job.h"
#include "test_support.hpp"

namespace {

using pn::test::kSanitized;

// --- A large stack frame must not jump the guard into a neighbouring job's stack ---

// The readable-writable mapping that holds `address`, from /proc/self/maps.
bool mapping_of(const void* address, std::uintptr_t& start, std::uintptr_t& end) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto where = reinterpret_cast<std::uintptr_t>(address);
  while (std::getline(maps, line)) {
    unsigned long long low = 0, high = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &low, &high) != 2) continue;
    if (where >= low && where < high) {
      start = low;
      end = high;
      return true;
    }
  }
  return false;
}

// 8 KiB of locals whose lowest byte is written first, as code built without stack-clash
// protection does: from 3 KiB above the usable stack's end it lands 5 KiB below it.
[[gnu::noinline]] void large_frame() {
  volatile char buffer[8192];
  buffer[0] = 1;
  asm volatile("" : : "r"(buffer) : "memory");
}

// Small frames, each touched, until the stack pointer is about 3 KiB above `stop_above`.
[[gnu::noinline]] void descend(std::uintptr_t stop_above) {
  volatile char frame[256];
  frame[0] = 1;
  if (reinterpret_cast<std::uintptr_t>(&frame[0]) > stop_above + 3072) {
    descend(stop_above);
  } else {
    large_frame();
  }
  asm volatile("" : : "r"(frame) : "memory");
}

int overflowing_job(void*) {
  char probe = 0;
  std::uintptr_t start = 0, end = 0;
  if (!mapping_of(&probe, start, end)) return 0;
  descend(start);
  return 1;
}

int paused_neighbour_job(void* arg) {
  auto* canary = *static_cast<volatile std::uint64_t**>(arg);
  volatile std::uint64_t deep[512];  // the top of this stack, just below the next job's guard
  for (auto& word : deep) word = 0xC0FFEE;
  *canary = 0xC0FFEE;
  PN_ASYNC_pause_job();
  for (auto& word : deep) {
    if (word != 0xC0FFEE) *canary = 0;
  }
  return 1;
}

// Runs in a death-test child: a paused job right below the overflowing one (the pool maps them
// next to each other), then the overflow. Surviving it means the write landed somewhere.
void overflow_next_to_a_paused_job() {
  if (PN_ASYNC_init_thread(2, 2) != 1) std::_Exit(3);
  volatile std::uint64_t canary = 0;
  volatile std::uint64_t* canary_ptr = &canary;
  PN_ASYNC_JOB* neighbour = nullptr;
  PN_ASYNC_JOB* victim = nullptr;
  int ret = 0;
  if (PN_ASYNC_start_job(&neighbour, nullptr, &ret, paused_neighbour_job, &canary_ptr,
                         sizeof canary_ptr) != PN_ASYNC_PAUSE) {
    std::_Exit(4);
  }
  (void)PN_ASYNC_start_job(&victim, nullptr, &ret, overflowing_job, nullptr, 0);
  (void)PN_ASYNC_start_job(&neighbour, nullptr, &ret, nullptr, nullptr, 0);
  std::fprintf(stderr, "survived the overflow; neighbour canary %s\n",
               canary == 0xC0FFEE ? "intact" : "CORRUPTED");
  std::_Exit(0);
}

bool killed_by_guard(int status) {
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS;
  // AddressSanitizer reports the fault and exits non-zero instead of dying by the signal.
  return kSanitized && WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 3;
}

TEST(JobStack, LargeFrameEndsOnTheGuardNotInTheNeighbour) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer's own handlers make the death test unreliable";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(overflow_next_to_a_paused_job(), killed_by_guard, "");
}

// --- A pool size the process cannot hold is an error, not an abort ---

TEST(JobLimits, HugePoolSizesFailCleanly) {
  std::thread([] {
    EXPECT_EQ(PN_ASYNC_init_thread(SIZE_MAX, SIZE_MAX), 0);
    EXPECT_EQ(PN_ASYNC_init_thread(SIZE_MAX / 2, SIZE_MAX / 4), 0);
    EXPECT_EQ(PN_ASYNC_init_thread(0, 0), 1) << "the pool is still usable";
  }).join();
}

int pause_forever_job(void* arg) {
  auto* stop = *static_cast<std::atomic<bool>**>(arg);
  while (!stop->load(std::memory_order_acquire)) PN_ASYNC_pause_job();  // pairs with the release
  return 1;
}

TEST(JobThreads, StartJobOnAnotherThreadWhileTheOwnerRunsIt) {
  constexpr int kForeignAttempts = 2000;
  std::atomic<bool> stop{false}, foreign_done{false};
  std::atomic<PN_ASYNC_JOB*> shared{nullptr};
  int foreign_errors = 0;
  std::thread owner([&] {
    std::atomic<bool>* stop_ptr = &stop;
    PN_ASYNC_JOB* job = nullptr;
    int ret = 0;
    int result =
        PN_ASYNC_start_job(&job, nullptr, &ret, pause_forever_job, &stop_ptr, sizeof stop_ptr);
    shared.store(job, std::memory_order_release);  // pairs with the foreign thread's acquire
    // Keeps resuming (writing the job's state) while the foreign thread tries to resume it too.
    while (result == PN_ASYNC_PAUSE && !foreign_done.load(std::memory_order_acquire)) {
      result = PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0);
    }
    stop.store(true, std::memory_order_release);
    while (result == PN_ASYNC_PAUSE) {
      result = PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0);
    }
    EXPECT_EQ(result, PN_ASYNC_FINISH);
  });
  std::thread foreign([&] {
    PN_ASYNC_JOB* job = nullptr;
    while ((job = shared.load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
    int ret = 0;
    for (int i = 0; i < kForeignAttempts; ++i) {
      PN_ASYNC_JOB* handle = job;
      foreign_errors +=
          PN_ASYNC_start_job(&handle, nullptr, &ret, nullptr, nullptr, 0) == PN_ASYNC_ERR;
    }
    foreign_done.store(true, std::memory_order_release);  // pairs with the owner's acquire
  });
  foreign.join();
  owner.join();
  EXPECT_EQ(foreign_errors, kForeignAttempts) << "a foreign thread never resumes another's job";
}

// The process-wide job limit: start_job says NO_JOBS there, and the process can still create
// threads (the limit keeps half of vm.max_map_count for everything else).
TEST(JobLimits, JobsStopAtTheProcessLimitWithNoJobs) {
  if (kSanitized) GTEST_SKIP() << "thousands of sanitizer-sized stacks; the release run holds it";
  const std::size_t limit = PN_ASYNC_get_max_jobs();
  ASSERT_GT(limit, 0U);
  EXPECT_EQ(PN_ASYNC_init_thread(limit + 1, limit + 1), 0) << "init_size above the limit";
  std::thread([limit] {
    std::vector<PN_ASYNC_JOB*> paused;
    int ret = 0;
    int result = PN_ASYNC_PAUSE;
    while (paused.size() <= limit) {
      PN_ASYNC_JOB* job = nullptr;
      result = PN_ASYNC_start_job(
          &job, nullptr, &ret, [](void*) { return PN_ASYNC_pause_job(); }, nullptr, 0);
      if (result != PN_ASYNC_PAUSE) break;
      paused.push_back(job);
    }
    EXPECT_EQ(result, PN_ASYNC_NO_JOBS);
    EXPECT_EQ(paused.size(), limit);
    std::thread([] {}).join();  // threads can still be created
    for (PN_ASYNC_JOB* job : paused) {
      EXPECT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
    }
    PN_ASYNC_cleanup_thread();
  }).join();
}

}  // namespace
