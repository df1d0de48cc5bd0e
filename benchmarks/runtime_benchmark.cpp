// Async jobs: pause+resume round trip and start+finish, pollnotify beside OpenSSL.
#include <benchmark/benchmark.h>
#include <openssl/async.h>

#include "bench_util.hpp"
#include "pollnotify/async_job.h"

namespace {

int pause_forever(void* arg) {
  const bool* stop = *static_cast<bool**>(arg);
  while (!*stop) ASYNC_pause_job();
  return 0;
}
int pn_pause_forever(void* arg) {
  const bool* stop = *static_cast<bool**>(arg);
  while (!*stop) PN_ASYNC_pause_job();
  return 0;
}
int return_zero(void*) { return 0; }

// OpenSSL's pause dereferences the job's wait context, so both sides get one.
template <class Job, class Ctx>
void pause_resume(benchmark::State& state,
                  int (*start)(Job**, Ctx*, int*, int (*)(void*), void*, size_t),
                  int (*body)(void*), int pause_code, Ctx* ctx) {
  bool stop = false;
  bool* stop_ptr = &stop;
  Job* job = nullptr;
  int ret = 0;
  if (start(&job, ctx, &ret, body, &stop_ptr, sizeof stop_ptr) != pause_code) {
    state.SkipWithError("job did not pause");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(start(&job, ctx, &ret, body, &stop_ptr, sizeof stop_ptr));
  }
  stop = true;
  start(&job, ctx, &ret, body, &stop_ptr, sizeof stop_ptr);
  state.SetItemsProcessed(state.iterations());
}

void BM_Job_PauseResume_openssl(benchmark::State& state) {
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  pause_resume<ASYNC_JOB, ASYNC_WAIT_CTX>(state, ASYNC_start_job, pause_forever, ASYNC_PAUSE, ctx);
  ASYNC_WAIT_CTX_free(ctx);
}
void BM_Job_PauseResume_pollnotify(benchmark::State& state) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  pause_resume<PN_ASYNC_JOB, PN_ASYNC_WAIT_CTX>(state, PN_ASYNC_start_job, pn_pause_forever,
                                                PN_ASYNC_PAUSE, ctx);
  PN_ASYNC_WAIT_CTX_free(ctx);
}

void BM_Job_StartFinish_openssl(benchmark::State& state) {
  ASYNC_JOB* job = nullptr;
  int ret = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(ASYNC_start_job(&job, nullptr, &ret, return_zero, nullptr, 0));
  state.SetItemsProcessed(state.iterations());
}
void BM_Job_StartFinish_pollnotify(benchmark::State& state) {
  PN_ASYNC_JOB* job = nullptr;
  int ret = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(PN_ASYNC_start_job(&job, nullptr, &ret, return_zero, nullptr, 0));
  state.SetItemsProcessed(state.iterations());
}

const bool registered = [] {
  benchmark::RegisterBenchmark("BM_Job_PauseResume/openssl", BM_Job_PauseResume_openssl);
  benchmark::RegisterBenchmark("BM_Job_PauseResume/pollnotify", BM_Job_PauseResume_pollnotify);
  benchmark::RegisterBenchmark("BM_Job_StartFinish/openssl", BM_Job_StartFinish_openssl);
  benchmark::RegisterBenchmark("BM_Job_StartFinish/pollnotify", BM_Job_StartFinish_pollnotify);
  return true;
}();

}  // namespace

int main(int argc, char** argv) {
  const int status = pn::bench::run_benchmarks(argc, argv, 0);
  ASYNC_cleanup_thread();
  PN_ASYNC_cleanup_thread();
  return status;
}
