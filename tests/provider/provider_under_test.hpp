// The provider suites' common set-up: a library context of their own with the pollnotify
// provider (from the build directory) and the default provider loaded, a zero-latency device and
// a busy poller and every operation offloaded whatever its size, so completions routinely arrive
// before the job has paused.
#pragma once

#include <gtest/gtest.h>
#include <openssl/provider.h>

#include <cstdlib>

struct ProviderUnderTest {
  OSSL_LIB_CTX* context = nullptr;
  OSSL_PROVIDER* pollnotify = nullptr;
  OSSL_PROVIDER* default_provider = nullptr;

  // Loads both; gtest failures (and null members) when either does not load.
  void load() {
    ::setenv("PN_PROVIDER_LATENCY", "zero", 1);
    ::setenv("PN_PROVIDER_POLICY", "busy", 1);
    ::setenv("PN_PROVIDER_OFFLOAD", "all", 0);  // every operation through the device, unless set
    context = OSSL_LIB_CTX_new();
    ASSERT_EQ(OSSL_PROVIDER_set_default_search_path(context, PN_PROVIDER_DIR), 1);
    pollnotify = OSSL_PROVIDER_load(context, "pollnotify");
    default_provider = OSSL_PROVIDER_load(context, "default");
    ASSERT_NE(pollnotify, nullptr);
    ASSERT_NE(default_provider, nullptr);
  }
  void unload() {
    OSSL_PROVIDER_unload(pollnotify);
    OSSL_PROVIDER_unload(default_provider);
    OSSL_LIB_CTX_free(context);
    *this = {};
  }
};
