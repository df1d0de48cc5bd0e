// Internal to the pollnotify OpenSSL provider module: the provider's state, and how an operation
// waits for its device completion inside (or outside) an OpenSSL async job.
#pragma once

#include <openssl/async.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "pollnotify/runtime.hpp"
#include "pollnotify/wait_ctx.hpp"
#ifdef PN_PROVIDER_WITH_CRYPTODEV
#include "pollnotify/cryptodev_device.hpp"
#endif

namespace pn::provider {

#define PN_DISPATCH(id, fn) \
  { id, reinterpret_cast<void (*)(void)>(fn) }

// The computing itself comes from libcrypto's default provider in a library context of our own:
// independent of what the application loaded (it may have loaded only this provider), and never
// this provider again (no recursion).
struct Compute {
  OSSL_LIB_CTX* libctx = nullptr;
  OSSL_PROVIDER* default_provider = nullptr;
  EVP_MD* sha256 = nullptr;
  EVP_CIPHER* aes_128_gcm = nullptr;
  bool open();
  ~Compute();
};

// Counters printed at unload when PN_PROVIDER_TRACE is set. Relaxed: statistics.
struct Trace {
  std::atomic<std::uint64_t> async_digests{0}, sync_digests{0};
  std::atomic<std::uint64_t> gcm_on_device{0}, gcm_in_software{0}, gcm_replayed{0};
};

struct Provider {
  const OSSL_CORE_HANDLE* handle = nullptr;
  std::string device = "sim";
  std::string latency = "exp:5000";
  std::string policy = "adaptive";
  std::size_t capacity = 1024;
  // Tests only (PN_PROVIDER_TEST_NOTIFY_DELAY_US): the poller sleeps this long between
  // publishing a completion and notifying the job, to widen the window the hand-off must close.
  std::uint32_t test_notify_delay_us = 0;
  Compute compute;
  Trace trace;
  std::once_flag runtime_once;
  std::unique_ptr<Runtime> runtime;
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  CryptodevDevice* cryptodev = nullptr;  // computes when device=cryptodev:VDEV
#endif
  std::string runtime_error;

  [[nodiscard]] bool on_cryptodev() const noexcept { return device.rfind("cryptodev:", 0) == 0; }
  // The runtime, started on first use; nullptr (runtime_error says why) when it cannot start.
  Runtime* get_runtime();

 private:
  void start_runtime();
  std::unique_ptr<Runtime> make_sim_runtime(const RuntimeOptions& base) const;
  std::unique_ptr<Runtime> make_cryptodev_runtime(const RuntimeOptions& base);
};

// One operation's way through the device: pollnotify's wait context, and while a request is in
// flight the OpenSSL wait context to notify.
struct Offload {
  Provider* provider = nullptr;
  WaitCtxPtr device_ctx;
  // Written by the job before submit, read by the poller's callback.
  ASYNC_WAIT_CTX* waitctx = nullptr;
  int fd = -1;
  // The hand-off in two phases: the poller publishes the result (kCompleted), notifies libcrypto's
  // wait context (writes its fd, or calls its callback), then says it no longer touches it
  // (kNotified). The job may see kCompleted early (an application may resume it for any reason)
  // but does not return, and so lets the application free the ASYNC_WAIT_CTX and close its fd,
  // before kNotified.
  enum Phase : int { kPending = 0, kCompleted = 1, kNotified = 2 };
  std::atomic<int> phase{kPending};
  std::int32_t result = 0;  // the device's result code, published with kCompleted

  // False when out of memory.
  bool open(Provider* owner);
};

using SubmitFn = SubmitResult (*)(Runtime& runtime, void* request);

// Submits with `submit(runtime, request)` and waits for the completion: by pausing the current
// OpenSSL job (its ASYNC_WAIT_CTX notified by callback or wait fd), or synchronously outside a
// job. Returns 1 when the device completed the request OK; offload.result holds its result code.
int complete_through_device(Offload& offload, SubmitFn submit, void* request);

extern const OSSL_DISPATCH sha256_functions[];
extern const OSSL_DISPATCH aes_128_gcm_functions[];

}  // namespace pn::provider
