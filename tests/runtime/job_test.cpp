// Async jobs: OpenSSL's job API semantics, one named test per function and corner.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "pollnotify/async_job.h"
#include "pollnotify/job.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace {

// Every test starts and ends with an empty pool on its thread.
class Jobs : public ::testing::Test {
 protected:
  void TearDown() override { PN_ASYNC_cleanup_thread(); }
};

int return_arg_plus_one(void* arg) { return *static_cast<int*>(arg) + 1; }

int pause_twice(void* arg) {
  auto* steps = static_cast<int*>(arg);
  ++*steps;
  PN_ASYNC_pause_job();
  ++*steps;
  PN_ASYNC_pause_job();
  ++*steps;
  return 42;
}

struct PointerArg {
  int* steps;
};
int pause_once_via_pointer(void* arg) {
  int* steps = static_cast<PointerArg*>(arg)->steps;
  ++*steps;
  PN_ASYNC_pause_job();
  ++*steps;
  return 5;
}

TEST_F(Jobs, IsCapable) { EXPECT_EQ(PN_ASYNC_is_capable(), 1); }

TEST_F(Jobs, StartRunsToFinishAndResetsJob) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  int arg = 41;
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, return_arg_plus_one, &arg, sizeof arg),
            PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 42);
  EXPECT_EQ(job, nullptr);
}

TEST_F(Jobs, ArgumentsAreCopied) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  int steps = 0;
  PointerArg arg{&steps};
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, pause_once_via_pointer, &arg, sizeof arg),
            PN_ASYNC_PAUSE);
  arg.steps = nullptr;  // the job holds its own copy
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, pause_once_via_pointer, &arg, sizeof arg),
            PN_ASYNC_FINISH);
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(ret, 5);
}

TEST_F(Jobs, LargeArgumentsAreCopied) {
  struct Big {
    int values[100];
  } big{};
  big.values[99] = 9;
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(
                &job, nullptr, &ret, [](void* a) { return static_cast<Big*>(a)->values[99]; }, &big,
                sizeof big),
            PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 9);
}

TEST_F(Jobs, NullArgsGiveNullToFunction) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = -1;
  ASSERT_EQ(PN_ASYNC_start_job(
                &job, nullptr, &ret, [](void* a) { return a == nullptr ? 1 : 0; }, nullptr, 0),
            PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 1);
}

TEST_F(Jobs, PauseAndResumeUntilFinish) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  int steps = 0;
  int* steps_ptr = &steps;
  auto body = [](void* a) { return pause_twice(*static_cast<int**>(a)); };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, &steps_ptr, sizeof steps_ptr),
            PN_ASYNC_PAUSE);
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(steps, 1);
  PN_ASYNC_JOB* const paused = job;
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, &steps_ptr, sizeof steps_ptr),
            PN_ASYNC_PAUSE);
  EXPECT_EQ(job, paused);
  EXPECT_EQ(steps, 2);
  ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, &steps_ptr, sizeof steps_ptr),
            PN_ASYNC_FINISH);
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(ret, 42);
  EXPECT_EQ(job, nullptr);
}

TEST_F(Jobs, RetIsWrittenOnlyAtFinish) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = -7;
  int steps = 0;
  PointerArg arg{&steps};
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, pause_once_via_pointer, &arg, sizeof arg),
            PN_ASYNC_PAUSE);
  EXPECT_EQ(ret, -7);
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 5);
}

TEST_F(Jobs, PauseOutsideJobIsSuccessfulNoOp) { EXPECT_EQ(PN_ASYNC_pause_job(), 1); }

TEST_F(Jobs, CurrentJobInsideAndOutside) {
  EXPECT_EQ(PN_ASYNC_get_current_job(), nullptr);
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(
                &job, nullptr, &ret,
                [](void*) { return PN_ASYNC_get_current_job() != nullptr ? 1 : 0; }, nullptr, 0),
            PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 1);
  EXPECT_EQ(PN_ASYNC_get_current_job(), nullptr);
}

TEST_F(Jobs, GetWaitCtxReturnsTheStartContext) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(
                &job, ctx, &ret,
                [](void*) {
                  PN_ASYNC_pause_job();
                  return 0;
                },
                nullptr, 0),
            PN_ASYNC_PAUSE);
  EXPECT_EQ(PN_ASYNC_get_wait_ctx(job), ctx);
  EXPECT_EQ(PN_ASYNC_get_wait_ctx(nullptr), nullptr);
  ASSERT_EQ(PN_ASYNC_start_job(&job, ctx, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

TEST_F(Jobs, BlockPauseMakesPauseANoOpAndNests) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    int pauses_taken = 0;
    PN_ASYNC_block_pause();
    PN_ASYNC_block_pause();
    PN_ASYNC_pause_job();  // blocked: returns at once
    PN_ASYNC_unblock_pause();
    PN_ASYNC_pause_job();  // still blocked once
    PN_ASYNC_unblock_pause();
    PN_ASYNC_pause_job();  // pauses
    ++pauses_taken;
    return pauses_taken;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 1);
}

TEST_F(Jobs, BlockPauseOutsideJobIsIgnored) {
  PN_ASYNC_block_pause();
  PN_ASYNC_unblock_pause();
  PN_ASYNC_unblock_pause();  // unbalanced: ignored
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  EXPECT_EQ(PN_ASYNC_start_job(
                &job, nullptr, &ret,
                [](void*) {
                  PN_ASYNC_pause_job();
                  return 0;
                },
                nullptr, 0),
            PN_ASYNC_PAUSE);
  EXPECT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
}

TEST_F(Jobs, InitThreadRejectsInitAboveMax) { EXPECT_EQ(PN_ASYNC_init_thread(2, 3), 0); }

TEST_F(Jobs, PoolExhaustedGivesNoJobs) {
  ASSERT_EQ(PN_ASYNC_init_thread(2, 1), 1);
  auto body = [](void*) {
    PN_ASYNC_pause_job();
    return 0;
  };
  PN_ASYNC_JOB* jobs[3] = {nullptr, nullptr, nullptr};
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(&jobs[0], nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  ASSERT_EQ(PN_ASYNC_start_job(&jobs[1], nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  EXPECT_EQ(PN_ASYNC_start_job(&jobs[2], nullptr, &ret, body, nullptr, 0), PN_ASYNC_NO_JOBS);
  EXPECT_EQ(jobs[2], nullptr);
  ASSERT_EQ(PN_ASYNC_start_job(&jobs[0], nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(PN_ASYNC_start_job(&jobs[2], nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE)
      << "a finished job returns to the pool";
  ASSERT_EQ(PN_ASYNC_start_job(&jobs[1], nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  ASSERT_EQ(PN_ASYNC_start_job(&jobs[2], nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
}

TEST_F(Jobs, InitThreadWithJobsInUseFails) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    PN_ASYNC_pause_job();
    return 0;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  EXPECT_EQ(PN_ASYNC_init_thread(4, 0), 0);
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(PN_ASYNC_init_thread(4, 0), 1);
}

TEST_F(Jobs, PausedJobSurvivesCleanupThread) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    PN_ASYNC_pause_job();
    return 3;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  PN_ASYNC_cleanup_thread();
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 3);
}

TEST_F(Jobs, BadArgumentsReturnErr) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  EXPECT_EQ(PN_ASYNC_start_job(nullptr, nullptr, &ret, return_arg_plus_one, nullptr, 0),
            PN_ASYNC_ERR);
  EXPECT_EQ(PN_ASYNC_start_job(&job, nullptr, nullptr, return_arg_plus_one, nullptr, 0),
            PN_ASYNC_ERR);
  EXPECT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_ERR);
}

TEST_F(Jobs, StartFromInsideAJobIsErr) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(
                &job, nullptr, &ret,
                [](void*) {
                  PN_ASYNC_JOB* inner = nullptr;
                  int inner_ret = 0;
                  return PN_ASYNC_start_job(&inner, nullptr, &inner_ret, return_arg_plus_one,
                                            nullptr, 0);
                },
                nullptr, 0),
            PN_ASYNC_FINISH);
  EXPECT_EQ(ret, PN_ASYNC_ERR);
}

TEST_F(Jobs, ResumeOnAnotherThreadIsErr) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    PN_ASYNC_pause_job();
    return 0;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  int other_result = -1;
  std::thread other([&] {
    PN_ASYNC_JOB* stolen = job;
    int other_ret = 0;
    other_result = PN_ASYNC_start_job(&stolen, nullptr, &other_ret, body, nullptr, 0);
    PN_ASYNC_cleanup_thread();
  });
  other.join();
  EXPECT_EQ(other_result, PN_ASYNC_ERR);
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
}

TEST_F(Jobs, ResumingAFinishedHandleIsErrNotACrash) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    PN_ASYNC_pause_job();
    return 0;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  PN_ASYNC_JOB* stale = job;
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(PN_ASYNC_start_job(&stale, nullptr, &ret, body, nullptr, 0), PN_ASYNC_ERR)
      << "the pooled job is idle, not paused";
}

TEST_F(Jobs, ResumeResetsWaitCtxChangeCounts) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  static const int key = 0;
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    PN_ASYNC_WAIT_CTX* wctx = PN_ASYNC_get_wait_ctx(PN_ASYNC_get_current_job());
    PN_ASYNC_WAIT_CTX_set_wait_fd(wctx, &key, 9, nullptr, nullptr);
    PN_ASYNC_pause_job();
    return 0;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, ctx, &ret, body, nullptr, 0), PN_ASYNC_PAUSE);
  size_t added = 0, deleted = 0;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, nullptr, &added, nullptr, &deleted), 1);
  EXPECT_EQ(added, 1U);
  ASSERT_EQ(PN_ASYNC_start_job(&job, ctx, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, nullptr, &added, nullptr, &deleted), 1);
  EXPECT_EQ(added, 0U) << "resumed: counts reset";
  PN_ASYNC_WAIT_CTX_free(ctx);
}

TEST_F(Jobs, FinishDoesNotResetChangeCounts) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  static const int key = 0;
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  auto body = [](void*) {
    PN_ASYNC_WAIT_CTX_set_wait_fd(PN_ASYNC_get_wait_ctx(PN_ASYNC_get_current_job()), &key, 9,
                                  nullptr, nullptr);
    return 0;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, ctx, &ret, body, nullptr, 0), PN_ASYNC_FINISH);
  size_t added = 0, deleted = 0;
  ASSERT_EQ(PN_ASYNC_WAIT_CTX_get_changed_fds(ctx, nullptr, &added, nullptr, &deleted), 1);
  EXPECT_EQ(added, 1U);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

TEST_F(Jobs, CppLambdaBodyAndPauseBlocker) {
  int steps = 0;
  pn::AsyncJob* job = nullptr;
  int ret = 0;
  auto body = [steps_ptr = &steps] {
    {
      pn::jobs::PauseBlocker blocker;
      pn::jobs::pause();  // blocked: no pause
      ++*steps_ptr;
    }
    pn::jobs::pause();
    ++*steps_ptr;
    return 11;
  };
  ASSERT_EQ(pn::jobs::start(job, nullptr, ret, body), pn::JobStatus::kPause);
  EXPECT_EQ(steps, 1);
  ASSERT_EQ(pn::jobs::resume(job, ret), pn::JobStatus::kFinish);
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(ret, 11);
}

TEST_F(Jobs, ManyJobsInterleaved) {
  constexpr int kJobs = 200;
  std::vector<pn::AsyncJob*> jobs(kJobs, nullptr);
  std::vector<int> counters(kJobs, 0);
  int ret = 0;
  for (int i = 0; i < kJobs; ++i) {
    auto body = [counter = &counters[i]] {
      for (int step = 0; step < 3; ++step) {
        ++*counter;
        pn::jobs::pause();
      }
      return *counter;
    };
    ASSERT_EQ(pn::jobs::start(jobs[i], nullptr, ret, body), pn::JobStatus::kPause);
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kJobs; ++i) {
      const auto status = pn::jobs::resume(jobs[i], ret);
      ASSERT_EQ(status, round < 2 ? pn::JobStatus::kPause : pn::JobStatus::kFinish);
    }
  }
  for (int counter : counters) EXPECT_EQ(counter, 3);
}

TEST_F(Jobs, FloatingPointStateSurvivesSwitches) {
  pn::AsyncJob* job = nullptr;
  int ret = 0;
  auto body = [] {
    volatile double x = 1.5;
    pn::jobs::pause();
    return static_cast<int>(x * 4.0);
  };
  ASSERT_EQ(pn::jobs::start(job, nullptr, ret, body), pn::JobStatus::kPause);
  ASSERT_EQ(pn::jobs::resume(job, ret), pn::JobStatus::kFinish);
  EXPECT_EQ(ret, 6);
}

// A deep recursion hits the guard page and dies with SIGSEGV instead of corrupting memory.
__attribute__((noinline)) int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  const int deeper = depth > 1'000'000 ? 0 : recurse(depth + 1);
  asm volatile("" : : "r"(&frame[0]) : "memory");  // keeps the frame alive across the call
  return deeper + frame[0];
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_F(Jobs, StackOverflowHitsGuardPage) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    PN_ASYNC_JOB* job = nullptr;
    int ret = 0;
    PN_ASYNC_start_job(
        &job, nullptr, &ret, [](void*) { return recurse(0); }, nullptr, 0);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}
#endif

}  // namespace
