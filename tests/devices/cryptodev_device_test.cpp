// The DPDK cryptodev device on the software PMDs crypto_aesni_mb and crypto_openssl (vdevs, no
// hugepages): AES-128-GCM and SHA-256 results equal libcrypto's on random inputs and sizes from
// 0 B to 64 KiB in unaligned buffers, a tag that does not verify is ERR, RSA PKCS#1 v1.5 sign
// and decrypt equal libcrypto's where the driver has RSA (crypto_openssl), several submitting
// threads, EAGAIN at capacity, teardown with requests queued, bad arguments. Skipped, with the
// reason, where DPDK's EAL cannot start.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pollnotify/cryptodev_device.hpp"
#include "pollnotify/poller.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

const std::string& eal_outcome() {
  static const std::string outcome = [] {
    pn::CryptodevEalOptions options;
    // The third is the teardown test's alone: it leaves that device's queue pair to the driver.
    options.vdevs = {"crypto_aesni_mb", "crypto_openssl", "crypto_aesni_mb_left_to_driver"};
    return pn::cryptodev_eal_init(options);
  }();
  return outcome;
}

class Cryptodev : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!eal_outcome().empty()) GTEST_SKIP() << "DPDK EAL unavailable here: " << eal_outcome();
  }
  pn::CryptodevOptions options() const {
    pn::CryptodevOptions device_options;
    device_options.device = GetParam();
    return device_options;
  }
};

// One request's outcome, written by its callback.
struct Outcome {
  std::atomic<int> calls{0};
  int status = -1;
  std::int32_t result = 0;
};

int record(void* arg, const PN_COMPLETION* completion) {
  auto* outcomes = static_cast<Outcome*>(arg);
  Outcome& outcome = outcomes[completion->user_data];
  outcome.status = completion->status;
  outcome.result = completion->result;
  outcome.calls.fetch_add(1, std::memory_order_release);  // CDT-R1: pairs with CDT-A1
  return 1;
}

bool wait_all(const std::vector<Outcome>& outcomes) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (const Outcome& outcome : outcomes) {
    // CDT-A1: pairs with CDT-R1: status, result and the output buffers are visible.
    while (outcome.calls.load(std::memory_order_acquire) == 0) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::yield();
    }
  }
  return true;
}

pn::PollerOptions busy() {
  pn::PollerOptions poller_options;
  poller_options.policy = pn::PollPolicy::kBusy;
  return poller_options;
}

struct Gcm {
  Bytes ciphertext, tag;
};

Gcm libcrypto_gcm(const std::uint8_t* key, const std::uint8_t* iv, const Bytes& aad,
                  const std::uint8_t* plain, std::size_t length) {
  Gcm out{Bytes(length + 16), Bytes(16)};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int written = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key, iv);
  if (!aad.empty())
    EVP_EncryptUpdate(ctx, nullptr, &written, aad.data(), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, out.ciphertext.data(), &written, plain, static_cast<int>(length));
  EVP_EncryptFinal_ex(ctx, out.ciphertext.data() + written, &written);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.tag.data());
  EVP_CIPHER_CTX_free(ctx);
  out.ciphertext.resize(length);
  return out;
}

std::vector<std::uint32_t> sizes() {
  std::vector<std::uint32_t> chosen = {0,   1,    15,   16,    17,    63,   64,
                                       255, 1000, 4096, 16384, 65535, 65536};
  std::mt19937 rng(11);
  for (int i = 0; i < 12; ++i) chosen.push_back(rng() % 65537);
  return chosen;
}

TEST_P(Cryptodev, AesGcmAndSha256EqualLibcrypto) {
  pn::Poller poller(busy());
  pn::CryptodevDevice device(poller, options());
  ASSERT_TRUE(device.supports(pn::CryptoOpKind::kAesGcmEncrypt));
  ASSERT_TRUE(device.supports(pn::CryptoOpKind::kSha256));
  ASSERT_TRUE(poller.start());
  std::mt19937 rng(3);
  std::uint8_t key[16];
  for (auto& byte : key) byte = static_cast<std::uint8_t>(rng());
  const Bytes aad = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  const auto& encrypt = device.aes_gcm_session(key, true, static_cast<std::uint32_t>(aad.size()));
  const auto& decrypt = device.aes_gcm_session(key, false, static_cast<std::uint32_t>(aad.size()));
  const std::vector<std::uint32_t> lengths = sizes();
  const std::size_t n = lengths.size();
  // Unaligned: every buffer starts 1 to 7 bytes into its allocation.
  std::vector<Bytes> plain(n), cipher(n), back(n), tags(n, Bytes(17)), digests(n, Bytes(33));
  std::vector<Bytes> ivs(n, Bytes(13));
  std::vector<Outcome> encrypted(n), hashed(n);
  std::vector<pn::WaitCtxPtr> contexts;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t skew = 1 + i % 7;
    plain[i].resize(lengths[i] + skew);
    cipher[i].resize(lengths[i] + skew);
    back[i].resize(lengths[i] + skew);
    for (auto& byte : plain[i]) byte = static_cast<std::uint8_t>(rng());
    for (auto& byte : ivs[i]) byte = static_cast<std::uint8_t>(rng());
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_completion_callback(record, encrypted.data());
    const pn::SubmitResult gcm = device.submit_aes_gcm(
        *contexts.back(), encrypt, ivs[i].data() + 1, aad.data(), plain[i].data() + skew,
        cipher[i].data() + skew, lengths[i], tags[i].data() + 1, i);
    if (lengths[i] == 65536) {  // two mbufs: neither software driver handles it (the header)
      EXPECT_EQ(gcm, pn::SubmitResult::kFailed) << "a chained GCM op: refused";
      encrypted[i].calls.store(1, std::memory_order_relaxed);
      encrypted[i].status = -2;
    } else {
      ASSERT_EQ(gcm, pn::SubmitResult::kAccepted);
    }
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_completion_callback(record, hashed.data());
    const pn::SubmitResult sha = device.submit_sha256(*contexts.back(), plain[i].data() + skew,
                                                      lengths[i], digests[i].data() + 1, i);
    if (lengths[i] == 65536 && std::string(GetParam()) == "crypto_aesni_mb") {
      EXPECT_EQ(sha, pn::SubmitResult::kFailed) << "its chained SHA-256 is wrong: refused";
      hashed[i].calls.store(1, std::memory_order_relaxed);
      hashed[i].status = -2;
    } else {
      ASSERT_EQ(sha, pn::SubmitResult::kAccepted);
    }
  }
  ASSERT_TRUE(wait_all(encrypted));
  ASSERT_TRUE(wait_all(hashed));
  std::vector<bool> refused_gcm(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t skew = 1 + i % 7;
    const Gcm expected =
        libcrypto_gcm(key, ivs[i].data() + 1, aad, plain[i].data() + skew, lengths[i]);
    if (encrypted[i].status == -2) {
      refused_gcm[i] = true;
      continue;
    }
    ASSERT_EQ(encrypted[i].status, PN_ASYNC_STATUS_OK) << lengths[i] << " B";
    EXPECT_EQ(encrypted[i].result, static_cast<std::int32_t>(lengths[i]));
    EXPECT_EQ(std::memcmp(cipher[i].data() + skew, expected.ciphertext.data(), lengths[i]), 0)
        << "ciphertext, " << lengths[i] << " B";
    EXPECT_EQ(std::memcmp(tags[i].data() + 1, expected.tag.data(), 16), 0)
        << "tag, " << lengths[i] << " B";
    if (hashed[i].status == -2) continue;
    std::uint8_t reference[32];
    SHA256(plain[i].data() + skew, lengths[i], reference);
    ASSERT_EQ(hashed[i].status, PN_ASYNC_STATUS_OK) << lengths[i] << " B";
    EXPECT_EQ(std::memcmp(digests[i].data() + 1, reference, 32), 0)
        << "digest, " << lengths[i] << " B";
  }
  // Decrypt: the plaintext back, and a flipped tag bit is ERR with -EBADMSG.
  std::vector<Outcome> decrypted(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t skew = 1 + i % 7;
    if (refused_gcm[i]) {
      decrypted[i].calls.store(1, std::memory_order_relaxed);
      decrypted[i].status = PN_ASYNC_STATUS_OK;
      std::memcpy(back[i].data() + skew, plain[i].data() + skew, lengths[i]);
      continue;
    }
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_completion_callback(record, decrypted.data());
    ASSERT_EQ(device.submit_aes_gcm(*contexts.back(), decrypt, ivs[i].data() + 1, aad.data(),
                                    cipher[i].data() + skew, back[i].data() + skew, lengths[i],
                                    tags[i].data() + 1, i),
              pn::SubmitResult::kAccepted);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (std::size_t i = 0; i < n; ++i) {
    while (decrypted[i].calls.load(std::memory_order_acquire) == 0) {  // CDT-A1
      ASSERT_LT(std::chrono::steady_clock::now(), until);
      std::this_thread::yield();
    }
    const std::size_t skew = 1 + i % 7;
    EXPECT_EQ(decrypted[i].status, PN_ASYNC_STATUS_OK) << lengths[i] << " B";
    EXPECT_EQ(std::memcmp(back[i].data() + skew, plain[i].data() + skew, lengths[i]), 0);
  }
  Bytes bad_tag(tags[4].begin() + 1, tags[4].begin() + 17);
  bad_tag[0] ^= 1;
  Bytes sink(lengths[4] + 1);
  contexts.push_back(pn::WaitCtx::make());
  contexts.back()->set_completion_callback(record, decrypted.data());
  ASSERT_EQ(device.submit_aes_gcm(*contexts.back(), decrypt, ivs[4].data() + 1, aad.data(),
                                  cipher[4].data() + 5, sink.data(), lengths[4], bad_tag.data(), n),
            pn::SubmitResult::kAccepted);
  while (decrypted[n].calls.load(std::memory_order_acquire) == 0)
    std::this_thread::yield();  // CDT-A1
  EXPECT_EQ(decrypted[n].status, PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(decrypted[n].result, -EBADMSG);
  ASSERT_TRUE(poller.stop());
  EXPECT_EQ(device.in_flight(), 0U);
}

// An RSA key from libcrypto, as big-endian parts for the device.
struct RsaParts {
  EVP_PKEY* pkey = nullptr;
  Bytes n, e, d, p, q, dp, dq, qinv;
  explicit RsaParts(unsigned bits) : pkey(EVP_RSA_gen(bits)) {
    const std::pair<const char*, Bytes*> parts[] = {
        {OSSL_PKEY_PARAM_RSA_N, &n},          {OSSL_PKEY_PARAM_RSA_E, &e},
        {OSSL_PKEY_PARAM_RSA_D, &d},          {OSSL_PKEY_PARAM_RSA_FACTOR1, &p},
        {OSSL_PKEY_PARAM_RSA_FACTOR2, &q},    {OSSL_PKEY_PARAM_RSA_EXPONENT1, &dp},
        {OSSL_PKEY_PARAM_RSA_EXPONENT2, &dq}, {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &qinv}};
    for (const auto& [name, bytes] : parts) {
      BIGNUM* value = nullptr;
      if (pkey == nullptr || EVP_PKEY_get_bn_param(pkey, name, &value) != 1) continue;
      bytes->resize(static_cast<std::size_t>(BN_num_bytes(value)));
      BN_bn2bin(value, bytes->data());
      BN_free(value);
    }
  }
  ~RsaParts() { EVP_PKEY_free(pkey); }
  RsaParts(const RsaParts&) = delete;
  RsaParts& operator=(const RsaParts&) = delete;
  [[nodiscard]] pn::RsaPrivateKey key() const { return {n, e, d, p, q, dp, dq, qinv}; }
  // What libcrypto computes: PKCS#1 v1.5 sign of `in` as it is (no digest set), or encrypt.
  [[nodiscard]] Bytes sign(const Bytes& in) const { return run(in, true); }
  [[nodiscard]] Bytes encrypt(const Bytes& in) const { return run(in, false); }

 private:
  Bytes run(const Bytes& in, bool sign) const {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
    Bytes out(n.size());
    std::size_t length = out.size();
    const bool ok = (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_encrypt_init(ctx)) == 1 &&
                    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
                    (sign ? EVP_PKEY_sign(ctx, out.data(), &length, in.data(), in.size())
                          : EVP_PKEY_encrypt(ctx, out.data(), &length, in.data(), in.size())) == 1;
    EVP_PKEY_CTX_free(ctx);
    out.resize(ok ? length : 0);
    return out;
  }
};

// RSA sign and decrypt equal libcrypto on RSA-2048 and RSA-4096 keys (crypto_openssl), many
// requests in flight at once, unaligned buffers.
TEST_P(Cryptodev, RsaSignAndDecryptEqualLibcrypto) {
  pn::Poller poller(busy());
  pn::CryptodevDevice device(poller, options());
  if (!device.supports(pn::CryptoOpKind::kRsaSignPkcs1)) {
    EXPECT_FALSE(device.supports(pn::CryptoOpKind::kRsaDecryptPkcs1));
    const RsaParts parts(1024);
    EXPECT_THROW((void)device.rsa_key(parts.key()), std::invalid_argument) << "no RSA here";
    GTEST_SKIP() << GetParam() << " offers no RSA";
  }
  ASSERT_TRUE(poller.start());
  std::mt19937 rng(5);
  for (const unsigned bits : {2048U, 4096U}) {
    const RsaParts parts(bits);
    ASSERT_FALSE(parts.qinv.empty());
    const auto& key = device.rsa_key(parts.key());
    constexpr std::size_t kRequests = 24;
    std::vector<Bytes> messages(kRequests), ciphertexts(kRequests);
    std::vector<Bytes> signatures(kRequests, Bytes(parts.n.size() + 3));
    std::vector<Bytes> plaintexts(kRequests, Bytes(parts.n.size() + 3));
    std::vector<Outcome> signed_(kRequests), decrypted(kRequests);
    std::vector<pn::WaitCtxPtr> contexts;
    for (std::size_t i = 0; i < kRequests; ++i) {
      messages[i].resize(1 + rng() % (parts.n.size() - 11));  // up to the padding's limit
      for (auto& byte : messages[i]) byte = static_cast<std::uint8_t>(rng());
      ciphertexts[i] = parts.encrypt(messages[i]);
      ASSERT_EQ(ciphertexts[i].size(), parts.n.size());
      const std::size_t skew = 1 + i % 3;
      contexts.push_back(pn::WaitCtx::make());
      contexts.back()->set_completion_callback(record, signed_.data());
      ASSERT_EQ(device.submit_rsa(
                    *contexts.back(), key, pn::CryptoOpKind::kRsaSignPkcs1, messages[i].data(),
                    static_cast<std::uint32_t>(messages[i].size()), signatures[i].data() + skew, i),
                pn::SubmitResult::kAccepted);
      contexts.push_back(pn::WaitCtx::make());
      contexts.back()->set_completion_callback(record, decrypted.data());
      ASSERT_EQ(device.submit_rsa(*contexts.back(), key, pn::CryptoOpKind::kRsaDecryptPkcs1,
                                  ciphertexts[i].data(),
                                  static_cast<std::uint32_t>(ciphertexts[i].size()),
                                  plaintexts[i].data() + skew, i),
                pn::SubmitResult::kAccepted);
    }
    ASSERT_TRUE(wait_all(signed_));
    ASSERT_TRUE(wait_all(decrypted));
    for (std::size_t i = 0; i < kRequests; ++i) {
      const std::size_t skew = 1 + i % 3;
      const Bytes expected = parts.sign(messages[i]);  // PKCS#1 v1.5 signing is deterministic
      ASSERT_EQ(signed_[i].status, PN_ASYNC_STATUS_OK) << bits << " bits, sign " << i;
      ASSERT_EQ(signed_[i].result, static_cast<std::int32_t>(expected.size()));
      EXPECT_EQ(std::memcmp(signatures[i].data() + skew, expected.data(), expected.size()), 0)
          << bits << " bits, signature " << i;
      ASSERT_EQ(decrypted[i].status, PN_ASYNC_STATUS_OK) << bits << " bits, decrypt " << i;
      ASSERT_EQ(decrypted[i].result, static_cast<std::int32_t>(messages[i].size()));
      EXPECT_EQ(std::memcmp(plaintexts[i].data() + skew, messages[i].data(), messages[i].size()), 0)
          << bits << " bits, plaintext " << i;
    }
    // A ciphertext that does not decrypt (not PKCS#1 v1.5 padded underneath) is ERR.
    Bytes garbage = ciphertexts[0];
    garbage[garbage.size() / 2] ^= 0x40;
    std::vector<Outcome> failed(1);
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_completion_callback(record, failed.data());
    ASSERT_EQ(
        device.submit_rsa(*contexts.back(), key, pn::CryptoOpKind::kRsaDecryptPkcs1, garbage.data(),
                          static_cast<std::uint32_t>(garbage.size()), plaintexts[0].data(), 0),
        pn::SubmitResult::kAccepted);
    ASSERT_TRUE(wait_all(failed));
    EXPECT_EQ(failed[0].status, PN_ASYNC_STATUS_ERR);
    EXPECT_EQ(failed[0].result, -EIO);
    device.release_rsa_key(key);
  }
  ASSERT_TRUE(poller.stop());
  EXPECT_EQ(device.in_flight(), 0U);
}

// RSA's limits: inputs the padding cannot take, a released key, a missing part, too many keys.
TEST_P(Cryptodev, RsaBadArgumentsAndLimits) {
  pn::Poller poller(busy());
  pn::CryptodevDevice device(poller, options());
  if (!device.supports(pn::CryptoOpKind::kRsaSignPkcs1))
    GTEST_SKIP() << GetParam() << " has no RSA";
  const RsaParts parts(1024);
  const auto& key = device.rsa_key(parts.key());
  auto ctx = pn::WaitCtx::make();
  Bytes in(parts.n.size()), out(parts.n.size());
  const auto sign = [&](std::size_t length) {
    return device.submit_rsa(*ctx, key, pn::CryptoOpKind::kRsaSignPkcs1, in.data(),
                             static_cast<std::uint32_t>(length), out.data(), 0);
  };
  EXPECT_EQ(sign(parts.n.size() - 10), pn::SubmitResult::kFailed) << "no room for the padding";
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(sign(0), pn::SubmitResult::kFailed);
  EXPECT_EQ(device.submit_rsa(*ctx, key, pn::CryptoOpKind::kRsaDecryptPkcs1, in.data(),
                              static_cast<std::uint32_t>(parts.n.size() - 1), out.data(), 0),
            pn::SubmitResult::kFailed)
      << "a ciphertext is modulus-sized";
  EXPECT_EQ(device.submit_rsa(*ctx, key, pn::CryptoOpKind::kSha256, in.data(), 16, out.data(), 0),
            pn::SubmitResult::kFailed);
  EXPECT_EQ(
      device.submit_rsa(*ctx, key, pn::CryptoOpKind::kRsaSignPkcs1, in.data(), 16, nullptr, 0),
      pn::SubmitResult::kFailed);
  pn::RsaPrivateKey partial = parts.key();
  partial.q = {};
  partial.d = {};
  EXPECT_THROW((void)device.rsa_key(partial), std::invalid_argument);
  const Bytes huge(pn::CryptodevDevice::kMaxRsaBytes + 1, 0xff);
  pn::RsaPrivateKey oversized = parts.key();
  oversized.n = huge;
  EXPECT_THROW((void)device.rsa_key(oversized), std::invalid_argument);
  device.release_rsa_key(key);
  EXPECT_EQ(sign(16), pn::SubmitResult::kFailed) << "a released key";
  std::vector<const pn::CryptodevDevice::RsaKey*> keys;
  for (std::size_t i = 0; i < pn::CryptodevDevice::kMaxRsaKeys; ++i) {
    keys.push_back(&device.rsa_key(parts.key()));
  }
  EXPECT_THROW((void)device.rsa_key(parts.key()), std::length_error);
  device.release_rsa_key(*keys.back());
  EXPECT_EQ(&device.rsa_key(parts.key()), keys.back()) << "a released key's slot is reused";
  pn::CryptodevOptions rsa_default = options();
  rsa_default.default_op = pn::CryptoOpKind::kRsaSignPkcs1;
  pn::Poller other(busy());
  EXPECT_THROW(pn::CryptodevDevice(other, rsa_default), std::invalid_argument);
}

// In place (in == out) a software driver works on the caller's buffer itself: same ciphertext and
// tag as libcrypto, and the plaintext back, at unaligned addresses up to one mbuf.
TEST_P(Cryptodev, InPlaceOnTheCallersBuffer) {
  pn::Poller poller(busy());
  pn::CryptodevDevice device(poller, options());
  ASSERT_TRUE(poller.start());
  std::mt19937 rng(5);
  std::uint8_t key[16], iv[12];
  for (auto& byte : key) byte = static_cast<std::uint8_t>(rng());
  for (auto& byte : iv) byte = static_cast<std::uint8_t>(rng());
  const Bytes aad = {9, 8, 7, 6, 5};
  const auto& encrypt = device.aes_gcm_session(key, true, 5);
  const auto& decrypt = device.aes_gcm_session(key, false, 5);
  for (std::uint32_t length : {1U, 17U, 4096U, 65535U}) {
    Bytes buffer(length + 3);
    for (auto& byte : buffer) byte = static_cast<std::uint8_t>(rng());
    const Bytes plain(buffer.begin() + 3, buffer.end());
    const Gcm expected = libcrypto_gcm(key, iv, aad, plain.data(), length);
    std::uint8_t tag[16];
    for (const auto* session : {&encrypt, &decrypt}) {
      std::vector<Outcome> outcome(1);
      auto ctx = pn::WaitCtx::make();
      ctx->set_completion_callback(record, outcome.data());
      if (session == &decrypt) std::memcpy(tag, expected.tag.data(), 16);
      ASSERT_EQ(device.submit_aes_gcm(*ctx, *session, iv, aad.data(), buffer.data() + 3,
                                      buffer.data() + 3, length, tag, 0),
                pn::SubmitResult::kAccepted);
      ASSERT_TRUE(wait_all(outcome));
      ASSERT_EQ(outcome[0].status, PN_ASYNC_STATUS_OK) << length << " B";
      const Bytes& want = session == &encrypt ? expected.ciphertext : plain;
      EXPECT_EQ(Bytes(buffer.begin() + 3, buffer.end()), want) << length << " B";
      if (session == &encrypt) {
        EXPECT_EQ(Bytes(tag, tag + 16), expected.tag) << length << " B";
      }
    }
  }
  ASSERT_TRUE(poller.stop());
}

// Sessions given back are reused: far more than kMaxSessions come and go, and with kMaxSessions
// live the next is refused until one is released.
TEST_P(Cryptodev, ReleasedSessionsAreReused) {
  pn::Poller poller(busy());
  pn::CryptodevDevice device(poller, options());
  std::uint8_t key[16] = {};
  for (int i = 0; i < 3000; ++i) {
    key[0] = static_cast<std::uint8_t>(i);
    device.release_session(device.aes_gcm_session(key, i % 2 == 0, 13));
  }
  std::vector<const pn::CryptodevDevice::Session*> live;
  try {
    for (std::size_t i = 0; i <= pn::CryptodevDevice::kMaxSessions; ++i) {
      live.push_back(&device.aes_gcm_session(key, true, 0));
    }
    FAIL() << "more than kMaxSessions live";
  } catch (const std::length_error& error) {
    EXPECT_NE(std::string(error.what()).find("kMaxSessions"), std::string::npos);
  }
  EXPECT_GE(live.size(), pn::CryptodevDevice::kMaxSessions - 2);  // the device keeps its own
  device.release_session(*live.back());
  device.release_session(*live.back());  // twice: nothing happens
  EXPECT_NO_THROW((void)device.aes_gcm_session(key, false, 0));
  EXPECT_THROW((void)device.aes_gcm_session(key, false, 0), std::length_error);
}

TEST_P(Cryptodev, SeveralSubmittingThreadsExactlyOnce) {
  constexpr int kThreads = 3, kPerThread = 2000;
  pn::Poller poller(busy());
  pn::CryptodevOptions device_options = options();
  device_options.max_in_flight = 64;
  pn::CryptodevDevice device(poller, device_options);
  ASSERT_TRUE(poller.start());
  std::vector<Outcome> outcomes(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = pn::WaitCtx::make();
      ctx->set_completion_callback(record, outcomes.data());
      const Bytes data(100 + t, static_cast<std::uint8_t>(t));
      std::vector<Bytes> digests(kPerThread, Bytes(32));
      for (int i = 0; i < kPerThread; ++i) {
        const auto id = static_cast<std::uint64_t>(t * kPerThread + i);
        while (device.submit_sha256(*ctx, data.data(), static_cast<std::uint32_t>(data.size()),
                                    digests[static_cast<std::size_t>(i)].data(),
                                    id) == pn::SubmitResult::kRetry) {
          std::this_thread::yield();
        }
      }
      // The data and digests stay until this thread's requests are delivered.
      for (int i = 0; i < kPerThread; ++i) {
        const Outcome& mine = outcomes[static_cast<std::size_t>(t * kPerThread + i)];
        while (mine.calls.load(std::memory_order_acquire) == 0)
          std::this_thread::yield();  // CDT-A1
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(wait_all(outcomes));
  for (const Outcome& outcome : outcomes) {
    ASSERT_EQ(outcome.calls.load(), 1);
    ASSERT_EQ(outcome.status, PN_ASYNC_STATUS_OK);
  }
  EXPECT_GT(device.stats().refused_full, 0U) << "64 in flight: submitters met EAGAIN";
  ASSERT_TRUE(poller.stop());
}

// 64 requests of two mbufs each need more mbufs than the device's pool has (in flight + a burst)
// while the driver holds them: the requests the pool cannot serve wait, built in order once
// mbufs come back. On crypto_openssl, whose SHA-256 handles chained mbufs.
TEST(CryptodevPools, RequestsWaitingForMbufsCompleteInOrder) {
  if (!eal_outcome().empty()) GTEST_SKIP() << "DPDK EAL unavailable here: " << eal_outcome();
  constexpr std::size_t kRequests = 64;
  constexpr std::uint32_t kLength = 65536;  // two mbufs
  pn::Poller poller(pn::PollerOptions{.policy = pn::PollPolicy::kExternal});
  pn::CryptodevOptions device_options;
  device_options.device = "crypto_openssl";
  device_options.max_in_flight = kRequests;
  pn::CryptodevDevice device(poller, device_options);
  // The driver holds what it took for a while, as hardware does: the mbufs stay out meanwhile.
  pn::internal::CryptodevFaults faults;
  faults.hold_completions = std::chrono::milliseconds(20);
  pn::internal::set_cryptodev_faults(device, faults);
  std::vector<Outcome> outcomes(kRequests);
  std::vector<Bytes> data(kRequests), digests(kRequests, Bytes(32));
  std::vector<pn::WaitCtxPtr> contexts;
  for (std::size_t i = 0; i < kRequests; ++i) {
    data[i].assign(kLength, static_cast<std::uint8_t>(i));
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_completion_callback(record, outcomes.data());
    ASSERT_EQ(device.submit_sha256(*contexts.back(), data[i].data(), kLength, digests[i].data(), i),
              pn::SubmitResult::kAccepted);
  }
  std::vector<std::uint64_t> order;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (order.size() < kRequests && std::chrono::steady_clock::now() < deadline) {
    (void)poller.poll_once();
    for (std::size_t i = 0; i < kRequests; ++i) {
      if (outcomes[i].calls.load(std::memory_order_relaxed) != 0 &&
          std::find(order.begin(), order.end(), i) == order.end()) {
        order.push_back(i);
      }
    }
  }
  ASSERT_EQ(order.size(), kRequests) << "every request completes";
  for (std::size_t i = 0; i < kRequests; ++i) {
    EXPECT_EQ(order[i], i) << "completed in submission order";
    EXPECT_EQ(outcomes[i].calls.load(), 1);
    EXPECT_EQ(outcomes[i].status, PN_ASYNC_STATUS_OK);
    std::uint8_t reference[32];
    SHA256(data[i].data(), kLength, reference);
    EXPECT_EQ(0, std::memcmp(reference, digests[i].data(), 32)) << "request " << i;
  }
}

TEST_P(Cryptodev, FullIsEagainAndTeardownDeliversQueuedRequestsWithErr) {
  std::vector<Outcome> outcomes(4);
  std::vector<Bytes> digests(4, Bytes(32));
  const Bytes data(64, 1);
  auto ctx = pn::WaitCtx::make();
  ctx->set_completion_callback(record, outcomes.data());
  pn::Poller poller(busy());
  {
    pn::CryptodevOptions device_options = options();
    device_options.max_in_flight = 3;
    pn::CryptodevDevice device(poller, device_options);
    for (std::uint64_t i = 0; i < 3; ++i) {
      ASSERT_EQ(device.submit_sha256(*ctx, data.data(), 64, digests[i].data(), i),
                pn::SubmitResult::kAccepted);
    }
    EXPECT_EQ(device.submit_sha256(*ctx, data.data(), 64, digests[3].data(), 3),
              pn::SubmitResult::kRetry);
    EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_EAGAIN);
  }  // never polled: the destructor delivers the three with ERR
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(outcomes[i].calls.load(std::memory_order_acquire), 1);  // CDT-A1
    EXPECT_EQ(outcomes[i].status, PN_ASYNC_STATUS_ERR);
  }
  EXPECT_EQ(outcomes[3].calls.load(), 0);
}

// Requests queued in several threads' submission channels when the device goes (never polled):
// each ends once, with ERR, and threads that exited first leave theirs to the teardown too.
TEST_P(Cryptodev, TeardownEndsTheRequestsOfEveryThreadsChannel) {
  constexpr std::size_t kThreads = 4;
  constexpr std::size_t kEach = 3;
  std::vector<Outcome> outcomes(kThreads * kEach);
  std::vector<Bytes> digests(kThreads * kEach, Bytes(32));
  const Bytes data(64, 1);
  std::vector<pn::WaitCtxPtr> contexts;  // one per thread: one thread arms a context at a time
  for (std::size_t t = 0; t < kThreads; ++t) {
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_completion_callback(record, outcomes.data());
  }
  pn::Poller poller(busy());
  {
    pn::CryptodevOptions device_options = options();
    device_options.max_in_flight = kEach;  // per submitting thread
    pn::CryptodevDevice device(poller, device_options);
    std::atomic<int> accepted{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (std::size_t i = 0; i < kEach; ++i) {
          const std::size_t n = t * kEach + i;
          if (device.submit_sha256(*contexts[t], data.data(), 64, digests[n].data(), n) ==
              pn::SubmitResult::kAccepted) {
            accepted.fetch_add(1, std::memory_order_relaxed);  // read after join
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(accepted.load(std::memory_order_relaxed), static_cast<int>(kThreads * kEach));
    EXPECT_EQ(device.in_flight(), kThreads * kEach);
  }
  for (std::size_t n = 0; n < kThreads * kEach; ++n) {
    EXPECT_EQ(outcomes[n].calls.load(std::memory_order_acquire), 1) << n;  // CDT-A1
    EXPECT_EQ(outcomes[n].status, PN_ASYNC_STATUS_ERR) << n;
  }
}

pn::PollerOptions external() {
  pn::PollerOptions poller_options;
  poller_options.policy = pn::PollPolicy::kExternal;
  return poller_options;
}

// `count` SHA-256 requests of 64 bytes on one context, each recorded in `outcomes`.
struct Sha256Requests {
  explicit Sha256Requests(std::size_t count) : outcomes(count), digests(count, Bytes(32)) {
    ctx->set_completion_callback(record, outcomes.data());
  }
  // Submits them all; false at the first one the device does not accept.
  bool submit_all(pn::CryptodevDevice& device) {
    for (std::uint64_t i = 0; i < outcomes.size(); ++i) {
      if (device.submit_sha256(*ctx, data.data(), 64, digests[i].data(), i) !=
          pn::SubmitResult::kAccepted) {
        return false;
      }
    }
    return true;
  }
  std::vector<Outcome> outcomes;
  std::vector<Bytes> digests;
  const Bytes data = Bytes(64, 1);
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
};

// A slow (hardware-latency) driver: teardown waits for the ops it holds, delivers each with ERR,
// and frees the device's memory only then (the queue pair is free again afterwards).
TEST_P(Cryptodev, TeardownWaitsForASlowDriver) {
  Sha256Requests requests(3);
  auto& outcomes = requests.outcomes;
  const std::uint64_t left_before = pn::internal::cryptodev_requests_left_to_drivers();
  pn::Poller poller(external());
  {
    pn::CryptodevDevice device(poller, options());
    pn::internal::CryptodevFaults faults;
    faults.hold_completions = std::chrono::milliseconds(300);
    pn::internal::set_cryptodev_faults(device, faults);
    ASSERT_TRUE(requests.submit_all(device));
    EXPECT_EQ(poller.poll_once(), 0U) << "enqueued; the driver has finished nothing yet";
  }
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(outcomes[i].calls.load(std::memory_order_acquire), 1);  // CDT-A1
    EXPECT_EQ(outcomes[i].status, PN_ASYNC_STATUS_ERR);
  }
  EXPECT_EQ(pn::internal::cryptodev_requests_left_to_drivers(), left_before);
  EXPECT_NO_THROW(pn::CryptodevDevice(poller, options())) << "the queue pair was given back";
}

// A driver that refuses an op with its queue pair empty: that request ends with ERR (counted)
// and the ones behind it go through.
TEST_P(Cryptodev, AnOpTheDriverRefusesEndsWithErr) {
  Sha256Requests requests(2);
  auto& outcomes = requests.outcomes;
  pn::Poller poller(external());
  pn::CryptodevDevice device(poller, options());
  pn::internal::CryptodevFaults faults;
  faults.refuse_enqueues = 1;
  pn::internal::set_cryptodev_faults(device, faults);
  ASSERT_TRUE(requests.submit_all(device));
  for (int polls = 0; polls < 1000 && outcomes[1].calls.load() == 0; ++polls) {
    (void)poller.poll_once();
  }
  ASSERT_TRUE(wait_all(outcomes));
  EXPECT_EQ(outcomes[0].status, PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(outcomes[0].result, -EIO);
  EXPECT_EQ(outcomes[1].status, PN_ASYNC_STATUS_OK);
  EXPECT_EQ(device.refused_by_driver(), 1U);
  EXPECT_EQ(device.stats().completed_err, 1U);
}

TEST(CryptodevTeardown, ADriverThatNeverGivesBackKeepsItsMemoryAndTeardownEnds) {
  if (!eal_outcome().empty()) GTEST_SKIP() << "DPDK EAL unavailable here: " << eal_outcome();
  Sha256Requests requests(2);
  auto& outcomes = requests.outcomes;
  const std::uint64_t left_before = pn::internal::cryptodev_requests_left_to_drivers();
  pn::Poller poller(external());
  pn::CryptodevOptions device_options;
  device_options.device = "crypto_aesni_mb_left_to_driver";
  const auto start = std::chrono::steady_clock::now();
  {
    pn::CryptodevDevice device(poller, device_options);
    pn::internal::CryptodevFaults faults;
    faults.hold_completions = std::chrono::hours(1);
    faults.teardown_limit = std::chrono::milliseconds(100);
    pn::internal::set_cryptodev_faults(device, faults);
    ASSERT_TRUE(requests.submit_all(device));
    EXPECT_EQ(poller.poll_once(), 0U);
  }  // the deadline passes: left to the driver, never freed under it
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(pn::internal::cryptodev_requests_left_to_drivers(), left_before + 2);
  EXPECT_EQ(outcomes[0].calls.load(), 0) << "the driver may still write this request's output";
  EXPECT_EQ(requests.ctx->in_flight(), 2U);
  EXPECT_THROW(pn::CryptodevDevice(poller, device_options), std::invalid_argument)
      << "its queue pair stays the driver's";
  requests.ctx->cancel_pending();
}

TEST_P(Cryptodev, BadArgumentsAndOptions) {
  pn::Poller poller(busy());
  pn::CryptodevDevice device(poller, options());
  auto ctx = pn::WaitCtx::make();
  std::uint8_t digest[32], tag[16], iv[12] = {}, byte = 0;
  EXPECT_EQ(device.submit_sha256(*ctx, nullptr, 10, digest, 0), pn::SubmitResult::kFailed);
  EXPECT_EQ(ctx->status(), PN_ASYNC_STATUS_ERR);
  EXPECT_EQ(device.submit_sha256(*ctx, &byte, 1, nullptr, 0), pn::SubmitResult::kFailed);
  EXPECT_EQ(device.submit_sha256(*ctx, &byte, 65537, digest, 0), pn::SubmitResult::kFailed);
  const std::uint8_t key[16] = {};
  const auto& session = device.aes_gcm_session(key, true, 0);
  EXPECT_EQ(device.submit_aes_gcm(*ctx, session, nullptr, nullptr, &byte, &byte, 1, tag, 0),
            pn::SubmitResult::kFailed);
  EXPECT_EQ(device.submit_aes_gcm(*ctx, session, iv, nullptr, nullptr, &byte, 1, tag, 0),
            pn::SubmitResult::kFailed);
  EXPECT_THROW((void)device.aes_gcm_session(key, true, 257), std::invalid_argument);
  pn::Poller other(busy());
  EXPECT_THROW(pn::CryptodevDevice(other, options()), std::invalid_argument) << "queue pair taken";
  pn::CryptodevOptions unknown = options();
  unknown.device = "crypto_nonexistent";
  EXPECT_THROW(pn::CryptodevDevice(other, unknown), std::runtime_error);
  pn::CryptodevOptions bad = options();
  bad.max_in_flight = 0;
  EXPECT_THROW(pn::CryptodevDevice(other, bad), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(SoftwarePmds, Cryptodev,
                         ::testing::Values("crypto_aesni_mb", "crypto_openssl"));

}  // namespace
