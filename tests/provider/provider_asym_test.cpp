// The provider's handshake crypto: RSA (PKCS#1 v1.5 and PSS signatures, OAEP and PKCS#1 v1.5
// encryption), ECDSA P-256/P-384, ECDH P-256/P-384 and X25519, each run in OpenSSL async jobs
// notified by callback and by fd, every result checked with the default provider; the counters
// the application reads with OSSL_PROVIDER_get_params; thresholds; the workers; injected faults;
// a job the application abandons; on a driver with RSA
// (PN_PROVIDER_DEVICE=cryptodev:crypto_openssl) the PKCS#1 v1.5 signatures and decryptions computed
// by the driver.
#include <gtest/gtest.h>
#include <openssl/async.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "provider_under_test.hpp"

namespace {

using Bytes = std::vector<unsigned char>;
enum class Mode { kCallback, kFd };

std::uint64_t counter(OSSL_PROVIDER* provider, const std::string& name) {
  std::uint64_t value = ~std::uint64_t{0};
  const std::string full = "pollnotify-" + name;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_uint64(full.c_str(), &value), OSSL_PARAM_END};
  EXPECT_EQ(OSSL_PROVIDER_get_params(provider, params), 1) << name;
  EXPECT_EQ(OSSL_PARAM_modified(params), 1) << name;
  return value;
}

// Runs `work` in an OpenSSL async job, resuming it only when the provider says to: its callback
// ran (callback mode), its wait fd became readable (fd mode), or the status is EAGAIN (retry).
struct JobResult {
  int value = 0;
  unsigned pauses = 0;
};

int run_work(void* raw) { return (**static_cast<std::function<int()>**>(raw))(); }

JobResult run_in_job(Mode mode, std::function<int()> work) {
  JobResult result;
  ASYNC_WAIT_CTX* waitctx = ASYNC_WAIT_CTX_new();
  std::atomic<int> notified{0};
  if (mode == Mode::kCallback) {
    ASYNC_WAIT_CTX_set_callback(
        waitctx,
        [](void* arg) {
          static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_release);
          return 1;
        },
        &notified);
  }
  ASYNC_JOB* job = nullptr;
  std::function<int()>* pointer = &work;
  for (;;) {
    const int state =
        ASYNC_start_job(&job, waitctx, &result.value, run_work, &pointer, sizeof pointer);
    if (state == ASYNC_FINISH) break;
    if (state != ASYNC_PAUSE) {
      ADD_FAILURE() << "ASYNC_start_job returned " << state;
      result.value = -1;
      break;
    }
    ++result.pauses;
    if (mode == Mode::kCallback) {
      if (ASYNC_WAIT_CTX_get_status(waitctx) == ASYNC_STATUS_EAGAIN) continue;
      while (notified.load(std::memory_order_acquire) == 0) {
      }
      notified.store(0, std::memory_order_relaxed);
      continue;
    }
    OSSL_ASYNC_FD fds[4];
    size_t count = 0;
    ASYNC_WAIT_CTX_get_all_fds(waitctx, nullptr, &count);
    EXPECT_TRUE(count >= 1 && count <= 4);
    ASYNC_WAIT_CTX_get_all_fds(waitctx, fds, &count);
    pollfd wait{fds[0], POLLIN, 0};
    EXPECT_EQ(::poll(&wait, 1, 10'000), 1) << "the job's fd never became readable";
  }
  ASYNC_WAIT_CTX_free(waitctx);
  return result;
}

class ProviderAsym : public ::testing::TestWithParam<Mode> {
 protected:
  static void SetUpTestSuite() {
    // A pool made by an earlier suite's jobs first: ASYNC_init_thread replaces, and so leaks, a
    // thread's existing pool.
    ASYNC_cleanup_thread();
    ASYNC_init_thread(64, 0);
    ASSERT_NO_FATAL_FAILURE(providers_.load());
    OSSL_LIB_CTX* context = providers_.context;
    keys_["rsa2048"] = EVP_PKEY_Q_keygen(context, "provider=default", "RSA", size_t{2048});
    keys_["p256"] = EVP_PKEY_Q_keygen(context, "provider=default", "EC", "P-256");
    keys_["p384"] = EVP_PKEY_Q_keygen(context, "provider=default", "EC", "P-384");
    keys_["x25519"] = EVP_PKEY_Q_keygen(context, "provider=default", "X25519");
    peers_["p256"] = EVP_PKEY_Q_keygen(context, "provider=default", "EC", "P-256");
    peers_["p384"] = EVP_PKEY_Q_keygen(context, "provider=default", "EC", "P-384");
    peers_["x25519"] = EVP_PKEY_Q_keygen(context, "provider=default", "X25519");
    for (auto& [name, key] : keys_) ASSERT_NE(key, nullptr) << name;
    for (auto& [name, key] : peers_) ASSERT_NE(key, nullptr) << name;
  }
  static void TearDownTestSuite() {
    for (auto& [name, key] : keys_) EVP_PKEY_free(key);
    for (auto& [name, key] : peers_) EVP_PKEY_free(key);
    keys_.clear();
    peers_.clear();
    providers_.unload();
  }

  static OSSL_LIB_CTX* context() { return providers_.context; }

  // One-shot digest-sign (SHA-256) with `propq` choosing the provider; empty on failure.
  static Bytes sign(EVP_PKEY* key, const char* propq, int padding, const Bytes& message) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pkey = nullptr;
    Bytes signature(1024);
    std::size_t length = signature.size();
    const bool ok =
        EVP_DigestSignInit_ex(md, &pkey, "SHA256", context(), propq, key, nullptr) == 1 &&
        (padding == 0 || EVP_PKEY_CTX_set_rsa_padding(pkey, padding) == 1) &&
        EVP_DigestSign(md, signature.data(), &length, message.data(), message.size()) == 1;
    EVP_MD_CTX_free(md);
    signature.resize(ok ? length : 0);
    return signature;
  }
  static int verify(EVP_PKEY* key, const char* propq, int padding, const Bytes& message,
                    const Bytes& signature) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pkey = nullptr;
    int verdict = EVP_DigestVerifyInit_ex(md, &pkey, "SHA256", context(), propq, key, nullptr);
    if (verdict == 1 && padding != 0) verdict = EVP_PKEY_CTX_set_rsa_padding(pkey, padding);
    if (verdict == 1) {
      verdict =
          EVP_DigestVerify(md, signature.data(), signature.size(), message.data(), message.size());
    }
    EVP_MD_CTX_free(md);
    return verdict;
  }
  static Bytes derive(EVP_PKEY* key, EVP_PKEY* peer, const char* propq) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(context(), key, propq);
    Bytes secret(128);
    std::size_t length = secret.size();
    const bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
                    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
                    EVP_PKEY_derive(ctx, secret.data(), &length) == 1;
    EVP_PKEY_CTX_free(ctx);
    secret.resize(ok ? length : 0);
    return secret;
  }
  static Bytes encrypt(EVP_PKEY* key, const char* propq, int padding, const Bytes& input,
                       bool decrypt) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(context(), key, propq);
    Bytes output(1024);
    std::size_t length = output.size();
    bool ok = ctx != nullptr &&
              (decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx)) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1;
    if (ok) {
      ok = (decrypt
                ? EVP_PKEY_decrypt(ctx, output.data(), &length, input.data(), input.size())
                : EVP_PKEY_encrypt(ctx, output.data(), &length, input.data(), input.size())) == 1;
    }
    EVP_PKEY_CTX_free(ctx);
    output.resize(ok ? length : 0);
    return output;
  }

  static inline ProviderUnderTest providers_;
  static inline std::map<std::string, EVP_PKEY*> keys_, peers_;
};

constexpr const char* kOurs = "provider=pollnotify";
constexpr const char* kDefault = "provider=default";
const Bytes kMessage = {'a', 's', 'y', 'n', 'c', ' ', 'h', 'a', 'n', 'd', 's', 'h', 'a', 'k', 'e'};

TEST_P(ProviderAsym, SignaturesInJobsVerifyWithTheDefaultProvider) {
  const std::uint64_t rsa_before = counter(providers_.pollnotify, "rsa-in-jobs");
  const std::uint64_t ec_before = counter(providers_.pollnotify, "ec-in-jobs");
  struct Case {
    const char* key;
    int padding;
  };
  for (const Case& c : {Case{"rsa2048", RSA_PKCS1_PADDING}, Case{"rsa2048", RSA_PKCS1_PSS_PADDING},
                        Case{"p256", 0}, Case{"p384", 0}}) {
    EVP_PKEY* key = keys_[c.key];
    Bytes signature;
    const JobResult signed_in_job = run_in_job(GetParam(), [&] {
      signature = sign(key, kOurs, c.padding, kMessage);
      return signature.empty() ? 0 : 1;
    });
    ASSERT_EQ(signed_in_job.value, 1) << c.key;
    EXPECT_GE(signed_in_job.pauses, 1U) << c.key << ": the signature never paused its job";
    EXPECT_EQ(verify(key, kDefault, c.padding, kMessage, signature), 1) << c.key;
    // And verification in a job: the right signature verifies, a corrupted one does not.
    const JobResult verified =
        run_in_job(GetParam(), [&] { return verify(key, kOurs, c.padding, kMessage, signature); });
    EXPECT_EQ(verified.value, 1) << c.key;
    EXPECT_GE(verified.pauses, 1U) << c.key;
    Bytes corrupted = signature;
    corrupted[corrupted.size() / 2] ^= 1;
    const JobResult refused =
        run_in_job(GetParam(), [&] { return verify(key, kOurs, c.padding, kMessage, corrupted); });
    EXPECT_NE(refused.value, 1) << c.key << ": a corrupted signature verified";
  }
  EXPECT_EQ(counter(providers_.pollnotify, "rsa-in-jobs") - rsa_before, 6U);
  EXPECT_EQ(counter(providers_.pollnotify, "ec-in-jobs") - ec_before, 6U);
}

TEST_P(ProviderAsym, KeyExchangesInJobsAgreeWithTheDefaultProvider) {
  const std::uint64_t ec_before = counter(providers_.pollnotify, "ec-in-jobs");
  for (const char* name : {"p256", "p384", "x25519"}) {
    const Bytes expected = derive(keys_[name], peers_[name], kDefault);
    ASSERT_FALSE(expected.empty()) << name;
    Bytes secret;
    const JobResult job = run_in_job(GetParam(), [&] {
      secret = derive(keys_[name], peers_[name], kOurs);
      return secret.empty() ? 0 : 1;
    });
    ASSERT_EQ(job.value, 1) << name;
    EXPECT_GE(job.pauses, 1U) << name;
    EXPECT_EQ(secret, expected) << name;
  }
  EXPECT_EQ(counter(providers_.pollnotify, "ec-in-jobs") - ec_before, 3U);
}

TEST_P(ProviderAsym, RsaEncryptionAndDecryptionInJobs) {
  EVP_PKEY* key = keys_["rsa2048"];
  for (int padding : {RSA_PKCS1_OAEP_PADDING, RSA_PKCS1_PADDING}) {
    Bytes ciphertext;
    const JobResult encrypted = run_in_job(GetParam(), [&] {
      ciphertext = encrypt(key, kOurs, padding, kMessage, false);
      return ciphertext.empty() ? 0 : 1;
    });
    ASSERT_EQ(encrypted.value, 1) << padding;
    EXPECT_EQ(encrypt(key, kDefault, padding, ciphertext, true), kMessage) << padding;
    const Bytes by_default = encrypt(key, kDefault, padding, kMessage, false);
    Bytes plaintext;
    const JobResult decrypted = run_in_job(GetParam(), [&] {
      plaintext = encrypt(key, kOurs, padding, by_default, true);
      return plaintext.empty() ? 0 : 1;
    });
    ASSERT_EQ(decrypted.value, 1) << padding;
    EXPECT_GE(decrypted.pauses, 1U) << padding;
    EXPECT_EQ(plaintext, kMessage) << padding;
  }
}

// SHA2-384 (TLS_AES_256_GCM_SHA384's transcript hash) in a job: the default provider's digest.
TEST_P(ProviderAsym, Sha384InJobsMatchesTheDefaultProvider) {
  EVP_MD* ours = EVP_MD_fetch(context(), "SHA2-384", kOurs);
  EVP_MD* reference = EVP_MD_fetch(context(), "SHA2-384", kDefault);
  ASSERT_NE(ours, nullptr);
  Bytes message(100'000);
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<unsigned char>(i * 7);
  for (std::size_t size : {0, 1, 111, 112, 128, 1000, 100'000}) {
    unsigned char expected[48], actual[48];
    unsigned int length = 0;
    ASSERT_EQ(EVP_Digest(message.data(), size, expected, &length, reference, nullptr), 1);
    const JobResult job = run_in_job(GetParam(), [&] {
      unsigned int out_length = 0;
      return EVP_Digest(message.data(), size, actual, &out_length, ours, nullptr) == 1 &&
                     out_length == 48
                 ? 1
                 : 0;
    });
    ASSERT_EQ(job.value, 1) << size;
    EXPECT_GE(job.pauses, 1U) << size;
    EXPECT_EQ(0, std::memcmp(actual, expected, sizeof expected)) << size;
  }
  EVP_MD_free(ours);
  EVP_MD_free(reference);
}

// EVP_PKEY_sign of `tbs` with PKCS#1 v1.5 padding and `md` (null: none, `tbs` signed as it is).
Bytes pkey_sign(OSSL_LIB_CTX* context, EVP_PKEY* key, const char* propq, const char* md,
                const Bytes& tbs) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(context, key, propq);
  Bytes signature(1024);
  std::size_t length = signature.size();
  bool ok = ctx != nullptr && EVP_PKEY_sign_init(ctx) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
  if (ok && md != nullptr) ok = EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)) == 1;
  ok = ok && EVP_PKEY_sign(ctx, signature.data(), &length, tbs.data(), tbs.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  signature.resize(ok ? length : 0);
  return signature;
}

// RSA with PKCS#1 v1.5 padding, the private-key half, is the driver's where it offers RSA
// (crypto_openssl): the DigestSign of TLS 1.2, EVP_PKEY_sign with and without a hash, decryption;
// results equal the default provider's (these signatures are deterministic). PSS and OAEP, and
// everything on a device without RSA, are libcrypto's.
TEST_P(ProviderAsym, RsaPkcs1OnADriverWithRsa) {
  const char* device = std::getenv("PN_PROVIDER_DEVICE");
  const bool driver_has_rsa =
      device != nullptr && std::string(device) == "cryptodev:crypto_openssl";
  EVP_PKEY* key = keys_["rsa2048"];
  const std::uint64_t before = counter(providers_.pollnotify, "rsa-by-driver");
  Bytes digest(32);
  for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<unsigned char>(i * 13);
  // A ciphertext whose first byte is zero, passed without it (libcrypto accepts it).
  Bytes short_ciphertext;
  while (short_ciphertext.empty()) {
    const Bytes ciphertext = encrypt(key, kDefault, RSA_PKCS1_PADDING, kMessage, false);
    ASSERT_FALSE(ciphertext.empty());
    if (ciphertext[0] == 0) short_ciphertext.assign(ciphertext.begin() + 1, ciphertext.end());
  }
  struct Case {
    const char* what;
    std::function<Bytes(const char* propq)> run;
  };
  const Case cases[] = {
      {"DigestSign SHA-256",
       [&](const char* q) { return sign(key, q, RSA_PKCS1_PADDING, kMessage); }},
      {"sign a SHA-256 hash",
       [&](const char* q) { return pkey_sign(context(), key, q, "SHA256", digest); }},
      {"sign as it is",
       [&](const char* q) { return pkey_sign(context(), key, q, nullptr, kMessage); }},
      {"decrypt",
       [&](const char* q) {
         return encrypt(key, q, RSA_PKCS1_PADDING,
                        encrypt(key, kDefault, RSA_PKCS1_PADDING, kMessage, false), true);
       }},
      {"decrypt without the leading zero byte",
       [&](const char* q) { return encrypt(key, q, RSA_PKCS1_PADDING, short_ciphertext, true); }}};
  for (const Case& c : cases) {
    const Bytes expected = c.run(kDefault);
    ASSERT_FALSE(expected.empty()) << c.what;
    Bytes actual;
    const JobResult job = run_in_job(GetParam(), [&] {
      actual = c.run(kOurs);
      return actual.empty() ? 0 : 1;
    });
    ASSERT_EQ(job.value, 1) << c.what;
    EXPECT_GE(job.pauses, 1U) << c.what;
    EXPECT_EQ(actual, expected) << c.what;
    EXPECT_EQ(c.run(kOurs), expected) << c.what << ", outside a job";
  }
  EXPECT_EQ(counter(providers_.pollnotify, "rsa-by-driver") - before, driver_has_rsa ? 10U : 0U);
  // PSS and OAEP stay with libcrypto.
  const Bytes pss = sign(key, kOurs, RSA_PKCS1_PSS_PADDING, kMessage);
  EXPECT_EQ(verify(key, kDefault, RSA_PKCS1_PSS_PADDING, kMessage, pss), 1);
  const Bytes oaep = encrypt(key, kDefault, RSA_PKCS1_OAEP_PADDING, kMessage, false);
  EXPECT_EQ(encrypt(key, kOurs, RSA_PKCS1_OAEP_PADDING, oaep, true), kMessage);
  EXPECT_EQ(counter(providers_.pollnotify, "rsa-by-driver") - before, driver_has_rsa ? 10U : 0U);
}

// Outside a job the operations complete synchronously, with the same results.
TEST_P(ProviderAsym, SynchronousOperationsOutsideJobs) {
  const Bytes signature = sign(keys_["p256"], kOurs, 0, kMessage);
  ASSERT_FALSE(signature.empty());
  EXPECT_EQ(verify(keys_["p256"], kDefault, 0, kMessage, signature), 1);
  EXPECT_EQ(derive(keys_["x25519"], peers_["x25519"], kOurs),
            derive(keys_["x25519"], peers_["x25519"], kDefault));
}

INSTANTIATE_TEST_SUITE_P(Modes, ProviderAsym, ::testing::Values(Mode::kCallback, Mode::kFd),
                         [](const ::testing::TestParamInfo<Mode>& mode) {
                           return mode.param == Mode::kCallback ? "Callback" : "Fd";
                         });

// A provider loaded with extra settings (PN_PROVIDER_<KEY> variables, read at load).
using Settings = std::map<std::string, std::string>;
struct Configured {
  ProviderUnderTest providers;
  explicit Configured(const Settings& settings) {
    for (const auto& [key, value] : settings) ::setenv(key.c_str(), value.c_str(), 1);
    providers.load();
    for (const auto& [key, value] : settings) ::unsetenv(key.c_str());
  }
  ~Configured() { providers.unload(); }
  EVP_PKEY* key(const char* type, const char* group) const {
    return group == nullptr ? EVP_PKEY_Q_keygen(providers.context, kDefault, type)
                            : EVP_PKEY_Q_keygen(providers.context, kDefault, type, group);
  }
};

Bytes sign_in(OSSL_LIB_CTX* context, EVP_PKEY* key, const Bytes& message) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  Bytes signature(1024);
  std::size_t length = signature.size();
  const bool ok =
      EVP_DigestSignInit_ex(md, nullptr, "SHA256", context, kOurs, key, nullptr) == 1 &&
      EVP_DigestSign(md, signature.data(), &length, message.data(), message.size()) == 1;
  EVP_MD_CTX_free(md);
  signature.resize(ok ? length : 0);
  return signature;
}

// Whether the default provider verifies a SHA-256 signature of kMessage.
bool verifies_in(OSSL_LIB_CTX* context, EVP_PKEY* key, const Bytes& signature) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool verified =
      EVP_DigestVerifyInit_ex(md, nullptr, "SHA256", context, kDefault, key, nullptr) == 1 &&
      EVP_DigestVerify(md, signature.data(), signature.size(), kMessage.data(), kMessage.size()) ==
          1;
  EVP_MD_CTX_free(md);
  return verified;
}

// With the default thresholds a digest of a short message computes at once (no pause) while a
// signature pauses; `digest_threshold=0` offloads every digest.
TEST(ProviderThresholds, SmallDigestsComputeAtOnceSignaturesPause) {
  Configured provider(Settings{{"PN_PROVIDER_OFFLOAD", "threshold"}});
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_MD* sha256 = EVP_MD_fetch(context, "SHA2-256", kOurs);
  ASSERT_NE(sha256, nullptr);
  const JobResult digest = run_in_job(Mode::kFd, [&] {
    unsigned char out[32];
    unsigned int size = 0;
    return EVP_Digest(kMessage.data(), kMessage.size(), out, &size, sha256, nullptr);
  });
  EXPECT_EQ(digest.value, 1);
  EXPECT_EQ(digest.pauses, 0U) << "a short digest paused below the threshold";
  EXPECT_EQ(counter(provider.providers.pollnotify, "digest-operations"), 1U);
  EXPECT_EQ(counter(provider.providers.pollnotify, "digest-offloaded"), 0U);
  EVP_PKEY* key = provider.key("EC", "P-256");
  const JobResult signature =
      run_in_job(Mode::kFd, [&] { return sign_in(context, key, kMessage).empty() ? 0 : 1; });
  EXPECT_EQ(signature.value, 1);
  EXPECT_GE(signature.pauses, 1U);
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-offloaded"), 1U);
  EVP_PKEY_free(key);
  EVP_MD_free(sha256);
}

TEST(ProviderThresholds, AZeroThresholdOffloadsEveryDigest) {
  Configured provider(
      {{"PN_PROVIDER_OFFLOAD", "threshold"}, {"PN_PROVIDER_DIGEST_THRESHOLD", "0"}});
  EVP_MD* sha256 = EVP_MD_fetch(provider.providers.context, "SHA2-256", kOurs);
  const JobResult digest = run_in_job(Mode::kCallback, [&] {
    unsigned char out[32];
    unsigned int size = 0;
    return EVP_Digest(kMessage.data(), kMessage.size(), out, &size, sha256, nullptr);
  });
  EXPECT_EQ(digest.value, 1);
  EXPECT_GE(digest.pauses, 1U);
  EXPECT_EQ(counter(provider.providers.pollnotify, "digest-in-jobs"), 1U);
  EVP_MD_free(sha256);
}

// `rsa_compute=workers`: a worker thread computes, the poller notifies; the results verify.
TEST(ProviderWorkers, WorkersComputeSignaturesThatVerify) {
  Configured provider({{"PN_PROVIDER_RSA_COMPUTE", "workers"},
                       {"PN_PROVIDER_WORKERS", "2"},
                       {"PN_PROVIDER_RSA_LATENCY", "fixed:20000"}});
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_PKEY* key = EVP_PKEY_Q_keygen(context, kDefault, "RSA", size_t{2048});
  for (Mode mode : {Mode::kCallback, Mode::kFd}) {
    Bytes signature;
    const JobResult job = run_in_job(mode, [&] {
      signature = sign_in(context, key, kMessage);
      return signature.empty() ? 0 : 1;
    });
    ASSERT_EQ(job.value, 1);
    EXPECT_GE(job.pauses, 1U);
    EXPECT_TRUE(verifies_in(context, key, signature));
  }
  EXPECT_EQ(counter(provider.providers.pollnotify, "rsa-in-jobs"), 2U);
  EVP_PKEY_free(key);
}

// The measurement instrument PN_PROVIDER_TEST_SELF_NOTIFY: the job notifies itself and pauses
// exactly once, without the device: its one-second latency never shows.
TEST(ProviderSelfNotify, EachOperationPausesOnceWithoutTheDevice) {
  Configured provider(
      {{"PN_PROVIDER_TEST_SELF_NOTIFY", "1"}, {"PN_PROVIDER_EC_LATENCY", "fixed:1000000000"}});
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_PKEY* key = provider.key("EC", "P-256");
  for (Mode mode : {Mode::kCallback, Mode::kFd}) {
    Bytes signature;
    const auto started = std::chrono::steady_clock::now();
    const JobResult job = run_in_job(mode, [&] {
      signature = sign_in(context, key, kMessage);
      return signature.empty() ? 0 : 1;
    });
    ASSERT_EQ(job.value, 1);
    EXPECT_EQ(job.pauses, 1U);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900))
        << "waited for the device's one-second latency";
    EXPECT_TRUE(verifies_in(context, key, signature));
  }
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-pauses"), 2U);
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-unresumed"), 0U);
  EVP_PKEY_free(key);
}

// Injected EAGAIN: the job is told to retry (status EAGAIN, or its fd signalled) and the
// signature still completes; the retries are counted.
TEST(ProviderFaults, EagainBurstsAreRetriedThroughTheJob) {
  Configured provider(Settings{{"PN_PROVIDER_EC_EAGAIN", "0.7"}});
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_PKEY* key = provider.key("EC", "P-256");
  for (Mode mode : {Mode::kCallback, Mode::kFd}) {
    for (int i = 0; i < 20; ++i) {
      const JobResult job =
          run_in_job(mode, [&] { return sign_in(context, key, kMessage).empty() ? 0 : 1; });
      ASSERT_EQ(job.value, 1);
    }
  }
  EXPECT_GT(counter(provider.providers.pollnotify, "ec-retries"), 0U);
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-errors"), 0U);
  EVP_PKEY_free(key);
}

// An ECDSA signature with `settings` fails, in a job and outside one, and nothing hangs: the
// provider counts both failures and unloads.
void expect_signing_fails(const Settings& settings) {
  Configured provider(settings);
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_PKEY* key = provider.key("EC", "P-256");
  const JobResult job =
      run_in_job(Mode::kFd, [&] { return sign_in(context, key, kMessage).empty() ? 0 : 1; });
  EXPECT_EQ(job.value, 0);
  EXPECT_TRUE(sign_in(context, key, kMessage).empty());
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-errors"), 2U);
  EVP_PKEY_free(key);
}

// A device that refuses every submission: the workers give up after a second of refusals.
TEST(ProviderFaults, WorkersGiveUpOnADeviceThatAlwaysRefuses) {
  expect_signing_fails(
      Settings{{"PN_PROVIDER_EC_EAGAIN", "1"}, {"PN_PROVIDER_EC_COMPUTE", "workers"}});
}

// Injected ERR: the operation fails with an error.
TEST(ProviderFaults, InjectedErrorsFailTheOperation) {
  expect_signing_fails(Settings{{"PN_PROVIDER_EC_ERRORS", "1"}});
}

// RSA-3072 and RSA-4096 signatures in jobs verify with the default provider.
TEST(ProviderLargerKeys, Rsa3072And4096SignaturesInJobs) {
  Configured provider(Settings{});
  OSSL_LIB_CTX* context = provider.providers.context;
  for (std::size_t bits : {std::size_t{3072}, std::size_t{4096}}) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(context, kDefault, "RSA", bits);
    ASSERT_NE(key, nullptr);
    Bytes signature;
    const JobResult job = run_in_job(Mode::kFd, [&] {
      signature = sign_in(context, key, kMessage);
      return signature.empty() ? 0 : 1;
    });
    ASSERT_EQ(job.value, 1) << bits;
    EXPECT_GE(job.pauses, 1U) << bits;
    EXPECT_EQ(signature.size(), bits / 8);
    EXPECT_TRUE(verifies_in(context, key, signature)) << bits;
    EVP_PKEY_free(key);
  }
}

// `ec_capacity=1` with a latency: of 8 jobs signing at once, all but one are refused at first and
// retry through their fd; every signature completes.
TEST(ProviderCapacity, JobsPastTheClassCapacityRetry) {
  if (const char* device = std::getenv("PN_PROVIDER_DEVICE");
      device != nullptr && std::string(device).rfind("cryptodev:", 0) == 0) {
    GTEST_SKIP() << "class capacities are the simulated device's (a driver has its own)";
  }
  Configured provider(
      Settings{{"PN_PROVIDER_EC_CAPACITY", "1"}, {"PN_PROVIDER_EC_LATENCY", "fixed:200000"}});
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_PKEY* key = provider.key("EC", "P-256");
  constexpr int kJobs = 8;
  struct Slot {
    ASYNC_WAIT_CTX* waitctx = ASYNC_WAIT_CTX_new();
    ASYNC_JOB* job = nullptr;
    std::function<int()> work;
    std::function<int()>* pointer = &work;
    int value = 0;
    bool done = false;
  };
  std::vector<Slot> slots(kJobs);
  int finished = 0;
  for (Slot& slot : slots) {
    slot.work = [&] { return sign_in(context, key, kMessage).empty() ? 0 : 1; };
  }
  for (int round = 0; round < 100'000 && finished < kJobs; ++round) {
    for (Slot& slot : slots) {
      if (slot.done) continue;
      if (slot.job != nullptr) {  // paused: resume only when its fd says so
        OSSL_ASYNC_FD fd = -1;
        size_t count = 1;
        ASSERT_EQ(ASYNC_WAIT_CTX_get_all_fds(slot.waitctx, &fd, &count), 1);
        pollfd wait{fd, POLLIN, 0};
        if (::poll(&wait, 1, 0) != 1) continue;
      }
      const int state = ASYNC_start_job(&slot.job, slot.waitctx, &slot.value, run_work,
                                        &slot.pointer, sizeof slot.pointer);
      ASSERT_NE(state, ASYNC_ERR);
      if (state == ASYNC_FINISH) {
        slot.done = true;
        ++finished;
        EXPECT_EQ(slot.value, 1);
      }
    }
  }
  EXPECT_EQ(finished, kJobs);
  EXPECT_GT(counter(provider.providers.pollnotify, "ec-retries"), 0U);
  for (Slot& slot : slots) ASYNC_WAIT_CTX_free(slot.waitctx);
  EVP_PKEY_free(key);
}

// A job the application never resumes after its completion was delivered: the counter names it.
TEST(ProviderAbandoned, ACompletionNeverCollectedIsCounted) {
  Configured provider(Settings{});
  OSSL_LIB_CTX* context = provider.providers.context;
  EVP_PKEY* key = provider.key("EC", "P-256");
  ASYNC_WAIT_CTX* waitctx = ASYNC_WAIT_CTX_new();
  ASYNC_JOB* job = nullptr;
  int value = 0;
  std::function<int()> work = [&] { return sign_in(context, key, kMessage).empty() ? 0 : 1; };
  std::function<int()>* pointer = &work;
  ASSERT_EQ(ASYNC_start_job(&job, waitctx, &value, run_work, &pointer, sizeof pointer),
            ASYNC_PAUSE);
  OSSL_ASYNC_FD fd = -1;
  size_t count = 1;
  ASSERT_EQ(ASYNC_WAIT_CTX_get_all_fds(waitctx, &fd, &count), 1);
  pollfd wait{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&wait, 1, 10'000), 1);  // delivered: the job could resume now, and does not
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-unresumed"), 1U);
  ASSERT_EQ(ASYNC_start_job(&job, waitctx, &value, run_work, &pointer, sizeof pointer),
            ASYNC_FINISH);  // resumed late: collected
  EXPECT_EQ(value, 1);
  EXPECT_EQ(counter(provider.providers.pollnotify, "ec-unresumed"), 0U);
  ASYNC_WAIT_CTX_free(waitctx);
  EVP_PKEY_free(key);
}

}  // namespace
