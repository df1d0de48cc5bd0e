// What pollnotify's callback path costs on top of a real driver's own polling loop, per request,
// on one thread at bursts of 32 (an external-policy poller polled by the benchmark thread, so
// no cross-core hand-off is counted, only the work):
//   BM_Uring/raw              32 NOP SQEs, io_uring_submit, io_uring_peek_batch_cqe, advance
//   BM_Uring/pollnotify       32 UringDevice::submit_nop with a completion callback each, then
//                             poll_once until the 32 callbacks ran
//   BM_Cryptodev/raw          32 SHA-256 ops on 64 B (input copied into an mbuf, as the device
//                             does), enqueue_burst, dequeue_burst until all are back
//   BM_Cryptodev/pollnotify   32 CryptodevDevice::submit_sha256, then poll_once until delivered
// The raw cryptodev loop runs on a second instance of the driver (crypto_aesni_mb_raw).
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>

#include "bench_util.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/wait_ctx.hpp"

#ifdef PN_BENCH_WITH_URING
#include <liburing.h>

#include "pollnotify/uring_device.hpp"
#endif
#ifdef PN_BENCH_WITH_CRYPTODEV
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_mbuf.h>

#include "pollnotify/cryptodev_device.hpp"
#endif

namespace {

constexpr int kBurst = 32;

// Completion callbacks count into this (the benchmark thread runs them: external policy).
int count_completion(void* arg, const PN_COMPLETION*) {
  ++*static_cast<int*>(arg);
  return 1;
}

pn::PollerOptions external() {
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kExternal;
  return options;
}

// Polls until `done` reaches `target`.
void poll_until(pn::Poller& poller, const int& done, int target) {
  while (done < target) (void)poller.poll_once();
}

#ifdef PN_BENCH_WITH_URING

void BM_Uring_raw(benchmark::State& state) {
  io_uring ring{};
  if (io_uring_queue_init(64, &ring, 0) != 0) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) io_uring_prep_nop(io_uring_get_sqe(&ring));
    io_uring_submit(&ring);
    int seen = 0;
    io_uring_cqe* cqes[kBurst];
    while (seen < kBurst) {
      const unsigned got = io_uring_peek_batch_cqe(&ring, cqes, kBurst);
      io_uring_cq_advance(&ring, got);
      seen += static_cast<int>(got);
    }
  }
  io_uring_queue_exit(&ring);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}

void BM_Uring_pollnotify(benchmark::State& state) {
  if (!pn::UringDevice::unavailable_reason().empty()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  pn::Poller poller(external());
  pn::UringOptions options;
  options.entries = 64;
  options.max_in_flight = 64;
  pn::UringDevice device(poller, options);
  int done = 0;
  std::array<pn::WaitCtxPtr, kBurst> contexts;
  for (auto& ctx : contexts) {
    ctx = pn::WaitCtx::make();
    ctx->set_completion_callback(count_completion, &done);
  }
  for (auto _ : state) {
    done = 0;
    for (auto& ctx : contexts) (void)device.submit_nop(*ctx, 0);
    poll_until(poller, done, kBurst);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}

BENCHMARK(BM_Uring_raw)->Name("BM_Uring/raw");
BENCHMARK(BM_Uring_pollnotify)->Name("BM_Uring/pollnotify");

#endif

#ifdef PN_BENCH_WITH_CRYPTODEV

constexpr std::uint32_t kCryptoBytes = 64;

bool eal_ready() {
  static const bool ready = [] {
    pn::CryptodevEalOptions options;
    options.vdevs = {"crypto_aesni_mb", "crypto_aesni_mb_raw"};
    return pn::cryptodev_eal_init(options).empty();
  }();
  return ready;
}

void BM_Cryptodev_raw(benchmark::State& state) {
  if (!eal_ready()) {
    state.SkipWithError("DPDK EAL unavailable");
    return;
  }
  const int id = rte_cryptodev_get_dev_id("crypto_aesni_mb_raw");
  const auto device = static_cast<std::uint8_t>(id);
  static rte_mempool* sessions = rte_cryptodev_sym_session_pool_create(
      "pnrs", 4, rte_cryptodev_sym_get_private_session_size(device), 0, 0, 0);
  static rte_mempool* ops =
      rte_crypto_op_pool_create("pnro", RTE_CRYPTO_OP_TYPE_SYMMETRIC, 128, 0, 64, 0);
  static rte_mempool* mbufs = rte_pktmbuf_pool_create("pnrm", 128, 0, 0, 2048, 0);
  static void* session = [&]() -> void* {
    rte_cryptodev_config config{};
    config.nb_queue_pairs = 1;
    rte_cryptodev_qp_conf qp{};
    qp.nb_descriptors = 128;
    qp.mp_session = sessions;
    if (rte_cryptodev_configure(device, &config) != 0 ||
        rte_cryptodev_queue_pair_setup(device, 0, &qp, 0) != 0 || rte_cryptodev_start(device) != 0)
      return nullptr;
    rte_crypto_sym_xform xform{};
    xform.type = RTE_CRYPTO_SYM_XFORM_AUTH;
    xform.auth.op = RTE_CRYPTO_AUTH_OP_GENERATE;
    xform.auth.algo = RTE_CRYPTO_AUTH_SHA256;
    xform.auth.digest_length = 32;
    return rte_cryptodev_sym_session_create(device, &xform, sessions);
  }();
  if (id < 0 || session == nullptr || ops == nullptr || mbufs == nullptr) {
    state.SkipWithError("cannot set up crypto_aesni_mb_raw");
    return;
  }
  const std::array<std::uint8_t, kCryptoBytes> input{};
  std::array<std::uint8_t, 32> digest{};
  std::array<rte_crypto_op*, kBurst> burst{};
  constexpr std::size_t kDigestOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
  for (auto _ : state) {
    for (rte_crypto_op*& op : burst) {
      op = rte_crypto_op_alloc(ops, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
      rte_mbuf* m = rte_pktmbuf_alloc(mbufs);
      std::memcpy(rte_pktmbuf_append(m, kCryptoBytes), input.data(), kCryptoBytes);
      op->sym->m_src = m;
      op->sym->auth.data.length = kCryptoBytes;
      op->sym->auth.digest.data = rte_crypto_op_ctod_offset(op, std::uint8_t*, kDigestOffset);
      op->sym->auth.digest.phys_addr = rte_crypto_op_ctophys_offset(op, kDigestOffset);
      rte_crypto_op_attach_sym_session(op, session);
    }
    (void)rte_cryptodev_enqueue_burst(device, 0, burst.data(), kBurst);
    int back = 0;
    while (back < kBurst) {
      rte_crypto_op* done[kBurst];
      const std::uint16_t got = rte_cryptodev_dequeue_burst(device, 0, done, kBurst);
      for (std::uint16_t i = 0; i < got; ++i) {  // the result goes back, as the device does
        std::memcpy(digest.data(), rte_crypto_op_ctod_offset(done[i], std::uint8_t*, kDigestOffset),
                    32);
        rte_pktmbuf_free(done[i]->sym->m_src);
        rte_crypto_op_free(done[i]);
      }
      back += got;
    }
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}

void BM_Cryptodev_pollnotify(benchmark::State& state) {
  if (!eal_ready()) {
    state.SkipWithError("DPDK EAL unavailable");
    return;
  }
  pn::Poller poller(external());
  pn::CryptodevOptions options;
  options.max_in_flight = 64;
  pn::CryptodevDevice device(poller, options);
  int done = 0;
  std::array<pn::WaitCtxPtr, kBurst> contexts;
  for (auto& ctx : contexts) {
    ctx = pn::WaitCtx::make();
    ctx->set_completion_callback(count_completion, &done);
  }
  const std::array<std::uint8_t, kCryptoBytes> input{};
  std::array<std::array<std::uint8_t, 32>, kBurst> digests{};
  for (auto _ : state) {
    done = 0;
    for (int i = 0; i < kBurst; ++i) {
      (void)device.submit_sha256(*contexts[static_cast<std::size_t>(i)], input.data(), kCryptoBytes,
                                 digests[static_cast<std::size_t>(i)].data(), 0);
    }
    poll_until(poller, done, kBurst);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}

BENCHMARK(BM_Cryptodev_raw)->Name("BM_Cryptodev/raw");
BENCHMARK(BM_Cryptodev_pollnotify)->Name("BM_Cryptodev/pollnotify");

#endif

}  // namespace

int main(int argc, char** argv) { return pn::bench::run_benchmarks(argc, argv, 0); }
