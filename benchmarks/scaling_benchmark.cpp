// How pollnotify's driver path scales with cores: a grid of submitting threads x pollers x
// devices, every thread pinned, registered from the CPUs this process may use (so the same
// command measures a 2-CPU machine and a 64-CPU one). scripts/scaling.sh runs it and plots it.
//
// BM_Scaling/threads:T/pollers:P/devices:D: D simulated device instances (kPolled, fixed 0 ns:
// every request goes through its submitting thread's channel, the instance's poll and a
// completion ring), instance d polled by poller d % P; submitting thread t submits to instance
// t % D and keeps 32 requests in flight, each completion callback counting into that thread's
// own line. Pollers busy-poll on CPUs 0..P-1, submitters run on CPUs P..P+T-1. Items: requests
// completed, all threads together, per second of wall time.
//
// What should scale (docs/benchmarks.md): each submitting thread writes only its own channel and
// counter lines, each poller only its own rings; the only lines that cross cores are a channel's
// tail (submitter -> poller), its credits (poller -> submitter) and the completion itself.
#include <benchmark/benchmark.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/sim_device.hpp"
#include "pollnotify/wait_ctx.hpp"

namespace {

constexpr int kInFlight = 32;
constexpr std::uint64_t kPerThread = 200'000;

struct alignas(128) ThreadCount {
  std::atomic<std::uint64_t> done{0};
};

int count_completion(void* arg, const PN_COMPLETION*) {
  auto& count = *static_cast<ThreadCount*>(arg);
  // BSC-R1: one writer per count (the instance's poller); pairs with BSC-A1.
  count.done.store(count.done.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  return 1;
}

void BM_Scaling(benchmark::State& state) {
  const auto threads = static_cast<int>(state.range(0));
  const auto pollers = static_cast<int>(state.range(1));
  const auto devices = static_cast<int>(state.range(2));
  std::vector<std::unique_ptr<pn::Poller>> owned_pollers;
  std::vector<pn::Poller*> poller_list;
  for (int p = 0; p < pollers; ++p) {
    pn::PollerOptions options;
    options.policy = pn::PollPolicy::kBusy;
    options.cpu = p;
    owned_pollers.push_back(std::make_unique<pn::Poller>(options));
    poller_list.push_back(owned_pollers.back().get());
  }
  pn::SimDeviceOptions options;
  options.instances.assign(static_cast<std::size_t>(devices), pn::DeviceInstanceOptions{});
  for (auto& instance : options.instances) {
    instance.latency.kind = pn::LatencyKind::kFixed;  // 0 ns, but through the poll source
    instance.capacity = kInFlight;
  }
  pn::SimDevice device(options, poller_list);
  for (auto& poller : owned_pollers) poller->start();
  std::vector<ThreadCount> counts(static_cast<std::size_t>(threads));
  for (auto _ : state) {
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t) {
      submitters.emplace_back([&, t] {
        pn::bench::pin_this_thread(pollers + t);
        ThreadCount& count = counts[static_cast<std::size_t>(t)];
        std::vector<pn::WaitCtxPtr> contexts;
        for (int i = 0; i < kInFlight; ++i) {
          contexts.push_back(pn::WaitCtx::make());
          contexts.back()->set_completion_callback(count_completion, &count);
        }
        const std::uint64_t start = count.done.load(std::memory_order_relaxed);  // its own
        const auto instance = static_cast<std::size_t>(t % devices);
        std::uint64_t sent = 0;
        for (;;) {
          // BSC-A1: pairs with BSC-R1.
          const std::uint64_t done = count.done.load(std::memory_order_acquire) - start;
          if (done >= kPerThread) break;
          if (sent < kPerThread && sent - done < kInFlight) {
            pn::WaitCtx& ctx = *contexts[sent % kInFlight];
            if (device.submit(instance, ctx, sent) == pn::SubmitResult::kAccepted) ++sent;
          }
        }
      });
    }
    for (std::thread& submitter : submitters) submitter.join();
  }
  for (auto& poller : owned_pollers) poller->stop();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * threads *
                          static_cast<std::int64_t>(kPerThread));
  state.counters["threads"] = threads;
  state.counters["pollers"] = pollers;
  state.counters["devices"] = devices;
}

// Every grid point that fits the CPUs: T + P <= CPUs, P and D powers of two with D >= P.
void register_grid() {
  cpu_set_t usable;
  CPU_ZERO(&usable);
  const int cpus = sched_getaffinity(0, sizeof usable, &usable) == 0 ? CPU_COUNT(&usable) : 2;
  for (int pollers = 1; pollers < std::max(2, cpus); pollers *= 2) {
    for (int threads = 1; threads + pollers <= std::max(2, cpus); threads *= 2) {
      for (int devices = pollers; devices <= std::max(pollers, threads); devices *= 2) {
        benchmark::RegisterBenchmark("BM_Scaling", BM_Scaling)
            ->Args({threads, pollers, devices})
            ->ArgNames({"threads", "pollers", "devices"})
            ->UseRealTime()
            ->MeasureProcessCPUTime();
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_grid();
  return pn::bench::run_benchmarks(argc, argv, -1);
}
