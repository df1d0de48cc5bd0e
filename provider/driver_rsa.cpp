// RSA on a cryptodev driver that offers it (crypto_openssl; crypto_qat on a QAT machine): the
// default provider's key object exported into a driver session once per key, found again by a
// hash of the key's content (a freed key's address may come back holding another key; the
// private parts themselves are not kept), and the PKCS#1 v1.5 DigestInfo a signature pads, built
// with libcrypto's ASN.1 encoder.
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <cstdio>
#include <new>

#include "provider.hpp"

namespace pn::provider {

std::vector<unsigned char> digest_info(Compute& compute, const std::string& md_name,
                                       const unsigned char* digest, std::size_t length) {
  std::vector<unsigned char> der;
  EVP_MD* md = EVP_MD_fetch(compute.libctx, md_name.c_str(), nullptr);
  const int nid = md != nullptr ? EVP_MD_get_type(md) : NID_undef;
  const bool length_ok = md != nullptr && static_cast<int>(length) == EVP_MD_get_size(md);
  EVP_MD_free(md);
  if (nid == NID_undef || !length_ok) return der;
  X509_SIG* info = X509_SIG_new();
  X509_ALGOR* algorithm = nullptr;
  ASN1_OCTET_STRING* value = nullptr;
  if (info != nullptr) X509_SIG_getm(info, &algorithm, &value);
  // RSA PKCS#1 v1.5 (RFC 8017, 9.2): the hash's OID with NULL parameters, then the hash.
  if (algorithm != nullptr && value != nullptr &&
      X509_ALGOR_set0(algorithm, OBJ_nid2obj(nid), V_ASN1_NULL, nullptr) == 1 &&
      ASN1_OCTET_STRING_set(value, digest, static_cast<int>(length)) == 1) {
    const int size = i2d_X509_SIG(info, nullptr);
    if (size > 0) {
      der.resize(static_cast<std::size_t>(size));
      unsigned char* out = der.data();
      if (i2d_X509_SIG(info, &out) != size) der.clear();
    }
  }
  X509_SIG_free(info);
  return der;
}

#ifdef PN_PROVIDER_WITH_CRYPTODEV

namespace {

// The key's parts, from the default provider's export callback; wiped when done.
struct ExportedRsa {
  std::vector<unsigned char> parts[8];
  bool private_half = false;
  ExportedRsa() = default;
  ExportedRsa(const ExportedRsa&) = delete;
  ExportedRsa& operator=(const ExportedRsa&) = delete;
  ~ExportedRsa() {
    for (auto& part : parts) OPENSSL_cleanse(part.data(), part.size());
  }
};

// Distinct keys remembered (each with its session, or none past kMaxRsaKeys): bounded.
constexpr std::size_t kMaxKnownKeys = 4 * CryptodevDevice::kMaxRsaKeys;

constexpr const char* kPartNames[8] = {
    OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,           OSSL_PKEY_PARAM_RSA_D,
    OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,     OSSL_PKEY_PARAM_RSA_EXPONENT1,
    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};

// Called by libcrypto (C frames): nothing may be thrown through it.
int collect_rsa(const OSSL_PARAM params[], void* arg) noexcept {
  auto& exported = *static_cast<ExportedRsa*>(arg);
  for (std::size_t i = 0; i < std::size(kPartNames); ++i) {
    const OSSL_PARAM* found = OSSL_PARAM_locate_const(params, kPartNames[i]);
    BIGNUM* value = nullptr;
    if (found == nullptr || OSSL_PARAM_get_BN(found, &value) != 1) continue;
    try {
      exported.parts[i].resize(static_cast<std::size_t>(BN_num_bytes(value)));
    } catch (const std::bad_alloc&) {
      BN_clear_free(value);
      return 0;
    }
    BN_bn2bin(value, exported.parts[i].data());
    BN_clear_free(value);
  }
  exported.private_half = !exported.parts[2].empty() && !exported.parts[7].empty();
  return 1;
}

}  // namespace

const DriverRsaKey* Provider::driver_rsa_key(void* keydata,
                                             OSSL_FUNC_keymgmt_export_fn* export_keys) {
  if (!on_cryptodev() || keydata == nullptr || export_keys == nullptr || called_by_own_poller() ||
      get_runtime() == nullptr || cryptodev == nullptr ||
      !cryptodev->supports(CryptoOpKind::kRsaSignPkcs1)) {
    return nullptr;
  }
  ExportedRsa exported;
  if (export_keys(keydata, OSSL_KEYMGMT_SELECT_KEYPAIR, collect_rsa, &exported) != 1 ||
      !exported.private_half) {
    return nullptr;  // a public key: its operations are libcrypto's
  }
  KeyHash hash{};
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool hashed = md != nullptr && EVP_DigestInit_ex(md, compute.sha256, nullptr) == 1;
  for (const auto& part : exported.parts) {
    const auto size = static_cast<std::uint32_t>(part.size());  // parts cannot run into each other
    hashed = hashed && EVP_DigestUpdate(md, &size, sizeof size) == 1 &&
             EVP_DigestUpdate(md, part.data(), part.size()) == 1;
  }
  hashed = hashed && EVP_DigestFinal_ex(md, hash.data(), nullptr) == 1;
  EVP_MD_CTX_free(md);
  if (!hashed) return nullptr;
  const std::lock_guard lock(driver_keys_mutex);
  for (const auto& [known, key] : driver_keys) {
    if (known == hash) return key;
  }
  if (driver_keys.size() >= kMaxKnownKeys) return nullptr;
  const CryptodevDevice::RsaKey* key = nullptr;
  try {
    const auto& p = exported.parts;
    key = &cryptodev->rsa_key(RsaPrivateKey{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]});
  } catch (const std::exception& error) {
    // Too many keys, or one the driver refuses: libcrypto computes with it, said once per key.
    std::fprintf(stderr, "pollnotify provider: RSA key left to libcrypto: %s\n", error.what());
  }
  try {
    driver_keys.emplace_back(hash, key);
  } catch (const std::bad_alloc&) {  // not remembered: the next init with this key asks again
    if (key != nullptr) cryptodev->release_rsa_key(*key);
    return nullptr;
  }
  return key;
}

#else

const DriverRsaKey* Provider::driver_rsa_key(void*, OSSL_FUNC_keymgmt_export_fn*) {
  return nullptr;
}

#endif

}  // namespace pn::provider
