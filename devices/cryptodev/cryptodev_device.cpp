#include "pollnotify/cryptodev_device.hpp"

#include <rte_crypto.h>
#include <rte_crypto_asym.h>
#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PN_LSAN_AVAILABLE 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PN_LSAN_AVAILABLE 1
#endif
#ifdef PN_LSAN_AVAILABLE
#include <sanitizer/lsan_interface.h>
#endif

#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/device_counters.hpp"
#include "pollnotify/internal/submission_channels.hpp"
#include "pollnotify/mpsc_queue.hpp"

namespace pn {

// --- EAL, once per process ---

namespace {

std::mutex& eal_mutex() {
  static auto* mutex = new std::mutex;  // never destroyed: used until exit
  return *mutex;
}

// The CPUs this process may use, as DPDK's --lcores wants them: "0@(0-1,3)".
std::string main_lcore_on_every_allowed_cpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::string cpus;
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &allowed)) continue;
      cpus += (cpus.empty() ? "" : ",") + std::to_string(cpu);
    }
  }
  return "0@(" + (cpus.empty() ? std::string("0") : cpus) + ")";
}

}  // namespace

std::string cryptodev_eal_init(const CryptodevEalOptions& options) {
  static bool tried = false;
  static std::string outcome;
  std::lock_guard lock(eal_mutex());
  if (tried) return outcome;
  tried = true;
  std::vector<std::string> args{"pollnotify"};
  args.insert(args.end(), options.args.begin(), options.args.end());
  const bool has_lcores = std::any_of(args.begin(), args.end(), [](const std::string& arg) {
    return arg.rfind("--lcores", 0) == 0 || arg == "-l" || arg == "-c";
  });
  if (!has_lcores) args.push_back("--lcores=" + main_lcore_on_every_allowed_cpu());
  for (const std::string& vdev : options.vdevs) {
    args.push_back("--vdev");
    args.push_back(vdev);
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    if (rte_errno == EALREADY) return outcome;  // the application's EAL: attach to it
    outcome = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
  }
  return outcome;
}

// --- the device ---

namespace {

constexpr std::size_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
// The op's private area: IV, then the tag or digest, then the AAD, then the request's slot.
constexpr std::size_t kTagOffset = kIvOffset + 16;
constexpr std::size_t kAadOffset = kTagOffset + CryptodevDevice::kDigestLength;
constexpr std::size_t kSlotOffset = kAadOffset + CryptodevDevice::kMaxAad;
constexpr std::uint16_t kPrivateSize =
    static_cast<std::uint16_t>(kSlotOffset + sizeof(std::uint32_t) - kIvOffset);
// An RSA op's private area: the input, then the output (modulus-sized each), then the slot.
constexpr std::size_t kRsaInOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_asym_op);
constexpr std::size_t kRsaOutOffset = kRsaInOffset + CryptodevDevice::kMaxRsaBytes;
constexpr std::size_t kRsaSlotOffset = kRsaOutOffset + CryptodevDevice::kMaxRsaBytes;
constexpr std::uint16_t kRsaPrivateSize =
    static_cast<std::uint16_t>(kRsaSlotOffset + sizeof(std::uint32_t) - kRsaInOffset);
constexpr std::uint16_t kSegmentRoom = UINT16_MAX;  // an mbuf's largest buffer
constexpr unsigned kBurst = 32;
constexpr unsigned kMaxInFlight = 4096;
constexpr std::uint64_t kParkBoundNs = Poller::kShortestParkNs;

std::string dpdk_error(const std::string& step) {
  return "CryptodevDevice: " + step + " failed: " + rte_strerror(rte_errno);
}

// A cryptodev configured by the first device on it: its queue pairs and session pool.
struct Configured {
  unsigned queue_pairs = 0;
  std::vector<bool> taken;
  rte_mempool* sessions = nullptr;
};

std::map<std::uint8_t, Configured>& configured_devices() {
  static auto* devices = new std::map<std::uint8_t, Configured>;  // used until exit
  return *devices;
}

// Devices whose teardown left requests to their driver: their memory stays for the life of the
// process (the driver may still use it), listed here so that it stays reachable. Guarded by
// eal_mutex().
std::vector<void*>& left_to_drivers() {
  static auto* devices = new std::vector<void*>;  // used until exit
  return *devices;
}

std::atomic<unsigned> pool_names{0};  // unique mempool names (relaxed: a counter)
std::atomic<std::uint64_t> requests_left_to_drivers{0};  // by teardowns that hit their deadline

// An op pool for one thread at a time (the poller; teardown after it stopped): a single-producer,
// single-consumer ring, so getting and putting an op makes no locked instruction.
// rte_crypto_op_pool_create has no flags argument; this builds the same layout.
rte_mempool* single_thread_op_pool(const std::string& name, unsigned count,
                                   std::uint16_t private_size, int socket) {
  const unsigned element = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op) + private_size;
  const auto init_op = [](rte_mempool* pool, void*, void* object, unsigned) {
    std::memset(object, 0, pool->elt_size);
    auto* op = static_cast<rte_crypto_op*>(object);
    __rte_crypto_op_reset(op, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
    op->phys_addr = rte_mem_virt2iova(object);
    op->mempool = pool;
  };
  rte_mempool* pool = rte_mempool_create(
      name.c_str(), count, element, 0, sizeof(rte_crypto_op_pool_private), nullptr, nullptr,
      init_op, nullptr, socket, RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
  if (pool == nullptr) return nullptr;
  auto* description = static_cast<rte_crypto_op_pool_private*>(rte_mempool_get_priv(pool));
  description->type = RTE_CRYPTO_OP_TYPE_SYMMETRIC;  // what rte_crypto_op_alloc checks
  description->priv_size = private_size;
  return pool;
}

std::string unique_name(const char* prefix) {
  return std::string(prefix) + std::to_string(pool_names.fetch_add(1, std::memory_order_relaxed));
}

// Configures and starts `device` with `queue_pairs` on its first use; takes `queue_pair`.
rte_mempool* claim_queue_pair(std::uint8_t device, const CryptodevOptions& options) {
  std::lock_guard lock(eal_mutex());
  auto& devices = configured_devices();
  auto found = devices.find(device);
  if (found == devices.end()) {
    Configured fresh;
    fresh.queue_pairs = options.queue_pairs;
    fresh.taken.assign(options.queue_pairs, false);
    const unsigned session_size = rte_cryptodev_sym_get_private_session_size(device);
    fresh.sessions = rte_cryptodev_sym_session_pool_create(
        unique_name("pn_sess").c_str(),
        static_cast<std::uint32_t>(CryptodevDevice::kMaxSessions * options.queue_pairs + 8),
        session_size, 0, 0, static_cast<int>(rte_cryptodev_socket_id(device)));
    if (fresh.sessions == nullptr) throw std::runtime_error(dpdk_error("session pool"));
    rte_cryptodev_config config{};
    config.socket_id = rte_cryptodev_socket_id(device);
    config.nb_queue_pairs = static_cast<std::uint16_t>(options.queue_pairs);
    if (rte_cryptodev_configure(device, &config) != 0) {
      throw std::runtime_error(dpdk_error("rte_cryptodev_configure"));
    }
    rte_cryptodev_qp_conf qp{};
    qp.nb_descriptors = options.descriptors;
    qp.mp_session = fresh.sessions;
    for (unsigned i = 0; i < options.queue_pairs; ++i) {
      if (rte_cryptodev_queue_pair_setup(device, static_cast<std::uint16_t>(i), &qp,
                                         config.socket_id) != 0) {
        throw std::runtime_error(dpdk_error("rte_cryptodev_queue_pair_setup"));
      }
    }
    if (rte_cryptodev_start(device) != 0)
      throw std::runtime_error(dpdk_error("rte_cryptodev_start"));
    found = devices.emplace(device, std::move(fresh)).first;
  }
  Configured& configured = found->second;
  if (options.queue_pair >= configured.queue_pairs || configured.taken[options.queue_pair]) {
    throw std::invalid_argument("CryptodevDevice: queue pair " +
                                std::to_string(options.queue_pair) + " is taken or beyond the " +
                                std::to_string(configured.queue_pairs) +
                                " the cryptodev was configured with");
  }
  configured.taken[options.queue_pair] = true;
  return configured.sessions;
}

void release_queue_pair(std::uint8_t device, unsigned queue_pair) {
  std::lock_guard lock(eal_mutex());
  configured_devices()[device].taken[queue_pair] = false;
}

bool driver_has(std::uint8_t device, rte_crypto_sym_xform_type type, int algorithm) {
  rte_cryptodev_sym_capability_idx index{};
  index.type = type;
  if (type == RTE_CRYPTO_SYM_XFORM_AEAD) {
    index.algo.aead = static_cast<rte_crypto_aead_algorithm>(algorithm);
  } else {
    index.algo.auth = static_cast<rte_crypto_auth_algorithm>(algorithm);
  }
  return rte_cryptodev_sym_capability_get(device, &index) != nullptr;
}

// RSA sign and decrypt with a private key, in the form the driver takes.
bool driver_has_rsa(std::uint8_t device, std::uint64_t feature_flags) {
  if ((feature_flags & RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO) == 0 ||
      (feature_flags &
       (RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_QT | RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_EXP)) == 0) {
    return false;
  }
  rte_cryptodev_asym_capability_idx index{};
  index.type = RTE_CRYPTO_ASYM_XFORM_RSA;
  const auto* capability = rte_cryptodev_asym_capability_get(device, &index);
  return capability != nullptr &&
         rte_cryptodev_asym_xform_capability_check_optype(capability, RTE_CRYPTO_ASYM_OP_SIGN) !=
             0 &&
         rte_cryptodev_asym_xform_capability_check_optype(capability, RTE_CRYPTO_ASYM_OP_DECRYPT) !=
             0;
}

bool is_rsa(CryptoOpKind kind) {
  return kind == CryptoOpKind::kRsaSignPkcs1 || kind == CryptoOpKind::kRsaDecryptPkcs1;
}

// The request's slot, from an op's private area (where it sits depends on the op's type).
std::uint32_t slot_of(rte_crypto_op* op) {
  std::uint32_t slot = 0;
  const std::size_t offset =
      op->type == RTE_CRYPTO_OP_TYPE_ASYMMETRIC ? kRsaSlotOffset : kSlotOffset;
  std::memcpy(&slot, rte_crypto_op_ctod_offset(op, std::uint8_t*, offset), sizeof slot);
  return slot;
}

using internal::DeviceCounters;

}  // namespace

class CryptodevDevice::Session {
 public:
  void* handle = nullptr;
  bool encrypt = true;
  std::uint32_t aad_length = 0;
};

class CryptodevDevice::RsaKey {
 public:
  void* handle = nullptr;
  std::uint32_t modulus_bytes = 0;
};

// A request as submitters queue it.
struct Request {
  WaitCtx* ctx = nullptr;
  RequestTicket ticket{};
  std::uint64_t user_data = 0;
  CryptoOpKind kind = CryptoOpKind::kSha256;
  const CryptodevDevice::Session* session = nullptr;
  const CryptodevDevice::RsaKey* rsa_key = nullptr;
  const std::uint8_t* iv = nullptr;
  const std::uint8_t* aad = nullptr;
  const std::uint8_t* in = nullptr;
  std::uint8_t* out = nullptr;
  std::uint8_t* tag = nullptr;  // the GCM tag, or the SHA-256 digest
  std::uint32_t length = 0;
  std::uint32_t channel = 0;  // the submitting thread's channel (set by admit)
};

struct CryptodevDevice::Impl final : PollSource, internal::SubmissionChannels<Request> {
  Impl(Poller& bound_poller, const CryptodevOptions& device_options, std::uint8_t device_id)
      : SubmissionChannels(&bound_poller, device_options.max_in_flight),
        options(device_options),
        poller(bound_poller),
        device(device_id),
        slots(device_options.max_in_flight),
        external(device_options.max_in_flight) {}

  ~Impl() override {
    for (Session& session : sessions) {
      if (session.handle != nullptr) rte_cryptodev_sym_session_free(device, session.handle);
    }
    for (RsaKey& key : rsa_keys) {
      if (key.handle != nullptr) rte_cryptodev_asym_session_free(device, key.handle);
    }
    if (rsa_ops != nullptr) rte_mempool_free(rsa_ops);
    if (rsa_sessions != nullptr) rte_mempool_free(rsa_sessions);
    if (op_cache != nullptr) {
      rte_mempool_cache_flush(op_cache, ops);
      rte_mempool_cache_free(op_cache);
    }
    if (mbuf_cache != nullptr) {
      rte_mempool_cache_flush(mbuf_cache, mbufs);
      rte_mempool_cache_free(mbuf_cache);
    }
    if (ops != nullptr) rte_mempool_free(ops);
    if (mbufs != nullptr) rte_mempool_free(mbufs);
  }

  // Ops and mbufs through the device's own mempool caches: the poller is not an EAL lcore, so
  // the pools' per-lcore caches would not serve it; a cache the device owns makes a get or put
  // an array access, as an lcore's is.
  rte_crypto_op* take_op() noexcept {
    void* object = nullptr;
    if (rte_mempool_generic_get(ops, &object, 1, op_cache) != 0) return nullptr;
    auto* op = static_cast<rte_crypto_op*>(object);
    __rte_crypto_op_reset(op, RTE_CRYPTO_OP_TYPE_SYMMETRIC);  // what rte_crypto_op_alloc does
    return op;
  }
  void put_op(rte_crypto_op* op) noexcept {
    void* object = op;
    rte_mempool_generic_put(ops, &object, 1, op_cache);
  }
  rte_mbuf* take_mbuf() noexcept {
    void* object = nullptr;
    if (rte_mempool_generic_get(mbufs, &object, 1, mbuf_cache) != 0) return nullptr;
    auto* m = static_cast<rte_mbuf*>(object);
    rte_pktmbuf_reset(m);  // what rte_pktmbuf_alloc does
    return m;
  }
  // rte_pktmbuf_free's walk, each segment back into the device's cache.
  void free_chain(rte_mbuf* m) noexcept {
    while (m != nullptr) {
      rte_mbuf* const next = m->next;
      rte_mbuf* const freed = rte_pktmbuf_prefree_seg(m);  // detaches an external buffer too
      if (freed != nullptr) {
        void* object = freed;
        rte_mempool_generic_put(freed->pool, &object, 1, mbuf_cache);
      }
      m = next;
    }
  }
  // An op and the mbufs it carries.
  void free_op(rte_crypto_op* op) noexcept {
    if (op->type == RTE_CRYPTO_OP_TYPE_ASYMMETRIC) {
      rte_crypto_op_free(op);  // RSA ops are few and slow: their pool's own ring serves
      return;
    }
    free_chain(op->sym->m_src);
    put_op(op);
  }

  // --- the poller thread: every DPDK call ---

  // An op for the request in `slot`, its input copied into mbufs; nullptr when a pool is empty.
  rte_crypto_op* build(std::uint32_t slot) noexcept {
    const Request& r = slots[slot];
    if (is_rsa(r.kind)) return build_rsa(slot);
    rte_crypto_op* op = take_op();
    if (op == nullptr) return nullptr;
    rte_mbuf* head =
        reads_in_place(r) ? attach_in_place(slot, r.out, r.length) : copy_in(r.in, r.length);
    if (head == nullptr) {
      put_op(op);
      return nullptr;
    }
    std::memcpy(rte_crypto_op_ctod_offset(op, std::uint8_t*, kSlotOffset), &slot, sizeof slot);
    rte_crypto_sym_op& sym = *op->sym;
    sym.m_src = head;
    std::uint8_t* tag = rte_crypto_op_ctod_offset(op, std::uint8_t*, kTagOffset);
    const rte_iova_t tag_iova = rte_crypto_op_ctophys_offset(op, kTagOffset);
    if (r.kind == CryptoOpKind::kSha256) {
      sym.auth.data.offset = 0;
      sym.auth.data.length = r.length;
      sym.auth.digest.data = tag;
      sym.auth.digest.phys_addr = tag_iova;
      rte_crypto_op_attach_sym_session(op, sha256_session->handle);
      return op;
    }
    std::memcpy(rte_crypto_op_ctod_offset(op, std::uint8_t*, kIvOffset), r.iv, kIvLength);
    std::uint8_t* aad = rte_crypto_op_ctod_offset(op, std::uint8_t*, kAadOffset);
    if (r.session->aad_length != 0) std::memcpy(aad, r.aad, r.session->aad_length);
    if (r.kind == CryptoOpKind::kAesGcmDecrypt) std::memcpy(tag, r.tag, kTagLength);
    sym.aead.data.offset = 0;
    sym.aead.data.length = r.length;
    sym.aead.digest.data = tag;
    sym.aead.digest.phys_addr = tag_iova;
    sym.aead.aad.data = aad;
    sym.aead.aad.phys_addr = rte_crypto_op_ctophys_offset(op, kAadOffset);
    rte_crypto_op_attach_sym_session(op, r.session->handle);
    return op;
  }

  // An RSA op: the input copied into the op (memory the driver can reach), the output written
  // there too and copied back by finish().
  rte_crypto_op* build_rsa(std::uint32_t slot) noexcept {
    const Request& r = slots[slot];
    rte_crypto_op* op = rte_crypto_op_alloc(rsa_ops, RTE_CRYPTO_OP_TYPE_ASYMMETRIC);
    if (op == nullptr) return nullptr;
    std::memcpy(rte_crypto_op_ctod_offset(op, std::uint8_t*, kRsaSlotOffset), &slot, sizeof slot);
    std::uint8_t* in = rte_crypto_op_ctod_offset(op, std::uint8_t*, kRsaInOffset);
    std::memcpy(in, r.in, r.length);
    const rte_crypto_param input{in, rte_crypto_op_ctophys_offset(op, kRsaInOffset), r.length};
    const rte_crypto_param output{rte_crypto_op_ctod_offset(op, std::uint8_t*, kRsaOutOffset),
                                  rte_crypto_op_ctophys_offset(op, kRsaOutOffset),
                                  0};  // the driver writes the length
    rte_crypto_rsa_op_param& rsa = op->asym->rsa;
    rsa.padding.type = RTE_CRYPTO_RSA_PADDING_PKCS1_5;
    if (r.kind == CryptoOpKind::kRsaSignPkcs1) {
      rsa.op_type = RTE_CRYPTO_ASYM_OP_SIGN;
      rsa.message = input;
      rsa.sign = output;
    } else {
      rsa.op_type = RTE_CRYPTO_ASYM_OP_DECRYPT;
      rsa.cipher = input;
      rsa.message = output;
    }
    rte_crypto_op_attach_asym_session(op,
                                      static_cast<rte_cryptodev_asym_session*>(r.rsa_key->handle));
    return op;
  }

  // A software driver works on the caller's buffer itself (no copy in or out) when the request
  // is in place and fits one mbuf; a hardware one needs DPDK memory it can reach by DMA.
  bool reads_in_place(const Request& r) const noexcept {
    return software_driver && r.kind != CryptoOpKind::kSha256 && r.in == r.out && r.length != 0 &&
           r.length <= kSegmentRoom;
  }

  // An mbuf whose buffer is `data` itself; freeing the mbuf leaves `data` alone.
  rte_mbuf* attach_in_place(std::uint32_t slot, std::uint8_t* data, std::uint32_t length) noexcept {
    rte_mbuf* m = take_mbuf();
    if (m == nullptr) return nullptr;
    rte_mbuf_ext_shared_info& shared = external[slot];
    shared.free_cb = [](void*, void*) {};  // the caller's buffer: nothing to free
    shared.fcb_opaque = nullptr;
    rte_mbuf_ext_refcnt_set(&shared, 1);
    // A software driver reads the virtual address; the IOVA is never used for DMA.
    rte_pktmbuf_attach_extbuf(m, data,
                              static_cast<rte_iova_t>(reinterpret_cast<std::uintptr_t>(data)),
                              static_cast<std::uint16_t>(length), &shared);
    m->data_len = static_cast<std::uint16_t>(length);
    m->pkt_len = length;
    return m;
  }

  // The data in a chain of mbufs of up to 65535 bytes each (one for all but a full 64 KiB).
  rte_mbuf* copy_in(const std::uint8_t* data, std::uint32_t length) noexcept {
    rte_mbuf* head = nullptr;
    rte_mbuf* last = nullptr;
    std::uint32_t left = length;
    do {
      rte_mbuf* segment = take_mbuf();
      if (segment == nullptr) {
        free_chain(head);
        return nullptr;
      }
      segment->data_off = 0;  // no headroom needed: the whole buffer carries data
      const std::uint32_t take = std::min<std::uint32_t>(left, segment->buf_len);
      if (take != 0) std::memcpy(rte_pktmbuf_mtod(segment, std::uint8_t*), data, take);
      segment->data_len = static_cast<std::uint16_t>(take);
      segment->pkt_len = take;
      data += take;
      left -= take;
      if (head == nullptr) {
        head = segment;
      } else {
        last->next = segment;
        head->nb_segs = static_cast<std::uint16_t>(head->nb_segs + 1);
        head->pkt_len += take;
      }
      last = segment;
    } while (left != 0);
    return head;
  }

  // Takes queued requests into slots and ops, enqueues what the queue pair takes.
  std::size_t send() noexcept {
    // Requests a pool was too empty to build last time go first, in order.
    while (!unbuilt.empty() && backlog.size() < kBurst) {
      rte_crypto_op* op = build(unbuilt.front());
      if (op == nullptr) break;  // a pool is empty until ops come back
      unbuilt.pop_front();
      backlog.push_back(op);
    }
    // Each request is taken straight into its slot and built there.
    while (unbuilt.empty() && backlog.size() < kBurst && !free_slots.empty()) {
      const std::uint32_t slot = free_slots.back();
      if (!try_pop(slots[slot])) break;
      free_slots.pop_back();
      rte_crypto_op* op = build(slot);
      if (op == nullptr) {
        unbuilt.push_back(slot);
        break;
      }
      backlog.push_back(op);
    }
    if (backlog.empty()) return 0;
    const std::uint16_t sent = enqueue(backlog.data(), static_cast<std::uint16_t>(backlog.size()));
    if (sent == backlog.size()) {
      backlog.clear();
    } else {
      backlog.erase(backlog.begin(), backlog.begin() + sent);
    }
    in_driver += sent;
    if (sent == 0 && in_driver == 0) reject_head();
    return sent;
  }

  // The driver took nothing with its queue pair empty: it refuses the first op for good (a
  // layout it does not handle). That request completes with ERR instead of blocking the rest.
  void reject_head() noexcept {
    rte_crypto_op* op = backlog.front();
    backlog.erase(backlog.begin());
    op->status = RTE_CRYPTO_OP_STATUS_ERROR;
    refused_by_driver.fetch_add(1, std::memory_order_relaxed);  // relaxed: statistics
    undelivered.push_back(finish(op));
  }

  // The completion of a dequeued op: copies the output back, frees the op.
  Completion finish(rte_crypto_op* op) noexcept {
    const std::uint32_t slot = slot_of(op);
    const Request& r = slots[slot];
    bool ok = op->status == RTE_CRYPTO_OP_STATUS_SUCCESS;
    std::int32_t result = static_cast<std::int32_t>(r.length);
    if (ok && is_rsa(r.kind)) {
      const rte_crypto_param& output =
          r.kind == CryptoOpKind::kRsaSignPkcs1 ? op->asym->rsa.sign : op->asym->rsa.message;
      ok = output.length <= r.rsa_key->modulus_bytes;  // never past the caller's buffer
      if (ok) {
        std::memcpy(r.out, output.data, output.length);
        result = static_cast<std::int32_t>(output.length);
      } else {
        result = -EIO;
      }
    } else if (ok) {
      const std::uint8_t* tag = rte_crypto_op_ctod_offset(op, std::uint8_t*, kTagOffset);
      if (r.kind == CryptoOpKind::kSha256) {
        std::memcpy(r.tag, tag, kDigestLength);
      } else {
        if (r.length != 0) {
          // Copies into r.out when chained, else points into the mbuf.
          const void* flat = rte_pktmbuf_read(op->sym->m_src, 0, r.length, r.out);
          if (flat != r.out) std::memcpy(r.out, flat, r.length);
        }
        if (r.kind == CryptoOpKind::kAesGcmEncrypt) std::memcpy(r.tag, tag, kTagLength);
      }
    } else {
      result = op->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED ? -EBADMSG : -EIO;
    }
    const Completion completion{r.ctx, r.user_data, r.ticket,
                                ok ? PN_ASYNC_STATUS_OK : PN_ASYNC_STATUS_ERR, result};
    free_op(op);
    give_back(r.channel);  // the driver is done with it: the credit returns now
    free_slots.push_back(slot);
    return completion;
  }

  std::size_t receive() noexcept {
    // Completions the ring refused last time go first.
    std::size_t pushed_before = 0;
    if (!undelivered.empty()) {
      pushed_before = ring_out->try_push_burst(undelivered);
      left_the_device(undelivered.data(), pushed_before);
      undelivered.erase(undelivered.begin(),
                        undelivered.begin() + static_cast<long>(pushed_before));
      if (!undelivered.empty()) return pushed_before;
    }
    if (in_driver == 0) return pushed_before;
    // Dequeues until a burst is gathered or the driver has nothing more: a software driver hands
    // back a few ops per call (multi-buffer lanes), and one push and one drain per burst cost
    // less than one per call.
    rte_crypto_op* done[kBurst];
    std::uint16_t count = 0;
    while (count < kBurst && in_driver != 0) {
      const std::uint16_t got = dequeue(done + count, static_cast<std::uint16_t>(kBurst - count));
      if (got == 0) break;
      in_driver -= got;
      count = static_cast<std::uint16_t>(count + got);
    }
    if (count == 0) return 0;
    batch.clear();
    for (std::uint16_t i = 0; i < count; ++i) batch.push_back(finish(done[i]));
    const std::size_t pushed = ring_out->try_push_burst(batch);
    left_the_device(batch.data(), pushed);
    undelivered.insert(undelivered.end(), batch.begin() + static_cast<long>(pushed), batch.end());
    return pushed_before + pushed;
  }

  // `count` completions went into the ring.
  void left_the_device(const Completion* completions, std::size_t count) noexcept {
    count_completed(completions, count);
  }

  std::size_t poll() override {
    const std::size_t sent = send();
    return receive() + (sent != 0 ? 1 : 0);
  }

  std::uint64_t pending_ns() override {
    if (has_queued_after_park_barrier() || !unbuilt.empty() || !backlog.empty() ||
        !undelivered.empty()) {
      return 1;
    }
    return in_driver != 0 ? kParkBoundNs : 0;
  }

  // Teardown with the poller stopped: every request not yet delivered is delivered with ERR, once
  // the driver gave its op back. Returns how many the driver still held at the deadline.
  std::size_t drain() noexcept {
    closed.store(true, std::memory_order_relaxed);
    const auto end_with_err = [this](Completion completion) {
      completion.status = PN_ASYNC_STATUS_ERR;
      completion.result = -EIO;
      try {
        (void)completion.ctx->deliver(completion);
      } catch (...) {  // a C++ callback threw: the ticket is released; nothing else to do
      }
      left_the_device(&completion, 1);
    };
    // A request the driver never finished: its credit returns here.
    const auto deliver_err = [this, &end_with_err](const Request& r) {
      end_with_err(Completion{r.ctx, r.user_data, r.ticket, PN_ASYNC_STATUS_ERR, -EIO});
      give_back(r.channel);
    };
    for (const Completion& completion : undelivered) end_with_err(completion);
    undelivered.clear();
    for (rte_crypto_op* op : backlog) {
      unbuilt.push_back(slot_of(op));
      free_op(op);
    }
    backlog.clear();
    for (std::uint32_t slot : unbuilt) deliver_err(slots[slot]);
    unbuilt.clear();
    Request request;
    while (try_pop(request)) deliver_err(request);
    // Software drivers finish at enqueue; a hardware one may take a while: bounded by a
    // deadline, after which what the driver holds is left to it (returned: the count).
    const auto deadline = std::chrono::steady_clock::now() + faults.teardown_limit;
    while (in_driver != 0) {
      rte_crypto_op* done[kBurst];
      const std::uint16_t count = dequeue(done, kBurst);
      for (std::uint16_t i = 0; i < count; ++i) {
        deliver_err(slots[slot_of(done[i])]);
        free_op(done[i]);
      }
      in_driver -= count;
      if (count != 0) continue;
      if (std::chrono::steady_clock::now() >= deadline) return in_driver;
      std::this_thread::yield();
    }
    return 0;
  }

  // The driver's calls, through the test faults (internal::CryptodevFaults).
  std::uint16_t enqueue(rte_crypto_op** burst, std::uint16_t count) noexcept {
    if (faults.refuse_enqueues != 0) {
      --faults.refuse_enqueues;
      return 0;
    }
    const std::uint16_t sent = rte_cryptodev_enqueue_burst(
        device, static_cast<std::uint16_t>(options.queue_pair), burst, count);
    if (sent != 0 && faults.hold_completions.count() != 0) {
      held_until = std::chrono::steady_clock::now() + faults.hold_completions;
    }
    return sent;
  }
  std::uint16_t dequeue(rte_crypto_op** done, std::uint16_t room) noexcept {
    if (faults.hold_completions.count() != 0 && std::chrono::steady_clock::now() < held_until) {
      return 0;  // a slow driver: nothing finished yet
    }
    return rte_cryptodev_dequeue_burst(device, static_cast<std::uint16_t>(options.queue_pair), done,
                                       room);
  }

  internal::CryptodevFaults faults;
  std::chrono::steady_clock::time_point held_until{};

  const CryptodevOptions options;
  Poller& poller;
  const std::uint8_t device;
  std::string name;
  rte_mempool* ops = nullptr;
  rte_mempool* mbufs = nullptr;
  rte_mempool_cache* op_cache = nullptr;  // the polling thread's, as an lcore's cache
  rte_mempool_cache* mbuf_cache = nullptr;
  rte_mempool* session_pool = nullptr;
  CompletionRing* ring_out = nullptr;
  std::mutex sessions_mutex;
  std::deque<Session> sessions;             // stable addresses
  std::vector<Session*> released_sessions;  // slots of `sessions` to reuse
  std::deque<RsaKey> rsa_keys;              // stable addresses; guarded by sessions_mutex
  std::vector<RsaKey*> released_rsa_keys;   // slots of `rsa_keys` to reuse
  rte_mempool* rsa_sessions = nullptr;      // asymmetric sessions (when the driver has RSA)
  rte_mempool* rsa_ops = nullptr;           // asymmetric ops (when the driver has RSA)
  bool has_rsa = false;
  bool rsa_key_in_crt_form = false;  // else the exponent form
  const Session* sha256_session = nullptr;
  const Session* default_session = nullptr;
  std::vector<std::uint8_t> default_in, default_out, default_tag;
  std::uint8_t default_iv[kIvLength] = {};
  bool chained_sha256_ok = true;  // false for crypto_aesni_mb (see the constructor)
  bool chained_gcm_ok = true;     // false for crypto_openssl (see the constructor)
  bool has_gcm = false, has_sha256 = false;
  bool software_driver = false;  // computes on the CPU from virtual addresses (no DMA)

  std::atomic<std::uint64_t> refused_by_driver{0};

  // Poller thread only.
  alignas(internal::kFalseSharingRange) std::vector<Request> slots;
  std::vector<rte_mbuf_ext_shared_info> external;  // per slot, for attach_in_place
  std::vector<std::uint32_t> free_slots;
  std::deque<std::uint32_t> unbuilt;    // slots taken, op not yet built (a pool was empty)
  std::vector<rte_crypto_op*> backlog;  // built, not yet taken by the queue pair
  std::vector<Completion> batch, undelivered;
  std::size_t in_driver = 0;  // enqueued and not yet pushed into the ring
};

CryptodevDevice::CryptodevDevice(Poller& poller, const CryptodevOptions& options) {
  if (options.max_in_flight == 0 || options.max_in_flight > kMaxInFlight) {
    throw std::invalid_argument("CryptodevDevice: max_in_flight must be in [1, 4096]");
  }
  if (options.queue_pairs == 0 || options.queue_pair >= options.queue_pairs ||
      options.descriptors == 0) {
    throw std::invalid_argument(
        "CryptodevDevice: queue_pair must be below queue_pairs, descriptors above 0");
  }
  if (options.default_size > kMaxData) {
    throw std::invalid_argument("CryptodevDevice: default_size above kMaxData (65536)");
  }
  if (is_rsa(options.default_op)) {
    throw std::invalid_argument(
        "CryptodevDevice: default_op must be SHA-256 or AES-GCM (RSA needs "
        "a key: submit_rsa)");
  }
  if (poller.running()) {
    throw std::invalid_argument("CryptodevDevice: the poller must not have started yet");
  }
  if (rte_cryptodev_count() == 0) {
    throw std::runtime_error("CryptodevDevice: no cryptodev: call pn::cryptodev_eal_init first");
  }
  const int id = rte_cryptodev_get_dev_id(options.device.c_str());
  if (id < 0) {
    throw std::runtime_error("CryptodevDevice: no cryptodev named '" + options.device +
                             "' (a vdev must be given to cryptodev_eal_init)");
  }
  const auto device = static_cast<std::uint8_t>(id);
  rte_mempool* session_pool = claim_queue_pair(device, options);
  try {
    impl_ = std::make_unique<Impl>(poller, options, device);
  } catch (...) {
    release_queue_pair(device, options.queue_pair);
    throw;
  }
  Impl& impl = *impl_;
  impl.name = "cryptodev:" + options.device;
  impl.session_pool = session_pool;
  impl.has_gcm = driver_has(device, RTE_CRYPTO_SYM_XFORM_AEAD, RTE_CRYPTO_AEAD_AES_GCM);
  impl.has_sha256 = driver_has(device, RTE_CRYPTO_SYM_XFORM_AUTH, RTE_CRYPTO_AUTH_SHA256);
  rte_cryptodev_info info{};
  rte_cryptodev_info_get(device, &info);
  impl.software_driver = (info.feature_flags & RTE_CRYPTODEV_FF_HW_ACCELERATED) == 0;
  impl.has_rsa = driver_has_rsa(device, info.feature_flags);
  impl.rsa_key_in_crt_form = (info.feature_flags & RTE_CRYPTODEV_FF_RSA_PRIV_OP_KEY_QT) != 0;
  // Checked here (DPDK 22.11), for requests that need two mbufs (a full 64 KiB), though both
  // drivers advertise in-place SGL: crypto_aesni_mb returns a wrong SHA-256 over chained mbufs
  // with a success status, and its chained AES-GCM crashed inside the driver (SEGV in one of six
  // ASan runs); crypto_openssl never takes a chained AES-GCM op. Refused at submit on them.
  const bool aesni_mb = options.device.rfind("crypto_aesni_mb", 0) == 0;
  impl.chained_sha256_ok = !aesni_mb;
  impl.chained_gcm_ok = !aesni_mb && options.device.rfind("crypto_openssl", 0) != 0;
  const int socket = static_cast<int>(rte_cryptodev_socket_id(device));
  // Both pools are used by one thread at a time: single-producer, single-consumer rings.
  impl.ops = single_thread_op_pool(unique_name("pn_ops"), options.max_in_flight + kBurst,
                                   kPrivateSize, socket);
  impl.mbufs = rte_pktmbuf_pool_create_by_ops(unique_name("pn_mbufs").c_str(),
                                              options.max_in_flight + kBurst, 0, 0, kSegmentRoom,
                                              socket, "ring_sp_sc");
  const unsigned cache_size =
      std::min<unsigned>(RTE_MEMPOOL_CACHE_MAX_SIZE, (options.max_in_flight + kBurst) / 2);
  impl.op_cache = rte_mempool_cache_create(cache_size, socket);
  impl.mbuf_cache = rte_mempool_cache_create(cache_size, socket);
  if (impl.has_rsa) {
    // RSA requests share the slots: as many ops as slots, and a session per key.
    impl.rsa_ops =
        rte_crypto_op_pool_create(unique_name("pn_rsa_ops").c_str(), RTE_CRYPTO_OP_TYPE_ASYMMETRIC,
                                  options.max_in_flight + kBurst, 0, kRsaPrivateSize, socket);
    impl.rsa_sessions = rte_cryptodev_asym_session_pool_create(unique_name("pn_rsa_keys").c_str(),
                                                               kMaxRsaKeys, 0, 0, socket);
  }
  if (impl.ops == nullptr || impl.mbufs == nullptr || impl.op_cache == nullptr ||
      impl.mbuf_cache == nullptr ||
      (impl.has_rsa && (impl.rsa_ops == nullptr || impl.rsa_sessions == nullptr))) {
    const std::string error = dpdk_error("mempool creation (EAL memory: -m)");
    impl_.reset();
    release_queue_pair(device, options.queue_pair);
    throw std::runtime_error(error);
  }
  impl.free_slots.reserve(options.max_in_flight);
  for (std::uint32_t i = options.max_in_flight; i > 0; --i) impl.free_slots.push_back(i - 1);
  impl.batch.reserve(kBurst);
  try {
    if (impl.has_sha256) {
      rte_crypto_sym_xform xform{};
      xform.type = RTE_CRYPTO_SYM_XFORM_AUTH;
      xform.auth.op = RTE_CRYPTO_AUTH_OP_GENERATE;
      xform.auth.algo = RTE_CRYPTO_AUTH_SHA256;
      xform.auth.digest_length = kDigestLength;
      void* handle = rte_cryptodev_sym_session_create(device, &xform, session_pool);
      if (handle == nullptr) throw std::runtime_error(dpdk_error("the SHA-256 session"));
      impl.sessions.push_back(Session{handle, true, 0});
      impl.sha256_session = &impl.sessions.back();
    }
    impl.default_in.assign(options.default_size, 0x5a);
    impl.default_out.resize(options.default_size);
    impl.default_tag.resize(kDigestLength);
    if (options.default_op != CryptoOpKind::kSha256 && impl.has_gcm) {
      std::uint8_t key[16];
      std::mt19937 rng(1);
      for (std::uint8_t& byte : key) byte = static_cast<std::uint8_t>(rng());
      impl.default_session =
          &aes_gcm_session(key, options.default_op == CryptoOpKind::kAesGcmEncrypt, 0);
    }
    impl.ring_out = &poller.acquire_ring(std::max<std::size_t>(options.max_in_flight, kBurst));
    poller.add_source(impl);
  } catch (...) {
    if (impl_->ring_out != nullptr) poller.release_ring(*impl_->ring_out);
    impl_.reset();
    release_queue_pair(device, options.queue_pair);
    throw;
  }
}

CryptodevDevice::~CryptodevDevice() {
  if (impl_->poller.running()) impl_->poller.stop();
  (void)impl_->poller.remove_source(*impl_);
  const std::size_t left = impl_->drain();
  impl_->poller.release_ring(*impl_->ring_out);  // what it still holds is delivered as usual
  if (left != 0) {
    // Never a hang, never freeing what the driver holds: its ops, mbufs, sessions and queue pair
    // stay allocated for the life of the process, and their requests get no completion (the
    // driver may still write their buffers).
    requests_left_to_drivers.fetch_add(left, std::memory_order_relaxed);  // relaxed: a count
    std::fprintf(stderr,
                 "pollnotify: CryptodevDevice teardown: the driver still holds %zu request(s) "
                 "after %lld ms; left to it with the device's memory and queue pair\n",
                 left,
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            impl_->faults.teardown_limit)
                                            .count()));
    std::lock_guard lock(eal_mutex());
    left_to_drivers().push_back(impl_.release());  // kept reachable: never freed
    return;
  }
  const std::uint8_t device = impl_->device;
  const unsigned queue_pair = impl_->options.queue_pair;
  impl_.reset();
  release_queue_pair(device, queue_pair);
}

std::uint64_t CryptodevDevice::refused_by_driver() const noexcept {
  return impl_->refused_by_driver.load(std::memory_order_relaxed);  // relaxed: a statistic
}

void internal::set_cryptodev_faults(CryptodevDevice& device, const CryptodevFaults& faults) {
  device.impl_->faults = faults;  // before the poller starts: published by its start
}

std::uint64_t internal::cryptodev_requests_left_to_drivers() noexcept {
  return requests_left_to_drivers.load(std::memory_order_relaxed);
}

const CryptodevDevice::Session& CryptodevDevice::aes_gcm_session(
    std::span<const std::uint8_t, 16> key, bool encrypt, std::uint32_t aad_length) {
  if (aad_length > kMaxAad) throw std::invalid_argument("CryptodevDevice: AAD above 256 bytes");
  Impl& impl = *impl_;
  std::lock_guard lock(impl.sessions_mutex);
  if (impl.released_sessions.empty() && impl.sessions.size() >= kMaxSessions) {
    throw std::length_error("CryptodevDevice: kMaxSessions (1024) sessions are live");
  }
  rte_crypto_sym_xform xform{};
  xform.type = RTE_CRYPTO_SYM_XFORM_AEAD;
  xform.aead.op = encrypt ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
  xform.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
  xform.aead.key.data = key.data();
  xform.aead.key.length = 16;
  xform.aead.iv.offset = kIvOffset;
  xform.aead.iv.length = kIvLength;
  xform.aead.digest_length = kTagLength;
  xform.aead.aad_length = static_cast<std::uint16_t>(aad_length);
  void* handle = rte_cryptodev_sym_session_create(impl.device, &xform, impl.session_pool);
  if (handle == nullptr) throw std::runtime_error(dpdk_error("an AES-128-GCM session"));
  if (!impl.released_sessions.empty()) {
    Session* reused = impl.released_sessions.back();
    impl.released_sessions.pop_back();
    *reused = Session{handle, encrypt, aad_length};
    return *reused;
  }
  impl.sessions.push_back(Session{handle, encrypt, aad_length});
  return impl.sessions.back();
}

void CryptodevDevice::release_session(const Session& session) noexcept {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.sessions_mutex);
  auto& slot = const_cast<Session&>(session);
  // Already released, or one of the device's own: nothing to give back.
  if (slot.handle == nullptr || &slot == impl.sha256_session || &slot == impl.default_session) {
    return;
  }
  rte_cryptodev_sym_session_free(impl.device, slot.handle);
  slot.handle = nullptr;
  impl.released_sessions.push_back(&slot);
}

namespace {
rte_crypto_uint big_integer(std::span<const std::uint8_t> bytes) {
  // The driver only reads key material (the xform is copied into the session).
  return rte_crypto_uint{const_cast<std::uint8_t*>(bytes.data()), 0, bytes.size()};
}
}  // namespace

const CryptodevDevice::RsaKey& CryptodevDevice::rsa_key(const RsaPrivateKey& key) {
  Impl& impl = *impl_;
  if (!impl.has_rsa) {
    throw std::invalid_argument("CryptodevDevice: " + impl.options.device + " has no RSA");
  }
  const bool crt = impl.rsa_key_in_crt_form;
  const bool parts_given = !key.n.empty() && !key.e.empty() &&
                           (crt ? !key.p.empty() && !key.q.empty() && !key.dp.empty() &&
                                      !key.dq.empty() && !key.qinv.empty()
                                : !key.d.empty());
  if (!parts_given || key.n.size() > kMaxRsaBytes) {
    throw std::invalid_argument(std::string("CryptodevDevice: an RSA key needs n and e, ") +
                                (crt ? "p, q, dp, dq and qinv" : "d") +
                                ", and a modulus of at most 512 bytes");
  }
  std::lock_guard lock(impl.sessions_mutex);
  if (impl.released_rsa_keys.empty() && impl.rsa_keys.size() >= kMaxRsaKeys) {
    throw std::length_error("CryptodevDevice: kMaxRsaKeys (64) RSA keys are live");
  }
  rte_crypto_asym_xform xform{};
  xform.xform_type = RTE_CRYPTO_ASYM_XFORM_RSA;
  xform.rsa.n = big_integer(key.n);
  xform.rsa.e = big_integer(key.e);
  if (crt) {
    xform.rsa.key_type = RTE_RSA_KEY_TYPE_QT;
    xform.rsa.qt.p = big_integer(key.p);
    xform.rsa.qt.q = big_integer(key.q);
    xform.rsa.qt.dP = big_integer(key.dp);
    xform.rsa.qt.dQ = big_integer(key.dq);
    xform.rsa.qt.qInv = big_integer(key.qinv);
  } else {
    xform.rsa.key_type = RTE_RSA_KEY_TYPE_EXP;
    xform.rsa.d = big_integer(key.d);
  }
  void* handle = nullptr;
#ifdef PN_LSAN_AVAILABLE
  // DPDK 22.11's crypto_openssl never frees the EVP_PKEY, parameter builder and BIGNUMs it makes
  // an RSA session from (openssl_set_asym_session_parameters), whatever its caller does: ~2 KB
  // per key, the driver's own leak, kept out of LeakSanitizer's report (ours stay in it).
  __lsan_disable();
#endif
  const int error =
      rte_cryptodev_asym_session_create(impl.device, &xform, impl.rsa_sessions, &handle);
#ifdef PN_LSAN_AVAILABLE
  __lsan_enable();
#endif
  if (error != 0 || handle == nullptr) {
    throw std::runtime_error("CryptodevDevice: the driver refused an RSA key: " +
                             std::string(rte_strerror(-error)));
  }
  // Leading zero bytes do not count: the driver's output is the modulus' own size.
  std::size_t leading_zeros = 0;
  while (leading_zeros < key.n.size() && key.n[leading_zeros] == 0) ++leading_zeros;
  const RsaKey made{handle, static_cast<std::uint32_t>(key.n.size() - leading_zeros)};
  if (!impl.released_rsa_keys.empty()) {
    RsaKey* reused = impl.released_rsa_keys.back();
    impl.released_rsa_keys.pop_back();
    *reused = made;
    return *reused;
  }
  impl.rsa_keys.push_back(made);
  return impl.rsa_keys.back();
}

void CryptodevDevice::release_rsa_key(const RsaKey& key) noexcept {
  Impl& impl = *impl_;
  std::lock_guard lock(impl.sessions_mutex);
  auto& slot = const_cast<RsaKey&>(key);
  if (slot.handle == nullptr) return;  // already released
  rte_cryptodev_asym_session_free(impl.device, slot.handle);
  slot.handle = nullptr;
  impl.released_rsa_keys.push_back(&slot);
}

SubmitResult CryptodevDevice::submit_rsa(WaitCtx& ctx, const RsaKey& key, CryptoOpKind op,
                                         const std::uint8_t* in, std::uint32_t in_length,
                                         std::uint8_t* out, std::uint64_t user_data) noexcept {
  // PKCS#1 v1.5: a signature's input leaves 11 bytes of padding; a ciphertext is modulus-sized.
  const bool length_ok = op == CryptoOpKind::kRsaSignPkcs1 ? in_length + 11 <= key.modulus_bytes
                                                           : in_length == key.modulus_bytes;
  if (!impl_->has_rsa || !is_rsa(op) || key.handle == nullptr || in == nullptr || out == nullptr ||
      in_length == 0 || !length_ok) {
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, impl_->failed);
  }
  return impl_->emplace(ctx, [&](Request& request) noexcept {
    request.user_data = user_data;
    request.kind = op;
    request.rsa_key = &key;
    request.in = in;
    request.out = out;
    request.length = in_length;
  });
}

SubmitResult CryptodevDevice::submit_aes_gcm(WaitCtx& ctx, const Session& session,
                                             const std::uint8_t* iv, const std::uint8_t* aad,
                                             const std::uint8_t* in, std::uint8_t* out,
                                             std::uint32_t length, std::uint8_t* tag,
                                             std::uint64_t user_data) noexcept {
  const bool buffers_ok = iv != nullptr && tag != nullptr &&
                          (session.aad_length == 0 || aad != nullptr) &&
                          (length == 0 || (in != nullptr && out != nullptr));
  const bool chained = length > kSegmentRoom;
  if (!impl_->has_gcm || length > kMaxData || !buffers_ok || (chained && !impl_->chained_gcm_ok)) {
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, impl_->failed);
  }
  return impl_->emplace(ctx, [&](Request& request) noexcept {
    request.user_data = user_data;
    request.kind = session.encrypt ? CryptoOpKind::kAesGcmEncrypt : CryptoOpKind::kAesGcmDecrypt;
    request.session = &session;
    request.iv = iv;
    request.aad = aad;
    request.in = in;
    request.out = out;
    request.tag = tag;
    request.length = length;
  });
}

SubmitResult CryptodevDevice::submit_sha256(WaitCtx& ctx, const std::uint8_t* in,
                                            std::uint32_t length, std::uint8_t* digest,
                                            std::uint64_t user_data) noexcept {
  const bool chained = length > kSegmentRoom;
  if (!impl_->has_sha256 || length > kMaxData || digest == nullptr ||
      (length != 0 && in == nullptr) || (chained && !impl_->chained_sha256_ok)) {
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, impl_->failed);
  }
  return impl_->emplace(ctx, [&](Request& request) noexcept {
    request.user_data = user_data;
    request.kind = CryptoOpKind::kSha256;
    request.in = in;
    request.tag = digest;
    request.length = length;
  });
}

SubmitResult CryptodevDevice::submit(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  Impl& impl = *impl_;
  if (impl.options.default_op == CryptoOpKind::kSha256) {
    return submit_sha256(ctx, impl.default_in.data(), impl.options.default_size,
                         impl.default_tag.data(), user_data);
  }
  if (impl.default_session == nullptr)
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, impl.failed);
  // Decrypting with an arbitrary tag fails verification: a benchmark of the failure path too.
  return submit_aes_gcm(ctx, *impl.default_session, impl.default_iv, nullptr,
                        impl.default_in.data(), impl.default_out.data(), impl.options.default_size,
                        impl.default_tag.data(), user_data);
}

std::uint64_t CryptodevDevice::capacity() const noexcept { return impl_->options.max_in_flight; }

std::uint64_t CryptodevDevice::in_flight() const noexcept {
  return impl_->SubmissionChannels::in_flight();
}

DeviceStats CryptodevDevice::stats() const noexcept { return impl_->snapshot(); }

std::string_view CryptodevDevice::name() const noexcept { return impl_->name; }

bool CryptodevDevice::supports(CryptoOpKind op) const noexcept {
  if (is_rsa(op)) return impl_->has_rsa;
  return op == CryptoOpKind::kSha256 ? impl_->has_sha256 : impl_->has_gcm;
}

}  // namespace pn
