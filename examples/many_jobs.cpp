// An application thread driving many jobs: each job offloads several requests; the poller's
// callbacks put ready jobs into the driver's queue and the application thread resumes them.
#include <chrono>
#include <cstdio>

#include "pollnotify/job_driver.hpp"
#include "pollnotify/sim_runtime.hpp"

namespace {

struct Work {
  pn::SimRuntime* runtime;
  int requests;
};

int job(void* raw) {
  const Work work = *static_cast<Work*>(raw);
  int completed = 0;
  for (int i = 0; i < work.requests; ++i) {
    // Submit and pause until the callback; after EAGAIN pause for the driver's retry.
    if (pn::offload_in_job(work.runtime->device(), static_cast<std::uint64_t>(i)) !=
        pn::SubmitResult::kAccepted)
      break;
    completed += pn::jobs::wait_ctx(pn::jobs::current())->status() == PN_ASYNC_STATUS_OK;
  }
  return completed;
}

}  // namespace

int main() {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kAdaptive;
  options.device.instances[0].latency = pn::LatencyModel::parse("exp:5000");
  options.device.instances[0].capacity = 64;
  pn::SimRuntime runtime(options);
  runtime.start();

  constexpr int kJobs = 256, kRequests = 100;
  pn::JobDriver driver(kJobs);
  const Work work{&runtime, kRequests};
  const auto start = std::chrono::steady_clock::now();
  for (int j = 0; j < kJobs; ++j) (void)driver.start(job, &work, sizeof work);
  driver.run_until_idle();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  runtime.stop();
  const pn::RuntimeStats stats = runtime.stats();
  std::printf(
      "%d jobs x %d requests: %lld completed in %.3f s (%.0f requests/s); %llu EAGAIN retries\n",
      kJobs, kRequests, static_cast<long long>(driver.result_sum()), seconds,
      static_cast<double>(driver.result_sum()) / seconds,
      static_cast<unsigned long long>(stats.device.refused_full));
  pn::jobs::cleanup_thread();
  return driver.result_sum() == kJobs * kRequests ? 0 : 1;
}
