// The completion ring and the poller against the queues and wake-up mechanisms a user would pick
// instead. Producer and consumer threads are pinned to different CPUs (0 and 1).
#include <benchmark/benchmark.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#if defined(PN_BENCH_WITH_TBB)
#include <tbb/concurrent_queue.h>
#endif
#include <unistd.h>

#include <concurrentqueue/concurrentqueue.h>
#include <readerwriterqueue/readerwriterqueue.h>
#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "pollnotify/internal/completion_slots.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/poller.hpp"
#include "pollnotify/spsc_ring.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int kConsumerCpu = 0;
constexpr int kProducerCpu = 1;
constexpr std::size_t kRingCapacity = 4096;

// --- ring throughput: one producer, one consumer, bursts of `burst` completions on both sides ---
// The item is the data path's: a 32-byte pn::Completion, its sequence number in user_data. The
// pollnotify row is the completion ring's storage (internal::CompletionSlots, what
// CompletionRing::try_push_burst and the poller's drain use); the SpscRing row is the general
// ring pollnotify offers for a driver's own queues.

using Item = pn::Completion;

// Never dereferenced: the ring stores the pointer beside its lap bit, so it must be aligned.
alignas(64) const char kFakeContext[64] = {};

Item item_number(std::uint64_t sequence) {
  return {reinterpret_cast<pn::WaitCtx*>(const_cast<char*>(kFakeContext)), sequence,
          pn::RequestTicket{sequence}, PN_ASYNC_STATUS_OK, 0};
}

struct CompletionRingStorage {
  pn::internal::CompletionSlots ring{kRingCapacity};
  std::size_t push(const Item* items, std::size_t n) {
    return ring.try_push_burst(items, n, pn::Publish::kRelease);
  }
  template <class F>
  std::size_t pop(std::size_t n, F&& consume) {
    return ring.drain(n, consume);
  }
};

struct GeneralSpscRing {
  pn::SpscRing<Item> ring{kRingCapacity};
  std::size_t push(const Item* items, std::size_t n) { return ring.try_push_burst(items, n); }
  template <class F>
  std::size_t pop(std::size_t n, F&& consume) {
    return ring.drain(n, consume);  // in place: the ring's natural consumer API
  }
};

struct BoostRing {
  boost::lockfree::spsc_queue<Item, boost::lockfree::capacity<kRingCapacity>> queue;
  Item buffer[256];
  std::size_t push(const Item* items, std::size_t n) { return queue.push(items, n); }
  template <class F>
  std::size_t pop(std::size_t n, F&& consume) {
    const std::size_t got = queue.pop(buffer, n);
    for (std::size_t i = 0; i < got; ++i) consume(buffer[i]);
    return got;
  }
};

// moodycamel::ReaderWriterQueue: the single-producer single-consumer queue users pick. No bulk
// API: a burst is a loop of try_enqueue / try_dequeue (try_enqueue never allocates: bounded).
struct ReaderWriterRing {
  moodycamel::ReaderWriterQueue<Item> queue{kRingCapacity};
  std::size_t push(const Item* items, std::size_t n) {
    std::size_t pushed = 0;
    while (pushed < n && queue.try_enqueue(items[pushed])) ++pushed;
    return pushed;
  }
  template <class F>
  std::size_t pop(std::size_t n, F&& consume) {
    std::size_t got = 0;
    Item value{};
    while (got < n && queue.try_dequeue(value)) {
      consume(value);
      ++got;
    }
    return got;
  }
};

struct MoodycamelRing {
  // Preallocated and filled with try_enqueue_bulk only, so it is bounded like the others.
  moodycamel::ConcurrentQueue<Item> queue{kRingCapacity};
  moodycamel::ProducerToken producer_token{queue};
  moodycamel::ConsumerToken consumer_token{queue};
  Item buffer[256];
  std::size_t push(const Item* items, std::size_t n) {
    return queue.try_enqueue_bulk(producer_token, items, n) ? n : 0;
  }
  template <class F>
  std::size_t pop(std::size_t n, F&& consume) {
    const std::size_t got = queue.try_dequeue_bulk(consumer_token, buffer, n);
    for (std::size_t i = 0; i < got; ++i) consume(buffer[i]);
    return got;
  }
};

#if defined(PN_BENCH_WITH_TBB)
struct TbbRing {
  tbb::concurrent_bounded_queue<Item> queue;
  TbbRing() { queue.set_capacity(kRingCapacity); }
  std::size_t push(const Item* items, std::size_t n) {
    std::size_t pushed = 0;
    while (pushed < n && queue.try_push(items[pushed])) ++pushed;
    return pushed;
  }
  template <class F>
  std::size_t pop(std::size_t n, F&& consume) {
    std::size_t got = 0;
    Item value{};
    while (got < n && queue.try_pop(value)) {
      consume(value);
      ++got;
    }
    return got;
  }
};
#endif

template <class Ring>
void BM_Ring_Throughput(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  auto ring = std::make_unique<Ring>();
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    pn::bench::pin_this_thread(kProducerCpu);
    std::uint64_t next = 0;
    Item items[256];
    while (!stop.load(std::memory_order_relaxed)) {  // relaxed: a stop flag
      for (std::size_t i = 0; i < burst; ++i) items[i] = item_number(next + i);
      const std::size_t pushed = ring->push(items, burst);
      if (pushed == 0) pn::internal::cpu_relax();
      // A partial push re-sends the rest first: values stay consecutive.
      next += pushed;
    }
  });
  pn::bench::pin_this_thread(kConsumerCpu);
  constexpr std::size_t kItemsPerIteration = 1 << 16;
  std::uint64_t expected = 0, errors = 0, empty_pops = 0;
  for (auto _ : state) {
    std::size_t received = 0;
    while (received < kItemsPerIteration) {
      const std::size_t got = ring->pop(burst, [&](const Item& value) {
        errors += value.user_data != expected;
        ++expected;
      });
      if (got == 0) {
        ++empty_pops;
        pn::internal::cpu_relax();
      }
      received += got;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  producer.join();
  state.SetItemsProcessed(static_cast<std::int64_t>(expected));
  // Which side waits: many empty pops per item means the consumer keeps up and reads the lines
  // the producer is writing (each item moves them); few means the ring runs full and the sides
  // work lines apart.
  state.counters["empty_pops_per_item"] =
      expected == 0 ? 0.0 : static_cast<double>(empty_pops) / static_cast<double>(expected);
  if (errors != 0) state.SkipWithError("lost, duplicated or reordered items");
}

// --- handoff round trip: A publishes, B is notified and answers through a spun-on atomic ---

struct alignas(128) Pong {
  std::atomic<std::uint64_t> value{0};
};

void wait_for(const Pong& pong, std::uint64_t value) {
  // BPONG-A1: pairs with BPONG-R1: the answer and what preceded it are visible.
  while (pong.value.load(std::memory_order_acquire) != value) pn::internal::cpu_relax();
}

void BM_Handoff_RoundTrip_pingpong(benchmark::State& state) {
  alignas(128) std::atomic<std::uint64_t> ping{0};
  Pong pong;
  std::thread server([&] {
    pn::bench::pin_this_thread(kProducerCpu);
    for (std::uint64_t expected = 1;; ++expected) {
      std::uint64_t seen;
      // BPING-A1: pairs with BPING-R1.
      while ((seen = ping.load(std::memory_order_acquire)) < expected) pn::internal::cpu_relax();
      if (seen == ~std::uint64_t{0}) return;
      pong.value.store(seen, std::memory_order_release);  // BPONG-R1: pairs with BPONG-A1
    }
  });
  pn::bench::pin_this_thread(kConsumerCpu);
  std::uint64_t round = 0;
  for (auto _ : state) {
    ping.store(++round, std::memory_order_release);  // BPING-R1: pairs with BPING-A1
    wait_for(pong, round);
  }
  ping.store(~std::uint64_t{0}, std::memory_order_release);  // BPING-R1
  server.join();
}

// Every server answers round r by storing r, a value it knows without reading the line the
// client spins on (as the ping-pong floor does): a load there would add a transfer of its own.
void answer_pong(Pong& pong, std::uint64_t round) {
  pong.value.store(round, std::memory_order_release);  // BPONG-R1
}

// The pollnotify server: a completion callback; the request's user data is its round.
int answer_pong_completion(void* arg, const PN_COMPLETION* completion) {
  answer_pong(*static_cast<Pong*>(arg), completion->user_data);
  return 1;
}

void handoff_pollnotify(benchmark::State& state, pn::PollPolicy policy) {
  pn::PollerOptions options;
  options.policy = policy;
  options.cpu = kProducerCpu;
  pn::Poller poller(options);
  auto& ring = poller.add_ring(64);
  Pong pong;
  auto ctx = pn::WaitCtx::make();
  ctx->set_completion_callback(answer_pong_completion, &pong);
  poller.start();
  pn::bench::pin_this_thread(kConsumerCpu);
  std::uint64_t round = 0;
  for (auto _ : state) {
    const pn::Completion completion{ctx.get(), ++round, ctx->arm(), PN_ASYNC_STATUS_OK};
    while (!ring.try_push(completion)) pn::internal::cpu_relax();
    wait_for(pong, round);
  }
  poller.stop();
  const pn::PollerStats stats = poller.stats();
  state.counters["parks"] = static_cast<double>(stats.parks);
}

void BM_Handoff_RoundTrip_busy(benchmark::State& s) {
  handoff_pollnotify(s, pn::PollPolicy::kBusy);
}
void BM_Handoff_RoundTrip_adaptive(benchmark::State& s) {
  handoff_pollnotify(s, pn::PollPolicy::kAdaptive);
}
void BM_Handoff_RoundTrip_timed(benchmark::State& s) {
  handoff_pollnotify(s, pn::PollPolicy::kTimed);
}

void BM_Handoff_RoundTrip_eventfd(benchmark::State& state) {
  const int event = ::eventfd(0, EFD_CLOEXEC);
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event interest{};
  interest.events = EPOLLIN;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, event, &interest);
  Pong pong;
  std::atomic<bool> stop{false};
  std::thread server([&] {
    pn::bench::pin_this_thread(kProducerCpu);
    epoll_event ready{};
    std::uint64_t answered = 0;
    for (;;) {
      if (::epoll_wait(epoll, &ready, 1, -1) != 1) continue;
      std::uint64_t count = 0;
      if (::read(event, &count, sizeof count) != sizeof count) continue;
      if (stop.load(std::memory_order_acquire)) return;  // BSTOP-A1: pairs with BSTOP-R1
      answered += count;
      answer_pong(pong, answered);
    }
  });
  pn::bench::pin_this_thread(kConsumerCpu);
  std::uint64_t round = 0;
  const std::uint64_t one = 1;
  for (auto _ : state) {
    if (::write(event, &one, sizeof one) != sizeof one) state.SkipWithError("eventfd write");
    wait_for(pong, ++round);
  }
  stop.store(true, std::memory_order_release);  // BSTOP-R1: pairs with BSTOP-A1
  if (::write(event, &one, sizeof one) != sizeof one) state.SkipWithError("eventfd write");
  server.join();
  ::close(epoll);
  ::close(event);
}

void BM_Handoff_RoundTrip_futex(benchmark::State& state) {
  std::atomic<std::uint32_t> ping{0};
  Pong pong;
  std::thread server([&] {
    pn::bench::pin_this_thread(kProducerCpu);
    std::uint32_t seen = 0;
    for (;;) {
      ping.wait(seen, std::memory_order_acquire);   // BFUTEX-A1: pairs with BFUTEX-R1
      seen = ping.load(std::memory_order_acquire);  // BFUTEX-A1
      if (seen == ~std::uint32_t{0}) return;
      answer_pong(pong, seen);
    }
  });
  pn::bench::pin_this_thread(kConsumerCpu);
  std::uint64_t round = 0;
  for (auto _ : state) {
    // BFUTEX-R1: pairs with BFUTEX-A1.
    ping.store(static_cast<std::uint32_t>(++round), std::memory_order_release);
    ping.notify_one();
    wait_for(pong, round);
  }
  ping.store(~std::uint32_t{0}, std::memory_order_release);  // BFUTEX-R1
  ping.notify_one();
  server.join();
}

void BM_Handoff_RoundTrip_condvar(benchmark::State& state) {
  std::mutex mutex;
  std::condition_variable ready;
  std::uint64_t requests = 0;
  bool stop = false;
  Pong pong;
  std::thread server([&] {
    pn::bench::pin_this_thread(kProducerCpu);
    std::uint64_t served = 0;
    for (;;) {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return stop || requests > served; });
      if (stop) return;
      served = requests;
      lock.unlock();
      answer_pong(pong, served);
    }
  });
  pn::bench::pin_this_thread(kConsumerCpu);
  std::uint64_t round = 0;
  for (auto _ : state) {
    {
      std::lock_guard lock(mutex);
      ++requests;
    }
    ready.notify_one();
    wait_for(pong, ++round);
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  ready.notify_one();
  server.join();
}

// --- callback dispatch: arm, push a burst, poll_once delivers it, all on one thread ---

void BM_Poller_Dispatch_pollnotify(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  pn::PollerOptions options;
  options.policy = pn::PollPolicy::kExternal;
  options.max_burst = burst;
  pn::Poller poller(options);
  auto& ring = poller.add_ring(1024);
  std::vector<pn::WaitCtxPtr> contexts;
  std::uint64_t fired = 0;
  for (std::size_t i = 0; i < burst; ++i) {
    contexts.push_back(pn::WaitCtx::make());
    contexts.back()->set_callback(
        [](void* arg) {
          ++*static_cast<std::uint64_t*>(arg);
          return 1;
        },
        &fired);
  }
  std::vector<pn::Completion> completions(burst);
  pn::bench::pin_this_thread(kConsumerCpu);
  for (auto _ : state) {
    for (std::size_t i = 0; i < burst; ++i) {
      completions[i] = {contexts[i].get(), i, contexts[i]->arm(), PN_ASYNC_STATUS_OK};
    }
    if (ring.try_push_burst(completions) != burst) state.SkipWithError("ring full");
    benchmark::DoNotOptimize(poller.poll_once());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(fired));
  if (fired != state.iterations() * burst) state.SkipWithError("lost callbacks");
}

// The floor for the dispatch above, in the same binary: an SPSC ring of {function, argument}
// entries; push a burst, pop each and make its one indirect call. No wait context, no ticket, no
// status, no stale check: what any callback dispatch must at least do.
struct BareEntry {
  int (*fn)(void*);
  void* arg;
};

void BM_Poller_Dispatch_bare(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  pn::SpscRing<BareEntry> ring(1024);
  std::uint64_t fired = 0;
  const auto count = [](void* arg) {
    ++*static_cast<std::uint64_t*>(arg);
    return 1;
  };
  std::vector<BareEntry> entries(burst, BareEntry{count, &fired});
  pn::bench::pin_this_thread(kConsumerCpu);
  for (auto _ : state) {
    if (ring.try_push_burst(entries.data(), burst) != burst) state.SkipWithError("ring full");
    benchmark::DoNotOptimize(ring.drain(
        burst, [](const BareEntry& entry) { benchmark::DoNotOptimize(entry.fn(entry.arg)); }));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(fired));
  if (fired != state.iterations() * burst) state.SkipWithError("lost calls");
}

// The peer a driver author would otherwise write: a boost::lockfree::spsc_queue of completions,
// each popped and handed to its handler's callback with the completion (the handler found through
// the completion, as pollnotify finds the wait context). No ticket, status or stale check.
struct PeerHandler {
  int (*fn)(void* arg, const PN_COMPLETION* completion);
  void* arg;
};

void BM_Poller_Dispatch_boost_spsc(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  boost::lockfree::spsc_queue<PN_COMPLETION, boost::lockfree::capacity<1024>> queue;
  std::uint64_t fired = 0;
  // One handler per request, each on its own line, as pollnotify has one wait context each.
  struct alignas(64) LineHandler {
    PeerHandler handler;
  };
  std::vector<LineHandler> handlers(burst,
                                    LineHandler{PeerHandler{[](void* arg, const PN_COMPLETION*) {
                                                              ++*static_cast<std::uint64_t*>(arg);
                                                              return 1;
                                                            },
                                                            &fired}});
  std::vector<PN_COMPLETION> completions(burst);
  std::vector<PN_COMPLETION> popped(burst);
  pn::bench::pin_this_thread(kConsumerCpu);
  for (auto _ : state) {
    for (std::size_t i = 0; i < burst; ++i) {
      completions[i] = PN_COMPLETION{reinterpret_cast<PN_ASYNC_WAIT_CTX*>(&handlers[i].handler), i,
                                     i, PN_ASYNC_STATUS_OK, 0};
    }
    if (queue.push(completions.data(), burst) != burst) state.SkipWithError("queue full");
    const std::size_t got = queue.pop(popped.data(), burst);
    for (std::size_t i = 0; i < got; ++i) {
      const auto* target = reinterpret_cast<const PeerHandler*>(popped[i].ctx);
      benchmark::DoNotOptimize(target->fn(target->arg, &popped[i]));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(fired));
  if (fired != state.iterations() * burst) state.SkipWithError("lost calls");
}

// --- idle cost: CPU time of a poller with nothing to do ---

void idle_cpu(benchmark::State& state, pn::PollPolicy policy) {
  pn::PollerOptions options;
  options.policy = policy;
  options.cpu = kProducerCpu;
  pn::Poller poller(options);
  poller.add_ring(64);
  double percent = 0;
  for (auto _ : state) {
    poller.start();
    std::this_thread::sleep_for(50ms);  // let it settle into its idle behaviour
    const std::uint64_t cpu_before = poller.stats().cpu_time_ns;
    const auto wall_before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(500ms);
    const std::uint64_t cpu = poller.stats().cpu_time_ns - cpu_before;
    const auto wall = std::chrono::steady_clock::now() - wall_before;
    poller.stop();
    percent =
        100.0 * static_cast<double>(cpu) /
        static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count());
  }
  state.counters["poller_cpu_percent"] = percent;
}

void BM_Poller_IdleCpu_busy(benchmark::State& s) { idle_cpu(s, pn::PollPolicy::kBusy); }
void BM_Poller_IdleCpu_adaptive(benchmark::State& s) { idle_cpu(s, pn::PollPolicy::kAdaptive); }
void BM_Poller_IdleCpu_timed(benchmark::State& s) { idle_cpu(s, pn::PollPolicy::kTimed); }

const bool registered = [] {
  for (auto* b : {
         benchmark::RegisterBenchmark("BM_Ring_Throughput/pollnotify",
                                      BM_Ring_Throughput<CompletionRingStorage>),
             benchmark::RegisterBenchmark("BM_Ring_Throughput/pollnotify_spsc_ring",
                                          BM_Ring_Throughput<GeneralSpscRing>),
             benchmark::RegisterBenchmark("BM_Ring_Throughput/boost",
                                          BM_Ring_Throughput<BoostRing>),
             benchmark::RegisterBenchmark("BM_Ring_Throughput/moodycamel_spsc",
                                          BM_Ring_Throughput<ReaderWriterRing>),
             // Multi-producer queues, labelled as such: peers for the cost of generality.
             benchmark::RegisterBenchmark("BM_Ring_Throughput/moodycamel_mpmc",
                                          BM_Ring_Throughput<MoodycamelRing>),
#if defined(PN_BENCH_WITH_TBB)
             benchmark::RegisterBenchmark("BM_Ring_Throughput/tbb_mpmc",
                                          BM_Ring_Throughput<TbbRing>)
#endif
       }) {
    b->ArgName("burst")->Arg(1)->Arg(8)->Arg(32)->Arg(256)->UseRealTime();
  }
  for (auto* b :
       {benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/pingpong",
                                     BM_Handoff_RoundTrip_pingpong),
        benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/pollnotify_busy",
                                     BM_Handoff_RoundTrip_busy),
        benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/pollnotify_adaptive",
                                     BM_Handoff_RoundTrip_adaptive),
        benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/pollnotify_timed",
                                     BM_Handoff_RoundTrip_timed),
        benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/futex", BM_Handoff_RoundTrip_futex),
        benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/eventfd", BM_Handoff_RoundTrip_eventfd),
        benchmark::RegisterBenchmark("BM_Handoff_RoundTrip/condvar",
                                     BM_Handoff_RoundTrip_condvar)}) {
    b->UseRealTime();
  }
  for (auto* b : {benchmark::RegisterBenchmark("BM_Poller_Dispatch/pollnotify",
                                               BM_Poller_Dispatch_pollnotify),
                  benchmark::RegisterBenchmark("BM_Poller_Dispatch/bare", BM_Poller_Dispatch_bare),
                  benchmark::RegisterBenchmark("BM_Poller_Dispatch/boost_spsc",
                                               BM_Poller_Dispatch_boost_spsc)}) {
    b->ArgName("burst")->Arg(1)->Arg(8)->Arg(32)->Arg(256);
  }
  for (auto* b :
       {benchmark::RegisterBenchmark("BM_Poller_IdleCpu/busy", BM_Poller_IdleCpu_busy),
        benchmark::RegisterBenchmark("BM_Poller_IdleCpu/adaptive", BM_Poller_IdleCpu_adaptive),
        benchmark::RegisterBenchmark("BM_Poller_IdleCpu/timed", BM_Poller_IdleCpu_timed)}) {
    b->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return pn::bench::run_benchmarks(argc, argv, -1); }
