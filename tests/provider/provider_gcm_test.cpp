// AES-128-GCM through the provider, every output, tag and verdict checked against the default
// provider's: one-shot messages of 0 B to 100 KB (the device takes up to 65 535 B), AAD beyond the
// device's 256 B, IVs other than 96 bits, short tags, payloads in several updates (the device's
// first, libcrypto the rest after a replay), wrong tags, in place and out of place at unaligned
// addresses, and thousands of messages in OpenSSL async jobs notified by callback and by fd.
// ctest runs it on the simulated device and again on crypto_aesni_mb (PN_PROVIDER_DEVICE).
#include <gtest/gtest.h>
#include <openssl/async.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <poll.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "provider_under_test.hpp"

namespace {

using Bytes = std::vector<unsigned char>;

// AES-128-GCM, or the cipher PN_TEST_GCM_CIPHER names (ctest runs the suite for AES-256-GCM too).
const char* cipher_name() {
  const char* name = std::getenv("PN_TEST_GCM_CIPHER");
  return name != nullptr ? name : "AES-128-GCM";
}
std::size_t key_length() { return std::string(cipher_name()) == "AES-256-GCM" ? 32 : 16; }

class ProviderGcm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NO_FATAL_FAILURE(providers_.load());
    offloaded_ = EVP_CIPHER_fetch(providers_.context, cipher_name(), "provider=pollnotify");
    software_ = EVP_CIPHER_fetch(providers_.context, cipher_name(), "provider=default");
    ASSERT_NE(offloaded_, nullptr);
    ASSERT_NE(software_, nullptr);
  }
  static void TearDownTestSuite() {
    EVP_CIPHER_free(offloaded_);
    EVP_CIPHER_free(software_);
    providers_.unload();
  }

  static inline ProviderUnderTest providers_;
  static inline EVP_CIPHER* offloaded_ = nullptr;
  static inline EVP_CIPHER* software_ = nullptr;
};

Bytes random_bytes(std::mt19937& rng, std::size_t size) {
  Bytes data(size);
  for (auto& byte : data) byte = static_cast<unsigned char>(rng());
  return data;
}

// One message, the way an application writes it. `chunks` splits the payload over that many
// updates; `offset` places input and output at an unaligned address; `in_place` encrypts over the
// input itself.
struct Message {
  Bytes key, iv, aad, payload, tag;  // tag: decrypt's expected tag (empty: encrypt)
  std::size_t chunks = 1;
  std::size_t offset = 0;
  bool in_place = false;
  bool tag_after_payload = false;  // decrypt: the tag set between the payload and final()
};

struct Outcome {
  bool ok = false;  // every call returned 1
  Bytes output, tag;
  bool operator==(const Outcome&) const = default;
};

Outcome run(const EVP_CIPHER* cipher, const Message& m) {
  Outcome outcome;
  const bool encrypt = m.tag.empty();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes buffer(m.offset + m.payload.size() + 16);
  if (!m.payload.empty()) std::memcpy(buffer.data() + m.offset, m.payload.data(), m.payload.size());
  Bytes separate(m.offset + m.payload.size() + 16);
  unsigned char* in = buffer.data() + m.offset;
  unsigned char* out = m.in_place ? in : separate.data() + m.offset;
  int length = 0;
  bool ok = EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, encrypt ? 1 : 0) == 1;
  if (m.iv.size() != 12) {
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(m.iv.size()),
                                   nullptr) == 1;
  }
  ok = ok && EVP_CipherInit_ex(ctx, nullptr, nullptr, m.key.data(), m.iv.data(), -1) == 1;
  const auto set_tag = [&] {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(m.tag.size()),
                               const_cast<unsigned char*>(m.tag.data())) == 1;
  };
  if (!encrypt && !m.tag_after_payload) ok = ok && set_tag();
  if (!m.aad.empty()) {
    ok = ok &&
         EVP_CipherUpdate(ctx, nullptr, &length, m.aad.data(), static_cast<int>(m.aad.size())) == 1;
  }
  std::size_t written = 0;
  const std::size_t chunk = m.payload.size() / m.chunks + 1;
  for (std::size_t at = 0; ok && at < m.payload.size(); at += chunk) {
    const std::size_t size = std::min(chunk, m.payload.size() - at);
    ok = EVP_CipherUpdate(ctx, out + written, &length, in + at, static_cast<int>(size)) == 1;
    written += static_cast<std::size_t>(length);
  }
  if (!encrypt && m.tag_after_payload) ok = ok && set_tag();
  ok = ok && EVP_CipherFinal_ex(ctx, out + written, &length) == 1;
  written += static_cast<std::size_t>(std::max(length, 0));
  outcome.output.assign(out, out + written);
  if (ok && encrypt) {
    outcome.tag.resize(16);
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, outcome.tag.data()) == 1;
  }
  outcome.ok = ok;
  EVP_CIPHER_CTX_free(ctx);
  return outcome;
}

Message random_message(std::mt19937& rng, std::size_t size, std::size_t aad = 13) {
  Message m;
  m.key = random_bytes(rng, key_length());
  m.iv = random_bytes(rng, 12);
  m.aad = random_bytes(rng, aad);
  m.payload = random_bytes(rng, size);
  m.offset = rng() % 8;
  m.in_place = rng() % 2 == 0;
  return m;
}

// Encrypts with both providers (equal), then decrypts the ciphertext with both (equal, and the
// plaintext back).
void round_trip(const EVP_CIPHER* offloaded, const EVP_CIPHER* software, Message m) {
  const Outcome expected = run(software, m);
  ASSERT_TRUE(expected.ok);
  EXPECT_EQ(run(offloaded, m), expected) << "encrypt " << m.payload.size() << " B";
  Message back = m;
  back.payload = expected.output;
  back.tag = expected.tag;
  const Outcome decrypted = run(offloaded, back);
  EXPECT_TRUE(decrypted.ok) << "decrypt " << m.payload.size() << " B";
  EXPECT_EQ(decrypted.output, m.payload);
  EXPECT_EQ(decrypted, run(software, back));
}

TEST_F(ProviderGcm, OneShotMessagesMatchTheDefaultProvider) {
  std::mt19937 rng(11);
  for (std::size_t size : {0, 1, 15, 16, 17, 64, 1000, 16'384, 65'535, 65'536, 100'000}) {
    round_trip(offloaded_, software_, random_message(rng, size));
  }
}

TEST_F(ProviderGcm, AadAndIvBeyondWhatTheDeviceTakes) {
  std::mt19937 rng(12);
  for (std::size_t aad : {0, 5, 256, 257, 1000}) {
    round_trip(offloaded_, software_, random_message(rng, 777, aad));
  }
  for (std::size_t iv : {1, 8, 16, 60}) {
    Message m = random_message(rng, 777);
    m.iv = random_bytes(rng, iv);
    round_trip(offloaded_, software_, m);
  }
}

// The payload in several updates: the first goes to the device, the rest continue in libcrypto
// after a replay of the first. Outputs and tags as one stream.
TEST_F(ProviderGcm, PayloadInSeveralUpdates) {
  std::mt19937 rng(13);
  for (std::size_t chunks : {2, 3, 7}) {
    for (std::size_t size : {33, 4096, 20'000}) {
      Message m = random_message(rng, size);
      m.chunks = chunks;
      round_trip(offloaded_, software_, m);
    }
  }
}

TEST_F(ProviderGcm, WrongTagsFailAsInTheDefaultProvider) {
  std::mt19937 rng(14);
  for (std::size_t size : {0, 64, 16'384}) {
    Message m = random_message(rng, size);
    const Outcome sealed = run(software_, m);
    m.payload = sealed.output;
    m.tag = sealed.tag;
    m.tag[3] ^= 1;
    for (bool late : {false, true}) {
      m.tag_after_payload = late;
      const Outcome expected = run(software_, m);
      const Outcome actual = run(offloaded_, m);
      EXPECT_FALSE(expected.ok);
      EXPECT_FALSE(actual.ok) << size << " B, tag set " << (late ? "late" : "first");
      EXPECT_EQ(actual.output, expected.output) << "the plaintext both write before final()";
    }
    // A short tag (12 bytes) that does match: libcrypto checks it.
    m.tag = Bytes(sealed.tag.begin(), sealed.tag.begin() + 12);
    m.tag_after_payload = false;
    EXPECT_EQ(run(offloaded_, m), run(software_, m));
    EXPECT_TRUE(run(offloaded_, m).ok);
  }
}

TEST_F(ProviderGcm, AlgorithmParametersMatchTheDefaultProvider) {
  for (const char* name : {OSSL_CIPHER_PARAM_MODE, OSSL_CIPHER_PARAM_KEYLEN,
                           OSSL_CIPHER_PARAM_IVLEN, OSSL_CIPHER_PARAM_BLOCK_SIZE}) {
    std::size_t ours = 0, theirs = 0;
    OSSL_PARAM a[] = {OSSL_PARAM_size_t(name, &ours), OSSL_PARAM_END};
    OSSL_PARAM b[] = {OSSL_PARAM_size_t(name, &theirs), OSSL_PARAM_END};
    ASSERT_EQ(EVP_CIPHER_get_params(offloaded_, a), 1) << name;
    ASSERT_EQ(EVP_CIPHER_get_params(software_, b), 1) << name;
    EXPECT_EQ(ours, theirs) << name;
  }
  EXPECT_EQ(EVP_CIPHER_get_flags(offloaded_), EVP_CIPHER_get_flags(software_));
}

// A context duplicated half-way through a message finishes it as the original does.
TEST_F(ProviderGcm, DuplicatedContextsContinueTheMessage) {
  std::mt19937 rng(15);
  const Message m = random_message(rng, 300);
  for (const EVP_CIPHER* cipher : {offloaded_, software_}) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int length = 0;
    ASSERT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, m.key.data(), m.iv.data()), 1);
    ASSERT_EQ(EVP_EncryptUpdate(ctx, nullptr, &length, m.aad.data(), 13), 1);
    Bytes first(300), second(300);
    ASSERT_EQ(EVP_EncryptUpdate(ctx, first.data(), &length, m.payload.data(), 100), 1);
    EVP_CIPHER_CTX* copy = EVP_CIPHER_CTX_new();
    ASSERT_EQ(EVP_CIPHER_CTX_copy(copy, ctx), 1);
    std::array<unsigned char, 16> tag_a{}, tag_b{};
    for (auto [c, out, tag] :
         {std::tuple{ctx, &first, &tag_a}, std::tuple{copy, &second, &tag_b}}) {
      ASSERT_EQ(EVP_EncryptUpdate(c, out->data() + 100, &length, m.payload.data() + 100, 200), 1);
      ASSERT_EQ(EVP_EncryptFinal_ex(c, out->data() + 300, &length), 1);
      ASSERT_EQ(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag->data()), 1);
    }
    EXPECT_EQ(Bytes(second.begin() + 100, second.end()), Bytes(first.begin() + 100, first.end()));
    EXPECT_EQ(tag_a, tag_b);
    EVP_CIPHER_CTX_free(copy);
    EVP_CIPHER_CTX_free(ctx);
  }
}

// --- in OpenSSL async jobs ---

struct SealJob {
  const EVP_CIPHER* cipher;
  const std::vector<Message>* messages;
  std::vector<Outcome>* outcomes;
  std::size_t first, count;
};

int seal_job(void* raw) {
  SealJob& job = **static_cast<SealJob**>(raw);
  for (std::size_t i = job.first; i < job.first + job.count; ++i) {
    (*job.outcomes)[i] = run(job.cipher, (*job.messages)[i]);
  }
  return 1;
}

enum class Notify { kCallback, kFd };

// `jobs` jobs sealing `per_job` messages each; the application resumes a job when its
// notification arrives (callback into a flag array, or its wait fd readable).
void run_jobs(Notify notify, const EVP_CIPHER* offloaded, const EVP_CIPHER* software,
              std::size_t jobs, std::size_t per_job) {
  std::mt19937 rng(21);
  std::vector<Message> messages;
  for (std::size_t i = 0; i < jobs * per_job; ++i) {
    messages.push_back(random_message(rng, 1 + rng() % 2000));
  }
  std::vector<Outcome> outcomes(messages.size());
  struct Slot {
    ASYNC_JOB* job = nullptr;
    ASYNC_WAIT_CTX* waitctx = nullptr;
    SealJob work{};
    SealJob* work_ptr = nullptr;
    std::atomic<int> notified{0};
    bool finished = false;
  };
  std::vector<Slot> slots(jobs);
  std::size_t running = jobs;
  // False (the failure recorded) when the job neither paused nor finished: the callers'
  // ASSERT_TRUE then ends the run instead of waiting for a job that will never be resumed.
  const auto step = [&](Slot& slot) -> bool {
    int ret = 0;
    const int result =
        ASYNC_start_job(&slot.job, slot.waitctx, &ret, seal_job, &slot.work_ptr, sizeof(SealJob*));
    if (result != ASYNC_PAUSE && result != ASYNC_FINISH) {
      ADD_FAILURE() << "ASYNC_start_job returned " << result;
      return false;
    }
    if (result == ASYNC_FINISH) {
      slot.finished = true;
      --running;
    }
    return true;
  };
  for (std::size_t j = 0; j < jobs; ++j) {
    Slot& slot = slots[j];
    slot.waitctx = ASYNC_WAIT_CTX_new();
    slot.work = {offloaded, &messages, &outcomes, j * per_job, per_job};
    slot.work_ptr = &slot.work;
    if (notify == Notify::kCallback) {
      ASYNC_WAIT_CTX_set_callback(
          slot.waitctx,
          [](void* arg) {
            // PGT-R1: the job's output is ready; pairs with PGT-A1.
            static_cast<Slot*>(arg)->notified.store(1, std::memory_order_release);
            return 1;
          },
          &slot);
    }
    ASSERT_TRUE(step(slot));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (running != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << running << " jobs never finished";
    for (Slot& slot : slots) {
      if (slot.finished) continue;
      bool resume = false;
      if (notify == Notify::kCallback) {
        // PGT-A1: pairs with PGT-R1; EAGAIN means no callback comes: resume to retry.
        resume = slot.notified.exchange(0, std::memory_order_acquire) == 1 ||
                 ASYNC_WAIT_CTX_get_status(slot.waitctx) == ASYNC_STATUS_EAGAIN;
      } else {
        OSSL_ASYNC_FD fd = -1;
        std::size_t count = 1;
        ASSERT_EQ(ASYNC_WAIT_CTX_get_all_fds(slot.waitctx, &fd, &count), 1);
        pollfd readable{fd, POLLIN, 0};
        resume = count == 1 && ::poll(&readable, 1, 0) == 1;
      }
      if (resume) {
        ASSERT_TRUE(step(slot));
      }
    }
  }
  for (Slot& slot : slots) ASYNC_WAIT_CTX_free(slot.waitctx);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ASSERT_TRUE(outcomes[i].ok) << "message " << i;
    ASSERT_EQ(outcomes[i], run(software, messages[i])) << "message " << i;
  }
}

TEST_F(ProviderGcm, CallbackModeJobs) {
  run_jobs(Notify::kCallback, offloaded_, software_, 16, 40);
}

TEST_F(ProviderGcm, FdModeJobs) { run_jobs(Notify::kFd, offloaded_, software_, 16, 40); }

}  // namespace
