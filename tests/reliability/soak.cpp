// pollnotify-soak: the end-to-end workload with random faults, contexts freed at random moments
// and several pollers, for a duration or a request count. Every request is in a ledger; the run
// ends with one line:
//   requests=N completed=N errors=N cancelled=N refused=N lost=N duplicated=N
// and exits 1 if anything was lost or duplicated. Run it under ASan to prove no completion
// touches freed state.
#include <getopt.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"  // benchmarks/tool: strict command-line numbers
#include "pollnotify/mpsc_queue.hpp"
#include "pollnotify/sim_runtime.hpp"

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
  double progress_s = 10;
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
  pn::MpscQueue<Session*>* ready = nullptr;
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
  std::atomic<std::uint64_t> progress{0};     // requests ended so far (progress lines)
  std::atomic<unsigned> finished_threads{0};  // application threads done
  std::atomic<bool> stalled{false};           // a thread saw no completion for 10 s
};

void application(const Options& options, unsigned index, pn::SimRuntime& runtime, Totals& totals,
                 const std::atomic<bool>& stop) {
  std::mt19937_64 rng(options.seed * 7919 + index);
  std::uniform_real_distribution<double> unit(0, 1);
  pn::MpscQueue<Session*> ready(options.sessions);
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
      totals.stalled.store(true, std::memory_order_relaxed);  // relaxed: read after the joins
      break;
    }
    std::uint64_t ended = 0;
    do {
      (done->ctx->status() == PN_ASYNC_STATUS_OK ? ok : errors) += 1;
      fold(done->record);
      to_submit.push_back(done);
      ++ended;
    } while (ready.try_pop(done));
    totals.progress.fetch_add(ended, std::memory_order_relaxed);  // relaxed: progress report
  }
  // Drain: wait for the completions of every request still waited for (not after a stall: the
  // runtime's bounded stop and teardown end them).
  std::size_t outstanding =
      totals.stalled.load(std::memory_order_relaxed) ? 0 : sessions.size() - to_submit.size();
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
  // TOT-R1: publishes this thread's totals to the main thread's TOT-A1 (join does too).
  totals.finished_threads.fetch_add(1, std::memory_order_release);
}

// Waits for the application threads, printing a progress line every options.progress_s.
void wait_for_threads(const Options& options, const Totals& totals, std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto next_progress = start + std::chrono::duration<double>(options.progress_s);
  // TOT-A1: pairs with TOT-R1.
  while (totals.finished_threads.load(std::memory_order_acquire) < options.threads) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (options.requests == 0 && elapsed >= options.duration_s) {
      stop.store(true, std::memory_order_relaxed);  // relaxed: a stop flag
    }
    if (options.progress_s > 0 && now >= next_progress) {
      std::fprintf(stderr, "pollnotify-soak: %.0f s, %llu requests ended\n", elapsed,
                   static_cast<unsigned long long>(
                       totals.progress.load(std::memory_order_relaxed)));  // relaxed: a report
      next_progress += std::chrono::duration<double>(options.progress_s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a timer, not a handshake
  }
}

int run(const Options& options) {
  pn::SimRuntimeOptions runtime_options;
  runtime_options.pollers = options.pollers;
  runtime_options.poller.policy = pn::PollPolicy::kAdaptive;
  runtime_options.stop_timeout = std::chrono::seconds(5);  // then the teardown cancels (ERR)
  pn::DeviceInstanceOptions instance;
  instance.latency = pn::LatencyModel::parse(options.latency);
  instance.capacity = 256;
  instance.error_rate = options.error_rate;
  instance.refuse_rate = options.refuse_rate;
  runtime_options.device.instances.assign(options.pollers * 2, instance);
  runtime_options.device.seed = options.seed;

  Totals totals;
  pn::RuntimeStats stats;
  {
    pn::SimRuntime runtime(runtime_options);
    runtime.start();
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < options.threads; ++t) {
      threads.emplace_back(application, std::cref(options), t, std::ref(runtime), std::ref(totals),
                           std::cref(stop));
    }
    wait_for_threads(options, totals, stop);
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
  const bool stalled = totals.stalled.load(std::memory_order_relaxed);
  return !stalled && lost == 0 && duplicated == 0 && ended == accepted ? 0 : 1;
}

constexpr const char* kUsage = R"(usage: pollnotify-soak [OPTION]...
Runs the end-to-end workload with random faults and frees until the duration or request count is
reached, then prints one line (requests=N completed=N errors=N cancelled=N refused=N lost=N
duplicated=N). Options take their value as --name=VALUE or --name VALUE.

  --duration S      seconds to run, 0.001 .. 86400 (default 10); ignored with --requests
  --requests N      stop after N accepted requests, 1 .. 10^12 (default: by duration)
  --pollers N       poller threads, 1 .. 256 (default 2)
  --threads N       application threads, 1 .. 64 (default 2)
  --sessions N      wait contexts per application thread, 1 .. 65536 (default 32)
  --latency SPEC    device latency model (default exp:3000): zero, fixed:NS, uniform:MIN:MAX,
                    exp:MEAN, lognormal:MEAN:SIGMA, trace:FILE
  --error-rate R    fraction of completions with ERR, [0, 1] (default 0.01)
  --refuse-rate R   fraction of submissions refused with EAGAIN, [0, 1) (default 0.01)
  --free-rate R     fraction of contexts freed with a request in flight, [0, 1] (default 0.05)
  --seed N          random seed, 0 .. 2^64-1 (default 1)
  --progress S      a progress line on stderr every S seconds, 0 .. 3600 (default 10; 0: none)
  --help            this text

Exit status: 0 every request ended exactly once; 1 something was lost or duplicated (or no
completion came for 10 s); 2 bad command line or options; 3 standard output could not be written.
)";

// Applies one option's value; an error message names the option and the bad value.
std::optional<pn::tools::CliError> apply(const std::string& name, const char* value,
                                         Options& options) {
  using pn::tools::parse_real;
  using pn::tools::parse_whole;
  const std::string option = "--" + name;
  std::uint64_t whole = 0;
  std::optional<pn::tools::CliError> error;
  if (name == "duration") return parse_real(option, value, 1e-3, 86'400, options.duration_s);
  if (name == "requests") {
    error = parse_whole(option, value, 1, 1'000'000'000'000ULL, options.requests);
  } else if (name == "pollers") {
    error = parse_whole(option, value, 1, pn::Runtime::kMaxPollers, whole);
    options.pollers = static_cast<unsigned>(whole);
  } else if (name == "threads") {
    error = parse_whole(option, value, 1, 64, whole);
    options.threads = static_cast<unsigned>(whole);
  } else if (name == "sessions") {
    error = parse_whole(option, value, 1, 65'536, whole);
    options.sessions = static_cast<unsigned>(whole);
  } else if (name == "latency") {
    options.latency = value;
    try {
      (void)pn::LatencyModel::parse(options.latency);
    } catch (const std::invalid_argument& bad) {
      return pn::tools::CliError{option + ": " + bad.what()};
    }
  } else if (name == "error-rate") {
    return parse_real(option, value, 0, 1, options.error_rate);
  } else if (name == "refuse-rate") {
    // 1 would refuse every submission: the soak would spin without ever submitting.
    error = parse_real(option, value, 0, 0.99, options.refuse_rate);
  } else if (name == "free-rate") {
    return parse_real(option, value, 0, 1, options.free_rate);
  } else if (name == "seed") {
    error = parse_whole(option, value, 0, ~std::uint64_t{0}, options.seed);
  } else if (name == "progress") {
    error = parse_real(option, value, 0, 3600, options.progress_s);
  }
  return error;
}

pn::tools::Parsed parse(int argc, char** argv, Options& options, std::string& message) {
  static const option kOptions[] = {{"duration", required_argument, nullptr, 0},
                                    {"requests", required_argument, nullptr, 0},
                                    {"pollers", required_argument, nullptr, 0},
                                    {"threads", required_argument, nullptr, 0},
                                    {"sessions", required_argument, nullptr, 0},
                                    {"latency", required_argument, nullptr, 0},
                                    {"error-rate", required_argument, nullptr, 0},
                                    {"refuse-rate", required_argument, nullptr, 0},
                                    {"free-rate", required_argument, nullptr, 0},
                                    {"seed", required_argument, nullptr, 0},
                                    {"progress", required_argument, nullptr, 0},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  std::vector<std::string> positional;
  const pn::tools::Parsed parsed = pn::tools::parse_long_options(
      argc, argv, kOptions,
      [&](const std::string& name, const char* value) { return apply(name, value, options); },
      positional, message);
  if (parsed == pn::tools::Parsed::kRun && !positional.empty()) {
    message = "unexpected argument '" + positional.front() + "'";
    return pn::tools::Parsed::kError;
  }
  return parsed;
}

}  // namespace

int run_command_line(int argc, char** argv) {
  Options options;
  std::string message;
  switch (parse(argc, argv, options, message)) {
    case pn::tools::Parsed::kHelp:
      std::fputs(kUsage, stdout);
      return 0;
    case pn::tools::Parsed::kError:
      std::fprintf(stderr, "pollnotify-soak: %s (see --help)\n", message.c_str());
      return 2;
    case pn::tools::Parsed::kRun:
      break;
  }
  try {
    return run(options);
  } catch (const std::exception& error) {  // options the runtime refused, or out of resources
    std::fprintf(stderr, "pollnotify-soak: %s\n", error.what());
    return 2;
  }
}

int main(int argc, char** argv) {
  const int status = run_command_line(argc, argv);
  if (!pn::tools::flush_stdout("pollnotify-soak")) return 3;
  return status;
}
