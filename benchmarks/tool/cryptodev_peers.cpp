#include "cryptodev_peers.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "device_spec.hpp"
#include "floor.hpp"
#include "measure_window.hpp"
#include "pollnotify/clock.hpp"

#ifdef PN_BENCH_WITH_CRYPTODEV
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <map>

#include "pollnotify/cryptodev_device.hpp"
#endif

namespace pn::bench {

#ifdef PN_BENCH_WITH_CRYPTODEV

namespace {

std::string peer_of(const std::string& vdev) { return vdev + "_peer"; }

constexpr std::size_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
constexpr std::size_t kDigestOffset = kIvOffset + 16;
constexpr std::uint16_t kPrivate = 16 + 32 + 16;
constexpr unsigned kPeerOps = 512;  // ops (and 64 KiB mbufs) outstanding at most

// Mempool names are short (RTE_MEMPOOL_NAMESIZE). The peer instance, configured once per process:
// one queue pair, pools, a session per op.
struct Peer {
  std::uint8_t device = 0;
  rte_mempool* ops = nullptr;
  rte_mempool* mbufs = nullptr;
  void* sha256 = nullptr;
  void* aes_gcm = nullptr;
};

std::runtime_error dpdk_error(const std::string& step) {
  return std::runtime_error("cryptodev peer: " + step + ": " + rte_strerror(rte_errno));
}

Peer& peer_for(const std::string& vdev) {
  static std::map<std::string, Peer> peers;
  const auto found = peers.find(vdev);
  if (found != peers.end()) return found->second;
  const int id = rte_cryptodev_get_dev_id(peer_of(vdev).c_str());
  if (id < 0) throw std::runtime_error("cryptodev peer: no device " + peer_of(vdev));
  Peer peer;
  peer.device = static_cast<std::uint8_t>(id);
  rte_mempool* sessions = rte_cryptodev_sym_session_pool_create(
      ("pnps" + std::to_string(peers.size())).c_str(), 8,
      rte_cryptodev_sym_get_private_session_size(peer.device), 0, 0, 0);
  rte_cryptodev_config config{};
  config.nb_queue_pairs = 1;
  rte_cryptodev_qp_conf qp{};
  qp.nb_descriptors = kPeerOps;
  qp.mp_session = sessions;
  if (sessions == nullptr || rte_cryptodev_configure(peer.device, &config) != 0 ||
      rte_cryptodev_queue_pair_setup(peer.device, 0, &qp, 0) != 0 ||
      rte_cryptodev_start(peer.device) != 0) {
    throw dpdk_error("set-up of " + peer_of(vdev));
  }
  peer.ops = rte_crypto_op_pool_create(("pnpo" + std::to_string(peers.size())).c_str(),
                                       RTE_CRYPTO_OP_TYPE_SYMMETRIC, kPeerOps, 0, kPrivate, 0);
  peer.mbufs = rte_pktmbuf_pool_create(("pnpm" + std::to_string(peers.size())).c_str(), kPeerOps, 0,
                                       0, UINT16_MAX, 0);
  if (peer.ops == nullptr || peer.mbufs == nullptr) throw dpdk_error("pools");
  rte_crypto_sym_xform sha{};
  sha.type = RTE_CRYPTO_SYM_XFORM_AUTH;
  sha.auth.op = RTE_CRYPTO_AUTH_OP_GENERATE;
  sha.auth.algo = RTE_CRYPTO_AUTH_SHA256;
  sha.auth.digest_length = 32;
  peer.sha256 = rte_cryptodev_sym_session_create(peer.device, &sha, sessions);
  static std::uint8_t key[16] = {7};
  rte_crypto_sym_xform gcm{};
  gcm.type = RTE_CRYPTO_SYM_XFORM_AEAD;
  gcm.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
  gcm.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
  gcm.aead.key.data = key;
  gcm.aead.key.length = 16;
  gcm.aead.iv.offset = kIvOffset;
  gcm.aead.iv.length = 12;
  gcm.aead.digest_length = 16;
  peer.aes_gcm = rte_cryptodev_sym_session_create(peer.device, &gcm, sessions);
  return peers.emplace(vdev, peer).first->second;
}

// An op of the spec's kind on `size` bytes from `data`, its mbuf filled as pollnotify's device
// fills its own (a copy in; the same work).
rte_crypto_op* make_op(const Peer& peer, const DeviceSpec& spec, const std::uint8_t* data) {
  rte_crypto_op* op = rte_crypto_op_alloc(peer.ops, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
  rte_mbuf* m = op != nullptr ? rte_pktmbuf_alloc(peer.mbufs) : nullptr;
  if (m == nullptr) {
    if (op != nullptr) rte_crypto_op_free(op);
    return nullptr;
  }
  m->data_off = 0;
  if (spec.size != 0) std::memcpy(rte_pktmbuf_mtod(m, std::uint8_t*), data, spec.size);
  m->data_len = static_cast<std::uint16_t>(spec.size);
  m->pkt_len = spec.size;
  rte_crypto_sym_op& sym = *op->sym;
  sym.m_src = m;
  std::uint8_t* digest = rte_crypto_op_ctod_offset(op, std::uint8_t*, kDigestOffset);
  if (spec.aes_gcm) {
    sym.aead.data.length = spec.size;
    sym.aead.digest.data = digest;
    sym.aead.digest.phys_addr = rte_crypto_op_ctophys_offset(op, kDigestOffset);
    rte_crypto_op_attach_sym_session(op, peer.aes_gcm);
  } else {
    sym.auth.data.length = spec.size;
    sym.auth.digest.data = digest;
    sym.auth.digest.phys_addr = rte_crypto_op_ctophys_offset(op, kDigestOffset);
    rte_crypto_op_attach_sym_session(op, peer.sha256);
  }
  return op;
}

}  // namespace

std::string init_cryptodev_eal(const std::vector<std::string>& device_specs) {
  CryptodevEalOptions options;
  options.args = {"--no-huge", "--no-pci", "--no-shconf", "-m", "512", "--log-level=error"};
  options.vdevs.clear();
  for (const std::string& text : device_specs) {
    DeviceSpec spec;
    if (parse_device_spec(text, spec) || spec.kind != DeviceSpec::Kind::kCryptodev) continue;
    if (std::find(options.vdevs.begin(), options.vdevs.end(), spec.vdev) != options.vdevs.end())
      continue;
    options.vdevs.push_back(spec.vdev);
    options.vdevs.push_back(peer_of(spec.vdev));
  }
  if (options.vdevs.empty()) return "";
  return cryptodev_eal_init(options);
}

RunResult run_native_cryptodev(const WorkloadOptions& options, const std::atomic<bool>& stop) {
  DeviceSpec spec;
  if (const auto error = parse_device_spec(options.device, spec)) throw std::runtime_error(*error);
  pin_this_thread_checked(options.app_cpu);
  CheapClock::calibrate();
  const double ns_per_tick = CheapClock::ns_per_tick();
  const Peer& peer = peer_for(spec.vdev);
  std::vector<std::uint8_t> data(spec.size, 0x5a);
  RunResult result;
  result.mechanism = Mechanism::kCryptodevPoll;
  result.device = options.device;
  result.rate = options.rate;
  result.jobs = options.jobs;
  MeasureWindow window(options, result, stop);
  const bool open_loop = options.rate > 0;
  const double interval_ticks = open_loop ? 1e9 / options.rate / ns_per_tick : 0;
  double next_send = static_cast<double>(CheapClock::ticks());
  std::vector<std::uint64_t> start_ticks(options.jobs);
  std::size_t outstanding = 0;
  std::vector<rte_crypto_op*> burst;
  while (!window.stopping() || outstanding != 0) {
    const bool stopping = window.update();
    const bool recording = window.recording();
    // Send: up to `jobs` outstanding; in open loop only what the schedule has made due.
    burst.clear();
    const std::size_t most = std::min<std::size_t>(options.jobs, kPeerOps - 32);
    while (!stopping && outstanding + burst.size() < most && burst.size() < 32) {
      std::uint64_t start = CheapClock::ticks();
      if (open_loop) {
        if (next_send > static_cast<double>(start)) break;
        start = static_cast<std::uint64_t>(next_send);
        next_send += interval_ticks;
      }
      rte_crypto_op* op = make_op(peer, spec, data.data());
      if (op == nullptr) break;
      std::memcpy(rte_crypto_op_ctod_offset(op, std::uint64_t*, kDigestOffset + 32), &start,
                  sizeof start);
      burst.push_back(op);
    }
    if (!burst.empty()) {
      const std::uint16_t sent = rte_cryptodev_enqueue_burst(
          peer.device, 0, burst.data(), static_cast<std::uint16_t>(burst.size()));
      for (std::size_t i = sent; i < burst.size(); ++i) {  // refused: dropped, not counted
        rte_pktmbuf_free(burst[i]->sym->m_src);
        rte_crypto_op_free(burst[i]);
      }
      outstanding += sent;
      result.submitted += sent;
    }
    rte_crypto_op* done[32];
    const std::uint16_t count = rte_cryptodev_dequeue_burst(peer.device, 0, done, 32);
    const std::uint64_t now_ticks = CheapClock::ticks();
    for (std::uint16_t i = 0; i < count; ++i) {
      std::uint64_t sent_at = 0;
      std::memcpy(&sent_at, rte_crypto_op_ctod_offset(done[i], std::uint64_t*, kDigestOffset + 32),
                  sizeof sent_at);
      if (done[i]->status != RTE_CRYPTO_OP_STATUS_SUCCESS) ++result.errors;
      ++result.notified;
      if (recording) {
        result.resume_ns.record(
            now_ticks > sent_at
                ? static_cast<std::uint64_t>(static_cast<double>(now_ticks - sent_at) * ns_per_tick)
                : 0);
        ++result.completions;
      }
      rte_pktmbuf_free(done[i]->sym->m_src);
      rte_crypto_op_free(done[i]);
    }
    outstanding -= count;
  }
  window.finish();
  result.lost = result.submitted - result.notified;
  return result;
}

#else

std::string init_cryptodev_eal(const std::vector<std::string>&) { return ""; }

RunResult run_native_cryptodev(const WorkloadOptions&, const std::atomic<bool>&) {
  throw std::runtime_error("this pollnotify-bench was built without libdpdk");
}

#endif

}  // namespace pn::bench
