// Async jobs: OpenSSL's job API semantics, one named test per function and corner.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cfenv>
#include <cstdint>
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

// OpenSSL keeps the block count in the thread's context: a job that returns while blocked leaves
// the next job unable to pause, until cleanup_thread frees the context (and the count). Found by
// job_fuzzer when the count moved into the thread's inline-path state and outlived the pool.
TEST_F(Jobs, BlockCountOutlivesTheJobButNotCleanupThread) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  const auto block_and_return = [](void*) {
    PN_ASYNC_block_pause();
    return 1;
  };
  const auto pause_once = [](void*) {
    PN_ASYNC_pause_job();
    return 2;
  };
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, block_and_return, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, pause_once, nullptr, 0), PN_ASYNC_FINISH)
      << "still blocked, as in OpenSSL";
  PN_ASYNC_cleanup_thread();
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, pause_once, nullptr, 0), PN_ASYNC_PAUSE);
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 2);
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

// Values live in registers across every pause: integers in callee-saved registers, doubles
// spilled around the switch (it clobbers every vector register). Outside a job pause_job is a
// no-op, so calling the function directly gives the expected result.
struct LiveValues {
  std::uint64_t seed;
  std::uint64_t mixed;
  double accumulated;
};
int pause_with_live_values(void* arg) {
  auto* values = *static_cast<LiveValues**>(arg);
  std::uint64_t a = values->seed, b = a * 3, c = a ^ 0x55, d = a + 7, e = a * a, f = a >> 3;
  std::uint64_t g = ~a, h = a | 1;
  double x = static_cast<double>(a & 0xff), y = x * 0.5;
  for (int i = 0; i < 64; ++i) {
    // The inline path and the exported function, alternately: they share one frame layout.
    if (i % 2 == 0) {
      PN_ASYNC_pause_job();
    } else {
      (PN_ASYNC_pause_job)();
    }
    a += b;
    b ^= c;
    c += d;
    d ^= e;
    e += f;
    f ^= g;
    g += h;
    h ^= a;
    x = x * 1.0001 + y;
    y += 1.0;
  }
  values->mixed = a ^ b ^ c ^ d ^ e ^ f ^ g ^ h;
  values->accumulated = x + y;
  return 1;
}

TEST_F(Jobs, InlineAndExportedSwitchesKeepRegisters) {
  LiveValues expected{static_cast<std::uint64_t>(::getpid()) | 0x1234'0000'0000ULL, 0, 0.0};
  LiveValues* expected_pointer = &expected;
  ASSERT_EQ(pause_with_live_values(&expected_pointer), 1);  // no job: no pauses

  LiveValues in_job{expected.seed, 0, 0.0};
  LiveValues* in_job_pointer = &in_job;
  // The resuming side keeps values live across its switches too.
  std::uint64_t p = expected.seed, q = p * 5, r = p ^ 0xAA, s = p + 11;
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  int status = PN_ASYNC_start_job(&job, nullptr, &ret, pause_with_live_values, &in_job_pointer,
                                  sizeof in_job_pointer);
  int resumes = 0;
  while (status == PN_ASYNC_PAUSE) {
    ++resumes;
    p += q;
    q ^= r;
    r += s;
    s ^= p;
    status = resumes % 3 == 0 ? (PN_ASYNC_start_job)(&job, nullptr, &ret, nullptr, nullptr, 0)
                              : PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0);
  }
  ASSERT_EQ(status, PN_ASYNC_FINISH);
  EXPECT_EQ(resumes, 64);
  EXPECT_EQ(ret, 1);
  EXPECT_EQ(job, nullptr);
  EXPECT_EQ(in_job.mixed, expected.mixed);
  EXPECT_EQ(in_job.accumulated, expected.accumulated);

  std::uint64_t p2 = expected.seed, q2 = p2 * 5, r2 = p2 ^ 0xAA, s2 = p2 + 11;
  for (int i = 0; i < 64; ++i) {
    p2 += q2;
    q2 ^= r2;
    r2 += s2;
    s2 ^= p2;
  }
  EXPECT_EQ(p ^ q ^ r ^ s, p2 ^ q2 ^ r2 ^ s2);
}

// long double values the compiler keeps on the x87 register stack across an inline pause: each
// job's stay its own, as around a function call, even with more jobs paused than the stack has
// registers (a shared stack overflows into NaN past eight entries).
struct X87Values {
  long double seed;
  long double result;
};
int pause_with_live_long_doubles(void* arg) {
  auto* values = *static_cast<X87Values**>(arg);
  long double a = values->seed * 3.0L, b = values->seed + 0.5L, c = values->seed / 7.0L;
  for (int i = 0; i < 4; ++i) {
    PN_ASYNC_pause_job();
    a = a * 1.25L + b;
    b = b - c;
    c = c * 0.75L + a;
  }
  values->result = a + b * c;
  return 1;
}

TEST_F(Jobs, EveryPausedJobKeepsItsOwnX87Values) {
  constexpr int kJobs = 12;
  std::vector<X87Values> expected(kJobs), in_jobs(kJobs);
  std::vector<X87Values*> pointers(kJobs);
  std::vector<PN_ASYNC_JOB*> jobs(kJobs, nullptr);
  for (int j = 0; j < kJobs; ++j) {
    expected[j].seed = in_jobs[j].seed = 1.0L + j * 0.125L;
    X87Values* direct = &expected[j];
    ASSERT_EQ(pause_with_live_long_doubles(&direct), 1);  // no job: no pauses
    pointers[j] = &in_jobs[j];
  }
  std::vector<int> status(kJobs, PN_ASYNC_PAUSE);
  int ret = 0;
  for (int j = 0; j < kJobs; ++j) {  // every job paused at once
    status[j] = PN_ASYNC_start_job(&jobs[j], nullptr, &ret, pause_with_live_long_doubles,
                                   &pointers[j], sizeof pointers[j]);
    ASSERT_EQ(status[j], PN_ASYNC_PAUSE);
  }
  for (bool running = true; running;) {
    running = false;
    for (int j = 0; j < kJobs; ++j) {
      if (status[j] != PN_ASYNC_PAUSE) continue;
      status[j] = PN_ASYNC_start_job(&jobs[j], nullptr, &ret, nullptr, nullptr, 0);
      running = running || status[j] == PN_ASYNC_PAUSE;
    }
  }
  for (int j = 0; j < kJobs; ++j) {
    ASSERT_EQ(status[j], PN_ASYNC_FINISH);
    EXPECT_EQ(in_jobs[j].result, expected[j].result) << "job " << j;
  }
}

// The MXCSR and x87 control words (rounding mode, exception masks) belong to the thread, not to
// each job, unless the library is built with PN_FIBER_PRESERVE_FP_CONTROL (async_job.h): a
// rounding mode a job sets before it pauses is the caller's after the pause.
int pause_in_upward_rounding(void*) {
  std::fesetround(FE_UPWARD);
  PN_ASYNC_pause_job();
  return std::fegetround() == FE_UPWARD ? 1 : 0;
}

TEST_F(Jobs, FpControlWordsAreTheThreadsUnlessPreserved) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, pause_in_upward_rounding, nullptr, 0),
            PN_ASYNC_PAUSE);
  const int after_pause = std::fegetround();
  std::fesetround(FE_TONEAREST);
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
  std::fesetround(FE_TONEAREST);
#if defined(PN_FIBER_PRESERVE_FP_CONTROL) || \
    defined(PN_TEST_JOBS_ON_UCONTEXT)  // swapcontext saves them
  EXPECT_EQ(after_pause, FE_TONEAREST) << "the caller's rounding mode came back with the pause";
  EXPECT_EQ(ret, 1) << "the job's rounding mode came back with the resume";
#else
  EXPECT_EQ(after_pause, FE_UPWARD) << "one rounding mode for the thread";
  EXPECT_EQ(ret, 0) << "the caller's mode was the job's after the resume";
#endif
}

#if defined(PN_ASYNC_INLINE_FAST_PATH)
// The header compiled the inline paths into this test; the library says whether its switch frame
// lets them switch (the x86-64 switch without sanitizers) or sends them to its own functions.
TEST_F(Jobs, InlinePathsSwitchWithTheAsmBackendOnly) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  ASSERT_EQ(PN_ASYNC_start_job(
                &job, nullptr, &ret, [](void*) { return PN_ASYNC_pause_job(); }, nullptr, 0),
            PN_ASYNC_PAUSE);
#if defined(PN_TEST_JOBS_ON_UCONTEXT)
  EXPECT_EQ(PN_internal_job_thread_state.inline_switch, 0);
#else
  EXPECT_EQ(PN_internal_job_thread_state.inline_switch, 1);
#endif
  ASSERT_EQ(PN_ASYNC_start_job(&job, nullptr, &ret, nullptr, nullptr, 0), PN_ASYNC_FINISH);
  EXPECT_EQ(ret, 1);
}
#endif

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
