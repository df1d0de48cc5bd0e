// 100 000 items, each offloaded to the simulated device (exponential latency, mean 5 us, 64
// requests in flight at most) from a two-thread arena in continuation style: parallel_offload
// keeps 64 requests in flight, and each completion runs its item's result handler as a TBB task
// that submits the lane's next item. No task waits for the device and none is suspended.
// Checks that every item got its own completion back.
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/tbb.hpp"

int main() {
  constexpr int kItems = 100'000;
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  options.device.instances[0].capacity = 64;
  pn::SimRuntime runtime(options);
  runtime.start();

  std::atomic<int> ok{0};
  const auto start = std::chrono::steady_clock::now();
  constexpr int kInFlight = 64;
  oneapi::tbb::task_arena(2).execute([&] {
    pn::tbb::parallel_offload(
        runtime.device(), 0, kItems, kInFlight, [](int item) { return item; },
        [&](int item, const pn::tbb::OffloadResult& result) {
          if (result.submit == pn::SubmitResult::kAccepted && result.status == PN_ASYNC_STATUS_OK &&
              result.user_data == static_cast<std::uint64_t>(item)) {
            ok.fetch_add(1, std::memory_order_relaxed);  // read after the join
          }
        });
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  runtime.stop();
  std::printf("tbb_parallel_for: %d of %d items offloaded, %.0f offloads/s\n", ok.load(), kItems,
              kItems / seconds);
  return ok.load() == kItems ? 0 : 1;
}
