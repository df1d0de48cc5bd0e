// What pollnotify's callback path costs on top of a real driver's own polling loop, per request,
// at bursts of 32: on one thread (an external-policy poller polled by the benchmark thread, run
// to completion, so no cross-core hand-off is counted, only the work), and with a busy poller
// thread on CPU 1 delivering while the benchmark thread submits and waits (the *_poller_thread
// variants: one submitting thread, the hand-offs counted):
//   BM_Uring/raw              32 NOP SQEs, io_uring_submit, io_uring_peek_batch_cqe, advance
//   BM_Uring/pollnotify       32 UringDevice::submit_nop with a completion callback each, then
//                             poll_once until the 32 callbacks ran
//   BM_Cryptodev/raw          32 SHA-256 ops on 64 B (input copied into an mbuf, as the device
//                             does), enqueue_burst, dequeue_burst until all are back
//   BM_Cryptodev/pollnotify   32 CryptodevDevice::submit_sha256, then poll_once until delivered
//   BM_CryptodevGcm/...       the same two for AES-128-GCM encryption of 64 B and 16 KiB
// The raw cryptodev loop runs on a second instance of the driver (crypto_aesni_mb_raw).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/wait_ctx.hpp"

#ifdef PN_BENCH_WITH_URING
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

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

// The completion callbacks count a burst's deliveries on the delivering thread (the benchmark
// thread polling, or the poller thread) and publish once per burst: a waiting thread reading a
// count that every callback writes would pull its line away from the poller at each completion
// (the raw loops have no such line).
struct BurstCount {
  int delivered = 0;                // the delivering thread's own
  std::atomic<int> bursts_done{0};  // published once per burst
};

int count_completion(void* arg, const PN_COMPLETION*) {
  auto& count = *static_cast<BurstCount*>(arg);
  if (++count.delivered == kBurst) {
    count.delivered = 0;
    // DEVB-R1: the burst's callbacks before the count; pairs with DEVB-A1.
    count.bursts_done.store(count.bursts_done.load(std::memory_order_relaxed) + 1,
                            std::memory_order_release);
  }
  return 1;
}

// Who delivers: the benchmark thread itself, polling an external-policy poller between its
// submits (run to completion), or a busy poller thread on CPU 1 while the benchmark thread on
// CPU 0 only submits and waits (one submitting thread).
enum class Delivery { kRunToCompletion, kPollerThread };

pn::PollerOptions poller_options(Delivery delivery) {
  pn::PollerOptions options;
  if (delivery == Delivery::kRunToCompletion) {
    options.policy = pn::PollPolicy::kExternal;
  } else {
    options.policy = pn::PollPolicy::kBusy;
    options.cpu = 1;
  }
  return options;
}

// kBurst wait contexts whose completion callbacks count into `count`.
std::array<pn::WaitCtxPtr, kBurst> counted_contexts(BurstCount& count) {
  std::array<pn::WaitCtxPtr, kBurst> contexts;
  for (auto& ctx : contexts) {
    ctx = pn::WaitCtx::make();
    ctx->set_completion_callback(count_completion, &count);
  }
  return contexts;
}

// Until the burst submitted after `before` bursts is delivered: polls (run to completion) or
// spins (a poller thread delivers).
void wait_for_burst(pn::Poller& poller, const BurstCount& count, int before, Delivery delivery) {
  // DEVB-A1: pairs with DEVB-R1: the burst's callbacks have finished with their buffers.
  while (count.bursts_done.load(std::memory_order_acquire) == before) {
    if (delivery == Delivery::kRunToCompletion) {
      (void)poller.poll_once();
    } else {
      pn::internal::cpu_relax();
    }
  }
}

// The poller thread starts once its devices exist (a device binds to a poller not yet running).
void start_delivery(pn::Poller& poller, Delivery delivery) {
  if (delivery == Delivery::kPollerThread && !poller.start()) {
    throw std::runtime_error("cannot start the poller thread");
  }
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

void uring_pollnotify(benchmark::State& state, Delivery delivery) {
  if (!pn::UringDevice::unavailable_reason().empty()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  pn::Poller poller(poller_options(delivery));
  pn::UringOptions options;
  options.entries = 64;
  options.max_in_flight = 64;
  pn::UringDevice device(poller, options);
  start_delivery(poller, delivery);
  BurstCount count;
  const auto contexts = counted_contexts(count);
  for (auto _ : state) {
    const int before =
        count.bursts_done.load(std::memory_order_relaxed);  // its last writer: waited for
    for (auto& ctx : contexts) (void)device.submit_nop(*ctx, 0);
    wait_for_burst(poller, count, before, delivery);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}
void BM_Uring_pollnotify(benchmark::State& state) {
  uring_pollnotify(state, Delivery::kRunToCompletion);
}
void BM_Uring_pollnotify_poller_thread(benchmark::State& state) {
  uring_pollnotify(state, Delivery::kPollerThread);
}

// Several submitting threads and one poller thread: the two designs issue 12 names for io_uring's
// single-producer SQ, measured (docs/devices.md has the figures and the pick):
//   channels         the UringDevice: each submitter writes its own submission channel, the
//                    poller fills the SQ from them and makes one io_uring_submit per burst
//   ring_per_thread  each submitting thread owns a ring, fills its SQ and calls io_uring_submit
//                    for each request; the poller reaps every ring's CQ and delivers
// Each of state.range(0) threads keeps kBurst NOPs in flight until it has had kPerThread back.
// The submitters run on CPU 0 (the benchmark thread's, inherited), the poller on CPU 1.
constexpr int kPerThread = 20'000;

struct CountingCtx {
  pn::WaitCtxPtr ctx = pn::WaitCtx::make();
  std::atomic<int>* done = nullptr;
};

int count_atomic(void* arg, const PN_COMPLETION*) {
  // BUS-R1: the completion is counted; pairs with BUS-A1 in the submitting thread.
  static_cast<std::atomic<int>*>(arg)->fetch_add(1, std::memory_order_release);
  return 1;
}

// Runs `threads` submitters, each calling submit(thread, ctx) and waiting for its completions.
template <class Submit>
void run_submitters(int threads, Submit submit) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([t, &submit] {
      std::atomic<int> done{0};
      std::array<pn::WaitCtxPtr, kBurst> contexts;
      for (auto& ctx : contexts) {
        ctx = pn::WaitCtx::make();
        ctx->set_completion_callback(count_atomic, &done);
      }
      for (int sent = 0; sent < kPerThread; sent += kBurst) {
        for (auto& ctx : contexts) {
          while (submit(t, *ctx) != pn::SubmitResult::kAccepted) std::this_thread::yield();
        }
        // BUS-A1: pairs with BUS-R1: this burst's callbacks have run.
        while (done.load(std::memory_order_acquire) < sent + kBurst) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
}

void BM_UringSubmitters_channels(benchmark::State& state) {
  if (!pn::UringDevice::unavailable_reason().empty()) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  pn::PollerOptions poller_options;
  poller_options.policy = pn::PollPolicy::kBusy;
  poller_options.cpu = 1;
  pn::Poller poller(poller_options);
  pn::UringOptions options;
  options.max_in_flight = 256;
  pn::UringDevice device(poller, options);
  poller.start();
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    run_submitters(threads, [&](int, pn::WaitCtx& ctx) { return device.submit_nop(ctx, 0); });
  }
  poller.stop();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * threads * kPerThread);
}

// The alternative, built only here: a ring per submitting thread.
class RingPerThread {
 public:
  explicit RingPerThread(int threads) : rings_(static_cast<std::size_t>(threads)) {
    for (Ring& ring : rings_) {
      if (io_uring_queue_init(64, &ring.uring, 0) != 0) throw std::runtime_error("io_uring");
      ring.armed.resize(64);
    }
    poller_ = std::thread([this] {
      pn::bench::pin_this_thread(1);
      reap();
    });
  }
  ~RingPerThread() {
    stop_.store(true, std::memory_order_relaxed);  // relaxed: a flag the loop polls
    poller_.join();
    for (Ring& ring : rings_) io_uring_queue_exit(&ring.uring);
  }
  // Thread `t` only.
  pn::SubmitResult submit_nop(int t, pn::WaitCtx& ctx) {
    Ring& ring = rings_[static_cast<std::size_t>(t)];
    io_uring_sqe* sqe = io_uring_get_sqe(&ring.uring);
    if (sqe == nullptr) return pn::SubmitResult::kRetry;
    const std::uint32_t slot = ring.next_slot++ % 64;
    ring.armed[slot] = {&ctx, ctx.arm()};
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, slot);
    io_uring_submit(&ring.uring);
    return pn::SubmitResult::kAccepted;
  }

 private:
  struct Ring {
    io_uring uring{};
    std::vector<std::pair<pn::WaitCtx*, pn::RequestTicket>> armed;  // by slot
    std::uint32_t next_slot = 0;
  };
  void reap() {
    while (!stop_.load(std::memory_order_relaxed)) {
      for (Ring& ring : rings_) {
        io_uring_cqe* cqes[kBurst];
        const unsigned got = io_uring_peek_batch_cqe(&ring.uring, cqes, kBurst);
        for (unsigned i = 0; i < got; ++i) {
          // The CQE's arrival orders the submitter's slot write before this read (the kernel
          // took the SQE after it).
          const auto [ctx, ticket] = ring.armed[io_uring_cqe_get_data64(cqes[i])];
          (void)ctx->deliver(ticket, pn::AsyncStatus::kOk);
        }
        io_uring_cq_advance(&ring.uring, got);
      }
    }
  }
  std::vector<Ring> rings_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

void BM_UringSubmitters_ring_per_thread(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  std::optional<RingPerThread> rings;
  try {
    rings.emplace(threads);
  } catch (const std::exception&) {
    state.SkipWithError("io_uring unavailable");
    return;
  }
  for (auto _ : state) {
    run_submitters(threads, [&](int t, pn::WaitCtx& ctx) { return rings->submit_nop(t, ctx); });
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * threads * kPerThread);
}

// Real I/O at queue depth 32, loaded throughput (docs/devices.md, "io_uring on real I/O"):
//   read: 4 KiB reads of a 16 MiB file in the page cache, at rotating offsets
//   echo: 32 loopback TCP connections, each round trip 64 B client -> server -> client (send,
//         recv, send, recv: four operations, each started when the one before completed)
// Four styles, each keeping 32 lanes busy, one operation in flight per lane:
//   wait_cqe        the application thread: io_uring_submit_and_wait, reap, start the next ones
//   eventfd_epoll   the application thread: a registered eventfd in epoll_wait, then reap
//   pollnotify      a UringDevice on a busy poller thread (CPU 1); each completion callback
//                   starts its lane's next operation; the benchmark thread (CPU 0) waits
//   pollnotify_rtc  run to completion: the benchmark thread polls an external-policy poller of a
//                   single-issuer UringDevice itself; callbacks chain as above
// An iteration is 32 completed reads or 32 completed round trips.
constexpr unsigned kLanes = 32;
constexpr unsigned kReadSize = 4096;
constexpr std::size_t kReadFileSize = 16U << 20;
constexpr unsigned kEchoSize = 64;

enum class Io : std::uint8_t { kRead, kEcho };

// The file and sockets both styles work on.
struct IoFixture {
  explicit IoFixture(Io kind) : io(kind), buffers(kLanes * kReadSize) {
    clients.fill(-1);
    servers.fill(-1);
    if (io == Io::kRead) {
      char name[] = "/tmp/pn-bench-read-XXXXXX";
      file = ::mkstemp(name);
      if (file < 0) return;
      ::unlink(name);
      const std::vector<char> block(1U << 20, 'r');
      for (std::size_t written = 0; written < kReadFileSize; written += block.size()) {
        if (::write(file, block.data(), block.size()) != static_cast<ssize_t>(block.size())) return;
      }
      ready = true;  // written just now: in the page cache
      return;
    }
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener, kLanes) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      if (listener >= 0) ::close(listener);
      return;
    }
    for (unsigned lane = 0; lane < kLanes; ++lane) {
      clients[lane] = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(clients[lane], reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(listener);
        return;
      }
      servers[lane] = ::accept(listener, nullptr, nullptr);
      const int one = 1;
      ::setsockopt(clients[lane], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(servers[lane], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ::close(listener);
    ready = true;
  }
  ~IoFixture() {
    if (file >= 0) ::close(file);
    for (int fd : clients) {
      if (fd >= 0) ::close(fd);
    }
    for (int fd : servers) {
      if (fd >= 0) ::close(fd);
    }
  }
  IoFixture(const IoFixture&) = delete;
  IoFixture& operator=(const IoFixture&) = delete;

  // The lane's next operation: what it is and on which descriptor.
  struct Op {
    bool is_read = false;
    bool is_send = false;  // echo: send, else recv
    int fd = -1;
    void* buffer = nullptr;
    unsigned length = 0;
    std::uint64_t offset = 0;
  };
  Op next(unsigned lane) {
    Op op;
    op.buffer = buffers.data() + static_cast<std::size_t>(lane) * kReadSize;
    if (io == Io::kRead) {
      op.is_read = true;
      op.fd = file;
      op.length = kReadSize;
      op.offset = (reads++ % (kReadFileSize / kReadSize)) * kReadSize;
      return op;
    }
    const unsigned stage = stages[lane];
    op.is_send = stage == 0 || stage == 2;
    op.fd = stage < 2 ? (stage == 0 ? clients[lane] : servers[lane])
                      : (stage == 2 ? servers[lane] : clients[lane]);
    op.length = kEchoSize;
    return op;
  }
  // The lane's operation completed; true when it finished an item (a read, or a round trip).
  bool completed(unsigned lane) {
    if (io == Io::kRead) return true;
    stages[lane] = (stages[lane] + 1) % 4;
    return stages[lane] == 0;
  }

  const Io io;
  bool ready = false;
  int file = -1;
  std::array<int, kLanes> clients{}, servers{};
  std::array<unsigned, kLanes> stages{};
  std::uint64_t reads = 0;
  std::vector<unsigned char> buffers;
};

void prep_native(io_uring_sqe* sqe, const IoFixture::Op& op, unsigned lane) {
  if (op.is_read) {
    io_uring_prep_read(sqe, op.fd, op.buffer, op.length, op.offset);
  } else if (op.is_send) {
    io_uring_prep_send(sqe, op.fd, op.buffer, op.length, 0);
  } else {
    io_uring_prep_recv(sqe, op.fd, op.buffer, op.length, MSG_WAITALL);
  }
  io_uring_sqe_set_data64(sqe, lane);
}

// The application-thread styles: `wait` blocks until at least one CQE is ready.
template <class Wait>
void native_io(benchmark::State& state, Io io, bool with_eventfd, Wait wait) {
  IoFixture fixture(io);
  io_uring ring{};
  if (!fixture.ready || io_uring_queue_init(2 * kLanes, &ring, 0) != 0) {
    state.SkipWithError("io_uring or the fixture unavailable");
    return;
  }
  int event = -1;
  int poll_set = -1;
  if (with_eventfd) {
    event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    poll_set = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event interest{};
    interest.events = EPOLLIN;
    if (event < 0 || poll_set < 0 || io_uring_register_eventfd(&ring, event) != 0 ||
        ::epoll_ctl(poll_set, EPOLL_CTL_ADD, event, &interest) != 0) {
      state.SkipWithError("cannot set up the eventfd + epoll");
      io_uring_queue_exit(&ring);
      return;
    }
  }
  for (unsigned lane = 0; lane < kLanes; ++lane) {
    prep_native(io_uring_get_sqe(&ring), fixture.next(lane), lane);
  }
  std::uint64_t items = 0;
  std::uint64_t target = 0;
  for (auto _ : state) {
    target += kLanes;
    while (items < target) {
      wait(ring, poll_set, event);
      io_uring_cqe* cqes[kLanes];
      const unsigned seen = io_uring_peek_batch_cqe(&ring, cqes, kLanes);
      for (unsigned i = 0; i < seen; ++i) {
        const auto lane = static_cast<unsigned>(io_uring_cqe_get_data64(cqes[i]));
        if (fixture.completed(lane)) ++items;
        prep_native(io_uring_get_sqe(&ring), fixture.next(lane), lane);
      }
      io_uring_cq_advance(&ring, seen);
    }
  }
  // The lanes' last operations are left to the kernel: exiting the ring cancels them.
  io_uring_queue_exit(&ring);
  if (event >= 0) ::close(event);
  if (poll_set >= 0) ::close(poll_set);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kLanes);
}

void BM_UringIo_wait_cqe(benchmark::State& state) {
  native_io(state, static_cast<Io>(state.range(0)), false, [](io_uring& ring, int, int) {
    io_uring_cqe* cqe = nullptr;
    (void)io_uring_submit_and_wait(&ring, 1);
    (void)io_uring_peek_cqe(&ring, &cqe);
  });
}

void BM_UringIo_eventfd_epoll(benchmark::State& state) {
  native_io(state, static_cast<Io>(state.range(0)), true,
            [](io_uring& ring, int poll_set, int event) {
              (void)io_uring_submit(&ring);
              if (io_uring_cq_ready(&ring) != 0) return;  // the kernel posted during the submit
              epoll_event ready{};
              while (::epoll_wait(poll_set, &ready, 1, -1) != 1) {
              }
              std::uint64_t count = 0;
              (void)::read(event, &count, sizeof count);
            });
}

// pollnotify's lanes: two contexts each, alternating, whose callbacks start the next operation.
struct PnLanes {
  PnLanes(IoFixture& io_fixture, pn::UringDevice& uring) : fixture(io_fixture), device(uring) {
    for (unsigned lane = 0; lane < kLanes; ++lane) {
      for (auto& ctx : lanes[lane].contexts) {
        ctx = pn::WaitCtx::make();
        ctx->set_completion_callback(on_completion, &lanes[lane]);
      }
      lanes[lane].owner = this;
      lanes[lane].index = lane;
    }
  }
  struct Lane {
    PnLanes* owner = nullptr;
    unsigned index = 0;
    unsigned turn = 0;
    std::array<pn::WaitCtxPtr, 2> contexts;
  };
  void start(Lane& lane) {
    const IoFixture::Op op = fixture.next(lane.index);
    pn::WaitCtx& ctx = *lane.contexts[lane.turn];
    lane.turn ^= 1U;
    if (op.is_read) {
      (void)device.submit_read(ctx, op.fd, op.buffer, op.length, op.offset, lane.index);
    } else if (op.is_send) {
      (void)device.submit_send(ctx, op.fd, op.buffer, op.length, 0, lane.index);
    } else {
      (void)device.submit_recv(ctx, op.fd, op.buffer, op.length, MSG_WAITALL, lane.index);
    }
  }
  static int on_completion(void* arg, const PN_COMPLETION*) {
    Lane& lane = *static_cast<Lane*>(arg);
    PnLanes& self = *lane.owner;
    // Published once per kLanes items: the waiting thread's reads then do not pull the line
    // away from the poller at every completion (the native styles have no such line).
    if (self.fixture.completed(lane.index) && ++self.items_here % kLanes == 0) {
      // BIO-R1: one writer (the poller thread); pairs with BIO-A1 in the waiting thread.
      self.items.store(self.items_here, std::memory_order_release);
    }
    // Relaxed: a flag; the drain below waits for the lanes' last completions anyway.
    if (!self.stopping.load(std::memory_order_relaxed)) {
      self.start(lane);
    } else {
      self.idle.store(self.idle.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    return 1;
  }
  IoFixture& fixture;
  pn::UringDevice& device;
  std::array<Lane, kLanes> lanes;
  std::uint64_t items_here = 0;  // the polling thread's own count
  alignas(128) std::atomic<std::uint64_t> items{0};
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> idle{0};  // lanes whose last completion arrived after stopping
};

void pollnotify_io(benchmark::State& state, bool run_to_completion) {
  const Io io = static_cast<Io>(state.range(0));
  IoFixture fixture(io);
  if (!fixture.ready || !pn::UringDevice::unavailable_reason().empty()) {
    state.SkipWithError("io_uring or the fixture unavailable");
    return;
  }
  pn::PollerOptions poller_options;
  poller_options.policy = run_to_completion ? pn::PollPolicy::kExternal : pn::PollPolicy::kBusy;
  poller_options.cpu = run_to_completion ? -1 : 1;
  pn::Poller poller(poller_options);
  pn::UringOptions options;
  options.entries = 2 * kLanes;
  options.max_in_flight = 2 * kLanes;
  options.single_issuer = run_to_completion;
  std::optional<pn::UringDevice> device(std::in_place, poller, options);
  PnLanes lanes(fixture, *device);
  for (auto& lane : lanes.lanes) lanes.start(lane);  // before the poller's callbacks start more
  if (!run_to_completion) poller.start();
  std::uint64_t target = 0;
  for (auto _ : state) {
    target += kLanes;
    // BIO-A1: pairs with BIO-R1.
    while (lanes.items.load(std::memory_order_acquire) < target) {
      if (run_to_completion) (void)poller.poll_once();
    }
  }
  lanes.stopping.store(true, std::memory_order_relaxed);
  // Reads finish by themselves; an echo lane's pending recv ends at the device's teardown.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (io == Io::kRead && lanes.idle.load(std::memory_order_acquire) < kLanes &&  // BIO-A1
         std::chrono::steady_clock::now() < until) {
    if (run_to_completion) (void)poller.poll_once();
  }
  if (!run_to_completion) poller.stop();
  device.reset();  // ends what the lanes left in the kernel, while their contexts live
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kLanes);
}

void BM_UringIo_pollnotify(benchmark::State& state) { pollnotify_io(state, false); }
void BM_UringIo_pollnotify_rtc(benchmark::State& state) { pollnotify_io(state, true); }

BENCHMARK(BM_UringIo_wait_cqe)
    ->Name("BM_UringIo/wait_cqe")
    ->ArgName("echo")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();
BENCHMARK(BM_UringIo_eventfd_epoll)
    ->Name("BM_UringIo/eventfd_epoll")
    ->ArgName("echo")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();
BENCHMARK(BM_UringIo_pollnotify)
    ->Name("BM_UringIo/pollnotify")
    ->ArgName("echo")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();
BENCHMARK(BM_UringIo_pollnotify_rtc)
    ->Name("BM_UringIo/pollnotify_rtc")
    ->ArgName("echo")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();

BENCHMARK(BM_Uring_raw)->Name("BM_Uring/raw");
BENCHMARK(BM_Uring_pollnotify)->Name("BM_Uring/pollnotify");
BENCHMARK(BM_Uring_pollnotify_poller_thread)
    ->Name("BM_Uring/pollnotify_poller_thread")
    ->UseRealTime();
BENCHMARK(BM_UringSubmitters_channels)
    ->Name("BM_UringSubmitters/channels")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime();
BENCHMARK(BM_UringSubmitters_ring_per_thread)
    ->Name("BM_UringSubmitters/ring_per_thread")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime();

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

// The raw loop's own driver instance: one queue pair, a SHA-256 and an AES-128-GCM session.
struct RawCryptodev {
  std::uint8_t device = 0;
  rte_mempool* ops = nullptr;
  rte_mempool* mbufs = nullptr;
  void* sha256 = nullptr;
  void* aes_gcm = nullptr;  // encrypt, no AAD
  // The benchmark thread is not an EAL lcore: caches of its own stand in for the lcore caches a
  // DPDK application's loop gets (the device does the same).
  rte_mempool_cache* op_cache = nullptr;
  rte_mempool_cache* mbuf_cache = nullptr;
};

const RawCryptodev* raw_cryptodev() {
  static const RawCryptodev* raw = []() -> const RawCryptodev* {
    const int id = rte_cryptodev_get_dev_id("crypto_aesni_mb_raw");
    if (id < 0) return nullptr;
    auto* made = new RawCryptodev;  // used until exit
    made->device = static_cast<std::uint8_t>(id);
    rte_mempool* sessions = rte_cryptodev_sym_session_pool_create(
        "pnrs", 4, rte_cryptodev_sym_get_private_session_size(made->device), 0, 0, 0);
    made->ops = rte_crypto_op_pool_create("pnro", RTE_CRYPTO_OP_TYPE_SYMMETRIC, 128, 0, 64, 0);
    made->mbufs =
        rte_pktmbuf_pool_create("pnrm", 128, 64, 0, UINT16_MAX, 0);  // lcore cache, as usual
    made->op_cache = rte_mempool_cache_create(64, 0);
    made->mbuf_cache = rte_mempool_cache_create(64, 0);
    rte_cryptodev_config config{};
    config.nb_queue_pairs = 1;
    rte_cryptodev_qp_conf qp{};
    qp.nb_descriptors = 128;
    qp.mp_session = sessions;
    if (sessions == nullptr || made->ops == nullptr || made->mbufs == nullptr ||
        rte_cryptodev_configure(made->device, &config) != 0 ||
        rte_cryptodev_queue_pair_setup(made->device, 0, &qp, 0) != 0 ||
        rte_cryptodev_start(made->device) != 0) {
      return nullptr;
    }
    rte_crypto_sym_xform sha{};
    sha.type = RTE_CRYPTO_SYM_XFORM_AUTH;
    sha.auth.op = RTE_CRYPTO_AUTH_OP_GENERATE;
    sha.auth.algo = RTE_CRYPTO_AUTH_SHA256;
    sha.auth.digest_length = 32;
    made->sha256 = rte_cryptodev_sym_session_create(made->device, &sha, sessions);
    static const std::uint8_t key[16] = {1, 2, 3};
    rte_crypto_sym_xform gcm{};
    gcm.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    gcm.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
    gcm.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
    gcm.aead.key.data = key;
    gcm.aead.key.length = 16;
    gcm.aead.iv.offset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
    gcm.aead.iv.length = 12;
    gcm.aead.digest_length = 16;
    made->aes_gcm = rte_cryptodev_sym_session_create(made->device, &gcm, sessions);
    return made->sha256 != nullptr && made->aes_gcm != nullptr && made->op_cache != nullptr &&
                   made->mbuf_cache != nullptr
               ? made
               : nullptr;
  }();
  return raw;
}

constexpr std::size_t kOpPrivate = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);

// One burst through the raw driver the way a DPDK application does it: ops and mbufs from pools,
// the input copied in, enqueue, dequeue until all are back, the output copied out.
template <class Prepare, class Collect>
void raw_burst(const RawCryptodev& raw, const std::uint8_t* input, std::uint32_t size,
               Prepare prepare, Collect collect) {
  std::array<rte_crypto_op*, kBurst> burst{};
  for (rte_crypto_op*& op : burst) {
    void* objects[2] = {};
    (void)rte_mempool_generic_get(raw.ops, &objects[0], 1, raw.op_cache);
    (void)rte_mempool_generic_get(raw.mbufs, &objects[1], 1, raw.mbuf_cache);
    op = static_cast<rte_crypto_op*>(objects[0]);
    __rte_crypto_op_reset(op, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
    auto* m = static_cast<rte_mbuf*>(objects[1]);
    rte_pktmbuf_reset(m);
    m->data_off = 0;
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(size)), input, size);
    op->sym->m_src = m;
    prepare(*op);
  }
  (void)rte_cryptodev_enqueue_burst(raw.device, 0, burst.data(), kBurst);
  int back = 0;
  while (back < kBurst) {
    rte_crypto_op* done[kBurst];
    const std::uint16_t got = rte_cryptodev_dequeue_burst(raw.device, 0, done, kBurst);
    for (std::uint16_t i = 0; i < got; ++i) {  // the result goes back, as the device does
      collect(*done[i]);
      void* mbuf = rte_pktmbuf_prefree_seg(done[i]->sym->m_src);  // one segment
      void* op = done[i];
      rte_mempool_generic_put(raw.mbufs, &mbuf, 1, raw.mbuf_cache);
      rte_mempool_generic_put(raw.ops, &op, 1, raw.op_cache);
    }
    back += got;
  }
}

void BM_Cryptodev_raw(benchmark::State& state) {
  const RawCryptodev* raw = eal_ready() ? raw_cryptodev() : nullptr;
  if (raw == nullptr) {
    state.SkipWithError("cannot set up crypto_aesni_mb_raw");
    return;
  }
  const std::array<std::uint8_t, kCryptoBytes> input{};
  std::array<std::uint8_t, 32> digest{};
  for (auto _ : state) {
    raw_burst(
        *raw, input.data(), kCryptoBytes,
        [&](rte_crypto_op& op) {
          op.sym->auth.data.length = kCryptoBytes;
          op.sym->auth.digest.data = rte_crypto_op_ctod_offset(&op, std::uint8_t*, kOpPrivate);
          op.sym->auth.digest.phys_addr = rte_crypto_op_ctophys_offset(&op, kOpPrivate);
          rte_crypto_op_attach_sym_session(&op, raw->sha256);
        },
        [&](rte_crypto_op& op) {
          std::memcpy(digest.data(), rte_crypto_op_ctod_offset(&op, std::uint8_t*, kOpPrivate), 32);
        });
    benchmark::DoNotOptimize(digest);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}

// AES-128-GCM encryption of state.range(0) bytes: the raw loop the OpenSSL provider's cryptodev
// path is measured against (scripts/provider_bench.sh), and the pollnotify device on it.
void BM_CryptodevGcm_raw(benchmark::State& state) {
  const RawCryptodev* raw = eal_ready() ? raw_cryptodev() : nullptr;
  if (raw == nullptr) {
    state.SkipWithError("cannot set up crypto_aesni_mb_raw");
    return;
  }
  const auto size = static_cast<std::uint32_t>(state.range(0));
  const std::vector<std::uint8_t> input(size, 0x5a);
  std::vector<std::uint8_t> output(size);
  std::array<std::uint8_t, 16> tag{};
  constexpr std::size_t kTagAt = kOpPrivate + 16;  // after the IV
  for (auto _ : state) {
    raw_burst(
        *raw, input.data(), size,
        [&](rte_crypto_op& op) {
          std::memset(rte_crypto_op_ctod_offset(&op, std::uint8_t*, kOpPrivate), 7, 12);
          op.sym->aead.data.offset = 0;
          op.sym->aead.data.length = size;
          op.sym->aead.digest.data = rte_crypto_op_ctod_offset(&op, std::uint8_t*, kTagAt);
          op.sym->aead.digest.phys_addr = rte_crypto_op_ctophys_offset(&op, kTagAt);
          op.sym->aead.aad.data = nullptr;
          rte_crypto_op_attach_sym_session(&op, raw->aes_gcm);
        },
        [&](rte_crypto_op& op) {
          std::memcpy(output.data(), rte_pktmbuf_mtod(op.sym->m_src, std::uint8_t*), size);
          std::memcpy(tag.data(), rte_crypto_op_ctod_offset(&op, std::uint8_t*, kTagAt), 16);
        });
    benchmark::DoNotOptimize(output.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst * size);
}

void cryptodev_gcm_pollnotify(benchmark::State& state, Delivery delivery) {
  if (!eal_ready()) {
    state.SkipWithError("DPDK EAL unavailable");
    return;
  }
  pn::Poller poller(poller_options(delivery));
  pn::CryptodevOptions options;
  options.max_in_flight = 64;
  pn::CryptodevDevice device(poller, options);
  start_delivery(poller, delivery);
  const std::uint8_t key[16] = {1, 2, 3};
  const auto& session = device.aes_gcm_session(key, true, 0);
  BurstCount count;
  const auto contexts = counted_contexts(count);
  const auto size = static_cast<std::uint32_t>(state.range(0));
  const std::vector<std::uint8_t> input(size, 0x5a);
  std::vector<std::uint8_t> output(size);
  std::array<std::uint8_t, 16> tag{};
  const std::uint8_t iv[12] = {7};
  for (auto _ : state) {
    const int before =
        count.bursts_done.load(std::memory_order_relaxed);  // its last writer: waited for
    for (auto& ctx : contexts) {
      (void)device.submit_aes_gcm(*ctx, session, iv, nullptr, input.data(), output.data(), size,
                                  tag.data(), 0);
    }
    wait_for_burst(poller, count, before, delivery);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst * size);
}
void BM_CryptodevGcm_pollnotify(benchmark::State& state) {
  cryptodev_gcm_pollnotify(state, Delivery::kRunToCompletion);
}
void BM_CryptodevGcm_pollnotify_poller_thread(benchmark::State& state) {
  cryptodev_gcm_pollnotify(state, Delivery::kPollerThread);
}

void cryptodev_sha256_pollnotify(benchmark::State& state, Delivery delivery) {
  if (!eal_ready()) {
    state.SkipWithError("DPDK EAL unavailable");
    return;
  }
  pn::Poller poller(poller_options(delivery));
  pn::CryptodevOptions options;
  options.max_in_flight = 64;
  pn::CryptodevDevice device(poller, options);
  start_delivery(poller, delivery);
  BurstCount count;
  const auto contexts = counted_contexts(count);
  const std::array<std::uint8_t, kCryptoBytes> input{};
  std::array<std::array<std::uint8_t, 32>, kBurst> digests{};
  for (auto _ : state) {
    const int before =
        count.bursts_done.load(std::memory_order_relaxed);  // its last writer: waited for
    for (int i = 0; i < kBurst; ++i) {
      (void)device.submit_sha256(*contexts[static_cast<std::size_t>(i)], input.data(), kCryptoBytes,
                                 digests[static_cast<std::size_t>(i)].data(), 0);
    }
    wait_for_burst(poller, count, before, delivery);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBurst);
}
void BM_Cryptodev_pollnotify(benchmark::State& state) {
  cryptodev_sha256_pollnotify(state, Delivery::kRunToCompletion);
}
void BM_Cryptodev_pollnotify_poller_thread(benchmark::State& state) {
  cryptodev_sha256_pollnotify(state, Delivery::kPollerThread);
}

BENCHMARK(BM_Cryptodev_raw)->Name("BM_Cryptodev/raw");
BENCHMARK(BM_Cryptodev_pollnotify)->Name("BM_Cryptodev/pollnotify");
BENCHMARK(BM_Cryptodev_pollnotify_poller_thread)
    ->Name("BM_Cryptodev/pollnotify_poller_thread")
    ->UseRealTime();
BENCHMARK(BM_CryptodevGcm_raw)->Name("BM_CryptodevGcm/raw")->Arg(64)->Arg(16384);
BENCHMARK(BM_CryptodevGcm_pollnotify)->Name("BM_CryptodevGcm/pollnotify")->Arg(64)->Arg(16384);
BENCHMARK(BM_CryptodevGcm_pollnotify_poller_thread)
    ->Name("BM_CryptodevGcm/pollnotify_poller_thread")
    ->Arg(64)
    ->UseRealTime();

#endif

}  // namespace

int main(int argc, char** argv) { return pn::bench::run_benchmarks(argc, argv, 0); }
