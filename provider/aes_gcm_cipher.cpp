// AES-128-GCM: on the cryptodev device, a message whose payload comes in one update (TLS 1.3
// records, one-shot encryption, `openssl speed -aead`) is encrypted or decrypted by the DPDK
// driver, the job paused until the poller delivers it. Every other use of the EVP API (a payload
// in several updates, IVs other than 96 bits, short tags, TLS 1.2 record mode, bad calls) runs on
// libcrypto's own AES-128-GCM, brought to exactly the state the default provider would be in by
// replaying what the device saw: outputs, tags and errors equal the default provider's. With the
// sim device libcrypto computes and each payload update completes through the device.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <span>
#include <vector>

#include "provider.hpp"

namespace pn::provider {
namespace {

constexpr std::size_t kMaxKeyLength = 32, kDriverKeyLength = 16, kIvLength = 12, kTagLength = 16;
constexpr std::size_t kMaxAad = 256;              // CryptodevDevice::kMaxAad
constexpr std::size_t kMaxDevicePayload = 65535;  // one mbuf: every driver handles it

// Where the current message stands. Only kSoftware means libcrypto's context has seen it.
enum class Phase : std::uint8_t {
  kNoMessage,  // no IV since the last message: libcrypto decides what the next call does
  kFresh,      // IV set; AAD, if any, buffered
  kOnDevice,   // the payload went through the device
  kFinished,   // final() after kOnDevice
  kSoftware,   // libcrypto's context carries the message
};

struct GcmCtx {
  Provider* provider = nullptr;
  EVP_CIPHER_CTX* software = nullptr;
  Offload offload;
  bool encrypt = true;
  bool key_set = false, iv_set = false;
  std::size_t key_length = 16;  // 16: AES-128-GCM, 32: AES-256-GCM
  unsigned char key[kMaxKeyLength] = {};
  unsigned char iv[kIvLength] = {};
  std::size_t iv_length = kIvLength;
  Phase phase = Phase::kNoMessage;
  std::vector<unsigned char> aad;
  // The device message's payload input, kept to replay it into libcrypto if the message goes on.
  std::vector<unsigned char> payload;
  unsigned char tag[kTagLength] = {};           // encrypt: the device's tag
  unsigned char expected_tag[kTagLength] = {};  // decrypt: set by the application
  std::size_t expected_tag_length = 0;
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  const CryptodevDevice::Session* session = nullptr;  // for key, encrypt and session_aad
  std::size_t session_aad = 0;
  bool session_encrypt = true;
#endif
  // The request in flight, for submit().
  bool request_on_driver = false;  // else the device only completes it (sim)
  const unsigned char* request_in = nullptr;
  unsigned char* request_out = nullptr;
  std::size_t request_length = 0;

  ~GcmCtx() {
    release_session();
    EVP_CIPHER_CTX_free(software);
  }
  void release_session() noexcept {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
    if (session != nullptr) provider->cryptodev->release_session(*session);
    session = nullptr;
#endif
  }
};

// --- libcrypto's side ---

// Brings libcrypto's context to where the default provider would be for this message.
bool switch_to_software(GcmCtx& gcm) {
  const Phase was = gcm.phase;
  gcm.phase = Phase::kSoftware;
  if (was == Phase::kNoMessage || was == Phase::kSoftware) return true;
  int length = 0;
  if (!gcm.aad.empty() && EVP_CipherUpdate(gcm.software, nullptr, &length, gcm.aad.data(),
                                           static_cast<int>(gcm.aad.size())) != 1) {
    return false;
  }
  if (was == Phase::kFresh) return true;
  gcm.provider->trace.gcm_replayed.fetch_add(1, std::memory_order_relaxed);
  // The payload again, in place over its copy: the same keystream and GHASH as on the device.
  if (EVP_CipherUpdate(gcm.software, gcm.payload.data(), &length, gcm.payload.data(),
                       static_cast<int>(gcm.payload.size())) != 1) {
    return false;
  }
  if (was == Phase::kFinished) {
    unsigned char none[kTagLength];
    (void)EVP_CipherFinal_ex(gcm.software, none, &length);  // its outcome was the device's
  }
  return true;
}

int software_update(GcmCtx& gcm, unsigned char* out, std::size_t* out_length,
                    const unsigned char* in, std::size_t in_length) {
  if (!switch_to_software(gcm) || in_length > static_cast<std::size_t>(INT32_MAX)) return 0;
  int length = 0;
  if (EVP_CipherUpdate(gcm.software, out, &length, in, static_cast<int>(in_length)) != 1) return 0;
  *out_length = static_cast<std::size_t>(length);
  return 1;
}

// --- the device's side ---

SubmitResult submit(Runtime& runtime, void* raw) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  if (gcm.request_on_driver) {
    return counted_by_driver(
        *gcm.provider, OpClass::kCipher,
        gcm.provider->cryptodev->submit_aes_gcm(*gcm.offload.device_ctx, *gcm.session, gcm.iv,
                                                gcm.aad.data(), gcm.request_in, gcm.request_out,
                                                static_cast<std::uint32_t>(gcm.request_length),
                                                gcm.encrypt ? gcm.tag : gcm.expected_tag, 0));
  }
#endif
  (void)runtime;
  return gcm.provider->submit_completion(OpClass::kCipher, *gcm.offload.device_ctx);
}

// A session for this key, direction and AAD length; false when the driver has none to give.
bool has_session(GcmCtx& gcm) {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  if (gcm.key_length != kDriverKeyLength) return false;  // the driver sessions are AES-128
  if (gcm.session != nullptr && gcm.session_aad == gcm.aad.size() &&
      gcm.session_encrypt == gcm.encrypt) {
    return true;
  }
  gcm.release_session();
  try {
    gcm.session = &gcm.provider->cryptodev->aes_gcm_session(
        std::span<const std::uint8_t, kDriverKeyLength>(gcm.key, kDriverKeyLength), gcm.encrypt,
        static_cast<std::uint32_t>(gcm.aad.size()));
  } catch (const std::exception&) {  // kMaxSessions live, or the driver refused: libcrypto
    return false;
  }
  gcm.session_aad = gcm.aad.size();
  gcm.session_encrypt = gcm.encrypt;
  return true;
#else
  (void)gcm;
  return false;
#endif
}

bool device_computes(GcmCtx& gcm, std::size_t payload_length) {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  // get_runtime() starts the driver on first use; it is null when the driver could not start.
  return gcm.provider->get_runtime() != nullptr && gcm.provider->cryptodev != nullptr &&
         gcm.phase == Phase::kFresh && gcm.key_set && gcm.iv_set && gcm.iv_length == kIvLength &&
         payload_length <= kMaxDevicePayload &&
         (gcm.encrypt || gcm.expected_tag_length == kTagLength) && has_session(gcm);
#else
  (void)gcm;
  (void)payload_length;
  return false;
#endif
}

// The payload on the device. A failure (the tag does not verify, the driver refused, no runtime)
// hands the message to libcrypto, which gives the default provider's output and verdict.
int device_update(GcmCtx& gcm, unsigned char* out, std::size_t* out_length, const unsigned char* in,
                  std::size_t in_length) {
  gcm.payload.assign(in, in + in_length);
  // In place, so a software driver works on `out` itself: the copies stay on this thread, off the
  // poller, which computes.
  if (out != in) std::memmove(out, in, in_length);
  gcm.request_on_driver = true;
  gcm.request_in = out;
  gcm.request_out = out;
  gcm.request_length = in_length;
  Trace& trace = gcm.provider->trace;
  if (complete_through_device(gcm.offload, submit, &gcm) == 1) {  // output written before PROV-A1
    gcm.phase = Phase::kOnDevice;
    *out_length = in_length;
    trace.gcm_on_device.fetch_add(1, std::memory_order_relaxed);
    return 1;
  }
  trace.gcm_in_software.fetch_add(1, std::memory_order_relaxed);
  if (!switch_to_software(gcm)) return 0;  // replays the AAD only: the payload has not been
  int length = 0;
  if (EVP_CipherUpdate(gcm.software, out, &length, gcm.payload.data(),
                       static_cast<int>(in_length)) != 1) {
    return 0;
  }
  *out_length = static_cast<std::size_t>(length);
  return 1;
}

// Sim device: libcrypto computes, the device completes the request.
int simulated_update(GcmCtx& gcm, unsigned char* out, std::size_t* out_length,
                     const unsigned char* in, std::size_t in_length) {
  if (software_update(gcm, out, out_length, in, in_length) != 1) return 0;
  gcm.request_on_driver = false;
  gcm.provider->trace.gcm_in_software.fetch_add(1, std::memory_order_relaxed);
  return complete_through_device(gcm.offload, submit, &gcm);
}

// --- the dispatch functions ---

const EVP_CIPHER* software_cipher(const Provider& provider, std::size_t key_length) {
  return key_length == 16 ? provider.compute.aes_128_gcm : provider.compute.aes_256_gcm;
}

void* new_gcm(void* provctx, std::size_t key_length) {
  auto* gcm = new (std::nothrow) GcmCtx();
  if (gcm == nullptr) return nullptr;
  gcm->provider = static_cast<Provider*>(provctx);
  gcm->key_length = key_length;
  gcm->software = EVP_CIPHER_CTX_new();
  if (gcm->software == nullptr || !gcm->offload.open(gcm->provider, OpClass::kCipher) ||
      EVP_CipherInit_ex2(gcm->software, software_cipher(*gcm->provider, key_length), nullptr,
                         nullptr, 1, nullptr) != 1) {
    delete gcm;
    return nullptr;
  }
  gcm->aad.reserve(kMaxAad);
  return gcm;
}

template <std::size_t KeyLength>
void* gcm_newctx(void* provctx) {
  return new_gcm(provctx, KeyLength);
}

void gcm_freectx(void* raw) { delete static_cast<GcmCtx*>(raw); }

void* gcm_dupctx(void* raw) {
  const auto* source = static_cast<GcmCtx*>(raw);
  auto* copy = static_cast<GcmCtx*>(new_gcm(source->provider, source->key_length));
  if (copy == nullptr) return nullptr;
  if (EVP_CIPHER_CTX_copy(copy->software, source->software) != 1) {
    delete copy;
    return nullptr;
  }
  copy->encrypt = source->encrypt;
  copy->key_set = source->key_set;
  copy->iv_set = source->iv_set;
  std::memcpy(copy->key, source->key, sizeof copy->key);
  std::memcpy(copy->iv, source->iv, sizeof copy->iv);
  copy->iv_length = source->iv_length;
  copy->phase = source->phase;
  copy->aad = source->aad;
  copy->payload = source->payload;
  std::memcpy(copy->tag, source->tag, sizeof copy->tag);
  std::memcpy(copy->expected_tag, source->expected_tag, sizeof copy->expected_tag);
  copy->expected_tag_length = source->expected_tag_length;
  return copy;  // the copy makes its own device session when it needs one
}

// Records what the device path needs from parameters; returns false for one only libcrypto
// handles (TLS 1.2 record mode, IV generation), which sends the message there.
bool note_params(GcmCtx& gcm, const OSSL_PARAM params[]) {
  if (params == nullptr) return true;
  const OSSL_PARAM* settable = EVP_CIPHER_settable_ctx_params(gcm.provider->compute.aes_128_gcm);
  bool device_can_follow = true;
  for (const OSSL_PARAM* p = params; p->key != nullptr; ++p) {
    if (std::strcmp(p->key, OSSL_CIPHER_PARAM_AEAD_IVLEN) == 0) {
      // The length it already has changes nothing (libcrypto ignores it too); another one resets
      // the IV, in the middle of a message as libcrypto does it.
      std::size_t length = 0;
      if (!OSSL_PARAM_get_size_t(p, &length) || length == gcm.iv_length) continue;
      gcm.iv_length = length;
      device_can_follow = device_can_follow && gcm.phase == Phase::kNoMessage;
    } else if (std::strcmp(p->key, OSSL_CIPHER_PARAM_AEAD_TAG) == 0) {
      if (p->data != nullptr && p->data_size <= kTagLength && !gcm.encrypt) {
        std::memcpy(gcm.expected_tag, p->data, p->data_size);
        gcm.expected_tag_length = p->data_size;
      }
      // Set after the payload: libcrypto checks it at final(), as the default provider does.
      device_can_follow =
          device_can_follow && (gcm.phase == Phase::kNoMessage || gcm.phase == Phase::kFresh);
    } else if (std::strcmp(p->key, OSSL_CIPHER_PARAM_KEYLEN) != 0 &&
               OSSL_PARAM_locate_const(settable, p->key) != nullptr) {
      device_can_follow = false;  // TLS 1.2 record mode: libcrypto's
    }  // else one AES-GCM ignores (EVP_CipherInit_ex passes "padding" every time): so do we
  }
  return device_can_follow;
}

int gcm_init(void* raw, const unsigned char* key, std::size_t key_length, const unsigned char* iv,
             std::size_t iv_length, const OSSL_PARAM params[], int encrypt) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
  if (key != nullptr && key_length != gcm.key_length) return 0;
  // Re-initialised without a new IV in the middle of a message: libcrypto continues it.
  if (iv == nullptr && gcm.phase != Phase::kNoMessage && !switch_to_software(gcm)) return 0;
  // The same key again (a loop that passes it with every IV): libcrypto's key schedule and the
  // device session stay as they are.
  const bool same_key =
      key != nullptr && gcm.key_set && std::memcmp(key, gcm.key, gcm.key_length) == 0;
  if (EVP_CipherInit_ex2(gcm.software, nullptr, same_key ? nullptr : key, iv, encrypt, params) !=
      1) {
    return 0;
  }
  gcm.encrypt = encrypt != 0;
  if (key != nullptr && !same_key) {
    std::memcpy(gcm.key, key, gcm.key_length);
    gcm.key_set = true;
    gcm.release_session();
  }
  const bool device_can_follow = note_params(gcm, params);
  if (iv != nullptr) {
    gcm.iv_set = iv_length == kIvLength;
    if (gcm.iv_set) std::memcpy(gcm.iv, iv, kIvLength);
    gcm.aad.clear();
    gcm.phase = Phase::kFresh;  // a new message: libcrypto's context has just been reset too
  }
  if (!device_can_follow) return switch_to_software(gcm) ? 1 : 0;
  return 1;
}

int gcm_encrypt_init(void* raw, const unsigned char* key, std::size_t key_length,
                     const unsigned char* iv, std::size_t iv_length, const OSSL_PARAM params[]) {
  return gcm_init(raw, key, key_length, iv, iv_length, params, 1);
}

int gcm_decrypt_init(void* raw, const unsigned char* key, std::size_t key_length,
                     const unsigned char* iv, std::size_t iv_length, const OSSL_PARAM params[]) {
  return gcm_init(raw, key, key_length, iv, iv_length, params, 0);
}

int gcm_update(void* raw, unsigned char* out, std::size_t* out_length, std::size_t out_capacity,
               const unsigned char* in, std::size_t in_length) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
  if (in_length == 0) {
    *out_length = 0;
    return 1;
  }
  if (out != nullptr && out_capacity < in_length) return 0;
  if (out == nullptr) {  // AAD
    if (gcm.phase == Phase::kFresh && gcm.aad.size() + in_length <= kMaxAad) {
      gcm.aad.insert(gcm.aad.end(), in, in + in_length);
      *out_length = in_length;
      return 1;
    }
    return software_update(gcm, out, out_length, in, in_length);
  }
  if (!gcm.provider->offloads(OpClass::kCipher, in_length)) {
    count_inline(*gcm.provider, OpClass::kCipher);
    gcm.provider->trace.gcm_in_software.fetch_add(1, std::memory_order_relaxed);
    return software_update(gcm, out, out_length, in, in_length);
  }
  if (device_computes(gcm, in_length)) return device_update(gcm, out, out_length, in, in_length);
  if (gcm.provider->on_cryptodev()) {
    count_inline(*gcm.provider, OpClass::kCipher);
    gcm.provider->trace.gcm_in_software.fetch_add(1, std::memory_order_relaxed);
    return software_update(gcm, out, out_length, in, in_length);
  }
  return simulated_update(gcm, out, out_length, in, in_length);
}

int gcm_final(void* raw, unsigned char* out, std::size_t* out_length, std::size_t) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
  if (gcm.phase == Phase::kOnDevice) {  // the device has produced or verified the tag
    gcm.phase = Phase::kFinished;
    *out_length = 0;
    return 1;
  }
  if (!switch_to_software(gcm)) return 0;
  int length = 0;
  if (EVP_CipherFinal_ex(gcm.software, out, &length) != 1) return 0;
  *out_length = static_cast<std::size_t>(length);
  return 1;
}

// EVP_Cipher(): TLS 1.2 record mode on libcrypto, else update or (without input) final.
int gcm_cipher(void* raw, unsigned char* out, std::size_t* out_length, std::size_t out_capacity,
               const unsigned char* in, std::size_t in_length) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
  if (gcm.phase == Phase::kSoftware) {
    if (in_length > static_cast<std::size_t>(INT32_MAX)) return 0;
    const int length = EVP_Cipher(gcm.software, out, in, static_cast<unsigned int>(in_length));
    if (length < 0) return 0;
    *out_length = static_cast<std::size_t>(length);
    return 1;
  }
  if (in == nullptr) return gcm_final(raw, out, out_length, out_capacity);
  return gcm_update(raw, out, out_length, out_capacity, in, in_length);
}

int gcm_set_ctx_params(void* raw, const OSSL_PARAM params[]) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
  if (!note_params(gcm, params) && !switch_to_software(gcm)) return 0;
  return EVP_CIPHER_CTX_set_params(gcm.software, params);
}

int gcm_get_ctx_params(void* raw, OSSL_PARAM params[]) {
  auto& gcm = *static_cast<GcmCtx*>(raw);
  OSSL_PARAM* tag = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_AEAD_TAG);
  if (tag == nullptr || gcm.phase != Phase::kFinished) {
    return EVP_CIPHER_CTX_get_params(gcm.software, params);
  }
  // The device's tag; every other parameter from libcrypto, which has not seen this message.
  if (!gcm.encrypt || tag->data_size == 0 || tag->data_size > kTagLength ||
      !OSSL_PARAM_set_octet_string(tag, gcm.tag, tag->data_size)) {
    return 0;
  }
  std::vector<OSSL_PARAM> others;
  for (OSSL_PARAM* p = params; p->key != nullptr; ++p) {
    if (p != tag) others.push_back(*p);
  }
  if (others.empty()) return 1;
  others.push_back(OSSL_PARAM_construct_end());
  if (EVP_CIPHER_CTX_get_params(gcm.software, others.data()) != 1) return 0;
  for (OSSL_PARAM& p : others) {  // hand back how much each wrote
    if (p.key == nullptr) break;
    OSSL_PARAM_locate(params, p.key)->return_size = p.return_size;
  }
  return 1;
}

const OSSL_PARAM* gcm_gettable_ctx_params(void*, void* provctx) {
  return EVP_CIPHER_gettable_ctx_params(static_cast<Provider*>(provctx)->compute.aes_128_gcm);
}

const OSSL_PARAM* gcm_settable_ctx_params(void*, void* provctx) {
  return EVP_CIPHER_settable_ctx_params(static_cast<Provider*>(provctx)->compute.aes_128_gcm);
}

// The algorithm's constants, as the default provider reports them.
template <std::size_t KeyLength>
int gcm_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_MODE);
  if (p != nullptr && !OSSL_PARAM_set_uint(p, EVP_CIPH_GCM_MODE)) return 0;
  for (const char* flag : {OSSL_CIPHER_PARAM_AEAD, OSSL_CIPHER_PARAM_CUSTOM_IV}) {
    p = OSSL_PARAM_locate(params, flag);
    if (p != nullptr && !OSSL_PARAM_set_int(p, 1)) return 0;
  }
  for (const char* flag :
       {OSSL_CIPHER_PARAM_CTS, OSSL_CIPHER_PARAM_TLS1_MULTIBLOCK, OSSL_CIPHER_PARAM_HAS_RAND_KEY}) {
    p = OSSL_PARAM_locate(params, flag);
    if (p != nullptr && !OSSL_PARAM_set_int(p, 0)) return 0;
  }
  p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_KEYLEN);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, KeyLength)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_BLOCK_SIZE);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, 1)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_CIPHER_PARAM_IVLEN);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, kIvLength)) return 0;
  return 1;
}

const OSSL_PARAM* gcm_gettable_params(void*) {
  static const OSSL_PARAM table[] = {OSSL_PARAM_uint(OSSL_CIPHER_PARAM_MODE, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_KEYLEN, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_IVLEN, nullptr),
                                     OSSL_PARAM_size_t(OSSL_CIPHER_PARAM_BLOCK_SIZE, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_AEAD, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_CUSTOM_IV, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_CTS, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_TLS1_MULTIBLOCK, nullptr),
                                     OSSL_PARAM_int(OSSL_CIPHER_PARAM_HAS_RAND_KEY, nullptr),
                                     OSSL_PARAM_END};
  return table;
}

#define PN_GCM_FUNCTIONS(key_length)                                                  \
  {                                                                                   \
    PN_DISPATCH(OSSL_FUNC_CIPHER_NEWCTX, gcm_newctx<key_length>),                     \
        PN_DISPATCH(OSSL_FUNC_CIPHER_FREECTX, gcm_freectx),                           \
        PN_DISPATCH(OSSL_FUNC_CIPHER_DUPCTX, gcm_dupctx),                             \
        PN_DISPATCH(OSSL_FUNC_CIPHER_ENCRYPT_INIT, gcm_encrypt_init),                 \
        PN_DISPATCH(OSSL_FUNC_CIPHER_DECRYPT_INIT, gcm_decrypt_init),                 \
        PN_DISPATCH(OSSL_FUNC_CIPHER_UPDATE, gcm_update),                             \
        PN_DISPATCH(OSSL_FUNC_CIPHER_FINAL, gcm_final),                               \
        PN_DISPATCH(OSSL_FUNC_CIPHER_CIPHER, gcm_cipher),                             \
        PN_DISPATCH(OSSL_FUNC_CIPHER_GET_PARAMS, gcm_get_params<key_length>),         \
        PN_DISPATCH(OSSL_FUNC_CIPHER_GETTABLE_PARAMS, gcm_gettable_params),           \
        PN_DISPATCH(OSSL_FUNC_CIPHER_GET_CTX_PARAMS, gcm_get_ctx_params),             \
        PN_DISPATCH(OSSL_FUNC_CIPHER_SET_CTX_PARAMS, gcm_set_ctx_params),             \
        PN_DISPATCH(OSSL_FUNC_CIPHER_GETTABLE_CTX_PARAMS, gcm_gettable_ctx_params),   \
        PN_DISPATCH(OSSL_FUNC_CIPHER_SETTABLE_CTX_PARAMS, gcm_settable_ctx_params), { \
      0, nullptr                                                                      \
    }                                                                                 \
  }

}  // namespace

const OSSL_DISPATCH aes_128_gcm_functions[] = PN_GCM_FUNCTIONS(16);
const OSSL_DISPATCH aes_256_gcm_functions[] = PN_GCM_FUNCTIONS(32);

#undef PN_GCM_FUNCTIONS

}  // namespace pn::provider
