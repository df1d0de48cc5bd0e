// Offloading from oneTBB tasks: 20 000 offloads to a device with 5 us exponential latency and at
// most 64 requests in flight, from an arena of 2 threads, six ways:
//   continuation  pn::tbb::parallel_offload (64 lanes): each completion enqueues its
//               continuation as a task (deferred task handle), which submits the lane's next
//               item; no task waits or suspends; an adaptive poller thread
//   async_node  a flow graph input_node -> pn::tbb::offload_node -> a serial sink; the
//               completion puts the result through the node's gateway
//   suspend     pn::tbb::offload in pn::tbb::parallel_window (64 tasks), in an offload_arena:
//               the task suspends, its thread runs other tasks; an adaptive poller thread
//   suspend_poll_in_arena   the same with no poller thread: a task of the arena polls
//               (pn::tbb::poll_until), so the 2 CPUs are not shared with a third busy thread
//   blocking    a parallel_for whose tasks submit, then sleep on a futex (std::atomic::wait)
//               until the completion callback (adaptive poller thread) wakes them
//   busy_wait   the same, spinning on the flag instead of sleeping
// Throughput is offloads/s. The "+fillers" variants also keep two chains of 1 us compute tasks
// enqueued in the same arena while the offloads go on: fillers_per_s is the thread time the
// waiting style left to other work. BM_TbbSuspendResume is oneTBB's own suspend + resume, the
// cost every suspended offload pays at least once, measured in the same run.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <time.h>

#include <atomic>
#include <chrono>

#include "bench_util.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/tbb.hpp"

namespace {

constexpr int kOffloads = 20'000;
constexpr int kInFlight = 64;
constexpr int kThreads = 2;

pn::SimRuntimeOptions device_options(pn::PollPolicy policy) {
  pn::SimRuntimeOptions options;
  options.poller.policy = policy;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  options.device.instances[0].capacity = kInFlight;
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

enum class Style { kContinuation, kAsyncNode, kSuspend, kSuspendPollInArena, kBlocking, kBusyWait };

// The flow graph of the async_node style: source -> offload_node (64 in flight) -> a serial sink.
void offload_through_a_graph(pn::Device& device) {
  namespace flow = oneapi::tbb::flow;
  flow::graph graph;
  int next = 0;
  flow::input_node<int> source(graph, [&](oneapi::tbb::flow_control& control) {
    if (next == kOffloads) control.stop();
    return next++;
  });
  pn::tbb::offload_node<int, int> offload(
      graph, device, kInFlight, [](int item) { return static_cast<std::uint64_t>(item); },
      [](const pn::tbb::OffloadResult& result) { return static_cast<int>(result.user_data); });
  long long sum = 0;
  flow::function_node<int> sink(graph, flow::serial, [&](int item) { sum += item; });
  flow::make_edge(source, offload);
  flow::make_edge(offload, sink);
  source.activate();
  graph.wait_for_all();
  benchmark::DoNotOptimize(sum);
}

// All offloads, in the calling arena.
void offload_all(Style style, pn::SimRuntime& runtime) {
  pn::Device& device = runtime.device();
  if (style == Style::kContinuation) {
    pn::tbb::parallel_offload(
        device, 0, kOffloads, kInFlight, [](int item) { return item; },
        [](int, const pn::tbb::OffloadResult& result) { benchmark::DoNotOptimize(result); });
    return;
  }
  if (style == Style::kAsyncNode) {
    offload_through_a_graph(device);
    return;
  }
  if (style == Style::kSuspend) {
    pn::tbb::parallel_window(0, kOffloads, kInFlight,
                             [&](int item) { (void)pn::tbb::offload(device, item); });
    return;
  }
  if (style == Style::kSuspendPollInArena) {
    // No poller thread: a task of the arena polls, yielding between empty polls.
    std::atomic<bool> done{false};
    oneapi::tbb::task_group group;
    group.run([&] {
      // BTBB-A3: pairs with BTBB-R3 (a stop flag; the group's wait orders the rest).
      pn::tbb::poll_until(runtime.poller(0), [&] { return done.load(std::memory_order_acquire); });
    });
    pn::tbb::parallel_window(0, kOffloads, kInFlight,
                             [&](int item) { (void)pn::tbb::offload(device, item); });
    done.store(true, std::memory_order_release);  // BTBB-R3: pairs with BTBB-A3
    group.wait();
    return;
  }
  oneapi::tbb::parallel_for(
      oneapi::tbb::blocked_range<int>(0, kOffloads, 1),
      [&](const oneapi::tbb::blocked_range<int>&) {
        style == Style::kBlocking ? offload_and_wait<true>(device)
                                  : offload_and_wait<false>(device);
      },
      oneapi::tbb::simple_partitioner());
}

double process_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// 1 us of compute, the other work the threads could do.
void filler_work() {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(1);
  while (std::chrono::steady_clock::now() < until) pn::internal::cpu_relax();
}

// Chains of filler tasks, enqueued to the offloading arena: oneTBB runs enqueued tasks when a
// thread has nothing else to do (spawned tasks, resumed tasks and steals come first), so the
// fillers measure the thread time the waiting style left over without starving the offloads.
// Each filler runs 1 us of work and enqueues the next while the offloads go on.
struct Fillers {
  oneapi::tbb::task_arena& arena;
  std::atomic<bool> offloading{true};
  std::atomic<std::uint64_t> done{0};
  std::atomic<int> chains{0};
  void start(int count) {
    chains.store(count, std::memory_order_relaxed);
    for (int i = 0; i < count; ++i) arena.enqueue([this] { step(); });
  }
  void step() {
    filler_work();
    done.fetch_add(1, std::memory_order_relaxed);      // relaxed: read after the chains ended
    if (offloading.load(std::memory_order_relaxed)) {  // relaxed: a stop flag
      arena.enqueue([this] { step(); });
    } else {
      chains.fetch_sub(1, std::memory_order_release);  // BTBB-R2: pairs with BTBB-A2
    }
  }
  // After the offloads: stops the chains and waits until the last filler has run.
  void finish() {
    offloading.store(false, std::memory_order_relaxed);
    // BTBB-A2: the chains are over before this object goes out of scope.
    while (chains.load(std::memory_order_acquire) != 0) {
      arena.execute([] {});  // lends this thread to the arena while the chains drain
    }
  }
};

void run(benchmark::State& state, Style style, bool with_fillers) {
  pn::SimRuntime runtime(device_options(
      style == Style::kSuspendPollInArena ? pn::PollPolicy::kExternal : pn::PollPolicy::kAdaptive));
  runtime.start();
  // The suspending styles need room for 64 suspended tasks in TBB's coroutine cache; the others
  // never suspend.
  const bool suspends = style == Style::kSuspend || style == Style::kSuspendPollInArena;
  oneapi::tbb::task_arena arena = suspends ? pn::tbb::offload_arena(kThreads, kInFlight + 1)
                                           : oneapi::tbb::task_arena(kThreads);
  std::uint64_t fillers = 0;
  double seconds = 0;
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    Fillers filler_chains{arena};
    const auto start = std::chrono::steady_clock::now();
    if (with_fillers) filler_chains.start(kThreads);
    arena.execute([&] { offload_all(style, runtime); });
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    filler_chains.finish();
    fillers += filler_chains.done.load(std::memory_order_relaxed);
  }
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  runtime.stop();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kOffloads);
  // Every thread's CPU time (arena threads, poller, fillers) per offload.
  state.counters["cpu_ns_per_offload"] =
      cpu_seconds * 1e9 / (static_cast<double>(state.iterations()) * kOffloads);
  if (with_fillers) state.counters["fillers_per_s"] = static_cast<double>(fillers) / seconds;
}

// oneTBB's suspend and resume of one task by itself: the least a suspended offload costs.
void BM_TbbSuspendResume(benchmark::State& state) {
  oneapi::tbb::task_arena arena(1);
  arena.execute([&] {
    oneapi::tbb::task_group group;
    group.run([&] {
      for (auto _ : state) {
        oneapi::tbb::task::suspend(
            [](oneapi::tbb::task::suspend_point point) { oneapi::tbb::task::resume(point); });
      }
    });
    group.wait();
  });
}
BENCHMARK(BM_TbbSuspendResume);

const bool registered = [] {
  const struct {
    const char* name;
    Style style;
  } styles[] = {
      {"continuation", Style::kContinuation}, {"async_node", Style::kAsyncNode},
      {"suspend", Style::kSuspend},           {"suspend_poll_in_arena", Style::kSuspendPollInArena},
      {"blocking", Style::kBlocking},         {"busy_wait", Style::kBusyWait}};
  for (const auto& entry : styles) {
    for (bool with_fillers : {false, true}) {
      const std::string name =
          std::string("BM_TbbOffload/") + entry.name + (with_fillers ? "+fillers" : "");
      benchmark::RegisterBenchmark(name.c_str(),
                                   [style = entry.style, with_fillers](benchmark::State& state) {
                                     run(state, style, with_fillers);
                                   })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.5);
    }
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return pn::bench::run_benchmarks(argc, argv, -1); }
