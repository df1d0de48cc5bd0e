// pollnotify-soak: the end-to-end workload with random faults, contexts freed at random moments
// and several pollers, for a duration or a request count. Every request is in a ledger; the run
// ends with one line:
//   requests=N completed=N errors=N cancelled=N refused=N lost=N duplicated=N
// and exits 1 if anything was lost or duplicated. Run it under ASan to prove no completion
// touches freed state.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pollnotify/ready_queue.hpp"
#include "pollnotify/runtime.hpp"

namespace {

struct Options {
  double duration_s = 10;
  std::uint64_t requests = 0;  // 0: duration only
  unsigned pollers = 2;
  unsigned threads = 2;
  unsigned sessions = 32;  // contexts per application thread
  std::string latency = "exp:3000";
  double error_rate = 0.01;
  double refuse_rate = 0.01;
  double free_rate = 0.05;  // a context freed right after its request was accepted
  std::uint64_t seed = 1;
};

struct Session;

// The ledger entry of a session's current request. It is folded into the totals and reused once
// the request has ended: after its completion was taken from the queue, or after destroy()
// returned (no callback of that context runs after it). A late second callback would land in the
// next request's entry and be counted as a duplicate there.
struct Record {
  Session* session = nullptr;
  std::atomic<int> callbacks{0};
  // Who got there first: the callback (kNotified: the session is queued) or the application
  // freeing the context in flight (kAbandoned: the callback must not queue the session).
  enum : int { kPending, kNotified, kAbandoned };
  std::atomic<int> state{kPending};
};

struct Session {
  pn::WaitCtx* ctx = nullptr;
  Record record;
  pn::ReadyQueue<Session*>* ready = nullptr;
};

int on_complete(void* raw) {
  auto* record = static_cast<Record*>(raw);
  record->callbacks.fetch_add(1, std::memory_order_relaxed);  // relaxed: read after the joins
  int expected = Record::kPending;
  // acq_rel: the state decides who owns the session next (pairs with the application's CAS).
  if (!record->state.compare_exchange_strong(expected, Record::kNotified,
                                             std::memory_order_acq_rel)) {
    return 1;  // the application already abandoned this request
  }
  return record->session->ready->try_push(record->session) ? 1 : 0;
}

struct Totals {
  std::atomic<std::uint64_t> accepted{0}, refused{0}, failed{0}, cancelled{0}, completed_ok{0},
      completed_err{0};
  std::atomic<std::uint64_t> callbacks{0}, duplicated{0};
};

void application(const Options& options, unsigned index, pn::Runtime& runtime, Totals& totals,
                 const std::atomic<bool>& stop) {
  std::mt19937_64 rng(options.seed * 7919 + index);
  std::uniform_real_distribution<double> unit(0, 1);
  pn::ReadyQueue<Session*> ready(options.sessions);
  std::vector<Session> sessions(options.sessions);
  std::uint64_t accepted = 0, refused = 0, failed = 0, cancelled = 0, ok = 0, errors = 0;
  std::uint64_t callbacks = 0, duplicated = 0;
  // Folds an ended request into the totals and makes the entry ready for the next one.
  const auto fold = [&](Record& record) {
    const int count = record.callbacks.exchange(0, std::memory_order_relaxed);
    callbacks += static_cast<std::uint64_t>(count);
    duplicated += count > 1 ? static_cast<std::uint64_t>(count - 1) : 0;
    record.state.store(Record::kPending,
                       std::memory_order_relaxed);  // published by the next submit
  };
  std::vector<Session*> to_submit;
  for (Session& session : sessions) {
    session.ready = &ready;
    session.record.session = &session;
    to_submit.push_back(&session);
  }
  const auto submit = [&](Session& session) {
    for (;;) {
      if (session.ctx == nullptr) {
        session.ctx = pn::WaitCtx::create();
        session.ctx->set_callback(on_complete, &session.record);
      }
      const pn::SubmitResult result = runtime.submit(*session.ctx);
      if (result == pn::SubmitResult::kRetry) {
        ++refused;
        std::this_thread::yield();
        continue;
      }
      if (result == pn::SubmitResult::kFailed) {
        ++failed;
        continue;
      }
      ++accepted;
      int expected = Record::kPending;
      if (unit(rng) < options.free_rate &&
          session.record.state.compare_exchange_strong(expected, Record::kAbandoned,
                                                       std::memory_order_acq_rel)) {
        pn::WaitCtx::destroy(session.ctx);  // with its request in flight
        session.ctx = nullptr;
        ++cancelled;
        fold(session.record);
        continue;  // the session goes on with a fresh context
      }
      return;
    }
  };
  std::uint64_t per_thread_budget =
      options.requests ? options.requests / options.threads : ~std::uint64_t{0};
  while (!stop.load(std::memory_order_relaxed) &&
         accepted < per_thread_budget) {  // relaxed: a stop flag
    for (Session* session : to_submit) submit(*session);
    to_submit.clear();
    Session* done = nullptr;
    if (!ready.pop_wait(done, std::chrono::seconds(10))) {
      std::fprintf(stderr, "pollnotify-soak: no completion for 10 s\n");
      break;
    }
    do {
      (done->ctx->status() == PN_ASYNC_STATUS_OK ? ok : errors) += 1;
      fold(done->record);
      to_submit.push_back(done);
    } while (ready.try_pop(done));
  }
  // Drain: wait for the completions of every request still waited for.
  std::size_t outstanding = sessions.size() - to_submit.size();
  while (outstanding != 0) {
    Session* done = nullptr;
    if (!ready.pop_wait(done, std::chrono::seconds(10))) break;
    (done->ctx->status() == PN_ASYNC_STATUS_OK ? ok : errors) += 1;
    fold(done->record);
    --outstanding;
  }
  for (Session& session : sessions) {
    pn::WaitCtx::destroy(session.ctx);
    fold(session.record);  // a callback after its completion was folded shows up here
  }
  // Relaxed: the totals are read after the joins.
  totals.callbacks.fetch_add(callbacks, std::memory_order_relaxed);
  totals.duplicated.fetch_add(duplicated, std::memory_order_relaxed);
  totals.accepted.fetch_add(accepted, std::memory_order_relaxed);
  totals.refused.fetch_add(refused, std::memory_order_relaxed);
  totals.failed.fetch_add(failed, std::memory_order_relaxed);
  totals.cancelled.fetch_add(cancelled, std::memory_order_relaxed);
  totals.completed_ok.fetch_add(ok, std::memory_order_relaxed);
  totals.completed_err.fetch_add(errors, std::memory_order_relaxed);
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help") return false;
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    char* end = nullptr;
    if (flag == "--duration")
      options.duration_s = std::strtod(value, &end);
    else if (flag == "--requests")
      options.requests = std::strtoull(value, &end, 10);
    else if (flag == "--pollers")
      options.pollers = static_cast<unsigned>(std::strtoul(value, &end, 10));
    else if (flag == "--threads")
      options.threads = static_cast<unsigned>(std::strtoul(value, &end, 10));
    else if (flag == "--sessions")
      options.sessions = static_cast<unsigned>(std::strtoul(value, &end, 10));
    else if (flag == "--latency") {
      options.latency = value;
      end = const_cast<char*>(value) + std::strlen(value);
    } else if (flag == "--error-rate")
      options.error_rate = std::strtod(value, &end);
    else if (flag == "--refuse-rate")
      options.refuse_rate = std::strtod(value, &end);
    else if (flag == "--free-rate")
      options.free_rate = std::strtod(value, &end);
    else if (flag == "--seed")
      options.seed = std::strtoull(value, &end, 10);
    else
      return false;
    if (end == nullptr || *end != '\0') return false;
  }
  return options.pollers > 0 && options.threads > 0 && options.sessions > 0 &&
         options.duration_s > 0 && options.free_rate >= 0 && options.free_rate <= 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: pollnotify-soak [--duration S] [--requests N] [--pollers N] [--threads N] "
                 "[--sessions N]\n"
                 "                       [--latency SPEC] [--error-rate R] [--refuse-rate R] "
                 "[--free-rate R] [--seed N]\n");
    return 2;
  }
  pn::RuntimeOptions runtime_options;
  runtime_options.pollers = options.pollers;
  runtime_options.poller.policy = pn::PollPolicy::kAdaptive;
  pn::DeviceInstanceOptions instance;
  try {
    instance.latency = pn::LatencyModel::parse(options.latency);
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "pollnotify-soak: %s\n", error.what());
    return 2;
  }
  instance.capacity = 256;
  instance.error_rate = options.error_rate;
  instance.refuse_rate = options.refuse_rate;
  runtime_options.device.instances.assign(options.pollers * 2, instance);
  runtime_options.device.seed = options.seed;

  Totals totals;
  pn::RuntimeStats stats;
  {
    pn::Runtime runtime(runtime_options);
    runtime.start();
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < options.threads; ++t) {
      threads.emplace_back(application, std::cref(options), t, std::ref(runtime), std::ref(totals),
                           std::cref(stop));
    }
    if (options.requests == 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(options.duration_s));
      stop.store(true, std::memory_order_relaxed);
    }
    for (auto& thread : threads) thread.join();
    runtime.stop();
    stats = runtime.stats();
  }
  const std::uint64_t callbacks = totals.callbacks.load(std::memory_order_relaxed);
  const std::uint64_t duplicated = totals.duplicated.load(std::memory_order_relaxed);
  const std::uint64_t accepted = totals.accepted.load(std::memory_order_relaxed);
  // Each accepted request ends exactly once: its callback ran, or the poller found it stale.
  const std::uint64_t ended = callbacks - duplicated + stats.total.stale;
  const std::uint64_t lost = accepted > ended ? accepted - ended : 0;
  std::printf(
      "requests=%llu completed=%llu errors=%llu cancelled=%llu refused=%llu lost=%llu "
      "duplicated=%llu\n",
      static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(totals.completed_ok.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(totals.completed_err.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(totals.cancelled.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(totals.refused.load(std::memory_order_relaxed)),
      static_cast<unsigned long long>(lost),
      static_cast<unsigned long long>(duplicated + (ended > accepted ? ended - accepted : 0)));
  return lost == 0 && duplicated == 0 && ended == accepted ? 0 : 1;
}
