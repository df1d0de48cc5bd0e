// The provider's libraries: the default provider in a library context of its own (what computes),
// and the pollnotify runtime with the device the configuration names, started on first use.
#include <openssl/provider.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

#include "pollnotify/sim_runtime.hpp"
#include "provider.hpp"

namespace pn::provider {

bool Compute::open() {
  libctx = OSSL_LIB_CTX_new();
  default_provider = libctx != nullptr ? OSSL_PROVIDER_load(libctx, "default") : nullptr;
  if (default_provider == nullptr) return false;
  default_provctx = OSSL_PROVIDER_get0_provider_ctx(default_provider);
  if (!open_asymmetric(default_provider)) return false;
  sha256 = EVP_MD_fetch(libctx, "SHA2-256", nullptr);
  sha384 = EVP_MD_fetch(libctx, "SHA2-384", nullptr);
  aes_128_gcm = EVP_CIPHER_fetch(libctx, "AES-128-GCM", nullptr);
  aes_256_gcm = EVP_CIPHER_fetch(libctx, "AES-256-GCM", nullptr);
  return sha256 != nullptr && sha384 != nullptr && aes_128_gcm != nullptr && aes_256_gcm != nullptr;
}

Compute::~Compute() {
  EVP_MD_free(sha256);
  EVP_MD_free(sha384);
  EVP_CIPHER_free(aes_128_gcm);
  EVP_CIPHER_free(aes_256_gcm);
  if (default_provider != nullptr) OSSL_PROVIDER_unload(default_provider);
  OSSL_LIB_CTX_free(libctx);
}

Provider::Provider() {
  classes[static_cast<std::size_t>(OpClass::kDigest)].threshold = kDefaultDigestThreshold;
  classes[static_cast<std::size_t>(OpClass::kCipher)].threshold = kDefaultCipherThreshold;
}

Provider::~Provider() = default;

namespace {
// Whether an injected fault of probability `rate` happens now.
bool draw(double rate) {
  if (rate <= 0) return false;
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, 1)(random) < rate;
}
}  // namespace

std::optional<SubmitResult> Provider::injected_fault(OpClass op) const noexcept {
  const ClassConfig& injected = config(op);
  if (draw(injected.eagain_rate)) return SubmitResult::kRetry;
  if (sim == nullptr && draw(injected.error_rate)) return SubmitResult::kFailed;
  return std::nullopt;
}

SubmitResult Provider::submit_completion(OpClass op, WaitCtx& ctx) noexcept {
  if (const auto fault = injected_fault(op)) return *fault;
  // The simulator completes a request with ERR (its error_rate, after its latency).
  if (sim != nullptr) return sim->submit(static_cast<std::size_t>(op), ctx, 0);
  return runtime->submit(ctx);
}

bool Provider::called_by_own_poller() const noexcept {
  // PROV-A3: pairs with PROV-R3: `runtime` is complete when this reads true.
  if (!runtime_started.load(std::memory_order_acquire)) return false;
  for (const Poller* poller : runtime->pollers()) {
    if (poller->consuming_on_this_thread()) return true;
  }
  return false;
}

Runtime* Provider::get_runtime() {
  std::call_once(runtime_once, [this] {
    // The first operation may run in an OpenSSL async job, on its 32 KiB stack: DPDK's EAL
    // initialisation overflows that (seen: heap corruption in `openssl s_server -async`), so the
    // runtime starts on a thread of its own then.
    if (ASYNC_get_current_job() == nullptr) {
      start_runtime();
      return;
    }
    try {
      std::thread starter([this] { start_runtime(); });
      starter.join();
    } catch (const std::exception& error) {  // no thread to start it on: the provider fails
      runtime_error = error.what();
    }
  });
  return runtime.get();
}

void Provider::start_runtime() {
  try {
    RuntimeOptions options;
    options.poller.policy = policy == "busy"    ? PollPolicy::kBusy
                            : policy == "timed" ? PollPolicy::kTimed
                                                : PollPolicy::kAdaptive;
    options.poller.spin_polls = spin_polls;
    runtime = on_cryptodev() ? make_cryptodev_runtime(options) : make_sim_runtime(options);
    if (!on_cryptodev()) sim = &static_cast<SimRuntime&>(*runtime).device();
    const bool any_workers = std::any_of(classes.begin(), classes.end(), [](const ClassConfig& c) {
      return c.compute_on == ComputeOn::kWorkers;
    });
    if (any_workers) workers = std::make_unique<WorkerPool>(worker_count);
    runtime->start();
    // PROV-R3: publishes `runtime` to called_by_own_poller on any thread; pairs with PROV-A3.
    runtime_started.store(true, std::memory_order_release);
  } catch (const std::exception& error) {
    runtime_error = error.what();
    runtime.reset();
  }
}

std::unique_ptr<Runtime> Provider::make_sim_runtime(const RuntimeOptions& base) const {
  SimRuntimeOptions options;
  static_cast<RuntimeOptions&>(options) = base;
  options.device.instances.clear();
  for (const ClassConfig& op : classes) {  // instance i serves class i
    DeviceInstanceOptions instance;
    instance.latency = LatencyModel::parse(op.latency.empty() ? latency : op.latency);
    instance.capacity = op.capacity != 0 ? op.capacity : capacity;
    instance.engines = op.engines;
    instance.error_rate = op.error_rate;
    options.device.instances.push_back(instance);
  }
  return std::make_unique<SimRuntime>(options);
}

std::unique_ptr<Runtime> Provider::make_cryptodev_runtime(const RuntimeOptions& base) {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  const std::string vdev = device.substr(10);
  CryptodevEalOptions eal;
  eal.vdevs = {vdev};
  if (const std::string error = cryptodev_eal_init(eal); !error.empty()) {
    throw std::runtime_error(error);
  }
  auto made = std::make_unique<Runtime>(base);
  CryptodevOptions options;
  options.device = vdev;
  options.max_in_flight = static_cast<unsigned>(std::min<std::size_t>(capacity, 4096));
  cryptodev = static_cast<CryptodevDevice*>(
      &made->add_device(std::make_unique<CryptodevDevice>(made->poller(0), options)));
  // What the driver does not compute still completes through it, computed by libcrypto.
  const bool rsa = cryptodev->supports(CryptoOpKind::kRsaSignPkcs1);
  std::fprintf(stderr,
               "pollnotify provider: on %s the driver computes SHA2-256, AES-128-GCM%s; %s, "
               "ECDSA, ECDH, X25519, SHA2-384 and AES-256-GCM are computed by libcrypto and the "
               "driver carries their completions\n",
               vdev.c_str(), rsa ? " and RSA PKCS#1 v1.5 signatures and decryption" : "",
               rsa ? "RSA PSS and OAEP, RSA public-key operations" : "RSA");
  return made;
#else
  (void)base;
  throw std::runtime_error("this provider was built without libdpdk");
#endif
}

}  // namespace pn::provider
