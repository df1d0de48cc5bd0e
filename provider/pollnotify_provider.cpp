// pollnotify OpenSSL 3 provider: SHA2-256 computed by libcrypto (the default provider, in a
// library context of the provider's own), completed through pollnotify's simulated device, and
// notified to libcrypto's own ASYNC_WAIT_CTX in both of OpenSSL's styles.
//
// Inside an OpenSSL async job a digest's final() submits to the device and pauses the job; the
// pollnotify poller thread then notifies the job's ASYNC_WAIT_CTX:
//   callback mode (the application set a callback): status OK, then the callback, as hardware
//     engines do from their poll thread;
//   fd mode: an eventfd registered once per ASYNC_WAIT_CTX (set_wait_fd, cleanup closes it) is
//     made readable; the job drains it when resumed;
//   device full: status EAGAIN (callback mode) or a self-signalled fd (fd mode), pause, retry,
//     at most PN_PROVIDER_MAX_RETRIES times.
// Outside a job final() waits for the completion synchronously.
//
// Configuration (provider config section keys, or environment variables, which win):
//   device   / PN_PROVIDER_DEVICE    "sim" (default) or "cryptodev:VDEV" (e.g.
//                                    cryptodev:crypto_aesni_mb; crypto_qat on a QAT machine):
//                                    the digest itself is then computed by the DPDK driver
//   latency  / PN_PROVIDER_LATENCY   sim: device latency model, default "exp:5000"
//   policy   / PN_PROVIDER_POLICY    busy | adaptive | timed, default "adaptive"
//   capacity / PN_PROVIDER_CAPACITY  requests in flight, default 1024
// PN_PROVIDER_TRACE set: at unload, print how many digests went through the device.
#include <openssl/async.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "pollnotify/sim_runtime.hpp"
#ifdef PN_PROVIDER_WITH_CRYPTODEV
#include "pollnotify/cryptodev_device.hpp"
#endif

namespace {

constexpr unsigned kMaxRetries = 100'000;
constexpr std::size_t kDigestSize = 32, kBlockSize = 64;
constexpr std::size_t kMaxDeviceMessage = 65535;  // one mbuf: every driver hashes it right

// The digest itself comes from libcrypto's default provider in a library context of our own:
// independent of what the application loaded (it may have loaded only this provider), and
// never this provider again (no recursion).
struct Compute {
  OSSL_LIB_CTX* libctx = nullptr;
  OSSL_PROVIDER* default_provider = nullptr;
  EVP_MD* sha256 = nullptr;
  bool open() {
    libctx = OSSL_LIB_CTX_new();
    default_provider = libctx != nullptr ? OSSL_PROVIDER_load(libctx, "default") : nullptr;
    sha256 = default_provider != nullptr ? EVP_MD_fetch(libctx, "SHA2-256", nullptr) : nullptr;
    return sha256 != nullptr;
  }
  ~Compute() {
    EVP_MD_free(sha256);
    if (default_provider != nullptr) OSSL_PROVIDER_unload(default_provider);
    OSSL_LIB_CTX_free(libctx);
  }
};

struct Provider {
  const OSSL_CORE_HANDLE* handle = nullptr;
  std::string device = "sim";
  std::string latency = "exp:5000";
  std::string policy = "adaptive";
  std::size_t capacity = 1024;
  Compute compute;
  std::atomic<std::uint64_t> async_digests{0}, sync_digests{0};  // relaxed: statistics
  std::once_flag runtime_once;
  std::unique_ptr<pn::Runtime> runtime;
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  pn::CryptodevDevice* cryptodev = nullptr;  // the digest is computed by it
#endif
  std::string runtime_error;

  [[nodiscard]] bool on_cryptodev() const noexcept { return device.rfind("cryptodev:", 0) == 0; }

  pn::Runtime* get_runtime() {
    std::call_once(runtime_once, [this] {
      try {
        pn::RuntimeOptions options;
        options.poller.policy = policy == "busy"    ? pn::PollPolicy::kBusy
                                : policy == "timed" ? pn::PollPolicy::kTimed
                                                    : pn::PollPolicy::kAdaptive;
        runtime = on_cryptodev() ? make_cryptodev_runtime(options) : make_sim_runtime(options);
        runtime->start();
      } catch (const std::exception& error) {
        runtime_error = error.what();
        runtime.reset();
      }
    });
    return runtime.get();
  }

  std::unique_ptr<pn::Runtime> make_sim_runtime(const pn::RuntimeOptions& base) const {
    pn::SimRuntimeOptions options;
    static_cast<pn::RuntimeOptions&>(options) = base;
    pn::DeviceInstanceOptions instance;
    instance.latency = pn::LatencyModel::parse(latency);
    instance.capacity = capacity;
    options.device.instances = {instance};
    return std::make_unique<pn::SimRuntime>(options);
  }

  std::unique_ptr<pn::Runtime> make_cryptodev_runtime(const pn::RuntimeOptions& base) {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
    const std::string vdev = device.substr(10);
    pn::CryptodevEalOptions eal;
    eal.vdevs = {vdev};
    if (const std::string error = pn::cryptodev_eal_init(eal); !error.empty()) {
      throw std::runtime_error(error);
    }
    auto made = std::make_unique<pn::Runtime>(base);
    pn::CryptodevOptions options;
    options.device = vdev;
    options.max_in_flight = static_cast<unsigned>(std::min<std::size_t>(capacity, 4096));
    cryptodev = static_cast<pn::CryptodevDevice*>(
        &made->add_device(std::make_unique<pn::CryptodevDevice>(made->poller(0), options)));
    return made;
#else
    (void)base;
    throw std::runtime_error("this provider was built without libdpdk");
#endif
  }
};

// The key this provider registers its eventfd under in an ASYNC_WAIT_CTX.
const int kFdKey = 0;

void close_eventfd(ASYNC_WAIT_CTX*, const void*, OSSL_ASYNC_FD fd, void*) { ::close(fd); }

struct DigestCtx {
  Provider* provider = nullptr;
  EVP_MD_CTX* md = nullptr;  // libcrypto's SHA2-256 state
  // Cryptodev: the message so far (the driver hashes a whole message in one op). Past the
  // driver's one-op limit the message goes to libcrypto instead, and the device only carries the
  // completion (its default operation).
  std::vector<unsigned char> message;
  bool message_too_long = false;
  unsigned char device_digest[kDigestSize] = {};  // written by the driver before the completion
  ~DigestCtx() { EVP_MD_CTX_free(md); }
  pn::WaitCtxPtr device_ctx;  // pollnotify's context for this operation's device requests
  // The request in flight: written by the job before submit, read by the poller's callback.
  ASYNC_WAIT_CTX* waitctx = nullptr;
  int fd = -1;
  std::atomic<int> done{0};
};

// Runs on the pollnotify poller thread: forward the completion to libcrypto's ASYNC_WAIT_CTX.
int on_device_completion(void* raw) {
  auto* digest = static_cast<DigestCtx*>(raw);
  ASYNC_WAIT_CTX* waitctx = digest->waitctx;
  const int fd = digest->fd;
  // PROV-R1: publishes the digest's result to the job; pairs with PROV-A1.
  digest->done.store(1, std::memory_order_release);
  if (waitctx == nullptr) {
    digest->done.notify_one();  // a synchronous caller waits on `done`
    return 1;
  }
  if (fd >= 0) {
    const std::uint64_t one = 1;
    return ::write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one) ? 1 : 0;
  }
  ASYNC_callback_fn callback = nullptr;
  void* callback_arg = nullptr;
  if (ASYNC_WAIT_CTX_get_callback(waitctx, &callback, &callback_arg) != 1) return 0;
  ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_OK);
  return callback(callback_arg);
}

int eventfd_for(ASYNC_WAIT_CTX* waitctx) {
  OSSL_ASYNC_FD fd = -1;
  void* custom = nullptr;
  if (ASYNC_WAIT_CTX_get_fd(waitctx, &kFdKey, &fd, &custom) == 1) return fd;
  fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return -1;
  if (ASYNC_WAIT_CTX_set_wait_fd(waitctx, &kFdKey, fd, nullptr, close_eventfd) != 1) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One request for this digest: on cryptodev the driver hashes the message, else the device
// completes a request whose digest libcrypto has computed.
pn::SubmitResult submit_request(pn::Runtime& runtime, DigestCtx& digest) {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  if (pn::CryptodevDevice* cryptodev = digest.provider->cryptodev;
      cryptodev != nullptr && !digest.message_too_long) {
    return cryptodev->submit_sha256(*digest.device_ctx, digest.message.data(),
                                    static_cast<std::uint32_t>(digest.message.size()),
                                    digest.device_digest, 0);
  }
#endif
  return runtime.submit(*digest.device_ctx);
}

// Submits the finished digest to the device and waits for its completion: by pausing the
// current OpenSSL job, or synchronously outside a job. Returns 1 when the device completed OK.
int complete_through_device(DigestCtx& digest) {
  pn::Runtime* runtime = digest.provider->get_runtime();
  if (runtime == nullptr) return 0;
  ASYNC_JOB* job = ASYNC_get_current_job();
  digest.done.store(0, std::memory_order_relaxed);  // published by the submit
  if (job == nullptr) {
    digest.waitctx = nullptr;
    digest.fd = -1;
    pn::SubmitResult result;
    while ((result = submit_request(*runtime, digest)) == pn::SubmitResult::kRetry)
      std::this_thread::yield();
    if (result != pn::SubmitResult::kAccepted) return 0;
    digest.done.wait(0, std::memory_order_acquire);  // PROV-A1: pairs with PROV-R1
    digest.provider->sync_digests.fetch_add(1, std::memory_order_relaxed);
    return digest.device_ctx->status() == PN_ASYNC_STATUS_OK ? 1 : 0;
  }
  ASYNC_WAIT_CTX* waitctx = ASYNC_get_wait_ctx(job);
  if (waitctx == nullptr) return 0;
  ASYNC_callback_fn callback = nullptr;
  void* callback_arg = nullptr;
  const bool callback_mode = ASYNC_WAIT_CTX_get_callback(waitctx, &callback, &callback_arg) == 1;
  digest.waitctx = waitctx;
  digest.fd = callback_mode ? -1 : eventfd_for(waitctx);
  if (!callback_mode && digest.fd < 0) return 0;
  for (unsigned retries = 0;; ++retries) {
    const pn::SubmitResult result = submit_request(*runtime, digest);
    if (result == pn::SubmitResult::kAccepted) {
      if (callback_mode) ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_OK);
      break;
    }
    if (result == pn::SubmitResult::kFailed || retries == kMaxRetries) {
      if (callback_mode) ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_ERR);
      return 0;
    }
    // Device full: have the application resume us soon, then retry.
    if (callback_mode) {
      ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_EAGAIN);
    } else {
      const std::uint64_t one = 1;
      if (::write(digest.fd, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) return 0;
    }
    ASYNC_pause_job();
    if (!callback_mode) {
      std::uint64_t count = 0;
      (void)::read(digest.fd, &count, sizeof count);
    }
  }
  // Pause at least once even if the completion already arrived: its notification (callback or
  // fd) is on its way to the application, which will resume the job exactly once for it. Resumed
  // before the completion (an application may resume early): pause again.
  do {
    ASYNC_pause_job();
  } while (digest.done.load(std::memory_order_acquire) == 0);  // PROV-A1
  if (!callback_mode) {
    std::uint64_t count = 0;
    (void)::read(digest.fd, &count, sizeof count);  // consume the notification
  }
  digest.provider->async_digests.fetch_add(1, std::memory_order_relaxed);
  return digest.device_ctx->status() == PN_ASYNC_STATUS_OK ? 1 : 0;
}

// --- the SHA2-256 digest dispatch ---

void* digest_newctx(void* provctx) {
  auto* digest = new (std::nothrow) DigestCtx();
  if (digest == nullptr) return nullptr;
  digest->provider = static_cast<Provider*>(provctx);
  digest->md = EVP_MD_CTX_new();
  digest->device_ctx.reset(pn::WaitCtx::create());
  if (!digest->device_ctx || digest->md == nullptr) {
    delete digest;
    return nullptr;
  }
  digest->device_ctx->set_callback(on_device_completion, digest);
  return digest;
}

void digest_freectx(void* raw) { delete static_cast<DigestCtx*>(raw); }

void* digest_dupctx(void* raw) {
  const auto* source = static_cast<DigestCtx*>(raw);
  auto* copy = static_cast<DigestCtx*>(digest_newctx(source->provider));
  if (copy != nullptr && EVP_MD_CTX_copy_ex(copy->md, source->md) != 1) {
    delete copy;
    return nullptr;
  }
  if (copy != nullptr) {
    copy->message = source->message;
    copy->message_too_long = source->message_too_long;
  }
  return copy;
}

int digest_init(void* raw, const OSSL_PARAM[]) {
  auto* digest = static_cast<DigestCtx*>(raw);
  digest->message.clear();
  digest->message_too_long = false;
  return EVP_DigestInit_ex(digest->md, digest->provider->compute.sha256, nullptr);
}

int digest_update(void* raw, const unsigned char* in, size_t size) {
  auto* digest = static_cast<DigestCtx*>(raw);
  if (digest->provider->on_cryptodev() && !digest->message_too_long) {
    if (digest->message.size() + size <= kMaxDeviceMessage) {
      digest->message.insert(digest->message.end(), in, in + size);
      return 1;
    }
    digest->message_too_long = true;  // from here on libcrypto hashes: give it what came so far
    if (EVP_DigestUpdate(digest->md, digest->message.data(), digest->message.size()) != 1) return 0;
    digest->message.clear();
  }
  return EVP_DigestUpdate(digest->md, in, size);
}

int digest_final(void* raw, unsigned char* out, size_t* out_size, size_t out_capacity) {
  auto* digest = static_cast<DigestCtx*>(raw);
  if (out_capacity < kDigestSize) return 0;
  unsigned char result[kDigestSize];
  const bool driver_hashes = digest->provider->on_cryptodev() && !digest->message_too_long;
  unsigned int length = 0;
  if (!driver_hashes &&
      (EVP_DigestFinal_ex(digest->md, result, &length) != 1 || length != kDigestSize)) {
    return 0;
  }
  if (complete_through_device(*digest) != 1) return 0;
  if (driver_hashes) std::memcpy(result, digest->device_digest, kDigestSize);  // after PROV-A1
  std::memcpy(out, result, sizeof result);
  *out_size = sizeof result;
  return 1;
}

int digest_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, kBlockSize)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, kDigestSize)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_XOF);
  if (p != nullptr && !OSSL_PARAM_set_int(p, 0)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_ALGID_ABSENT);
  if (p != nullptr && !OSSL_PARAM_set_int(p, 0)) return 0;
  return 1;
}

const OSSL_PARAM* digest_gettable_params(void*) {
  static const OSSL_PARAM table[] = {OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, nullptr),
                                     OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, nullptr),
                                     OSSL_PARAM_int(OSSL_DIGEST_PARAM_XOF, nullptr),
                                     OSSL_PARAM_int(OSSL_DIGEST_PARAM_ALGID_ABSENT, nullptr),
                                     OSSL_PARAM_END};
  return table;
}

#define PN_DISPATCH(id, fn) \
  { id, reinterpret_cast<void (*)(void)>(fn) }

const OSSL_DISPATCH sha256_functions[] = {
    PN_DISPATCH(OSSL_FUNC_DIGEST_NEWCTX, digest_newctx),
    PN_DISPATCH(OSSL_FUNC_DIGEST_INIT, digest_init),
    PN_DISPATCH(OSSL_FUNC_DIGEST_UPDATE, digest_update),
    PN_DISPATCH(OSSL_FUNC_DIGEST_FINAL, digest_final),
    PN_DISPATCH(OSSL_FUNC_DIGEST_FREECTX, digest_freectx),
    PN_DISPATCH(OSSL_FUNC_DIGEST_DUPCTX, digest_dupctx),
    PN_DISPATCH(OSSL_FUNC_DIGEST_GET_PARAMS, digest_get_params),
    PN_DISPATCH(OSSL_FUNC_DIGEST_GETTABLE_PARAMS, digest_gettable_params),
    {0, nullptr}};

const OSSL_ALGORITHM digests[] = {
    {"SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", "provider=pollnotify", sha256_functions,
     "SHA2-256 completed through the pollnotify simulated device"},
    {nullptr, nullptr, nullptr, nullptr}};

// --- the provider ---

const OSSL_ALGORITHM* provider_query(void*, int operation, int* no_cache) {
  *no_cache = 0;
  return operation == OSSL_OP_DIGEST ? digests : nullptr;
}

const OSSL_PARAM* provider_gettable_params(void*) {
  static const OSSL_PARAM table[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, nullptr, 0),
                                     OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, nullptr, 0),
                                     OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, nullptr, 0),
                                     OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, nullptr),
                                     OSSL_PARAM_END};
  return table;
}

int provider_get_params(void* provctx, OSSL_PARAM params[]) {
  auto* provider = static_cast<Provider*>(provctx);
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
  if (p != nullptr && !OSSL_PARAM_set_utf8_ptr(p, "pollnotify")) return 0;
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
  if (p != nullptr && !OSSL_PARAM_set_utf8_ptr(p, PN_VERSION)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
  if (p != nullptr && !OSSL_PARAM_set_utf8_ptr(p, provider->latency.c_str())) return 0;
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
  if (p != nullptr && !OSSL_PARAM_set_int(p, 1)) return 0;
  return 1;
}

void provider_teardown(void* provctx) {
  auto* provider = static_cast<Provider*>(provctx);
  if (std::getenv("PN_PROVIDER_TRACE") != nullptr) {
    std::fprintf(
        stderr,
        "pollnotify provider: %llu digests completed through the device in async jobs, %llu "
        "synchronously\n",
        static_cast<unsigned long long>(provider->async_digests.load(std::memory_order_relaxed)),
        static_cast<unsigned long long>(provider->sync_digests.load(std::memory_order_relaxed)));
  }
  delete provider;
}

const OSSL_DISPATCH provider_functions[] = {
    PN_DISPATCH(OSSL_FUNC_PROVIDER_TEARDOWN, provider_teardown),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_QUERY_OPERATION, provider_query),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, provider_gettable_params),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_GET_PARAMS, provider_get_params),
    {0, nullptr}};

void read_configuration(Provider& provider, const OSSL_DISPATCH* in) {
  OSSL_FUNC_core_get_params_fn* core_get_params = nullptr;
  for (; in != nullptr && in->function_id != 0; ++in) {
    if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
      core_get_params = OSSL_FUNC_core_get_params(in);
  }
  const char* device = nullptr;
  const char* latency = nullptr;
  const char* policy = nullptr;
  const char* capacity = nullptr;
  if (core_get_params != nullptr) {
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_ptr("device", const_cast<char**>(&device), 0),
                           OSSL_PARAM_utf8_ptr("latency", const_cast<char**>(&latency), 0),
                           OSSL_PARAM_utf8_ptr("policy", const_cast<char**>(&policy), 0),
                           OSSL_PARAM_utf8_ptr("capacity", const_cast<char**>(&capacity), 0),
                           OSSL_PARAM_END};
    (void)core_get_params(provider.handle, params);
  }
  if (const char* env = std::getenv("PN_PROVIDER_DEVICE")) device = env;
  if (const char* env = std::getenv("PN_PROVIDER_LATENCY")) latency = env;
  if (const char* env = std::getenv("PN_PROVIDER_POLICY")) policy = env;
  if (const char* env = std::getenv("PN_PROVIDER_CAPACITY")) capacity = env;
  if (device != nullptr && *device != '\0') provider.device = device;
  if (latency != nullptr && *latency != '\0') provider.latency = latency;
  if (policy != nullptr && *policy != '\0') provider.policy = policy;
  if (capacity != nullptr) {
    const long value = std::strtol(capacity, nullptr, 10);
    if (value > 0) provider.capacity = static_cast<std::size_t>(value);
  }
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int OSSL_provider_init(
    const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
    void** provctx) {
  auto* provider = new (std::nothrow) Provider();
  if (provider == nullptr) return 0;
  provider->handle = handle;
  read_configuration(*provider, in);
  try {
    (void)pn::LatencyModel::parse(provider->latency);  // reject a bad model at load time
  } catch (const std::exception&) {
    delete provider;
    return 0;
  }
  if (provider->policy != "busy" && provider->policy != "adaptive" && provider->policy != "timed") {
    delete provider;
    return 0;
  }
  if (provider->device != "sim" && !provider->on_cryptodev()) {
    delete provider;
    return 0;
  }
  if (!provider->compute.open()) {  // no default provider to compute with
    delete provider;
    return 0;
  }
  *out = provider_functions;
  *provctx = provider;
  return 1;
}
