// The OpenSSL provider, driven through libcrypto's own API: synchronous digests, and thousands of
// digests in OpenSSL async jobs notified by callback (the way an async-aware proxy does it) and by
// wait fd, every result checked against the default provider's SHA-256.
#include <gtest/gtest.h>
#include <openssl/async.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "pollnotify/mpsc_queue.hpp"
#include "provider_under_test.hpp"

namespace {

class Provider : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NO_FATAL_FAILURE(providers_.load());
    offloaded_ = EVP_MD_fetch(providers_.context, "SHA2-256", "provider=pollnotify");
    software_ = EVP_MD_fetch(providers_.context, "SHA2-256", "provider=default");
    ASSERT_NE(offloaded_, nullptr);
    ASSERT_NE(software_, nullptr);
  }
  static void TearDownTestSuite() {
    EVP_MD_free(offloaded_);
    EVP_MD_free(software_);
    providers_.unload();
  }

  using Digest = std::array<unsigned char, 32>;
  static bool digest(const EVP_MD* md, const std::vector<unsigned char>& data, Digest& out) {
    unsigned int size = 0;
    return EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) == 1 && size == 32;
  }

  static inline ProviderUnderTest providers_;
  static inline EVP_MD* offloaded_ = nullptr;
  static inline EVP_MD* software_ = nullptr;
};

std::vector<unsigned char> random_bytes(std::mt19937& rng, std::size_t size) {
  std::vector<unsigned char> data(size);
  for (auto& byte : data) byte = static_cast<unsigned char>(rng());
  return data;
}

// The provider's digest-by-driver counter (OSSL_PROVIDER_get_params).
std::uint64_t digests_by_driver(OSSL_PROVIDER* provider) {
  std::uint64_t value = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_uint64("pollnotify-digest-by-driver", &value),
                         OSSL_PARAM_END};
  EXPECT_EQ(OSSL_PROVIDER_get_params(provider, params), 1);
  return value;
}

// Every size equals libcrypto's; on a driver, the messages it can hash in one op are its own.
TEST_F(Provider, SynchronousDigestsMatchSoftware) {
  const char* device = std::getenv("PN_PROVIDER_DEVICE");
  const bool on_driver = device != nullptr && std::string(device).rfind("cryptodev:", 0) == 0;
  const std::uint64_t before = digests_by_driver(providers_.pollnotify);
  std::mt19937 rng(1);
  std::uint64_t driver_sized = 0;
  for (std::size_t size : {0, 1, 55, 56, 63, 64, 65, 1000, 65'535, 65'536, 100'000}) {
    const auto data = random_bytes(rng, size);
    Digest expected{}, actual{};
    ASSERT_TRUE(digest(software_, data, expected));
    ASSERT_TRUE(digest(offloaded_, data, actual)) << size;
    EXPECT_EQ(actual, expected) << "size " << size;
    if (size <= 65'535) ++driver_sized;
  }
  EXPECT_EQ(digests_by_driver(providers_.pollnotify) - before, on_driver ? driver_sized : 0U);
}

// Many updates, crossing the 65 535 bytes a cryptodev driver hashes in one op (past it the
// provider hands the message to libcrypto): the digest is the same either way.
TEST_F(Provider, StreamedUpdatesAcrossTheDeviceLimit) {
  std::mt19937 rng(2);
  const auto data = random_bytes(rng, 100'000);
  for (std::size_t chunk : {1'000, 20'000, 65'535}) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ASSERT_EQ(EVP_DigestInit_ex(ctx, offloaded_, nullptr), 1);
    for (std::size_t at = 0; at < data.size(); at += chunk) {
      ASSERT_EQ(EVP_DigestUpdate(ctx, data.data() + at, std::min(chunk, data.size() - at)), 1);
    }
    Digest actual{}, expected{};
    unsigned int size = 0;
    ASSERT_EQ(EVP_DigestFinal_ex(ctx, actual.data(), &size), 1);
    EVP_MD_CTX_free(ctx);
    ASSERT_TRUE(digest(software_, data, expected));
    EXPECT_EQ(actual, expected) << "chunks of " << chunk;
  }
}

struct JobWork {
  const EVP_MD* md;
  const std::vector<std::vector<unsigned char>>* inputs;
  std::vector<std::array<unsigned char, 32>>* outputs;
  std::size_t first, count;
  std::size_t completed =
      0;  // digests this job has finished (the application reads it between resumes)
};

int digest_job(void* raw) {
  JobWork& work = **static_cast<JobWork**>(raw);
  for (std::size_t i = work.first; i < work.first + work.count; ++i) {
    unsigned int size = 0;
    const auto& input = (*work.inputs)[i];
    if (EVP_Digest(input.data(), input.size(), (*work.outputs)[i].data(), &size, work.md,
                   nullptr) != 1)
      return 0;
    ++work.completed;
  }
  return 1;
}

enum class Mode { kCallback, kFd };

// Runs `jobs` OpenSSL jobs, each computing `per_job` digests through the provider.
void run_async(Mode mode, const EVP_MD* offloaded, const EVP_MD* software, std::size_t jobs,
               std::size_t per_job) {
  std::mt19937 rng(7);
  std::vector<std::vector<unsigned char>> inputs;
  for (std::size_t i = 0; i < jobs * per_job; ++i)
    inputs.push_back(random_bytes(rng, 1 + rng() % 300));
  std::vector<std::array<unsigned char, 32>> outputs(inputs.size());
  struct Slot {
    ASYNC_JOB* job = nullptr;
    ASYNC_WAIT_CTX* waitctx = nullptr;
    JobWork work{};
    JobWork* work_ptr = nullptr;
    int ret = 0;
    bool finished = false, started = false;
    std::size_t index = 0;
    pn::MpscQueue<std::size_t>* ready = nullptr;
    std::atomic<int>* failed_pushes = nullptr;
  };
  // Exactly one slot per job: a second notification for a job still queued would not fit.
  pn::MpscQueue<std::size_t> ready(jobs);
  std::atomic<int> failed_pushes{0};
  std::vector<Slot> slots(jobs);
  std::size_t running = 0, callbacks = 0, spurious = 0;
  // False (with the failure recorded) when the job neither paused nor finished: the callers'
  // ASSERT_TRUE then ends the test instead of waiting for a job that will never be resumed.
  auto step = [&](Slot& slot) -> bool {
    const std::size_t before = slot.work.completed;
    const int result = ASYNC_start_job(&slot.job, slot.waitctx, &slot.ret, digest_job,
                                       &slot.work_ptr, sizeof slot.work_ptr);
    if (result != ASYNC_PAUSE && result != ASYNC_FINISH) {
      ADD_FAILURE() << "ASYNC_start_job returned " << result;
      return false;
    }
    if (result == ASYNC_FINISH) {
      slot.finished = true;
      --running;
      EXPECT_EQ(slot.ret, 1);
    } else if (slot.started && slot.work.completed == before &&
               ASYNC_WAIT_CTX_get_status(slot.waitctx) != ASYNC_STATUS_EAGAIN) {
      ++spurious;  // resumed by a notification, yet no digest finished: a notification was early
    }
    slot.started = true;
    return true;
  };
  for (std::size_t j = 0; j < jobs; ++j) {
    Slot& slot = slots[j];
    slot.index = j;
    slot.ready = &ready;
    slot.failed_pushes = &failed_pushes;
    slot.waitctx = ASYNC_WAIT_CTX_new();
    slot.work = {offloaded, &inputs, &outputs, j * per_job, per_job};
    slot.work_ptr = &slot.work;
    if (mode == Mode::kCallback) {
      // Set before ASYNC_start_job: the provider then notifies by callback.
      ASYNC_WAIT_CTX_set_callback(
          slot.waitctx,
          [](void* raw) {
            auto* s = static_cast<Slot*>(raw);
            if (s->ready->try_push(s->index)) return 1;
            s->failed_pushes->fetch_add(1, std::memory_order_relaxed);
            return 0;
          },
          &slot);
    }
    ++running;
    ASSERT_TRUE(step(slot));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (running != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << running << " jobs never finished";
    if (mode == Mode::kCallback) {
      for (Slot& slot : slots) {  // EAGAIN: no callback will come, resume to retry
        if (!slot.finished && ASYNC_WAIT_CTX_get_status(slot.waitctx) == ASYNC_STATUS_EAGAIN) {
          ASSERT_TRUE(step(slot));
        }
      }
      std::size_t index = 0;
      if (ready.pop_wait(index, std::chrono::milliseconds(100))) {
        ++callbacks;
        ASSERT_TRUE(step(slots[index]));
      }
    } else {
      std::vector<pollfd> fds;
      std::vector<std::size_t> owners;
      for (Slot& slot : slots) {
        if (slot.finished) continue;
        OSSL_ASYNC_FD fd = -1;
        std::size_t count = 0;
        ASYNC_WAIT_CTX_get_all_fds(slot.waitctx, nullptr, &count);
        ASSERT_EQ(count, 1U) << "one eventfd per wait context";
        ASYNC_WAIT_CTX_get_all_fds(slot.waitctx, &fd, &count);
        fds.push_back({fd, POLLIN, 0});
        owners.push_back(slot.index);
      }
      ASSERT_GT(::poll(fds.data(), fds.size(), 5000), 0) << "no notification within 5 s";
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & POLLIN) {
          ASSERT_TRUE(step(slots[owners[i]]));
        }
      }
    }
  }
  for (Slot& slot : slots) ASYNC_WAIT_CTX_free(slot.waitctx);
  EXPECT_EQ(failed_pushes.load(std::memory_order_relaxed), 0) << "one notification per pause";
  EXPECT_EQ(spurious, 0U) << "every notification resumed a job whose digest was complete";
  if (mode == Mode::kCallback) {
    EXPECT_GE(callbacks, jobs * per_job / 2) << "completions arrived by callback";
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::array<unsigned char, 32> expected{};
    unsigned int size = 0;
    ASSERT_EQ(
        EVP_Digest(inputs[i].data(), inputs[i].size(), expected.data(), &size, software, nullptr),
        1);
    ASSERT_EQ(outputs[i], expected) << "digest " << i;
  }
}

TEST_F(Provider, CallbackModeManyJobs) {
  run_async(Mode::kCallback, offloaded_, software_, 64, 50);
}

TEST_F(Provider, FdModeManyJobs) { run_async(Mode::kFd, offloaded_, software_, 32, 50); }

}  // namespace

// An application that resumes its job at every chance (before the completion arrives) and frees
// the ASYNC_WAIT_CTX the moment the job finishes, while the poller is held between publishing the
// completion and notifying (PN_PROVIDER_TEST_NOTIFY_DELAY_US): the job must not finish before the
// notification is over, or the poller would call through the freed context (callback mode: ASan
// reports it) or write into its closed eventfd, whose number the next eventfd reuses (fd mode:
// the canary below turns readable).
class ProviderEarlyResume : public ::testing::TestWithParam<Mode> {
 protected:
  static constexpr int kDelayUs = 3000;
  void SetUp() override {
    ::setenv("PN_PROVIDER_TEST_NOTIFY_DELAY_US", std::to_string(kDelayUs).c_str(), 1);
    ASSERT_NO_FATAL_FAILURE(providers_.load());
    ::unsetenv("PN_PROVIDER_TEST_NOTIFY_DELAY_US");
    md_ = EVP_MD_fetch(providers_.context, "SHA2-256", "provider=pollnotify");
    ASSERT_NE(md_, nullptr);
  }
  void TearDown() override {
    EVP_MD_free(md_);
    providers_.unload();
  }
  ProviderUnderTest providers_;
  EVP_MD* md_ = nullptr;
};

// The digest's EVP_MD_CTX outlives the job, as a TLS connection's contexts do: freeing it would
// wait for the delivery (the device context's grace period) and hide the defect.
struct LongLivedDigest {
  EVP_MD_CTX* ctx;
  const EVP_MD* md;
  std::array<unsigned char, 32> out;
};

int long_lived_digest_job(void* raw) {
  LongLivedDigest& work = **static_cast<LongLivedDigest**>(raw);
  const unsigned char input[100] = {0x5a};
  unsigned int size = 0;
  return EVP_DigestInit_ex(work.ctx, work.md, nullptr) == 1 &&
                 EVP_DigestUpdate(work.ctx, input, sizeof input) == 1 &&
                 EVP_DigestFinal_ex(work.ctx, work.out.data(), &size) == 1
             ? 1
             : 0;
}

TEST_P(ProviderEarlyResume, TheJobOutlastsTheNotification) {
  std::atomic<int> callbacks{0};
  EVP_MD_CTX* digest_ctx = EVP_MD_CTX_new();
  ASSERT_NE(digest_ctx, nullptr);
  for (int round = 0; round < 20; ++round) {
    LongLivedDigest work{digest_ctx, md_, {}};
    LongLivedDigest* work_ptr = &work;
    ASYNC_WAIT_CTX* waitctx = ASYNC_WAIT_CTX_new();
    ASSERT_NE(waitctx, nullptr);
    if (GetParam() == Mode::kCallback) {
      ASSERT_EQ(ASYNC_WAIT_CTX_set_callback(
                    waitctx,
                    [](void* arg) {
                      static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_relaxed);
                      return 1;
                    },
                    &callbacks),
                1);
    }
    ASYNC_JOB* job = nullptr;
    int ret = 0;
    int result = ASYNC_PAUSE;
    std::size_t resumes = 0;
    while (result == ASYNC_PAUSE) {  // resume at every chance, notified or not
      result =
          ASYNC_start_job(&job, waitctx, &ret, long_lived_digest_job, &work_ptr, sizeof work_ptr);
      ++resumes;
    }
    ASSERT_EQ(result, ASYNC_FINISH);
    ASSERT_EQ(ret, 1);
    if (GetParam() == Mode::kCallback) {
      ASSERT_EQ(callbacks.load(std::memory_order_relaxed), round + 1)
          << "the job finished before its callback had returned";
    }
    ASYNC_WAIT_CTX_free(waitctx);  // closes the provider's eventfd in fd mode
    const int canary = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // likely the number just closed
    ASSERT_GE(canary, 0);
    // Nothing may write to it: the poller finished with the freed context before the job ended.
    // The window covers a notification held back by the injected delay.
    pollfd watch{canary, POLLIN, 0};
    const int ready = ::poll(&watch, 1, 2 * kDelayUs / 1000);
    ::close(canary);
    ASSERT_EQ(ready, 0) << "a notification reached a descriptor after its wait context was freed";
    EXPECT_GT(resumes, 1U) << "the job paused for the device";
  }
  EVP_MD_CTX_free(digest_ctx);
}

INSTANTIATE_TEST_SUITE_P(Modes, ProviderEarlyResume, ::testing::Values(Mode::kCallback, Mode::kFd),
                         [](const ::testing::TestParamInfo<Mode>& mode) {
                           return mode.param == Mode::kCallback ? "Callback" : "Fd";
                         });
