// A oneTBB flow graph whose middle node offloads each message to the simulated device:
// pn::tbb::offload_node, an async_node whose body submits and returns, and whose completion
// (on the poller thread) puts the device's answer through the node's gateway. No task waits for
// the device. source -> offload -> sum; the node keeps 64 requests in flight (the device's
// capacity) and holds the rest until earlier ones finish, so none is refused.
#include <oneapi/tbb/flow_graph.h>

#include <cstdio>

#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/tbb.hpp"

int main() {
  constexpr int kMessages = 10'000;
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  options.device.instances[0].capacity = 64;
  pn::SimRuntime runtime(options);
  runtime.start();

  namespace flow = oneapi::tbb::flow;
  long long sum = 0;
  int failures = 0;
  oneapi::tbb::task_arena(2).execute([&] {
    flow::graph graph;
    int next = 0;
    flow::input_node<int> source(graph, [&](oneapi::tbb::flow_control& control) {
      if (next == kMessages) control.stop();
      return next++;
    });
    pn::tbb::offload_node<int, int> offload(
        graph, runtime.device(), /*max_in_flight=*/64,
        [](int message) { return static_cast<std::uint64_t>(message); },
        [](const pn::tbb::OffloadResult& result) {
          return result.submit == pn::SubmitResult::kAccepted && result.status == PN_ASYNC_STATUS_OK
                     ? static_cast<int>(result.user_data)
                     : -1;
        });
    flow::function_node<int> collect(graph, flow::serial, [&](int message) {
      if (message < 0) {
        ++failures;
      } else {
        sum += message;
      }
    });
    flow::make_edge(source, offload);
    flow::make_edge(offload, collect);
    source.activate();
    graph.wait_for_all();
  });
  runtime.stop();

  const long long expected = static_cast<long long>(kMessages) * (kMessages - 1) / 2;
  std::printf("tbb_flow_graph: %d messages offloaded, sum %lld (expected %lld), %d failures\n",
              kMessages, sum, expected, failures);
  return sum == expected && failures == 0 ? 0 : 1;
}
