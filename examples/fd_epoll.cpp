// The same offload in OpenSSL's fd mode: no callback; each context gets an eventfd that the
// poller makes readable, and the application waits for many contexts with one epoll.
#include <sys/epoll.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "pollnotify/fd_bridge.hpp"
#include "pollnotify/sim_runtime.hpp"

int main() {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  pn::SimRuntime runtime(options);
  runtime.start();

  constexpr int kContexts = 32, kRounds = 100;
  static const int engine_key = 0;  // the key an engine would pass to ASYNC_WAIT_CTX_set_wait_fd
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<pn::WaitCtxPtr> contexts;
  for (int i = 0; i < kContexts; ++i) {
    contexts.push_back(pn::WaitCtx::make());
    const pn::AsyncFd fd = pn::attach_notify_eventfd(*contexts.back(), &engine_key);
    epoll_event interest{};
    interest.events = EPOLLIN;
    interest.data.u32 = static_cast<std::uint32_t>(i);
    if (fd < 0 || ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &interest) != 0) return 1;
  }
  int completed = 0, outstanding = 0;
  std::vector<int> rounds_left(kContexts, kRounds);
  const auto submit = [&](int i) {
    while (runtime.submit(*contexts[i], static_cast<std::uint64_t>(i)) ==
           pn::SubmitResult::kRetry) {
    }
    ++outstanding;
  };
  for (int i = 0; i < kContexts; ++i) submit(i);
  while (outstanding != 0) {
    epoll_event ready[kContexts];
    const int count = ::epoll_wait(epoll, ready, kContexts, 1000);
    for (int e = 0; e < count; ++e) {
      const int i = static_cast<int>(ready[e].data.u32);
      pn::AsyncFd fd = pn::kBadAsyncFd;
      void* unused = nullptr;
      (void)contexts[i]->get_fd(&engine_key, &fd, &unused);
      if (!pn::consume_notify_eventfd(fd)) continue;
      --outstanding;
      completed += contexts[i]->status() == PN_ASYNC_STATUS_OK;
      if (--rounds_left[i] > 0) submit(i);
    }
  }
  runtime.stop();
  ::close(epoll);
  std::printf("fd mode: %d completions seen through epoll on %d eventfds\n", completed, kContexts);
  return completed == kContexts * kRounds ? 0 : 1;
}
