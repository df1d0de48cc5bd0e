// A oneTBB flow graph whose middle node offloads each message to the simulated device: the
// node's body suspends its task until the completion (the worker runs other nodes meanwhile),
// then passes on the device's answer. source -> offload (64 at once) -> sum. The node's
// concurrency bounds the suspended tasks, and the graph lives in an offload_arena whose coroutine
// cache holds that many (docs/tbb.md).
#include <oneapi/tbb/flow_graph.h>

#include <cstdio>

#include "pollnotify/sim_runtime.hpp"
#include "pollnotify/tbb.hpp"

int main() {
  constexpr int kMessages = 10'000;
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  pn::SimRuntime runtime(options);
  runtime.start();

  constexpr int kInFlight = 64;
  namespace flow = oneapi::tbb::flow;
  long long sum = 0;
  int failures = 0;
  pn::tbb::offload_arena(2, kInFlight).execute([&] {
    flow::graph graph;
    int next = 0;
    flow::input_node<int> source(graph, [&](oneapi::tbb::flow_control& control) {
      if (next == kMessages) control.stop();
      return next++;
    });
    flow::function_node<int, int> offload(graph, kInFlight, [&](int message) {
      const pn::tbb::OffloadResult result =
          pn::tbb::offload(runtime.device(), static_cast<std::uint64_t>(message));
      return result.status == PN_ASYNC_STATUS_OK ? message : -1;
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
