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
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "pollnotify/sim_device.hpp"
#include "provider.hpp"

namespace pn::provider {
namespace {

const OSSL_ALGORITHM digests[] = {
    {"SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", "provider=pollnotify", sha256_functions,
     "SHA2-256 completed through a pollnotify device"},
    {"SHA2-384:SHA-384:SHA384:2.16.840.1.101.3.4.2.2", "provider=pollnotify", sha384_functions,
     "SHA2-384 completed through a pollnotify device"},
    {nullptr, nullptr, nullptr, nullptr}};

const OSSL_ALGORITHM ciphers[] = {
    {"AES-128-GCM:id-aes128-GCM:2.16.840.1.101.3.4.1.6", "provider=pollnotify",
     aes_128_gcm_functions, "AES-128-GCM completed through a pollnotify device"},
    {"AES-256-GCM:id-aes256-GCM:2.16.840.1.101.3.4.1.46", "provider=pollnotify",
     aes_256_gcm_functions, "AES-256-GCM completed through a pollnotify device"},
    {nullptr, nullptr, nullptr, nullptr}};

// --- the provider ---

const OSSL_ALGORITHM* provider_query(void*, int operation, int* no_cache) {
  *no_cache = 0;
  if (operation == OSSL_OP_DIGEST) return digests;
  if (operation == OSSL_OP_CIPHER) return ciphers;
  return asymmetric_algorithms(operation);
}

// The counters the application reads with OSSL_PROVIDER_get_params, named
// "pollnotify-<class>-<counter>" (uint64).
constexpr const char* kCounterNames[] = {"operations", "offloaded", "in-jobs",   "pauses",
                                         "retries",    "errors",    "by-driver", "unresumed"};

std::uint64_t counter_value(const ClassCounters& counters, std::size_t which) {
  const std::atomic<std::uint64_t>* fields[] = {
      &counters.operations, &counters.offloaded, &counters.in_jobs,  &counters.pauses,
      &counters.retries,    &counters.errors,    &counters.by_driver};
  if (which < std::size(fields)) return fields[which]->load(std::memory_order_relaxed);
  return counters.unresumed();
}

struct CounterParams {
  std::vector<std::string> names;
  std::vector<OSSL_PARAM> gettable;
  CounterParams() {
    for (const char* op : kClassNames) {
      for (const char* counter : kCounterNames) {
        names.push_back(std::string("pollnotify-") + op + "-" + counter);
      }
    }
    gettable = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, nullptr, 0),
                OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, nullptr, 0),
                OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, nullptr, 0),
                OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, nullptr)};
    for (const std::string& name : names) {
      gettable.push_back(OSSL_PARAM_uint64(name.c_str(), nullptr));
    }
    gettable.push_back(OSSL_PARAM_END);
  }
};

const CounterParams& counter_params() {
  static const CounterParams params;
  return params;
}

const OSSL_PARAM* provider_gettable_params(void*) { return counter_params().gettable.data(); }

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
  const std::vector<std::string>& names = counter_params().names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    p = OSSL_PARAM_locate(params, names[i].c_str());
    const std::size_t op = i / std::size(kCounterNames), counter = i % std::size(kCounterNames);
    if (p != nullptr && !OSSL_PARAM_set_uint64(p, counter_value(provider->counters[op], counter))) {
      return 0;
    }
  }
  return 1;
}

// PN_PROVIDER_TRACE: what went through the device, per class, and the jobs left paused.
void print_trace(const Provider& provider, const char* when) {
  std::uint64_t unresumed = 0;
  for (std::size_t op = 0; op < kClassCount; ++op) {
    const ClassCounters& counters = provider.counters[op];
    const auto count = [&](std::size_t which) {
      return static_cast<unsigned long long>(counter_value(counters, which));
    };
    std::fprintf(stderr,
                 "pollnotify provider %s: %s: %llu operations, %llu through the device (%llu in "
                 "async jobs), %llu pauses, %llu retries, %llu errors, %llu computed by the "
                 "driver, %llu completions never collected by their job\n",
                 when, kClassNames[op], count(0), count(1), count(2), count(3), count(4), count(5),
                 count(6), count(7));
    unresumed += counters.unresumed();
  }
  const auto count = [](const std::atomic<std::uint64_t>& counter) {
    return static_cast<unsigned long long>(counter.load(std::memory_order_relaxed));
  };
  std::fprintf(stderr,
               "pollnotify provider %s: AES-GCM payloads: %llu computed by the device, %llu by "
               "libcrypto, %llu replayed into libcrypto\n",
               when, count(provider.trace.gcm_on_device), count(provider.trace.gcm_in_software),
               count(provider.trace.gcm_replayed));
  if (unresumed != 0) {
    std::fprintf(stderr,
                 "pollnotify provider %s: %llu async jobs left paused: their completion was "
                 "delivered and the application never resumed them (abandoned jobs leak)\n",
                 when, static_cast<unsigned long long>(unresumed));
  }
}

// Providers still loaded at process exit: a process whose jobs stay paused may never unload the
// provider, and its trace is what shows them.
struct LoadedProviders {
  std::mutex mutex;
  std::vector<Provider*> loaded;
  ~LoadedProviders() {
    const std::lock_guard lock(mutex);
    for (Provider* provider : loaded) {
      if (std::getenv("PN_PROVIDER_TRACE") == nullptr) continue;
      print_trace(*provider, "at exit");
      provider->trace_printed = true;  // libcrypto's own exit handler may unload it next
    }
  }
};

LoadedProviders& loaded_providers() {
  static LoadedProviders providers;
  return providers;
}

void provider_teardown(void* provctx) {
  auto* provider = static_cast<Provider*>(provctx);
  {
    LoadedProviders& providers = loaded_providers();
    const std::lock_guard lock(providers.mutex);
    std::erase(providers.loaded, provider);
  }
  if (std::getenv("PN_PROVIDER_TRACE") != nullptr && !provider->trace_printed) {
    print_trace(*provider, "at unload");
  }
  delete provider;
}

// TLS groups: libssl offers a group only when the provider declaring it also serves its key
// management under the application's property query. This provider serves EC and X25519 keys, so
// it declares the default provider's groups for them.
struct GroupFilter {
  OSSL_CALLBACK* forward;
  void* arg;
};

int forward_served_group(const OSSL_PARAM params[], void* raw) {
  const auto* filter = static_cast<GroupFilter*>(raw);
  const OSSL_PARAM* algorithm = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_ALG);
  const char* name = nullptr;
  if (algorithm == nullptr || OSSL_PARAM_get_utf8_string_ptr(algorithm, &name) != 1) return 1;
  if (std::strcmp(name, "EC") != 0 && std::strcmp(name, "X25519") != 0) return 1;
  return filter->forward(params, filter->arg);
}

int provider_get_capabilities(void* provctx, const char* capability, OSSL_CALLBACK* callback,
                              void* arg) {
  if (OPENSSL_strcasecmp(capability, "TLS-GROUP") != 0) return 0;
  GroupFilter filter{callback, arg};
  return OSSL_PROVIDER_get_capabilities(static_cast<Provider*>(provctx)->compute.default_provider,
                                        "TLS-GROUP", forward_served_group, &filter);
}

const OSSL_DISPATCH provider_functions[] = {
    PN_DISPATCH(OSSL_FUNC_PROVIDER_GET_CAPABILITIES, provider_get_capabilities),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_TEARDOWN, provider_teardown),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_QUERY_OPERATION, provider_query),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, provider_gettable_params),
    PN_DISPATCH(OSSL_FUNC_PROVIDER_GET_PARAMS, provider_get_params),
    {0, nullptr}};

// --- configuration ---

// A configuration key's value: the environment variable PN_PROVIDER_<KEY> wins over the provider's
// config section.
class Settings {
 public:
  Settings(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in) : handle_(handle) {
    for (; in != nullptr && in->function_id != 0; ++in) {
      if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
        core_get_params_ = OSSL_FUNC_core_get_params(in);
    }
  }
  // The value, or null when neither sets it (an empty value counts as unset).
  [[nodiscard]] const char* get(const std::string& key) const {
    std::string variable = "PN_PROVIDER_" + key;
    for (char& c : variable) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (const char* env = std::getenv(variable.c_str()); env != nullptr && *env != '\0') return env;
    const char* value = nullptr;
    if (core_get_params_ != nullptr) {
      OSSL_PARAM params[] = {OSSL_PARAM_utf8_ptr(key.c_str(), const_cast<char**>(&value), 0),
                             OSSL_PARAM_END};
      (void)core_get_params_(handle_, params);
    }
    return value != nullptr && *value != '\0' ? value : nullptr;
  }

 private:
  const OSSL_CORE_HANDLE* handle_;
  OSSL_FUNC_core_get_params_fn* core_get_params_ = nullptr;
};

bool parse_size(const char* text, std::size_t& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') return false;
  out = static_cast<std::size_t>(value);
  return true;
}

bool parse_rate(const char* text, double& out) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= 0 && value <= 1)) return false;
  out = value;
  return true;
}

// Reads every key; false (the provider refuses to load, saying why on stderr) on a bad value.
bool read_configuration(Provider& provider, const Settings& settings) {
  const auto bad = [](const std::string& key, const char* value, const char* expected) {
    std::fprintf(stderr, "pollnotify provider: bad %s \"%s\": expected %s\n", key.c_str(), value,
                 expected);
    return false;
  };
  if (const char* value = settings.get("device")) provider.device = value;
  if (const char* value = settings.get("latency")) provider.latency = value;
  if (const char* value = settings.get("policy")) provider.policy = value;
  if (const char* value = settings.get("capacity")) {
    if (!parse_size(value, provider.capacity) || provider.capacity == 0 ||
        provider.capacity > DeviceInstanceOptions::kMaxCapacity) {
      return bad("capacity", value, "1 .. 1048576");
    }
  }
  if (const char* value = settings.get("spin")) {
    std::size_t polls = 0;
    if (!parse_size(value, polls) || polls == 0 || polls > kMaxSpinPolls) {
      return bad("spin", value, "1 .. 1000000");
    }
    provider.spin_polls = static_cast<std::uint32_t>(polls);
  }
  if (const char* value = settings.get("offload")) {
    if (std::strcmp(value, "all") != 0 && std::strcmp(value, "threshold") != 0) {
      return bad("offload", value, "threshold or all");
    }
    provider.offload_everything = std::strcmp(value, "all") == 0;
  }
  if (const char* value = settings.get("workers")) {
    std::size_t count = 0;
    if (!parse_size(value, count) || count == 0 || count > kMaxWorkers) {
      return bad("workers", value, "1 .. 256");
    }
    provider.worker_count = static_cast<unsigned>(count);
  }
  for (std::size_t op = 0; op < kClassCount; ++op) {
    ClassConfig& config = provider.classes[op];
    const std::string prefix = std::string(kClassNames[op]) + "_";
    if (const char* value = settings.get(prefix + "threshold")) {
      if (!parse_size(value, config.threshold)) return bad(prefix + "threshold", value, "bytes");
    }
    if (const char* value = settings.get(prefix + "latency")) config.latency = value;
    if (const char* value = settings.get(prefix + "capacity")) {
      if (!parse_size(value, config.capacity) || config.capacity == 0 ||
          config.capacity > DeviceInstanceOptions::kMaxCapacity) {
        return bad(prefix + "capacity", value, "1 .. 1048576");
      }
    }
    if (const char* value = settings.get(prefix + "engines")) {
      if (!parse_size(value, config.engines) ||
          config.engines > DeviceInstanceOptions::kMaxCapacity) {
        return bad(prefix + "engines", value, "0 (unlimited) .. 1048576");
      }
    }
    if (const char* value = settings.get(prefix + "compute")) {
      if (std::strcmp(value, "caller") != 0 && std::strcmp(value, "workers") != 0) {
        return bad(prefix + "compute", value, "caller or workers");
      }
      config.compute_on =
          std::strcmp(value, "workers") == 0 ? ComputeOn::kWorkers : ComputeOn::kCaller;
    }
    if (const char* value = settings.get(prefix + "eagain")) {
      if (!parse_rate(value, config.eagain_rate)) return bad(prefix + "eagain", value, "0 .. 1");
    }
    if (const char* value = settings.get(prefix + "errors")) {
      if (!parse_rate(value, config.error_rate)) return bad(prefix + "errors", value, "0 .. 1");
    }
  }
  if (const char* env = std::getenv("PN_PROVIDER_TEST_SELF_NOTIFY")) {
    provider.test_self_notify = std::strcmp(env, "1") == 0;
  }
  if (const char* env = std::getenv("PN_PROVIDER_TEST_NOTIFY_DELAY_US")) {
    const long value = std::strtol(env, nullptr, 10);
    if (value > 0 && value <= 1'000'000)
      provider.test_notify_delay_us = static_cast<std::uint32_t>(value);
  }
  return true;
}

// Checks what only makes sense together; false (with the reason on stderr) refuses the load.
bool check_configuration(const Provider& provider) {
  try {
    (void)LatencyModel::parse(provider.latency);  // reject a bad model at load time
    for (const ClassConfig& config : provider.classes) {
      if (!config.latency.empty()) (void)LatencyModel::parse(config.latency);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pollnotify provider: bad latency model: %s\n", error.what());
    return false;
  }
  if (provider.policy != "busy" && provider.policy != "adaptive" && provider.policy != "timed") {
    std::fprintf(stderr, "pollnotify provider: bad policy \"%s\": busy, adaptive or timed\n",
                 provider.policy.c_str());
    return false;
  }
  for (std::size_t op = 0; op < kClassCount; ++op) {
    const ClassConfig& config = provider.classes[op];
    const std::size_t capacity = config.capacity != 0 ? config.capacity : provider.capacity;
    if (config.engines > capacity) {
      std::fprintf(stderr, "pollnotify provider: %s_engines %zu exceeds its capacity %zu\n",
                   kClassNames[op], config.engines, capacity);
      return false;
    }
  }
  if (provider.device != "sim" && !provider.on_cryptodev()) {
    std::fprintf(stderr, "pollnotify provider: bad device \"%s\": sim or cryptodev:VDEV\n",
                 provider.device.c_str());
    return false;
  }
  return true;
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
  if (!pn::provider::read_configuration(*provider, pn::provider::Settings(handle, in)) ||
      !pn::provider::check_configuration(*provider) ||
      !provider->compute.open()) {  // no default provider to compute with
    delete provider;
    return 0;
  }
  {
    pn::provider::LoadedProviders& providers = pn::provider::loaded_providers();
    const std::lock_guard lock(providers.mutex);
    providers.loaded.push_back(provider);
  }
  *out = pn::provider::provider_functions;
  *provctx = provider;
  return 1;
}
