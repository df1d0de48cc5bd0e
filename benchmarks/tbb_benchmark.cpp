// Offloading from oneTBB tasks: a parallel_for of offloads to a device with 5 us exponential
// latency and at most 64 requests in flight, on 2 worker threads, three ways:
//   suspend     pn::tbb::offload: the task suspends, the worker runs other tasks
//   blocking    the task submits, then sleeps on a futex (std::atomic::wait) until the callback
//   busy_wait   the task submits, then spins on a flag the callback sets
// Throughput is offloads/s. While it runs, a low-priority arena keeps 1 us compute tasks queued:
// TBB's workers take them only when the offloading arena has nothing to run, so fillers_per_s
// measures the worker time the offloading left to other work.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <chrono>
#include <functional>

#include "bench_util.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/tbb.hpp"

namespace {

constexpr int kOffloads = 20'000;

pn::SimRuntimeOptions device_options() {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  options.device.instances[0].capacity = 64;
  return options;
}

// The waiting styles compared with suspend/resume: each waits for its own completion flag.
struct Waiter {
  std::atomic<std::uint32_t> done{0};
};

int mark_done(void* arg) {
  auto* waiter = static_cast<Waiter*>(arg);
  waiter->done.store(1, std::memory_order_release);  // BTBB-R1: pairs with BTBB-A1
  waiter->done.notify_one();
  return 1;
}

template <bool kBlock>
void offload_and_wait(pn::Device& device) {
  Waiter waiter;
  const pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  ctx->set_callback(mark_done, &waiter);
  while (device.submit(*ctx, 0) != pn::SubmitResult::kAccepted) pn::internal::cpu_relax();
  // BTBB-A1: pairs with BTBB-R1.
  while (waiter.done.load(std::memory_order_acquire) == 0) {
    if constexpr (kBlock) {
      waiter.done.wait(0, std::memory_order_acquire);  // BTBB-A1
    } else {
      pn::internal::cpu_relax();
    }
  }
}

// 1 us of compute, the other work the workers could do.
void filler_work() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(1);
  while (std::chrono::steady_clock::now() < until) pn::internal::cpu_relax();
}

template <class Offload>
void run(benchmark::State& state, Offload offload) {
  pn::SimRuntime runtime(device_options());
  runtime.start();
  oneapi::tbb::task_arena arena(2);
  oneapi::tbb::task_arena other_work(2, 0, oneapi::tbb::task_arena::priority::low);
  std::uint64_t fillers = 0;
  double seconds = 0;
  for (auto _ : state) {
    std::atomic<bool> offloading{true};
    std::atomic<std::uint64_t> filled{0};
    std::atomic<int> queued{0};
    // One filler queued at a time while the offloads run (relaxed: counters and a flag).
    std::function<void()> fill = [&] {
      filler_work();
      filled.fetch_add(1, std::memory_order_relaxed);
      if (offloading.load(std::memory_order_relaxed)) {
        other_work.enqueue(fill);
      } else {
        queued.fetch_sub(1, std::memory_order_release);  // BTBB-R2: pairs with BTBB-A2
      }
    };
    queued.store(1, std::memory_order_relaxed);
    other_work.enqueue(fill);
    const auto start = std::chrono::steady_clock::now();
    arena.execute([&] {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<int>(0, kOffloads, 1),
          [&](const oneapi::tbb::blocked_range<int>&) { offload(runtime.device()); },
          oneapi::tbb::simple_partitioner());
    });
    offloading.store(false, std::memory_order_relaxed);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // BTBB-A2: the filler chain has ended before `fill` goes out of scope.
    while (queued.load(std::memory_order_acquire) != 0) {
      other_work.execute([] {});  // lends this thread to the low-priority arena if it needs one
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fillers += filled.load(std::memory_order_relaxed);
  }
  runtime.stop();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kOffloads);
  state.counters["fillers_per_s"] = static_cast<double>(fillers) / seconds;
}

void BM_TbbOffload_suspend(benchmark::State& state) {
  run(state, [](pn::Device& device) { (void)pn::tbb::offload(device, 0); });
}
void BM_TbbOffload_blocking(benchmark::State& state) {
  run(state, [](pn::Device& device) { offload_and_wait<true>(device); });
}
void BM_TbbOffload_busy_wait(benchmark::State& state) {
  run(state, [](pn::Device& device) { offload_and_wait<false>(device); });
}

const bool registered = [] {
  for (auto* b :
       {benchmark::RegisterBenchmark("BM_TbbOffload/suspend", BM_TbbOffload_suspend),
        benchmark::RegisterBenchmark("BM_TbbOffload/blocking", BM_TbbOffload_blocking),
        benchmark::RegisterBenchmark("BM_TbbOffload/busy_wait", BM_TbbOffload_busy_wait)}) {
    b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return pn::bench::run_benchmarks(argc, argv, -1); }
