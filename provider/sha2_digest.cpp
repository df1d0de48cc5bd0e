// SHA2-256 and SHA2-384: computed by libcrypto (sim device; SHA2-384 on every device) or by the
// DPDK driver (SHA2-256 on the cryptodev device); final() of a message at or above the digest
// threshold completes through the device, pausing the OpenSSL job it runs in.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>
#include <new>
#include <vector>

#include "provider.hpp"

namespace pn::provider {
namespace {

constexpr std::size_t kMaxDigestSize = 48;
constexpr std::size_t kMaxDeviceMessage = 65535;  // one mbuf: every driver hashes it right

// One of the digests this provider offers.
struct Sha2 {
  std::size_t size, block_size;
  EVP_MD* Compute::*md;  // libcrypto's, in the provider's library context
  bool on_driver;        // the cryptodev driver hashes it (SHA2-256)
};
constexpr Sha2 kSha256{32, 64, &Compute::sha256, true};
constexpr Sha2 kSha384{48, 128, &Compute::sha384, false};

struct DigestCtx {
  Provider* provider = nullptr;
  const Sha2* kind = &kSha256;
  EVP_MD_CTX* md = nullptr;  // libcrypto's state
  // Cryptodev: the message so far (the driver hashes a whole message in one op). Past the
  // driver's one-op limit the message goes to libcrypto instead, and the device only carries the
  // completion (its default operation).
  std::vector<unsigned char> message;
  bool message_too_long = false;
  std::size_t message_bytes = 0;                     // for the class's threshold
  unsigned char device_digest[kMaxDigestSize] = {};  // written by the driver before the completion
  Offload offload;
  ~DigestCtx() { EVP_MD_CTX_free(md); }
  // Whether the message is kept for the driver to hash (else libcrypto hashes as it comes).
  [[nodiscard]] bool for_driver() const noexcept {
    return kind->on_driver && provider->on_cryptodev() && !message_too_long;
  }
};

// One request for this digest: on cryptodev the driver hashes the message, else the device
// completes a request whose digest libcrypto has computed.
SubmitResult submit_request(Runtime& runtime, void* raw) {
  auto& digest = *static_cast<DigestCtx*>(raw);
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  if (CryptodevDevice* cryptodev = digest.provider->cryptodev;
      cryptodev != nullptr && digest.for_driver()) {
    return counted_by_driver(
        *digest.provider, OpClass::kDigest,
        cryptodev->submit_sha256(*digest.offload.device_ctx, digest.message.data(),
                                 static_cast<std::uint32_t>(digest.message.size()),
                                 digest.device_digest, 0));
  }
#endif
  (void)runtime;
  return digest.provider->submit_completion(OpClass::kDigest, *digest.offload.device_ctx);
}

void* new_digest(void* provctx, const Sha2& kind) {
  auto* digest = new (std::nothrow) DigestCtx();
  if (digest == nullptr) return nullptr;
  digest->provider = static_cast<Provider*>(provctx);
  digest->kind = &kind;
  digest->md = EVP_MD_CTX_new();
  if (!digest->offload.open(digest->provider, OpClass::kDigest) || digest->md == nullptr) {
    delete digest;
    return nullptr;
  }
  return digest;
}

template <const Sha2& Kind>
void* digest_newctx(void* provctx) {
  return new_digest(provctx, Kind);
}

void digest_freectx(void* raw) { delete static_cast<DigestCtx*>(raw); }

void* digest_dupctx(void* raw) {
  const auto* source = static_cast<DigestCtx*>(raw);
  auto* copy = static_cast<DigestCtx*>(new_digest(source->provider, *source->kind));
  if (copy != nullptr && EVP_MD_CTX_copy_ex(copy->md, source->md) != 1) {
    delete copy;
    return nullptr;
  }
  if (copy != nullptr) {
    copy->message = source->message;
    copy->message_too_long = source->message_too_long;
    copy->message_bytes = source->message_bytes;
  }
  return copy;
}

int digest_init(void* raw, const OSSL_PARAM[]) {
  auto* digest = static_cast<DigestCtx*>(raw);
  digest->message.clear();
  digest->message_too_long = false;
  digest->message_bytes = 0;
  return EVP_DigestInit_ex(digest->md, digest->provider->compute.*digest->kind->md, nullptr);
}

int digest_update(void* raw, const unsigned char* in, size_t size) {
  auto* digest = static_cast<DigestCtx*>(raw);
  digest->message_bytes += size;
  if (digest->for_driver()) {
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
  const std::size_t size = digest->kind->size;
  if (out_capacity < size) return 0;
  unsigned char result[kMaxDigestSize];
  const bool offloads = digest->provider->offloads(OpClass::kDigest, digest->message_bytes);
  if (!offloads && !digest->message.empty()) {  // buffered for the driver: libcrypto hashes it
    if (EVP_DigestUpdate(digest->md, digest->message.data(), digest->message.size()) != 1) return 0;
    digest->message.clear();
    digest->message_too_long = true;
  }
  const bool driver_hashes = digest->for_driver();
  unsigned int length = 0;
  if (!driver_hashes && (EVP_DigestFinal_ex(digest->md, result, &length) != 1 || length != size)) {
    return 0;
  }
  if (!offloads) {
    count_inline(*digest->provider, OpClass::kDigest);
  } else if (complete_through_device(digest->offload, submit_request, digest) != 1) {
    return 0;
  }
  if (driver_hashes) std::memcpy(result, digest->device_digest, size);  // after PROV-A1
  std::memcpy(out, result, size);
  *out_size = size;
  return 1;
}

template <const Sha2& Kind>
int digest_get_params(OSSL_PARAM params[]) {
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, Kind.block_size)) return 0;
  p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE);
  if (p != nullptr && !OSSL_PARAM_set_size_t(p, Kind.size)) return 0;
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

#define PN_SHA2_FUNCTIONS(kind)                                                  \
  {                                                                              \
    PN_DISPATCH(OSSL_FUNC_DIGEST_NEWCTX, digest_newctx<kind>),                   \
        PN_DISPATCH(OSSL_FUNC_DIGEST_INIT, digest_init),                         \
        PN_DISPATCH(OSSL_FUNC_DIGEST_UPDATE, digest_update),                     \
        PN_DISPATCH(OSSL_FUNC_DIGEST_FINAL, digest_final),                       \
        PN_DISPATCH(OSSL_FUNC_DIGEST_FREECTX, digest_freectx),                   \
        PN_DISPATCH(OSSL_FUNC_DIGEST_DUPCTX, digest_dupctx),                     \
        PN_DISPATCH(OSSL_FUNC_DIGEST_GET_PARAMS, digest_get_params<kind>),       \
        PN_DISPATCH(OSSL_FUNC_DIGEST_GETTABLE_PARAMS, digest_gettable_params), { \
      0, nullptr                                                                 \
    }                                                                            \
  }

}  // namespace

const OSSL_DISPATCH sha256_functions[] = PN_SHA2_FUNCTIONS(kSha256);
const OSSL_DISPATCH sha384_functions[] = PN_SHA2_FUNCTIONS(kSha384);

#undef PN_SHA2_FUNCTIONS

}  // namespace pn::provider
