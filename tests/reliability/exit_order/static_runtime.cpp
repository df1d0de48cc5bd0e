// A runtime and a poller at namespace scope, used and left running: their destructors run from
// exit handlers, after the main thread's thread_local ring cache and in any order with other
// statics. Under ASan this checks no destructor touches freed memory (the live-poller registry
// once was destroyed first).
#include <atomic>
#include <cstdio>
#include <thread>

#include "pollnotify/poller.hpp"
#include "pollnotify/sim_runtime.hpp"

namespace {

pn::SimRuntime runtime_at_namespace_scope{[] {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("fixed:1000");
  return options;
}()};

pn::Poller poller_at_namespace_scope{[] {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kBusy;
  return options;
}()};

std::atomic<int> calls{0};

int count(void*) {
  calls.fetch_add(1, std::memory_order_relaxed);  // relaxed: read after the deliveries below
  return 1;
}

}  // namespace

int main() {
  if (!runtime_at_namespace_scope.start() || !poller_at_namespace_scope.start()) return 1;
  static auto ctx = pn::WaitCtx::make();  // outlives the runtime: destroyed after it
  ctx->set_callback(count, nullptr);
  for (int i = 0; i < 100; ++i) {
    while (runtime_at_namespace_scope.submit(*ctx) != pn::SubmitResult::kAccepted) {
    }
  }
  // Rings taken by this thread and by one that has already exited.
  std::thread([] {
    while (!poller_at_namespace_scope.thread_ring().try_push(
        pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_OK})) {
    }
  }).join();
  while (!poller_at_namespace_scope.thread_ring().try_push(
      pn::Completion{ctx.get(), 0, ctx->arm(), PN_ASYNC_STATUS_OK})) {
  }
  std::puts("exiting with the runtime and the poller still running");
  return 0;  // no stop(): the static destructors deliver or cancel what is left
}
