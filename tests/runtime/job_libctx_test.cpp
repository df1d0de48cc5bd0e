// OpenSSL parity for the default library context (OpenSSL 3): a job keeps the default
// OSSL_LIB_CTX it set across its pauses, and its caller keeps its own; a new job starts with the
// caller's. The same sequence runs on libcrypto's jobs and on pollnotify's (inline and exported
// paths), and the observations must match. pollnotify finds libcrypto at run time (dlsym), so
// this binary links it and the job library does not.
#include <gtest/gtest.h>
#include <openssl/async.h>
#include <openssl/crypto.h>

#include "pollnotify/async_job.h"

namespace {

struct Observations {
  OSSL_LIB_CTX* job_ctx = nullptr;  // what the job sets as its default
  bool job_started_with_callers = false;
  bool job_kept_its_own = false;
  bool caller_kept_its_own_at_pause = false;
  bool caller_kept_its_own_at_finish = false;
};

OSSL_LIB_CTX* current_default() { return OSSL_LIB_CTX_set0_default(nullptr); }

struct JobArgs {
  Observations* seen;
  OSSL_LIB_CTX* callers;
  int (*pause)();
};

int job_body(void* raw) {
  const JobArgs& args = *static_cast<JobArgs*>(raw);
  args.seen->job_started_with_callers = current_default() == args.callers;
  OSSL_LIB_CTX* const previous = OSSL_LIB_CTX_set0_default(args.seen->job_ctx);
  args.pause();
  args.seen->job_kept_its_own = current_default() == args.seen->job_ctx;
  OSSL_LIB_CTX_set0_default(previous);
  return 1;
}

int openssl_pause() { return ASYNC_pause_job(); }
int pollnotify_inline_pause() { return PN_ASYNC_pause_job(); }
int pollnotify_exported_pause() { return (PN_ASYNC_pause_job)(); }

template <class Start>
Observations run(Start start, int (*pause)(), int pause_result, int finish_result) {
  Observations seen;
  seen.job_ctx = OSSL_LIB_CTX_new();
  OSSL_LIB_CTX* const callers = current_default();
  JobArgs args{&seen, callers, pause};
  int ret = 0;
  EXPECT_EQ(start(&args, &ret), pause_result);
  seen.caller_kept_its_own_at_pause = current_default() == callers;
  EXPECT_EQ(start(nullptr, &ret), finish_result);
  EXPECT_EQ(ret, 1);
  seen.caller_kept_its_own_at_finish = current_default() == callers;
  OSSL_LIB_CTX_free(seen.job_ctx);
  return seen;
}

void expect_same(const Observations& ours, const Observations& openssl) {
  EXPECT_EQ(ours.job_started_with_callers, openssl.job_started_with_callers);
  EXPECT_EQ(ours.job_kept_its_own, openssl.job_kept_its_own);
  EXPECT_EQ(ours.caller_kept_its_own_at_pause, openssl.caller_kept_its_own_at_pause);
  EXPECT_EQ(ours.caller_kept_its_own_at_finish, openssl.caller_kept_its_own_at_finish);
}

TEST(JobsLibraryContext, EachJobKeepsItsDefaultAsOpenSslDoes) {
  ASYNC_JOB* openssl_job = nullptr;
  ASYNC_WAIT_CTX* waitctx = ASYNC_WAIT_CTX_new();
  const Observations openssl = run(
      [&](JobArgs* args, int* ret) {
        return ASYNC_start_job(&openssl_job, waitctx, ret, job_body, args, args ? sizeof *args : 0);
      },
      openssl_pause, ASYNC_PAUSE, ASYNC_FINISH);
  ASYNC_WAIT_CTX_free(waitctx);
  EXPECT_TRUE(openssl.job_started_with_callers);
  EXPECT_TRUE(openssl.job_kept_its_own);
  EXPECT_TRUE(openssl.caller_kept_its_own_at_pause);
  EXPECT_TRUE(openssl.caller_kept_its_own_at_finish);

  for (const bool inline_path : {true, false}) {
    PN_ASYNC_JOB* job = nullptr;
    const Observations ours = run(
        [&](JobArgs* args, int* ret) {
          void* const copy = args;
          const std::size_t size = args ? sizeof *args : 0;
          return inline_path ? PN_ASYNC_start_job(&job, nullptr, ret, job_body, copy, size)
                             : (PN_ASYNC_start_job)(&job, nullptr, ret, job_body, copy, size);
        },
        inline_path ? pollnotify_inline_pause : pollnotify_exported_pause, PN_ASYNC_PAUSE,
        PN_ASYNC_FINISH);
    SCOPED_TRACE(inline_path ? "inline path" : "exported path");
    expect_same(ours, openssl);
  }
}

}  // namespace
