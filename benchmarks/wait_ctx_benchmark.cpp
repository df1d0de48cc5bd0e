// Wait-context operations, pollnotify's atomic versions beside OpenSSL's plain-int ones.
#include <benchmark/benchmark.h>
#include <openssl/async.h>

#include "bench_util.hpp"
#include "pollnotify/async_wait.h"

namespace {

int noop_callback(void*) { return 1; }

void BM_WaitCtx_SetStatus_openssl(benchmark::State& state) {
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  int status = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ASYNC_WAIT_CTX_set_status(ctx, status));
    status = (status + 1) & 3;
  }
  ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_SetStatus_pollnotify(benchmark::State& state) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  int status = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(PN_ASYNC_WAIT_CTX_set_status(ctx, status));
    status = (status + 1) & 3;
  }
  PN_ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_GetStatus_openssl(benchmark::State& state) {
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  for (auto _ : state) benchmark::DoNotOptimize(ASYNC_WAIT_CTX_get_status(ctx));
  ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_GetStatus_pollnotify(benchmark::State& state) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  for (auto _ : state) benchmark::DoNotOptimize(PN_ASYNC_WAIT_CTX_get_status(ctx));
  PN_ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_GetCallback_openssl(benchmark::State& state) {
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  ASYNC_WAIT_CTX_set_callback(ctx, noop_callback, ctx);
  ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ASYNC_WAIT_CTX_get_callback(ctx, &fn, &arg));
    benchmark::DoNotOptimize(fn);
    benchmark::DoNotOptimize(arg);
  }
  ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_GetCallback_pollnotify(benchmark::State& state) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  PN_ASYNC_WAIT_CTX_set_callback(ctx, noop_callback, ctx);
  PN_ASYNC_callback_fn fn = nullptr;
  void* arg = nullptr;
  for (auto _ : state) {
    benchmark::DoNotOptimize(PN_ASYNC_WAIT_CTX_get_callback(ctx, &fn, &arg));
    benchmark::DoNotOptimize(fn);
    benchmark::DoNotOptimize(arg);
  }
  PN_ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_SetCallback_openssl(benchmark::State& state) {
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  for (auto _ : state)
    benchmark::DoNotOptimize(ASYNC_WAIT_CTX_set_callback(ctx, noop_callback, ctx));
  ASYNC_WAIT_CTX_free(ctx);
}

void BM_WaitCtx_SetCallback_pollnotify(benchmark::State& state) {
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  for (auto _ : state)
    benchmark::DoNotOptimize(PN_ASYNC_WAIT_CTX_set_callback(ctx, noop_callback, ctx));
  PN_ASYNC_WAIT_CTX_free(ctx);
}

// Names follow BM_<Component>_<Scenario>/<peer>.
const bool registered = [] {
  benchmark::RegisterBenchmark("BM_WaitCtx_SetStatus/openssl", BM_WaitCtx_SetStatus_openssl);
  benchmark::RegisterBenchmark("BM_WaitCtx_SetStatus/pollnotify", BM_WaitCtx_SetStatus_pollnotify);
  benchmark::RegisterBenchmark("BM_WaitCtx_GetStatus/openssl", BM_WaitCtx_GetStatus_openssl);
  benchmark::RegisterBenchmark("BM_WaitCtx_GetStatus/pollnotify", BM_WaitCtx_GetStatus_pollnotify);
  benchmark::RegisterBenchmark("BM_WaitCtx_GetCallback/openssl", BM_WaitCtx_GetCallback_openssl);
  benchmark::RegisterBenchmark("BM_WaitCtx_GetCallback/pollnotify",
                               BM_WaitCtx_GetCallback_pollnotify);
  benchmark::RegisterBenchmark("BM_WaitCtx_SetCallback/openssl", BM_WaitCtx_SetCallback_openssl);
  benchmark::RegisterBenchmark("BM_WaitCtx_SetCallback/pollnotify",
                               BM_WaitCtx_SetCallback_pollnotify);
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return pn::bench::run_benchmarks(argc, argv, 0); }
