// How the provider's operations reach the device and wait for it: inside an OpenSSL async job a
// request pauses the job, and the pollnotify poller thread then notifies the job's ASYNC_WAIT_CTX
//   callback mode (the application set a callback): status OK, then the callback, as hardware
//     engines do from their poll thread;
//   fd mode: an eventfd registered once per ASYNC_WAIT_CTX (set_wait_fd, cleanup closes it) is
//     made readable; the job drains it when resumed;
//   device full: status EAGAIN (callback mode) or a self-signalled fd (fd mode), pause, retry,
//     at most kMaxRetries times.
// Outside a job the caller waits for the completion synchronously.
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "pollnotify/internal/cpu.hpp"
#include "provider.hpp"

namespace pn::provider {

namespace {

constexpr auto kSynchronousWatch = std::chrono::microseconds(50);
const int kFdKey = 0;  // the key this provider registers its eventfd under in an ASYNC_WAIT_CTX

void close_eventfd(ASYNC_WAIT_CTX*, const void*, OSSL_ASYNC_FD fd, void*) { ::close(fd); }

// Notifies libcrypto's wait context (or a synchronous caller) of a published completion.
int notify(Offload& offload) {
  ASYNC_WAIT_CTX* waitctx = offload.waitctx;
  if (waitctx == nullptr) {
    offload.phase.notify_one();  // a synchronous caller waits on `phase`
    return 1;
  }
  if (offload.fd >= 0) {
    const std::uint64_t one = 1;
    return ::write(offload.fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one) ? 1 : 0;
  }
  ASYNC_callback_fn callback = nullptr;
  void* callback_arg = nullptr;
  if (ASYNC_WAIT_CTX_get_callback(waitctx, &callback, &callback_arg) != 1) return 0;
  ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_OK);
  return callback(callback_arg);
}

// Runs on the pollnotify poller thread: forward the completion to libcrypto's ASYNC_WAIT_CTX.
int on_device_completion(void* raw, const PN_COMPLETION* completion) {
  auto* offload = static_cast<Offload*>(raw);
  offload->result = completion->result;
  if (offload->waitctx != nullptr) {
    offload->provider->counters_of(offload->op).delivered.fetch_add(1, std::memory_order_relaxed);
  }
  // PROV-R1: publishes the operation's output and result to the job; pairs with PROV-A1.
  offload->phase.store(Offload::kCompleted, std::memory_order_release);
  if (const std::uint32_t delay = offload->provider->test_notify_delay_us; delay != 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
  }
  const int notified = notify(*offload);
  // PROV-R2: the poller is done with libcrypto's wait context and with `offload`; pairs with
  // PROV-A2. Nothing of either is touched after this store.
  offload->phase.store(Offload::kNotified, std::memory_order_release);
  return notified;
}

// The second phase of the hand-off: the notification is under way (it is a write or a small
// nonblocking callback), so wait for it without pausing: nothing would resume the job again.
void wait_until_notified(const Offload& offload) {
  for (unsigned spins = 0;
       // PROV-A2: pairs with PROV-R2
       offload.phase.load(std::memory_order_acquire) != Offload::kNotified; ++spins) {
    if (spins < 64) {
      internal::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

int eventfd_for(ASYNC_WAIT_CTX* waitctx) {
  OSSL_ASYNC_FD fd = -1;
  void* custom = nullptr;
  if (ASYNC_WAIT_CTX_get_fd(waitctx, &kFdKey, &fd, &custom) == 1) return fd;
  fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return -1;
  if (ASYNC_WAIT_CTX_set_wait_fd(waitctx, &kFdKey, fd, nullptr, close_eventfd) != 1) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void drain_eventfd(int fd) {
  std::uint64_t count = 0;
  (void)::read(fd, &count, sizeof count);
}

void run_while_in_flight(const Offload& offload) {
  if (offload.while_in_flight != nullptr) offload.while_in_flight(offload.while_in_flight_arg);
}

int complete_synchronously(Offload& offload, Runtime& runtime, SubmitFn submit, void* request) {
  offload.waitctx = nullptr;
  offload.fd = -1;
  ClassCounters& counters = offload.provider->counters_of(offload.op);
  SubmitResult result;
  while ((result = submit(runtime, request)) == SubmitResult::kRetry) {
    counters.retries.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::yield();
  }
  if (result != SubmitResult::kAccepted) return 0;
  run_while_in_flight(offload);
  // A fast device completes within microseconds, sooner than a sleeping thread wakes (a futex
  // wake measured ~50 us here): watch for a while before sleeping.
  const auto watch_until = std::chrono::steady_clock::now() + kSynchronousWatch;
  // PROV-A1: pairs with PROV-R1 (here, the wait below, and the job's loop in complete_in_job)
  for (unsigned spins = 1; offload.phase.load(std::memory_order_acquire) == Offload::kPending;
       ++spins) {
    internal::cpu_relax();
    if (spins % 64 == 0 && std::chrono::steady_clock::now() >= watch_until) {
      offload.phase.wait(Offload::kPending, std::memory_order_acquire);  // PROV-A1
      break;
    }
  }
  wait_until_notified(offload);
  return offload.device_ctx->status() == PN_ASYNC_STATUS_OK ? 1 : 0;
}

int complete_in_job(Offload& offload, Runtime& runtime, SubmitFn submit, void* request,
                    ASYNC_JOB* job);

// Provider::test_self_notify: the job computes, notifies itself and pauses once (dasync's way).
int notify_self_and_pause(Offload& offload, bool callback_mode) {
  ClassCounters& counters = offload.provider->counters_of(offload.op);
  run_while_in_flight(offload);
  if (callback_mode) {
    ASYNC_callback_fn callback = nullptr;
    void* callback_arg = nullptr;
    ASYNC_WAIT_CTX_get_callback(offload.waitctx, &callback, &callback_arg);
    ASYNC_WAIT_CTX_set_status(offload.waitctx, ASYNC_STATUS_OK);
    if (callback(callback_arg) != 1) return 0;
  } else {
    const std::uint64_t one = 1;
    if (::write(offload.fd, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) return 0;
  }
  counters.pauses.fetch_add(1, std::memory_order_relaxed);
  ASYNC_pause_job();
  if (!callback_mode) drain_eventfd(offload.fd);
  return 1;
}

}  // namespace

void complete_failed(Offload& offload) {
  PN_COMPLETION failed{};
  failed.status = PN_ASYNC_STATUS_ERR;
  failed.result = -1;
  offload.device_ctx->set_status(AsyncStatus::kErr);
  (void)on_device_completion(&offload, &failed);
}

bool Offload::open(Provider* owner, OpClass op_class) {
  provider = owner;
  op = op_class;
  device_ctx.reset(WaitCtx::create());
  if (!device_ctx) return false;
  device_ctx->set_completion_callback(on_device_completion, this);
  return true;
}

int complete_through_device(Offload& offload, SubmitFn submit, void* request) {
  ClassCounters& counters = offload.provider->counters_of(offload.op);
  counters.operations.fetch_add(1, std::memory_order_relaxed);
  counters.offloaded.fetch_add(1, std::memory_order_relaxed);
  Runtime* runtime = offload.provider->get_runtime();
  int done = 0;
  if (runtime != nullptr) {
    offload.phase.store(Offload::kPending, std::memory_order_relaxed);  // published by the submit
    offload.result = 0;
    ASYNC_JOB* job = ASYNC_get_current_job();
    done = job == nullptr ? complete_synchronously(offload, *runtime, submit, request)
                          : complete_in_job(offload, *runtime, submit, request, job);
  }
  if (done != 1) counters.errors.fetch_add(1, std::memory_order_relaxed);
  return done;
}

namespace {

int complete_in_job(Offload& offload, Runtime& runtime, SubmitFn submit, void* request,
                    ASYNC_JOB* job) {
  ClassCounters& counters = offload.provider->counters_of(offload.op);
  counters.in_jobs.fetch_add(1, std::memory_order_relaxed);
  ASYNC_WAIT_CTX* waitctx = ASYNC_get_wait_ctx(job);
  if (waitctx == nullptr) return 0;
  ASYNC_callback_fn callback = nullptr;
  void* callback_arg = nullptr;
  const bool callback_mode = ASYNC_WAIT_CTX_get_callback(waitctx, &callback, &callback_arg) == 1;
  offload.waitctx = waitctx;
  offload.fd = callback_mode ? -1 : eventfd_for(waitctx);
  if (!callback_mode && offload.fd < 0) return 0;
  // Workers and drivers compute elsewhere: only the caller's computing can notify itself.
  if (offload.provider->test_self_notify && offload.while_in_flight != nullptr) {
    return notify_self_and_pause(offload, callback_mode);
  }
  for (unsigned retries = 0;; ++retries) {
    const SubmitResult result = submit(runtime, request);
    if (result == SubmitResult::kAccepted) {
      if (callback_mode) ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_OK);
      break;
    }
    if (result == SubmitResult::kFailed || retries == kMaxSubmitRetries) {
      if (callback_mode) ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_ERR);
      return 0;
    }
    // Device full: have the application resume us soon, then retry.
    counters.retries.fetch_add(1, std::memory_order_relaxed);
    counters.pauses.fetch_add(1, std::memory_order_relaxed);
    if (callback_mode) {
      ASYNC_WAIT_CTX_set_status(waitctx, ASYNC_STATUS_EAGAIN);
    } else {
      const std::uint64_t one = 1;
      if (::write(offload.fd, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) return 0;
    }
    ASYNC_pause_job();
    if (!callback_mode) drain_eventfd(offload.fd);
  }
  run_while_in_flight(offload);
  // Pause at least once even if the completion already arrived: its notification (callback or
  // fd) is on its way to the application, which will resume the job exactly once for it. Resumed
  // before the completion (an application may resume early): pause again.
  do {
    counters.pauses.fetch_add(1, std::memory_order_relaxed);
    ASYNC_pause_job();
  } while (offload.phase.load(std::memory_order_acquire) == Offload::kPending);  // PROV-A1
  wait_until_notified(offload);                   // the poller is done with `waitctx` and its fd
  if (!callback_mode) drain_eventfd(offload.fd);  // consume the notification
  counters.collected.fetch_add(1, std::memory_order_relaxed);
  return offload.device_ctx->status() == PN_ASYNC_STATUS_OK ? 1 : 0;
}

}  // namespace

}  // namespace pn::provider
