// Differential tests: the same scenarios against OpenSSL's libcrypto and against pollnotify,
// comparing every value returned (and every value written to an output parameter).
#include <gtest/gtest.h>
#include <openssl/async.h>

#include <random>
#include <string>
#include <vector>

#include "openssl_api.hpp"

namespace {

using pn::test::Openssl;
using pn::test::Pollnotify;

const int kKeys[3] = {0, 0, 0};

// Records every observable value; two implementations agree when their logs are equal.
using Log = std::vector<long>;

template <class Api>
void snapshot(typename Api::Ctx* ctx, Log& log) {
  size_t count = 0;
  log.push_back(Api::get_all_fds(ctx, nullptr, &count));
  log.push_back(static_cast<long>(count));
  std::vector<typename Api::Fd> fds(count + 1, -5);
  log.push_back(Api::get_all_fds(ctx, fds.data(), &count));
  for (size_t i = 0; i < count; ++i) log.push_back(fds[i]);
  size_t added = 0, deleted = 0;
  log.push_back(Api::get_changed_fds(ctx, nullptr, &added, nullptr, &deleted));
  log.push_back(static_cast<long>(added));
  log.push_back(static_cast<long>(deleted));
  std::vector<typename Api::Fd> add_fds(added + 1, -5), del_fds(deleted + 1, -5);
  log.push_back(Api::get_changed_fds(ctx, add_fds.data(), &added, del_fds.data(), &deleted));
  for (size_t i = 0; i < added; ++i) log.push_back(add_fds[i]);
  for (size_t i = 0; i < deleted; ++i) log.push_back(del_fds[i]);
  for (const int& key : kKeys) {
    typename Api::Fd fd = -9;
    void* data = nullptr;
    log.push_back(Api::get_fd(ctx, &key, &fd, &data));
    log.push_back(fd);
    log.push_back(static_cast<long>(reinterpret_cast<std::intptr_t>(data)));
  }
}

template <class Api>
struct CleanupCounter {
  static inline std::vector<long>* log = nullptr;
  static void cleanup(typename Api::Ctx*, const void* key, typename Api::Fd fd, void* data) {
    log->push_back(1000 + static_cast<long>(static_cast<const int*>(key) - kKeys));
    log->push_back(fd);
    log->push_back(static_cast<long>(reinterpret_cast<std::intptr_t>(data)));
  }
};

// A random walk of fd operations inside a job; "resume" pauses the job and resumes it, which is
// the only way OpenSSL resets the change counts.
template <class Api>
struct RandomWalk {
  unsigned seed;
  int steps;
  typename Api::Ctx* ctx;
  Log* log;

  static int body(void* raw) {
    const RandomWalk& walk = **static_cast<RandomWalk**>(raw);
    std::mt19937 rng(walk.seed);
    for (int step = 0; step < walk.steps; ++step) {
      const int key = static_cast<int>(rng() % 3);
      switch (rng() % 5) {
        case 0:
        case 1:
          walk.log->push_back(
              Api::set_wait_fd(walk.ctx, &kKeys[key], static_cast<int>(rng() % 100),
                               reinterpret_cast<void*>(static_cast<std::intptr_t>(step + 1)),
                               rng() % 2 ? &CleanupCounter<Api>::cleanup : nullptr));
          break;
        case 2:
          walk.log->push_back(Api::clear_fd(walk.ctx, &kKeys[key]));
          break;
        case 3:
          Api::pause_job();
          break;
        default:
          snapshot<Api>(walk.ctx, *walk.log);
      }
    }
    snapshot<Api>(walk.ctx, *walk.log);
    return walk.steps;
  }
};

template <class Api>
Log run_random_walk(unsigned seed, int steps) {
  Log log;
  CleanupCounter<Api>::log = &log;
  typename Api::Ctx* ctx = Api::ctx_new();
  RandomWalk<Api> walk{seed, steps, ctx, &log};
  RandomWalk<Api>* walk_ptr = &walk;
  typename Api::Job* job = nullptr;
  int ret = 0;
  int status = Api::start_job(&job, ctx, &ret, &RandomWalk<Api>::body, &walk_ptr, sizeof walk_ptr);
  while (status == Api::kPause) {
    log.push_back(-1);
    snapshot<Api>(ctx, log);  // between pause and resume, as an application would look
    status = Api::start_job(&job, ctx, &ret, &RandomWalk<Api>::body, &walk_ptr, sizeof walk_ptr);
  }
  log.push_back(status);
  log.push_back(ret);
  Api::ctx_free(ctx);  // cleanup routines of live entries land in the log
  return log;
}

TEST(OpensslParity, RandomFdWalksMatch) {
  for (unsigned seed = 1; seed <= 60; ++seed) {
    const Log expected = run_random_walk<Openssl>(seed, 120);
    const Log actual = run_random_walk<Pollnotify>(seed, 120);
    ASSERT_GT(expected.size(), 100U);
    ASSERT_EQ(actual, expected) << "seed " << seed;
  }
}

int callback_a(void*) { return 1; }

template <class Api>
Log callback_and_status_scenario() {
  Log log;
  typename Api::Ctx* ctx = Api::ctx_new();
  int (*fn)(void*) = nullptr;
  void* arg = nullptr;
  log.push_back(Api::get_status(ctx));
  log.push_back(Api::get_callback(ctx, &fn, &arg));
  log.push_back(fn == nullptr);
  log.push_back(Api::set_callback(ctx, callback_a, &log));
  log.push_back(Api::get_callback(ctx, &fn, &arg));
  log.push_back(fn == callback_a && arg == &log);
  log.push_back(Api::set_callback(ctx, nullptr, &log));
  log.push_back(Api::get_callback(ctx, &fn, &arg));
  log.push_back(Api::set_callback(nullptr, callback_a, nullptr));
  for (int status : {1, 2, 3, 0}) {
    log.push_back(Api::set_status(ctx, status));
    log.push_back(Api::get_status(ctx));
  }
  Api::ctx_free(ctx);
  Api::ctx_free(nullptr);
  return log;
}

TEST(OpensslParity, CallbackAndStatusMatch) {
  EXPECT_EQ(callback_and_status_scenario<Pollnotify>(), callback_and_status_scenario<Openssl>());
}

template <class Api>
int pausing_body(void* raw) {
  const int pauses = *static_cast<int*>(raw);
  int observed = 0;
  for (int i = 0; i < pauses; ++i) {
    observed += Api::current_job() != nullptr;
    observed += Api::pause_job();
  }
  Api::block_pause();
  observed += Api::pause_job();  // blocked: returns 1 at once
  Api::unblock_pause();
  return observed;
}

template <class Api>
Log job_scenario() {
  Log log;
  log.push_back(Api::is_capable());
  log.push_back(Api::pause_job());  // outside a job
  log.push_back(Api::current_job() == nullptr);
  log.push_back(Api::init_thread(2, 3));  // init above max
  log.push_back(Api::init_thread(2, 1));
  typename Api::Ctx* ctx = Api::ctx_new();
  typename Api::Job* jobs[3] = {nullptr, nullptr, nullptr};
  int rets[3] = {0, 0, 0};
  int pauses = 2;
  for (int i = 0; i < 3; ++i) {
    log.push_back(
        Api::start_job(&jobs[i], ctx, &rets[i], &pausing_body<Api>, &pauses, sizeof pauses));
    log.push_back(jobs[i] == nullptr);
  }
  log.push_back(Api::job_wait_ctx(jobs[0]) == ctx);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2; ++i) {
      if (jobs[i] == nullptr) continue;
      log.push_back(
          Api::start_job(&jobs[i], ctx, &rets[i], &pausing_body<Api>, &pauses, sizeof pauses));
      log.push_back(jobs[i] == nullptr);
      log.push_back(rets[i]);
    }
  }
  log.push_back(
      Api::start_job(&jobs[2], ctx, &rets[2], &pausing_body<Api>, &pauses, sizeof pauses));
  while (jobs[2] != nullptr) {  // finish it: a paused job's memory belongs to the application
    log.push_back(
        Api::start_job(&jobs[2], ctx, &rets[2], &pausing_body<Api>, &pauses, sizeof pauses));
  }
  log.push_back(rets[2]);
  Api::ctx_free(ctx);
  Api::cleanup_thread();
  return log;
}

TEST(OpensslParity, JobLifecycleMatches) {
  EXPECT_EQ(job_scenario<Pollnotify>(), job_scenario<Openssl>());
}

}  // namespace
