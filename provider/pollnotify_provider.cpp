// pollnotify OpenSSL 3 provider: SHA2-256 and AES-128-GCM whose requests complete through a
// pollnotify device and notify libcrypto's own ASYNC_WAIT_CTX in both of OpenSSL's styles (see
// offload.cpp). The device is pollnotify's simulator (libcrypto computes) or a DPDK cryptodev
// driver (the driver computes: crypto_aesni_mb here, crypto_qat on a QAT machine).
//
// Configuration (provider config section keys, or environment variables, which win):
//   device   / PN_PROVIDER_DEVICE    "sim" (default) or "cryptodev:VDEV" (e.g.
//                                    cryptodev:crypto_aesni_mb; crypto_qat on a QAT machine)
//   latency  / PN_PROVIDER_LATENCY   sim: device latency model, default "exp:5000"
//   policy   / PN_PROVIDER_POLICY    busy | adaptive | timed, default "adaptive"
//   capacity / PN_PROVIDER_CAPACITY  requests in flight, default 1024
// PN_PROVIDER_TRACE set: at unload, print how many operations went through the device.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <new>

#include "pollnotify/sim_device.hpp"
#include "provider.hpp"

namespace pn::provider {
namespace {

const OSSL_ALGORITHM digests[] = {
    {"SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", "provider=pollnotify", sha256_functions,
     "SHA2-256 completed through a pollnotify device"},
    {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM ciphers[] = {
    {"AES-128-GCM:id-aes128-GCM:2.16.840.1.101.3.4.1.6", "provider=pollnotify",
     aes_128_gcm_functions, "AES-128-GCM completed through a pollnotify device"},
    {nullptr, nullptr, nullptr, nullptr}};

// --- the provider ---

const OSSL_ALGORITHM* provider_query(void*, int operation, int* no_cache) {
  *no_cache = 0;
  if (operation == OSSL_OP_DIGEST) return digests;
  return operation == OSSL_OP_CIPHER ? ciphers : nullptr;
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
    const Trace& trace = provider->trace;
    const auto count = [](const std::atomic<std::uint64_t>& counter) {
      return static_cast<unsigned long long>(counter.load(std::memory_order_relaxed));
    };
    std::fprintf(stderr,
                 "pollnotify provider: %llu digests completed through the device in async jobs, "
                 "%llu synchronously; AES-128-GCM payloads: %llu computed by the device, %llu by "
                 "libcrypto, %llu replayed into libcrypto\n",
                 count(trace.async_digests), count(trace.sync_digests), count(trace.gcm_on_device),
                 count(trace.gcm_in_software), count(trace.gcm_replayed));
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
  if (const char* env = std::getenv("PN_PROVIDER_TEST_NOTIFY_DELAY_US")) {
    const long value = std::strtol(env, nullptr, 10);
    if (value > 0 && value <= 1'000'000)
      provider.test_notify_delay_us = static_cast<std::uint32_t>(value);
  }
}

}  // namespace
}  // namespace pn::provider

using pn::provider::Provider;

extern "C" __attribute__((visibility("default"))) int OSSL_provider_init(
    const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
    void** provctx) {
  auto* provider = new (std::nothrow) Provider();
  if (provider == nullptr) return 0;
  provider->handle = handle;
  pn::provider::read_configuration(*provider, in);
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
  *out = pn::provider::provider_functions;
  *provctx = provider;
  return 1;
}
