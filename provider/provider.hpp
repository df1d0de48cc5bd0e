// Internal to the pollnotify OpenSSL provider module: the provider's state, and how an operation
// waits for its device completion inside (or outside) an OpenSSL async job.
#pragma once

#include <openssl/async.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pollnotify/runtime.hpp"
#include "pollnotify/sim_device.hpp"
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
  EVP_MD* sha384 = nullptr;
  EVP_CIPHER* aes_128_gcm = nullptr;
  EVP_CIPHER* aes_256_gcm = nullptr;
  void* default_provctx = nullptr;  // the default provider's own context, for its functions
  bool open();
  ~Compute();
};

// The operation classes: each has its own offload threshold, device instance (latency model,
// injected faults), place of computing and counters.
enum class OpClass : std::uint8_t { kDigest, kCipher, kRsa, kEc };
inline constexpr std::size_t kClassCount = 4;
inline constexpr std::array<const char*, kClassCount> kClassNames = {"digest", "cipher", "rsa",
                                                                     "ec"};

// Where an offloaded operation is computed: on the calling thread before the device adds its
// latency (a test provider, as dasync was), or by a worker thread (a software accelerator).
enum class ComputeOn : std::uint8_t { kCaller, kWorkers };

// Defaults from measurement (docs/openssl-provider.md): a TLS transcript digest or a small record
// costs less to compute than a pause; signatures and key exchange always go to the device.
inline constexpr std::size_t kDefaultDigestThreshold = 65536;
inline constexpr std::size_t kDefaultCipherThreshold = 4096;
inline constexpr std::size_t kMaxWorkers = 256;
// Submissions refused with EAGAIN before an operation gives up with an error.
inline constexpr unsigned kMaxSubmitRetries = 100'000;
// The adaptive poller parks after this many empty polls: an application thread shares the CPUs
// with it, and a handshake's few pauses are far apart (measured: docs/provider-benchmarks.md).
inline constexpr std::uint32_t kDefaultSpinPolls = 512;
inline constexpr std::uint32_t kMaxSpinPolls = 1'000'000;

struct ClassConfig {
  // Operations on fewer bytes (message, record or input) compute at once, never pausing.
  std::size_t threshold = 0;
  std::string latency;  // the class's device latency model; empty: the provider's `latency`
  ComputeOn compute_on = ComputeOn::kCaller;
  std::size_t capacity = 0;  // requests in flight per submitting thread; 0: the provider's
  std::size_t engines = 0;   // requests the device processes in parallel; 0: unlimited
  double eagain_rate = 0;    // injected: fraction of submissions the device refuses with EAGAIN
  double error_rate = 0;     // injected: fraction of requests that complete with ERR
};

// What the application can read through OSSL_PROVIDER_get_params, per class. Relaxed:
// statistics, each written with single increments from any thread.
struct ClassCounters {
  std::atomic<std::uint64_t> operations{0};  // every call that computes a result
  std::atomic<std::uint64_t> offloaded{0};   // of those, through the device
  std::atomic<std::uint64_t> in_jobs{0};     // of those, in an OpenSSL async job
  std::atomic<std::uint64_t> pauses{0};      // ASYNC_pause_job calls
  std::atomic<std::uint64_t> retries{0};     // submissions refused with EAGAIN and retried
  std::atomic<std::uint64_t> errors{0};      // operations the device failed
  std::atomic<std::uint64_t> by_driver{0};   // requests a cryptodev driver took to compute
  std::atomic<std::uint64_t> delivered{0};   // completions notified to a paused job
  std::atomic<std::uint64_t> collected{0};   // of those, whose job resumed and returned
  // Completions notified whose job has not come back for them: at exit, abandoned jobs.
  [[nodiscard]] std::uint64_t unresumed() const noexcept {
    const std::uint64_t done = collected.load(std::memory_order_relaxed);
    const std::uint64_t notified = delivered.load(std::memory_order_relaxed);
    return notified > done ? notified - done : 0;
  }
};

// The AES-GCM path's own counters, printed at unload when PN_PROVIDER_TRACE is set. Relaxed.
struct Trace {
  std::atomic<std::uint64_t> gcm_on_device{0}, gcm_in_software{0}, gcm_replayed{0};
};

class WorkerPool;

#ifdef PN_PROVIDER_WITH_CRYPTODEV
using DriverRsaKey = CryptodevDevice::RsaKey;
#else
struct DriverRsaKey;
#endif

struct Provider {
  const OSSL_CORE_HANDLE* handle = nullptr;
  std::string device = "sim";
  std::string latency = "exp:5000";
  std::string policy = "adaptive";
  std::size_t capacity = 1024;
  std::uint32_t spin_polls = kDefaultSpinPolls;  // adaptive poller: empty polls before parking
  bool offload_everything = false;  // `offload=all`: thresholds ignored, every operation pauses
  unsigned worker_count = 2;
  std::array<ClassConfig, kClassCount> classes;
  std::array<ClassCounters, kClassCount> counters;
  // Tests only (PN_PROVIDER_TEST_NOTIFY_DELAY_US): the poller sleeps this long between
  // publishing a completion and notifying the job, to widen the window the hand-off must close.
  std::uint32_t test_notify_delay_us = 0;
  // Measurement only (PN_PROVIDER_TEST_SELF_NOTIFY=1): in a job, an operation that would go
  // through the device is computed, notifies its own job (callback, or fd) and pauses once, as
  // dasync did; no device, no poller. What an application's own pause costs, without them.
  bool test_self_notify = false;
  Compute compute;
  Trace trace;
  bool trace_printed = false;  // at process exit, before any unload
  std::once_flag runtime_once;
  std::unique_ptr<Runtime> runtime;
  std::atomic<bool> runtime_started{false};  // `runtime` is set and its pollers run
  SimDevice* sim = nullptr;                  // the simulated device: one instance per class
  std::unique_ptr<WorkerPool> workers;
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  CryptodevDevice* cryptodev = nullptr;  // computes when device=cryptodev:VDEV
#endif
  // RSA keys met on a driver with RSA, by a hash of their content, and their sessions there.
  using KeyHash = std::array<unsigned char, 32>;
  std::mutex driver_keys_mutex;
  std::vector<std::pair<KeyHash, const DriverRsaKey*>> driver_keys;
  std::string runtime_error;

  Provider();
  ~Provider();
  [[nodiscard]] bool on_cryptodev() const noexcept { return device.rfind("cryptodev:", 0) == 0; }
  [[nodiscard]] const ClassConfig& config(OpClass op) const noexcept {
    return classes[static_cast<std::size_t>(op)];
  }
  [[nodiscard]] ClassCounters& counters_of(OpClass op) noexcept {
    return counters[static_cast<std::size_t>(op)];
  }
  // Whether an operation of this class on `bytes` bytes goes through the device. Never for one
  // called by the device's own poller thread: a driver that computes with libcrypto
  // (crypto_openssl) comes back here when the application prefers this provider, and waiting
  // there for the device would wait for itself.
  [[nodiscard]] bool offloads(OpClass op, std::size_t bytes) const noexcept {
    return (offload_everything || bytes >= config(op).threshold) && !called_by_own_poller();
  }
  [[nodiscard]] bool called_by_own_poller() const noexcept;
  // A request that only carries a completion: the class's simulated instance (its latency,
  // its faults), or the driver's default operation on cryptodev.
  SubmitResult submit_completion(OpClass op, WaitCtx& ctx) noexcept;
  // The class's injected faults for one submission: EAGAIN, or (on a driver, which refuses at
  // once where the simulator completes with ERR) a failure; nullopt when none is drawn.
  std::optional<SubmitResult> injected_fault(OpClass op) const noexcept;
  // The runtime, started on first use; nullptr (runtime_error says why) when it cannot start.
  Runtime* get_runtime();
  // The driver's session for an RSA private key (the default provider's key object, exported
  // with `export_keys`): null unless the device is a driver with RSA and the key has its private
  // half; null too past the driver's kMaxRsaKeys (libcrypto computes with that key, said once).
  const DriverRsaKey* driver_rsa_key(void* keydata, OSSL_FUNC_keymgmt_export_fn* export_keys);

 private:
  void start_runtime();
  std::unique_ptr<Runtime> make_sim_runtime(const RuntimeOptions& base) const;
  std::unique_ptr<Runtime> make_cryptodev_runtime(const RuntimeOptions& base);
};

// One operation's way through the device: pollnotify's wait context, and while a request is in
// flight the OpenSSL wait context to notify.
struct Offload {
  Provider* provider = nullptr;
  OpClass op = OpClass::kDigest;
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
  // Work the submitting thread does while its request is in flight (set per operation, or null):
  // the device's latency then runs alongside it, and the poller's wake-up with it.
  void (*while_in_flight)(void* arg) = nullptr;
  void* while_in_flight_arg = nullptr;

  // False when out of memory.
  bool open(Provider* owner, OpClass op_class);
};

using SubmitFn = SubmitResult (*)(Runtime& runtime, void* request);

// Submits with `submit(runtime, request)` and waits for the completion: by pausing the current
// OpenSSL job (its ASYNC_WAIT_CTX notified by callback or wait fd), or synchronously outside a
// job. Returns 1 when the device completed the request OK; offload.result holds its result code.
int complete_through_device(Offload& offload, SubmitFn submit, void* request);

// Publishes a failed completion without the device (a worker whose request the device refused):
// the job sees ERR, exactly as from the poller.
void complete_failed(Offload& offload);

// A driver's answer to a submission, counted in `by_driver` when it took the request.
inline SubmitResult counted_by_driver(Provider& provider, OpClass op, SubmitResult submitted) {
  if (submitted == SubmitResult::kAccepted) {
    provider.counters_of(op).by_driver.fetch_add(1, std::memory_order_relaxed);
  }
  return submitted;
}

// Counts one operation of `op` computed at once, without the device.
inline void count_inline(Provider& provider, OpClass op) {
  provider.counters_of(op).operations.fetch_add(1, std::memory_order_relaxed);
}

// The threads that compute offloaded operations of classes set to `workers`; started with the
// runtime, joined at unload.
class WorkerPool {
 public:
  explicit WorkerPool(unsigned count);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void post(std::function<void()> task);

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The asymmetric algorithms: the default provider's, wrapped so that sign, verify, derive,
// encrypt and decrypt complete through the device. Null when the default provider lacks them.
const OSSL_ALGORITHM* asymmetric_algorithms(int operation);
// Builds the wrapped tables from the default provider's (once per process); false on failure.
bool open_asymmetric(OSSL_PROVIDER* default_provider);

// The DER DigestInfo (RFC 8017, 9.2) of `digest`, a hash by `md_name`, which PKCS#1 v1.5 signs;
// empty for a hash libcrypto does not know or a digest of the wrong length.
std::vector<unsigned char> digest_info(Compute& compute, const std::string& md_name,
                                       const unsigned char* digest, std::size_t length);

extern const OSSL_DISPATCH sha256_functions[];
extern const OSSL_DISPATCH sha384_functions[];
extern const OSSL_DISPATCH aes_128_gcm_functions[];
extern const OSSL_DISPATCH aes_256_gcm_functions[];

}  // namespace pn::provider
