// The asymmetric algorithms of a TLS handshake (RSA, ECDSA, ECDH, X25519) as libcrypto's default
// provider implements them, wrapped:
//   key management is the default provider's own: its functions, called with its own provider
//     context (the one in this provider's library context), so keys are the default provider's
//     key objects and whatever loads keys (PEM, SSL_CTX_use_PrivateKey, HAProxy's crt) works;
//   signature, key exchange and asymmetric cipher contexts wrap the default provider's, and sign,
//     verify, derive, encrypt and decrypt compute as their class says (on the calling thread or
//     by the workers) and complete through the device, pausing the job they run in;
//   on a cryptodev driver with RSA (crypto_openssl), RSA signatures and decryption with PKCS#1
//     v1.5 padding are computed by the driver (driver_rsa.cpp has the keys), the rest by libcrypto.
// The tables are built once per process from the default provider's dispatch tables (public
// API: OSSL_PROVIDER_query_operation), so they follow the libcrypto they run on.
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <tuple>
#include <utility>

#include "provider.hpp"

namespace pn::provider {
namespace {

using Function = void (*)(void);
constexpr int kMaxFunctionId = 64;

enum Algorithm : std::size_t {
  kRsaKeys,
  kEcKeys,
  kX25519Keys,
  kRsaSignature,
  kEcdsaSignature,
  kEcdhExchange,
  kX25519Exchange,
  kRsaCipher,
  kAlgorithmCount
};

struct Spec {
  int operation;
  const char* name;  // the default provider's first name for it
  OpClass op;
  Algorithm keys;  // the key management its keys come from
};

constexpr Spec kSpecs[kAlgorithmCount] = {
    {OSSL_OP_KEYMGMT, "RSA", OpClass::kRsa, kRsaKeys},
    {OSSL_OP_KEYMGMT, "EC", OpClass::kEc, kEcKeys},
    {OSSL_OP_KEYMGMT, "X25519", OpClass::kEc, kX25519Keys},
    {OSSL_OP_SIGNATURE, "RSA", OpClass::kRsa, kRsaKeys},
    {OSSL_OP_SIGNATURE, "ECDSA", OpClass::kEc, kEcKeys},
    {OSSL_OP_KEYEXCH, "ECDH", OpClass::kEc, kEcKeys},
    {OSSL_OP_KEYEXCH, "X25519", OpClass::kEc, kX25519Keys},
    {OSSL_OP_ASYM_CIPHER, "RSA", OpClass::kRsa, kRsaKeys},
};

constexpr int kOperations[] = {OSSL_OP_KEYMGMT, OSSL_OP_SIGNATURE, OSSL_OP_KEYEXCH,
                               OSSL_OP_ASYM_CIPHER};

struct Wrapped {
  Function defaults[kMaxFunctionId] = {};  // the default provider's functions, by id
  std::string names, description;
  std::vector<OSSL_DISPATCH> dispatch;  // ours, terminated
};

struct Tables {
  Wrapped algorithms[kAlgorithmCount];
  std::vector<OSSL_ALGORITHM> by_operation[std::size(kOperations)];
  bool ok = false;
};

Tables& tables() {
  static Tables built;
  return built;
}

template <typename Fn>
Fn default_function(Algorithm algorithm, int id) {
  return reinterpret_cast<Fn>(tables().algorithms[algorithm].defaults[id]);
}

void* default_provctx(void* provctx) {
  return static_cast<Provider*>(provctx)->compute.default_provctx;
}

// --- key management: the default provider's functions; those taking a provider context get
// the default provider's ---

template <Algorithm A>
void* keys_new(void* provctx) {
  return default_function<OSSL_FUNC_keymgmt_new_fn*>(
      A, OSSL_FUNC_KEYMGMT_NEW)(default_provctx(provctx));
}

template <Algorithm A>
void* keys_gen_init(void* provctx, int selection, const OSSL_PARAM params[]) {
  return default_function<OSSL_FUNC_keymgmt_gen_init_fn*>(A, OSSL_FUNC_KEYMGMT_GEN_INIT)(
      default_provctx(provctx), selection, params);
}

template <Algorithm A>
const OSSL_PARAM* keys_gen_settable(void* genctx, void* provctx) {
  return default_function<OSSL_FUNC_keymgmt_gen_settable_params_fn*>(
      A, OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS)(genctx, default_provctx(provctx));
}

template <Algorithm A, int Id>
const OSSL_PARAM* keys_param_table(void* provctx) {
  return default_function<const OSSL_PARAM* (*)(void*)>(A, Id)(default_provctx(provctx));
}

#if defined(OSSL_FUNC_KEYMGMT_IMPORT_TYPES_EX)
template <Algorithm A, int Id>
const OSSL_PARAM* keys_types_ex(void* provctx, int selection) {
  return default_function<const OSSL_PARAM* (*)(void*, int)>(A, Id)(default_provctx(provctx),
                                                                    selection);
}
#endif

// Our function for a key management id; the default's own for those that take no provider
// context; null for ids this wrapper does not know (left out, so OpenSSL falls back).
template <Algorithm A>
Function keys_function(int id) {
  switch (id) {
    case OSSL_FUNC_KEYMGMT_NEW:
      return reinterpret_cast<Function>(keys_new<A>);
    case OSSL_FUNC_KEYMGMT_GEN_INIT:
      return reinterpret_cast<Function>(keys_gen_init<A>);
    case OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS:
      return reinterpret_cast<Function>(keys_gen_settable<A>);
    case OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS:
      return reinterpret_cast<Function>(keys_param_table<A, OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS>);
    case OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS:
      return reinterpret_cast<Function>(keys_param_table<A, OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS>);
#if defined(OSSL_FUNC_KEYMGMT_IMPORT_TYPES_EX)
    case OSSL_FUNC_KEYMGMT_IMPORT_TYPES_EX:
      return reinterpret_cast<Function>(keys_types_ex<A, OSSL_FUNC_KEYMGMT_IMPORT_TYPES_EX>);
    case OSSL_FUNC_KEYMGMT_EXPORT_TYPES_EX:
      return reinterpret_cast<Function>(keys_types_ex<A, OSSL_FUNC_KEYMGMT_EXPORT_TYPES_EX>);
#endif
    case OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE:
    case OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS:
    case OSSL_FUNC_KEYMGMT_GEN:
    case OSSL_FUNC_KEYMGMT_GEN_CLEANUP:
    case OSSL_FUNC_KEYMGMT_FREE:
    case OSSL_FUNC_KEYMGMT_GET_PARAMS:
    case OSSL_FUNC_KEYMGMT_SET_PARAMS:
    case OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME:
    case OSSL_FUNC_KEYMGMT_HAS:
    case OSSL_FUNC_KEYMGMT_VALIDATE:
    case OSSL_FUNC_KEYMGMT_MATCH:
    case OSSL_FUNC_KEYMGMT_IMPORT:
    case OSSL_FUNC_KEYMGMT_IMPORT_TYPES:
    case OSSL_FUNC_KEYMGMT_EXPORT:
    case OSSL_FUNC_KEYMGMT_EXPORT_TYPES:
    case OSSL_FUNC_KEYMGMT_DUP:
      return tables().algorithms[A].defaults[id];
    default:  // LOAD takes the default provider's own decoder references: never ours
      return nullptr;
  }
}

// --- operation contexts: ours around the default provider's ---

// The most a driver writes for one RSA request: the modulus of RSA-4096.
constexpr std::size_t kMaxDriverOutput = 512;
#ifdef PN_PROVIDER_WITH_CRYPTODEV
static_assert(kMaxDriverOutput == CryptodevDevice::kMaxRsaBytes);
#endif

// An RSA request for the driver: PKCS#1 v1.5 sign or decrypt with the key's session there.
struct DriverRequest {
  const DriverRsaKey* key = nullptr;  // set by a private-key init on a driver with RSA
  // digest_sign: the message's hash, computed beside the default provider's (which the driver
  // does not see), and its name.
  EVP_MD_CTX* message_hash = nullptr;
  std::string md_name;
  bool sign = true;                // else decrypt
  std::vector<unsigned char> in;   // the DigestInfo, message or ciphertext
  std::vector<unsigned char> out;  // written by the driver before the completion
  DriverRequest() = default;
  DriverRequest(const DriverRequest&) = delete;
  DriverRequest& operator=(const DriverRequest&) = delete;
  ~DriverRequest() { EVP_MD_CTX_free(message_hash); }
  // A copy for a duplicated context (libcrypto duplicates one to finish a digest_sign); false
  // when out of memory.
  bool copy_from(const DriverRequest& other) {
    key = other.key;
    md_name = other.md_name;
    if (other.message_hash == nullptr) return true;
    message_hash = EVP_MD_CTX_new();
    return message_hash != nullptr && EVP_MD_CTX_copy_ex(message_hash, other.message_hash) == 1;
  }
};

struct OpCtx {
  Provider* provider = nullptr;
  Algorithm algorithm = kAlgorithmCount;
  void* inner = nullptr;      // the default provider's context
  std::size_t key_bytes = 0;  // the key's size, compared with the class's threshold
  Offload offload;
  std::function<int()> work;  // workers: the computation a worker runs
  int work_result = 0;
  DriverRequest driver;
  [[nodiscard]] OpClass op() const noexcept { return kSpecs[algorithm].op; }
};

OpCtx* ctx_of(void* ctx) { return static_cast<OpCtx*>(ctx); }

template <typename Fn>
Fn inner_function(const OpCtx& ctx, int id) {
  return default_function<Fn>(ctx.algorithm, id);
}

// Forwards a context function to the default provider's, on its context.
template <int Id, typename Signature>
struct Forward;
template <int Id, typename R, typename... Args>
struct Forward<Id, R(void*, Args...)> {
  static R call(void* ctx, Args... args) {
    OpCtx& op = *ctx_of(ctx);
    return inner_function<R (*)(void*, Args...)>(op, Id)(op.inner, args...);
  }
};

constexpr int free_id(int operation) {
  return operation == OSSL_OP_SIGNATURE ? OSSL_FUNC_SIGNATURE_FREECTX
         : operation == OSSL_OP_KEYEXCH ? OSSL_FUNC_KEYEXCH_FREECTX
                                        : OSSL_FUNC_ASYM_CIPHER_FREECTX;
}

template <Algorithm A, typename... Rest>
void* op_newctx(void* provctx, [[maybe_unused]] Rest... rest) {
  auto* provider = static_cast<Provider*>(provctx);
  auto* op = new (std::nothrow) OpCtx();
  if (op == nullptr) return nullptr;
  op->provider = provider;
  op->algorithm = A;
  // The property query is the application's, meaningless in the provider's library context
  // (where only the default provider lives): the default provider's digests serve.
  if constexpr (sizeof...(Rest) == 1) {
    op->inner =
        default_function<void* (*)(void*, const char*)>(A, 1)(default_provctx(provctx), nullptr);
  } else {
    op->inner = default_function<void* (*)(void*)>(A, 1)(default_provctx(provctx));
  }
  if (op->inner == nullptr || !op->offload.open(provider, kSpecs[A].op)) {
    if (op->inner != nullptr) {
      default_function<void (*)(void*)>(A, free_id(kSpecs[A].operation))(op->inner);
    }
    delete op;
    return nullptr;
  }
  return op;
}

template <int FreeId>
void op_freectx(void* ctx) {
  OpCtx* op = ctx_of(ctx);
  inner_function<void (*)(void*)>(*op, FreeId)(op->inner);
  delete op;
}

template <int FreeId, int DupId>
void* op_dupctx(void* ctx) {
  const OpCtx& source = *ctx_of(ctx);
  auto* copy = new (std::nothrow) OpCtx();
  if (copy == nullptr) return nullptr;
  copy->provider = source.provider;
  copy->algorithm = source.algorithm;
  copy->key_bytes = source.key_bytes;
  copy->inner = inner_function<void* (*)(void*)>(source, DupId)(source.inner);
  if (copy->inner == nullptr || !copy->offload.open(source.provider, source.op()) ||
      !copy->driver.copy_from(source.driver)) {
    if (copy->inner != nullptr) inner_function<void (*)(void*)>(source, FreeId)(copy->inner);
    delete copy;
    return nullptr;
  }
  return copy;
}

template <Algorithm A, int Id>
const OSSL_PARAM* op_param_table(void* ctx, void* provctx) {
  return default_function<const OSSL_PARAM* (*)(void*, void*)>(A, Id)(
      ctx != nullptr ? ctx_of(ctx)->inner : nullptr, default_provctx(provctx));
}

// Remembers the key's size for the threshold (a null key keeps the previous one).
void note_key(OpCtx& op, void* provkey) {
  if (provkey == nullptr) return;
  int bits = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, &bits), OSSL_PARAM_END};
  const auto get_params = default_function<OSSL_FUNC_keymgmt_get_params_fn*>(
      kSpecs[op.algorithm].keys, OSSL_FUNC_KEYMGMT_GET_PARAMS);
  op.key_bytes =
      get_params != nullptr && get_params(provkey, params) == 1 && bits > 0 ? (bits + 7) / 8 : 0;
}

// The inits with a private key whose RSA operation a driver may compute (function ids repeat
// across operations: the algorithm tells them apart).
constexpr bool private_key_rsa_init(Algorithm algorithm, int id) {
  if (algorithm == kRsaSignature) {
    return id == OSSL_FUNC_SIGNATURE_SIGN_INIT || id == OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT;
  }
  return algorithm == kRsaCipher && id == OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT;
}

// Prepares (or clears) the driver's part of an RSA operation after its init: the key's session on
// the driver and, for digest_sign, a hash of the message beside the default provider's.
template <int Id>
void note_driver_key(OpCtx& op, void* provkey, const char* md_name) {
  DriverRequest& driver = op.driver;
  EVP_MD_CTX_free(driver.message_hash);
  driver.message_hash = nullptr;
  driver.md_name.clear();
  if (!private_key_rsa_init(op.algorithm, Id)) {
    driver.key = nullptr;
    return;
  }
  if (provkey != nullptr) {
    driver.key = op.provider->driver_rsa_key(
        provkey,
        default_function<OSSL_FUNC_keymgmt_export_fn*>(kRsaKeys, OSSL_FUNC_KEYMGMT_EXPORT));
  }
  if (driver.key == nullptr || op.algorithm != kRsaSignature ||
      Id != OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT) {
    return;
  }
  EVP_MD* md =
      md_name != nullptr ? EVP_MD_fetch(op.provider->compute.libctx, md_name, nullptr) : nullptr;
  driver.message_hash = md != nullptr ? EVP_MD_CTX_new() : nullptr;
  if (driver.message_hash != nullptr && EVP_DigestInit_ex(driver.message_hash, md, nullptr) == 1) {
    driver.md_name = md_name;
  } else {  // a hash this libcrypto lacks: the default provider signs
    EVP_MD_CTX_free(driver.message_hash);
    driver.message_hash = nullptr;
  }
  EVP_MD_free(md);
}

template <int Id, typename Signature>
struct KeyedInit;
template <int Id, typename... Before, typename... After>
struct KeyedInit<Id, void(void*, std::tuple<Before...>, void*, std::tuple<After...>)> {
  static int call(void* ctx, Before... before, void* provkey, After... after) {
    OpCtx& op = *ctx_of(ctx);
    note_key(op, provkey);
    const int done = inner_function<int (*)(void*, Before..., void*, After...)>(op, Id)(
        op.inner, before..., provkey, after...);
    const char* md_name = nullptr;
    if constexpr (sizeof...(Before) == 1) md_name = (before, ...);
    if (done == 1) note_driver_key<Id>(op, provkey, md_name);
    return done;
  }
};
// init(ctx, provkey, params) and digest_init(ctx, mdname, provkey, params)
template <int Id>
constexpr auto kInit =
    KeyedInit<Id, void(void*, std::tuple<>, void*, std::tuple<const OSSL_PARAM*>)>::call;
template <int Id>
constexpr auto kDigestInit =
    KeyedInit<Id, void(void*, std::tuple<const char*>, void*, std::tuple<const OSSL_PARAM*>)>::call;

// --- the offloaded operations ---

SubmitResult submit_completion(Runtime&, void* raw) {
  OpCtx& op = *static_cast<OpCtx*>(raw);
  return op.provider->submit_completion(op.op(), *op.offload.device_ctx);
}

constexpr auto kWorkerRefusalLimit = std::chrono::seconds(1);

// Workers: a worker computes, then the device carries the completion to the poller.
SubmitResult submit_to_workers(Runtime&, void* raw) {
  auto* op = static_cast<OpCtx*>(raw);
  op->provider->workers->post([op] {
    op->work_result = op->work();
    const auto give_up_at = std::chrono::steady_clock::now() + kWorkerRefusalLimit;
    for (unsigned retries = 0;; ++retries) {
      const SubmitResult submitted = submit_completion(*op->provider->runtime, op);
      if (submitted == SubmitResult::kAccepted) return;
      // Bounded: a device that refuses for a whole second fails the operation.
      if (submitted == SubmitResult::kFailed ||
          (retries % 64 == 63 && std::chrono::steady_clock::now() >= give_up_at)) {
        complete_failed(op->offload);
        return;
      }
      op->provider->counters_of(op->op()).retries.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::yield();
    }
  });
  return SubmitResult::kAccepted;
}

// Computes below the class's threshold at once; above it on the calling thread (while the request
// is in flight) or the workers, completing through the device (its latency, injected faults).
template <typename Compute>
int offloaded(OpCtx& op, Compute&& compute) {
  Provider& provider = *op.provider;
  const OpClass op_class = op.op();
  if (!provider.offloads(op_class, op.key_bytes)) {
    count_inline(provider, op_class);
    return compute();
  }
  if (provider.config(op_class).compute_on == ComputeOn::kWorkers &&
      provider.get_runtime() != nullptr && provider.workers != nullptr) {
    op.work = std::forward<Compute>(compute);
    const int done = complete_through_device(op.offload, submit_to_workers, &op);
    op.work = nullptr;
    return done == 1 ? op.work_result : 0;
  }
  // Computed while the request is in flight: the device's latency, and the poller's wake-up,
  // overlap the computing instead of following it.
  int result = 0;
  auto compute_result = [&] { result = compute(); };
  op.offload.while_in_flight = [](void* raw) { (*static_cast<decltype(compute_result)*>(raw))(); };
  op.offload.while_in_flight_arg = &compute_result;
  const int done = complete_through_device(op.offload, submit_completion, &op);
  op.offload.while_in_flight = nullptr;
  return done == 1 ? result : 0;
}

// --- RSA on a cryptodev driver ---

// The context's RSA padding mode, as the default provider holds it (0 when it says none).
int pad_mode(const OpCtx& op) {
  int mode = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &mode), OSSL_PARAM_END};
  const int id = op.algorithm == kRsaCipher ? OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS
                                            : OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS;
  return inner_function<int (*)(void*, OSSL_PARAM*)>(op, id)(op.inner, params) == 1 ? mode : 0;
}

// The signature context's hash name; empty when none is set.
std::string signature_md(const OpCtx& op) {
  char name[64] = {};
  OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, name, sizeof name),
                         OSSL_PARAM_END};
  const auto get = inner_function<OSSL_FUNC_signature_get_ctx_params_fn*>(
      op, OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS);
  return get(op.inner, params) == 1 ? std::string(name) : std::string();
}

// Whether the driver computes this operation: a key on it, PKCS#1 v1.5 padding, and above the
// class's threshold (below it libcrypto computes at once, as everywhere).
bool for_driver(const OpCtx& op) {
  if (op.driver.key == nullptr || !op.provider->offloads(op.op(), op.key_bytes)) return false;
  if (pad_mode(op) != RSA_PKCS1_PADDING) return false;
#ifdef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
  if (op.algorithm == kRsaCipher) {  // a driver fails bad padding: only where libcrypto would too
    unsigned int implicit = 0;
    OSSL_PARAM params[] = {OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, &implicit),
                           OSSL_PARAM_END};
    const auto get = inner_function<OSSL_FUNC_asym_cipher_get_ctx_params_fn*>(
        op, OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS);
    if (get(op.inner, params) == 1 && implicit != 0) return false;
  }
#endif
  return true;
}

SubmitResult submit_to_driver([[maybe_unused]] Runtime& runtime, [[maybe_unused]] void* raw) {
#ifdef PN_PROVIDER_WITH_CRYPTODEV
  OpCtx& op = *static_cast<OpCtx*>(raw);
  Provider& provider = *op.provider;
  if (const auto fault = provider.injected_fault(op.op())) return *fault;
  DriverRequest& driver = op.driver;
  return counted_by_driver(
      provider, op.op(),
      provider.cryptodev->submit_rsa(
          *op.offload.device_ctx, *driver.key,
          driver.sign ? CryptoOpKind::kRsaSignPkcs1 : CryptoOpKind::kRsaDecryptPkcs1,
          driver.in.data(), static_cast<std::uint32_t>(driver.in.size()), driver.out.data(), 0));
#else
  return SubmitResult::kFailed;
#endif
}

// The driver signs or decrypts op.driver.in; the result is copied out when it fits.
int driver_computes(OpCtx& op, bool sign, unsigned char* out, size_t* out_length, size_t out_size) {
  DriverRequest& driver = op.driver;
  driver.sign = sign;
  driver.out.resize(kMaxDriverOutput);  // whatever the key's size read at init said
  if (complete_through_device(op.offload, submit_to_driver, &op) != 1) return 0;
  const auto written = static_cast<std::size_t>(op.offload.result);
  if (written > out_size || written > driver.out.size()) return 0;
  std::memcpy(out, driver.out.data(), written);
  *out_length = written;
  return 1;
}

// A signature of `digest` (by driver.md_name or the context's hash; none: `digest` is signed as
// it is, as libcrypto does).
int driver_signs(OpCtx& op, const unsigned char* digest, size_t digest_length, unsigned char* sig,
                 size_t* sig_length, size_t sig_size) {
  const std::string md = op.driver.md_name.empty() ? signature_md(op) : op.driver.md_name;
  if (md.empty()) {
    op.driver.in.assign(digest, digest + digest_length);
  } else {
    op.driver.in = digest_info(op.provider->compute, md, digest, digest_length);
    if (op.driver.in.empty()) return 0;
  }
  return driver_computes(op, true, sig, sig_length, sig_size);
}

// sign(ctx, sig, siglen, sigsize, tbs, tbslen), encrypt and decrypt have this shape; a null
// output asks for its size only and is answered at once.
template <int Id>
int op_sized_output(void* ctx, unsigned char* out, size_t* out_length, size_t out_size,
                    const unsigned char* in, size_t in_length) {
  OpCtx& op = *ctx_of(ctx);
  const auto inner =
      inner_function<int (*)(void*, unsigned char*, size_t*, size_t, const unsigned char*, size_t)>(
          op, Id);
  if (out == nullptr) return inner(op.inner, out, out_length, out_size, in, in_length);
  // Function ids repeat across operations: the algorithm tells sign from encrypt.
  const bool signs = op.algorithm == kRsaSignature && Id == OSSL_FUNC_SIGNATURE_SIGN;
  const bool decrypts = op.algorithm == kRsaCipher && Id == OSSL_FUNC_ASYM_CIPHER_DECRYPT;
  if ((signs || decrypts) && for_driver(op)) {
    if (signs) return driver_signs(op, in, in_length, out, out_length, out_size);
    // A ciphertext whose leading zero bytes were dropped is still modulus-sized to the driver.
    const std::size_t padding = in_length < op.key_bytes ? op.key_bytes - in_length : 0;
    op.driver.in.assign(padding, 0);
    op.driver.in.insert(op.driver.in.end(), in, in + in_length);
    return driver_computes(op, false, out, out_length, out_size);
  }
  return offloaded(op, [&] { return inner(op.inner, out, out_length, out_size, in, in_length); });
}

// One-shot digest_sign: on the driver, the message hashed here first.
int op_digest_sign(void* ctx, unsigned char* sig, size_t* sig_length, size_t sig_size,
                   const unsigned char* tbs, size_t tbs_length) {
  OpCtx& op = *ctx_of(ctx);
  if (sig != nullptr && op.driver.message_hash != nullptr && for_driver(op)) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_DigestUpdate(op.driver.message_hash, tbs, tbs_length) != 1 ||
        EVP_DigestFinal_ex(op.driver.message_hash, digest, &digest_length) != 1) {
      return 0;
    }
    return driver_signs(op, digest, digest_length, sig, sig_length, sig_size);
  }
  return op_sized_output<OSSL_FUNC_SIGNATURE_DIGEST_SIGN>(ctx, sig, sig_length, sig_size, tbs,
                                                          tbs_length);
}

int op_digest_sign_update(void* ctx, const unsigned char* data, size_t length) {
  OpCtx& op = *ctx_of(ctx);
  if (op.driver.message_hash != nullptr &&
      EVP_DigestUpdate(op.driver.message_hash, data, length) != 1) {
    return 0;
  }
  return inner_function<OSSL_FUNC_signature_digest_sign_update_fn*>(
      op, OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE)(op.inner, data, length);
}

int op_verify(void* ctx, const unsigned char* sig, size_t sig_length, const unsigned char* tbs,
              size_t tbs_length) {
  OpCtx& op = *ctx_of(ctx);
  const auto inner = inner_function<OSSL_FUNC_signature_verify_fn*>(op, OSSL_FUNC_SIGNATURE_VERIFY);
  return offloaded(op, [&] { return inner(op.inner, sig, sig_length, tbs, tbs_length); });
}

int op_digest_sign_final(void* ctx, unsigned char* sig, size_t* sig_length, size_t sig_size) {
  OpCtx& op = *ctx_of(ctx);
  const auto inner = inner_function<OSSL_FUNC_signature_digest_sign_final_fn*>(
      op, OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL);
  if (sig == nullptr) return inner(op.inner, sig, sig_length, sig_size);
  if (op.driver.message_hash != nullptr && for_driver(op)) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_DigestFinal_ex(op.driver.message_hash, digest, &digest_length) != 1) return 0;
    return driver_signs(op, digest, digest_length, sig, sig_length, sig_size);
  }
  return offloaded(op, [&] { return inner(op.inner, sig, sig_length, sig_size); });
}

int op_digest_verify_final(void* ctx, const unsigned char* sig, size_t sig_length) {
  OpCtx& op = *ctx_of(ctx);
  const auto inner = inner_function<OSSL_FUNC_signature_digest_verify_final_fn*>(
      op, OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL);
  return offloaded(op, [&] { return inner(op.inner, sig, sig_length); });
}

int op_digest_verify(void* ctx, const unsigned char* sig, size_t sig_length,
                     const unsigned char* tbs, size_t tbs_length) {
  OpCtx& op = *ctx_of(ctx);
  const auto inner =
      inner_function<OSSL_FUNC_signature_digest_verify_fn*>(op, OSSL_FUNC_SIGNATURE_DIGEST_VERIFY);
  return offloaded(op, [&] { return inner(op.inner, sig, sig_length, tbs, tbs_length); });
}

int op_derive(void* ctx, unsigned char* secret, size_t* secret_length, size_t out_size) {
  OpCtx& op = *ctx_of(ctx);
  const auto inner = inner_function<OSSL_FUNC_keyexch_derive_fn*>(op, OSSL_FUNC_KEYEXCH_DERIVE);
  if (secret == nullptr) return inner(op.inner, secret, secret_length, out_size);
  return offloaded(op, [&] { return inner(op.inner, secret, secret_length, out_size); });
}

#define PN_FORWARD(id, fn_type) reinterpret_cast<Function>(Forward<id, fn_type>::call)

template <Algorithm A>
Function signature_function(int id) {
  switch (id) {
    case OSSL_FUNC_SIGNATURE_NEWCTX:
      return reinterpret_cast<Function>(op_newctx<A, const char*>);
    case OSSL_FUNC_SIGNATURE_FREECTX:
      return reinterpret_cast<Function>(op_freectx<OSSL_FUNC_SIGNATURE_FREECTX>);
    case OSSL_FUNC_SIGNATURE_DUPCTX:
      return reinterpret_cast<Function>(
          op_dupctx<OSSL_FUNC_SIGNATURE_FREECTX, OSSL_FUNC_SIGNATURE_DUPCTX>);
    case OSSL_FUNC_SIGNATURE_SIGN_INIT:
      return reinterpret_cast<Function>(kInit<OSSL_FUNC_SIGNATURE_SIGN_INIT>);
    case OSSL_FUNC_SIGNATURE_VERIFY_INIT:
      return reinterpret_cast<Function>(kInit<OSSL_FUNC_SIGNATURE_VERIFY_INIT>);
    case OSSL_FUNC_SIGNATURE_VERIFY_RECOVER_INIT:
      return reinterpret_cast<Function>(kInit<OSSL_FUNC_SIGNATURE_VERIFY_RECOVER_INIT>);
    case OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT:
      return reinterpret_cast<Function>(kDigestInit<OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT>);
    case OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT:
      return reinterpret_cast<Function>(kDigestInit<OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT>);
    case OSSL_FUNC_SIGNATURE_SIGN:
      return reinterpret_cast<Function>(op_sized_output<OSSL_FUNC_SIGNATURE_SIGN>);
    case OSSL_FUNC_SIGNATURE_DIGEST_SIGN:
      return reinterpret_cast<Function>(op_digest_sign);
    case OSSL_FUNC_SIGNATURE_VERIFY:
      return reinterpret_cast<Function>(op_verify);
    case OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL:
      return reinterpret_cast<Function>(op_digest_sign_final);
    case OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL:
      return reinterpret_cast<Function>(op_digest_verify_final);
    case OSSL_FUNC_SIGNATURE_DIGEST_VERIFY:
      return reinterpret_cast<Function>(op_digest_verify);
    case OSSL_FUNC_SIGNATURE_VERIFY_RECOVER:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_VERIFY_RECOVER, OSSL_FUNC_signature_verify_recover_fn);
    case OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE:
      return reinterpret_cast<Function>(op_digest_sign_update);
    case OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE,
                        OSSL_FUNC_signature_digest_verify_update_fn);
    case OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, OSSL_FUNC_signature_get_ctx_params_fn);
    case OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, OSSL_FUNC_signature_set_ctx_params_fn);
    case OSSL_FUNC_SIGNATURE_GET_CTX_MD_PARAMS:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_GET_CTX_MD_PARAMS,
                        OSSL_FUNC_signature_get_ctx_md_params_fn);
    case OSSL_FUNC_SIGNATURE_SET_CTX_MD_PARAMS:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_SET_CTX_MD_PARAMS,
                        OSSL_FUNC_signature_set_ctx_md_params_fn);
    case OSSL_FUNC_SIGNATURE_GETTABLE_CTX_MD_PARAMS:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_MD_PARAMS,
                        OSSL_FUNC_signature_gettable_ctx_md_params_fn);
    case OSSL_FUNC_SIGNATURE_SETTABLE_CTX_MD_PARAMS:
      return PN_FORWARD(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_MD_PARAMS,
                        OSSL_FUNC_signature_settable_ctx_md_params_fn);
    case OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS:
      return reinterpret_cast<Function>(op_param_table<A, OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS>);
    case OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS:
      return reinterpret_cast<Function>(op_param_table<A, OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS>);
    default:
      return nullptr;
  }
}

template <Algorithm A>
Function keyexch_function(int id) {
  switch (id) {
    case OSSL_FUNC_KEYEXCH_NEWCTX:
      return reinterpret_cast<Function>(op_newctx<A>);
    case OSSL_FUNC_KEYEXCH_FREECTX:
      return reinterpret_cast<Function>(op_freectx<OSSL_FUNC_KEYEXCH_FREECTX>);
    case OSSL_FUNC_KEYEXCH_DUPCTX:
      return reinterpret_cast<Function>(
          op_dupctx<OSSL_FUNC_KEYEXCH_FREECTX, OSSL_FUNC_KEYEXCH_DUPCTX>);
    case OSSL_FUNC_KEYEXCH_INIT:
      return reinterpret_cast<Function>(kInit<OSSL_FUNC_KEYEXCH_INIT>);
    case OSSL_FUNC_KEYEXCH_DERIVE:
      return reinterpret_cast<Function>(op_derive);
    case OSSL_FUNC_KEYEXCH_SET_PEER:
      return PN_FORWARD(OSSL_FUNC_KEYEXCH_SET_PEER, OSSL_FUNC_keyexch_set_peer_fn);
    case OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS:
      return PN_FORWARD(OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, OSSL_FUNC_keyexch_set_ctx_params_fn);
    case OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS:
      return PN_FORWARD(OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, OSSL_FUNC_keyexch_get_ctx_params_fn);
    case OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS:
      return reinterpret_cast<Function>(op_param_table<A, OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS>);
    case OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS:
      return reinterpret_cast<Function>(op_param_table<A, OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS>);
    default:
      return nullptr;
  }
}

template <Algorithm A>
Function cipher_function(int id) {
  switch (id) {
    case OSSL_FUNC_ASYM_CIPHER_NEWCTX:
      return reinterpret_cast<Function>(op_newctx<A>);
    case OSSL_FUNC_ASYM_CIPHER_FREECTX:
      return reinterpret_cast<Function>(op_freectx<OSSL_FUNC_ASYM_CIPHER_FREECTX>);
    case OSSL_FUNC_ASYM_CIPHER_DUPCTX:
      return reinterpret_cast<Function>(
          op_dupctx<OSSL_FUNC_ASYM_CIPHER_FREECTX, OSSL_FUNC_ASYM_CIPHER_DUPCTX>);
    case OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT:
      return reinterpret_cast<Function>(kInit<OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT>);
    case OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT:
      return reinterpret_cast<Function>(kInit<OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT>);
    case OSSL_FUNC_ASYM_CIPHER_ENCRYPT:
      return reinterpret_cast<Function>(op_sized_output<OSSL_FUNC_ASYM_CIPHER_ENCRYPT>);
    case OSSL_FUNC_ASYM_CIPHER_DECRYPT:
      return reinterpret_cast<Function>(op_sized_output<OSSL_FUNC_ASYM_CIPHER_DECRYPT>);
    case OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS:
      return PN_FORWARD(OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS,
                        OSSL_FUNC_asym_cipher_get_ctx_params_fn);
    case OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS:
      return PN_FORWARD(OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS,
                        OSSL_FUNC_asym_cipher_set_ctx_params_fn);
    case OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS:
      return reinterpret_cast<Function>(
          op_param_table<A, OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS>);
    case OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS:
      return reinterpret_cast<Function>(
          op_param_table<A, OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS>);
    default:
      return nullptr;
  }
}

#undef PN_FORWARD

template <Algorithm A>
Function wrapper_function(int id) {
  switch (kSpecs[A].operation) {
    case OSSL_OP_KEYMGMT:
      return keys_function<A>(id);
    case OSSL_OP_SIGNATURE:
      return signature_function<A>(id);
    case OSSL_OP_KEYEXCH:
      return keyexch_function<A>(id);
    default:
      return cipher_function<A>(id);
  }
}

template <std::size_t... I>
Function wrapper_for(Algorithm algorithm, int id, std::index_sequence<I...>) {
  Function found = nullptr;
  ((algorithm == I ? (found = wrapper_function<static_cast<Algorithm>(I)>(id), 0) : 0), ...);
  return found;
}

// The default provider's entry whose first name is `name`.
const OSSL_ALGORITHM* find_default(const OSSL_ALGORITHM* list, const char* name) {
  const std::size_t length = std::strlen(name);
  for (; list != nullptr && list->algorithm_names != nullptr; ++list) {
    const char* names = list->algorithm_names;
    if (std::strncmp(names, name, length) == 0 && (names[length] == ':' || names[length] == '\0'))
      return list;
  }
  return nullptr;
}

bool wrap(OSSL_PROVIDER* default_provider, Algorithm algorithm) {
  const Spec& spec = kSpecs[algorithm];
  int no_cache = 0;
  const OSSL_ALGORITHM* found = find_default(
      OSSL_PROVIDER_query_operation(default_provider, spec.operation, &no_cache), spec.name);
  if (found == nullptr) return false;
  Wrapped& wrapped = tables().algorithms[algorithm];
  wrapped.names = found->algorithm_names;
  wrapped.description =
      std::string(found->algorithm_description != nullptr ? found->algorithm_description
                                                          : spec.name) +
      ", completed through a pollnotify device";
  for (const OSSL_DISPATCH* entry = found->implementation; entry->function_id != 0; ++entry) {
    if (entry->function_id <= 0 || entry->function_id >= kMaxFunctionId) continue;
    wrapped.defaults[entry->function_id] = entry->function;
  }
  for (const OSSL_DISPATCH* entry = found->implementation; entry->function_id != 0; ++entry) {
    if (entry->function_id <= 0 || entry->function_id >= kMaxFunctionId) continue;
    const Function ours =
        wrapper_for(algorithm, entry->function_id, std::make_index_sequence<kAlgorithmCount>{});
    if (ours != nullptr) wrapped.dispatch.push_back({entry->function_id, ours});
  }
  wrapped.dispatch.push_back({0, nullptr});
  OSSL_PROVIDER_unquery_operation(default_provider, spec.operation, found);
  return true;
}

}  // namespace

bool open_asymmetric(OSSL_PROVIDER* default_provider) {
  static std::once_flag once;
  std::call_once(once, [default_provider] {
    Tables& built = tables();
    for (std::size_t i = 0; i < kAlgorithmCount; ++i) {
      if (!wrap(default_provider, static_cast<Algorithm>(i))) return;
    }
    for (std::size_t i = 0; i < kAlgorithmCount; ++i) {
      const Wrapped& wrapped = built.algorithms[i];
      const auto slot = static_cast<std::size_t>(
          std::find(std::begin(kOperations), std::end(kOperations), kSpecs[i].operation) -
          std::begin(kOperations));
      built.by_operation[slot].push_back({wrapped.names.c_str(), "provider=pollnotify",
                                          wrapped.dispatch.data(), wrapped.description.c_str()});
    }
    for (auto& list : built.by_operation) list.push_back({nullptr, nullptr, nullptr, nullptr});
    built.ok = true;
  });
  return tables().ok;
}

const OSSL_ALGORITHM* asymmetric_algorithms(int operation) {
  const auto* slot = std::find(std::begin(kOperations), std::end(kOperations), operation);
  if (slot == std::end(kOperations) || !tables().ok) return nullptr;
  return tables().by_operation[slot - std::begin(kOperations)].data();
}

}  // namespace pn::provider
