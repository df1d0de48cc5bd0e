// SHA2-256: computed by libcrypto (sim device) or by the DPDK driver (cryptodev device), its
// final() completed through the device, pausing the OpenSSL job it runs in.
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>
#include <new>
#include <vector>

#include "provider.hpp"

namespace pn::provider {
namespace {

constexpr std::size_t kDigestSize = 32, kBlockSize = 64;
constexpr std::size_t kMaxDeviceMessage = 65535;  // one mbuf: every driver hashes it right

struct DigestCtx {
  Provider* provider = nullptr;
  EVP_MD_CTX* md = nullptr;  // libcrypto's SHA2-256 state
  // Cryptodev: the message so far (the driver hashes a whole message in one op). Past the
  // driver's one-op limit the message goes to libcrypto instead, and the device only carries the
  // completion (its default operation).
  std::vector<unsigned char> message;
  bool message_too_long = false;
  std::size_t message_bytes = 0;                  // for the class's threshold
  unsigned char device_digest[kDigestSize] = {};  // written by the driver before the completion
  Offload offload;
  ~DigestCtx() { EVP_MD_CTX_free(md); }
};

// One request for this digest: on cryptodev the driver hashes the message, else the device
// completes a request whose digest libcrypto has computed.
SubmitResult submit_request(Runtime& runtime, void* raw) {
  auto& digest = *static_cast<DigestCtx*>(raw);
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  if (CryptodevDevice* cryptodev = digest.provider->cryptodev;
      cryptodev != nullptr && !digest.message_too_long) {
    return cryptodev->submit_sha256(*digest.offload.device_ctx, digest.message.data(),
                                    static_cast<std::uint32_t>(digest.message.size()),
                                    digest.device_digest, 0);
  }
#endif
  (void)runtime;
  return digest.provider->submit_completion(OpClass::kDigest, *digest.offload.device_ctx);
}

void* digest_newctx(void* provctx) {
  auto* digest = new (std::nothrow) DigestCtx();
  if (digest == nullptr) return nullptr;
  digest->provider = static_cast<Provider*>(provctx);
  digest->md = EVP_MD_CTX_new();
  if (!digest->offload.open(digest->provider, OpClass::kDigest) || digest->md == nullptr) {
    delete digest;
    return nullptr;
  }
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
    copy->message_bytes = source->message_bytes;
  }
  return copy;
}

int digest_init(void* raw, const OSSL_PARAM[]) {
  auto* digest = static_cast<DigestCtx*>(raw);
  digest->message.clear();
  digest->message_too_long = false;
  digest->message_bytes = 0;
  return EVP_DigestInit_ex(digest->md, digest->provider->compute.sha256, nullptr);
}

int digest_update(void* raw, const unsigned char* in, size_t size) {
  auto* digest = static_cast<DigestCtx*>(raw);
  digest->message_bytes += size;
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
  const bool offloads = digest->provider->offloads(OpClass::kDigest, digest->message_bytes);
  if (!offloads && !digest->message.empty()) {  // buffered for the driver: libcrypto hashes it
    if (EVP_DigestUpdate(digest->md, digest->message.data(), digest->message.size()) != 1) return 0;
    digest->message.clear();
    digest->message_too_long = true;
  }
  const bool driver_hashes = digest->provider->on_cryptodev() && !digest->message_too_long;
  unsigned int length = 0;
  if (!driver_hashes &&
      (EVP_DigestFinal_ex(digest->md, result, &length) != 1 || length != kDigestSize)) {
    return 0;
  }
  if (!offloads) {
    count_inline(*digest->provider, OpClass::kDigest);
  } else if (complete_through_device(digest->offload, submit_request, digest) != 1) {
    return 0;
  }
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

}  // namespace

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

}  // namespace pn::provider
