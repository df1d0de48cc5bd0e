// The simulated device's limits: latencies beyond the hour, trace files, engines beyond
// capacity, and a zero-latency device bounded by the completion ring.
#include <gtest/gtest.h>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pollnotify/sim_runtime.hpp"
#include "test_support.hpp"

namespace {

using pn::test::count_callback;

TEST(SimLatency, ValuesBeyondTheLimitAreRejected) {
  EXPECT_THROW(pn::LatencyModel::parse("fixed:1e300"), std::invalid_argument);
  EXPECT_THROW(pn::LatencyModel::parse("uniform:0:1e300"), std::invalid_argument);
  EXPECT_THROW(pn::LatencyModel::parse("exp:1e300"), std::invalid_argument);
  EXPECT_THROW(pn::LatencyModel::parse("lognormal:1000:1e6"), std::invalid_argument);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(SimLatency, TraceFilesCrlfHugeValuesAndDirectories) {
  const auto crlf = pn::LatencyModel::parse("trace:" + write_temp("crlf.trace", "100\r\n200\r\n"));
  EXPECT_EQ(crlf.trace, (std::vector<std::uint64_t>{100, 200}));
  try {
    (void)pn::LatencyModel::parse("trace:" + write_temp("huge.trace", "18446744073709551615\n"));
    ADD_FAILURE() << "a latency beyond the limit was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("line 1"), std::string::npos) << error.what();
  }
  try {
    (void)pn::LatencyModel::parse("trace:/tmp");
    ADD_FAILURE() << "a directory was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("directory"), std::string::npos) << error.what();
  }
}

TEST(SimLimits, EnginesBeyondCapacityAreRejected) {
  pn::PollerOptions external;
  external.policy = pn::PollPolicy::kExternal;
  pn::Poller poller(external);
  pn::Poller* pollers[] = {&poller};
  pn::SimDeviceOptions options;
  options.instances[0].latency = pn::LatencyModel::parse("fixed:10");
  options.instances[0].capacity = 16;
  options.instances[0].engines = SIZE_MAX;
  try {
    pn::SimDevice device(options, pollers);
    ADD_FAILURE() << "engines above capacity accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("engines"), std::string::npos) << error.what();
  }
}

// A decision, documented in docs/reliability.md: capacity bounds what the device holds, and a
// zero-latency device holds nothing (it completes at submission). What waits for the poller is
// bounded by the submitting thread's completion ring: refused with EAGAIN when full, none lost.
TEST(SimLimits, ZeroLatencyDeviceIsBoundedByTheCompletionRing) {
  pn::SimRuntimeOptions options;
  options.poller.policy = pn::PollPolicy::kExternal;
  options.poller.default_ring_capacity = 64;
  options.device.instances[0].capacity = 1;
  pn::SimRuntime runtime(options);
  std::atomic<int> calls{0};
  auto ctx = pn::WaitCtx::make();
  ctx->set_callback(count_callback, &calls);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    const pn::SubmitResult result = runtime.submit(*ctx);
    accepted += result == pn::SubmitResult::kAccepted;
    refused += result == pn::SubmitResult::kRetry;
  }
  EXPECT_EQ(accepted, 64);
  EXPECT_EQ(refused, 36);
  while (runtime.poll_once() != 0) {
  }
  EXPECT_EQ(calls.load(std::memory_order_relaxed), 64);
  EXPECT_EQ(runtime.submit(*ctx), pn::SubmitResult::kAccepted) << "delivered: room again";
  EXPECT_EQ(runtime.poll_once(), 1U);
}

}  // namespace
