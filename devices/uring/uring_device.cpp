#include "pollnotify/uring_device.hpp"

#include <liburing.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/device_counters.hpp"
#include "pollnotify/internal/submission_channels.hpp"

namespace pn {
namespace {

enum class Op : std::uint8_t { kNop, kRead, kWrite, kRecv, kSend, kTimeout };

// A request as submitters queue it: everything the poller needs to fill an SQE.
struct Request {
  WaitCtx* ctx = nullptr;
  RequestTicket ticket{};
  std::uint64_t user_data = 0;
  Op op = Op::kNop;
  int fd = -1;
  int flags = 0;
  void* buffer = nullptr;
  unsigned length = 0;
  std::uint64_t offset = 0;   // kTimeout: nanoseconds
  std::uint32_t channel = 0;  // the submitting thread's channel (set by admit)
};

// A request the kernel holds: its SQE's user_data is the slot's index.
struct Slot {
  Request request;
  __kernel_timespec timeout{};  // kTimeout: read by the kernel while the request is in flight
};

constexpr unsigned kMaxEntries = 4096;
constexpr unsigned kMaxReadSize = 1U << 20;
constexpr std::uint64_t kMaxTimeoutNs = 3'600'000'000'000ULL;
constexpr unsigned kBurst = 64;
// How long teardown waits for the kernel to give back what it holds after the cancel.
constexpr std::chrono::seconds kTeardownLimit{10};
// While requests are in the kernel, an adaptive poller parks this long, then longer while
// nothing arrives (PollerOptions::max_source_park): the CQ has no wakeup without an eventfd,
// which this device does not use.
constexpr std::uint64_t kParkBoundNs = Poller::kShortestParkNs;

std::string describe_setup_error(int error) {
  std::string text = "io_uring_queue_init failed: " + std::string(std::strerror(error));
  if (error == EPERM) {
    text +=
        " (io_uring is disabled for this process: see the kernel.io_uring_disabled sysctl, "
        "or a seccomp filter)";
  } else if (error == ENOSYS) {
    text += " (this kernel has no io_uring, or a seccomp filter hides it)";
  } else if (error == ENOMEM) {
    text += " (RLIMIT_MEMLOCK too low for the rings?)";
  }
  return text;
}

using internal::DeviceCounters;

pid_t this_thread_id() noexcept {
  static thread_local const auto id = static_cast<pid_t>(::syscall(SYS_gettid));
  return id;
}

}  // namespace

struct UringDevice::Impl final : PollSource, internal::SubmissionChannels<Request> {
  Impl(Poller& bound_poller, const UringOptions& device_options)
      : SubmissionChannels(&bound_poller, device_options.max_in_flight),
        options(device_options),
        poller(bound_poller),
        slots(device_options.max_in_flight) {
    io_uring_params params{};
    if (options.sqpoll) {
      params.flags |= IORING_SETUP_SQPOLL;
      params.sq_thread_idle = options.sqpoll_idle_ms;
      if (options.sqpoll_cpu >= 0) {
        params.flags |= IORING_SETUP_SQ_AFF;
        params.sq_thread_cpu = static_cast<unsigned>(options.sqpoll_cpu);
      }
    }
    params.flags |= IORING_SETUP_CQSIZE;
    params.cq_entries = options.entries * 2;
    int error = -EINVAL;
    if (options.single_issuer) {
      // Disabled until the issuer's first poll enables it: the issuer is that thread.
      io_uring_params single = params;
      single.flags |=
          IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
      error = io_uring_queue_init_params(options.entries, &ring, &single);
      if (error == 0) {
        single_issuer = true;
      } else {
        fallback_reason = "IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN refused (" +
                          std::string(std::strerror(-error)) +
                          "; kernel 6.1 or later): a plain ring instead";
      }
    }
    if (!single_issuer) error = io_uring_queue_init_params(options.entries, &ring, &params);
    if (error < 0)
      throw std::system_error(-error, std::generic_category(), describe_setup_error(-error));
    free_slots.reserve(slots.size());
    for (std::size_t i = slots.size(); i > 0; --i)
      free_slots.push_back(static_cast<unsigned>(i - 1));
    if (options.default_op == UringDefaultOp::kRead) {
      read_buffers.resize(static_cast<std::size_t>(options.default_read_size) * slots.size());
    }
  }

  ~Impl() override {
    if (!abandoned_to_kernel) io_uring_queue_exit(&ring);
  }

  // --- the poller thread ---

  // Moves queued requests into SQEs while slots and SQEs last; returns how many.
  unsigned fill_sqes() noexcept {
    // The SQ's room is read once (the kernel's head is a shared line); requests are taken
    // straight into their slots.
    const unsigned room = io_uring_sq_space_left(&ring);
    unsigned filled = 0;
    while (filled < room && !free_slots.empty()) {
      const unsigned index = free_slots.back();
      Slot& slot = slots[index];
      if (!try_pop(slot.request)) break;
      free_slots.pop_back();
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);  // within the room read above
      prepare(*sqe, slot, index);
      io_uring_sqe_set_data64(sqe, index);
      ++filled;
    }
    return filled;
  }

  void prepare(io_uring_sqe& sqe, Slot& slot, unsigned index) noexcept {
    Request& r = slot.request;
    switch (r.op) {
      case Op::kNop:
        io_uring_prep_nop(&sqe);
        break;
      case Op::kRead:
        if (r.buffer == nullptr) {  // the default read: a buffer of the device's own
          r.buffer =
              read_buffers.data() + static_cast<std::size_t>(index) * options.default_read_size;
        }
        io_uring_prep_read(&sqe, r.fd, r.buffer, r.length, r.offset);
        break;
      case Op::kWrite:
        io_uring_prep_write(&sqe, r.fd, r.buffer, r.length, r.offset);
        break;
      case Op::kRecv:
        io_uring_prep_recv(&sqe, r.fd, r.buffer, r.length, r.flags);
        break;
      case Op::kSend:
        io_uring_prep_send(&sqe, r.fd, r.buffer, r.length, r.flags);
        break;
      case Op::kTimeout:
        slot.timeout.tv_sec = static_cast<long long>(r.offset / 1'000'000'000ULL);
        slot.timeout.tv_nsec = static_cast<long long>(r.offset % 1'000'000'000ULL);
        io_uring_prep_timeout(&sqe, &slot.timeout, 0, 0);
        break;
    }
  }

  // Completes up to a burst of CQEs into the ring; returns how many.
  std::size_t reap() noexcept {
    io_uring_cqe* cqes[kBurst];
    const unsigned seen = io_uring_peek_batch_cqe(&ring, cqes, kBurst);
    if (seen == 0) return 0;
    batch.clear();
    for (unsigned i = 0; i < seen; ++i) batch.push_back(completion_of(*cqes[i]));
    const std::size_t pushed = ring_out->try_push_burst(batch);
    // A full ring keeps the rest in the CQ for the next poll.
    for (std::size_t i = 0; i < pushed; ++i) {
      const auto index = static_cast<unsigned>(cqes[i]->user_data);
      give_back(slots[index].request.channel);
      release_slot(index);
    }
    io_uring_cq_advance(&ring, static_cast<unsigned>(pushed));
    left_the_device(pushed);
    return pushed;
  }

  Completion completion_of(const io_uring_cqe& cqe) noexcept {
    const Request& r = slots[static_cast<std::size_t>(cqe.user_data)].request;
    // A timeout that expires reports -ETIME: that is its success.
    const bool ok = cqe.res >= 0 || (r.op == Op::kTimeout && cqe.res == -ETIME);
    return Completion{r.ctx, r.user_data, r.ticket, ok ? PN_ASYNC_STATUS_OK : PN_ASYNC_STATUS_ERR,
                      ok && r.op == Op::kTimeout ? 0 : cqe.res};
  }

  void release_slot(unsigned index) noexcept { free_slots.push_back(index); }

  // The first `count` of the batch went into the ring.
  void left_the_device(std::size_t count) noexcept {
    count_completed(batch.data(), count);
    in_kernel -= count;
  }

  // Hands the SQEs filled and not yet taken by the kernel to it. A failed io_uring_enter leaves
  // them in the SQ: the next poll submits them again.
  void submit_ready() noexcept {
    if (io_uring_sq_ready(&ring) == 0) return;
    // With SQPOLL this enters the kernel only to wake an idle SQ thread.
    const int submitted_now =
        failing_submits != 0 ? (--failing_submits, -EAGAIN) : io_uring_submit(&ring);
    if (submitted_now < 0) submit_errors.fetch_add(1, std::memory_order_relaxed);
  }

  std::size_t poll() override {
    if (single_issuer && !on_the_issuer()) return refuse_foreign_poll();
    if (drain_requested.load(std::memory_order_acquire)) {  // URD-A1: pairs with URD-R1
      drain_on_the_issuer();
      return 0;
    }
    const unsigned filled = fill_sqes();
    in_kernel += filled;
    submit_ready();
    if (in_kernel == 0) return filled;
    const std::size_t reaped = reap();
    // Deferred task work: completions are posted when the issuer asks for them.
    if (reaped == 0 && single_issuer && io_uring_get_events(&ring) == 0) return reap() + filled;
    return reaped + filled;
  }

  // --- single issuer ---

  // The first poll makes its thread the issuer: it enables the ring and registers its fd.
  bool on_the_issuer() noexcept {
    const pid_t self = this_thread_id();
    const pid_t known = issuer.load(std::memory_order_relaxed);  // a value, ordering nothing
    if (known != 0) return known == self;
    issuer.store(self, std::memory_order_relaxed);
    const int enabled = static_cast<int>(
        ::syscall(__NR_io_uring_register, ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0));
    if (enabled < 0) return false;  // cannot happen for a ring set up disabled
    ring_fd_registered = io_uring_register_ring_fd(&ring) == 1;
    return true;
  }

  // A poll on a thread other than the issuer: the kernel would refuse its io_uring_enter
  // (-EEXIST), so what waits in the channels ends with ERR rather than never.
  std::size_t refuse_foreign_poll() noexcept {
    if (!foreign_poll_reported) {
      foreign_poll_reported = true;
      std::fprintf(stderr,
                   "pollnotify: UringDevice (single_issuer) polled from a thread other than its "
                   "issuer: its requests end with ERR (-EEXIST)\n");
    }
    Request request;
    std::size_t ended = 0;
    while (try_pop(request)) {
      end_with_err(request, -EEXIST);
      ++ended;
    }
    return ended;
  }

  // Teardown asked by another thread while the poller runs: cancel and reap here, where the
  // kernel accepts it, then say so.
  void drain_on_the_issuer() noexcept {
    left_in_kernel = drain();
    drain_requested.store(false, std::memory_order_relaxed);
    drain_done.store(true, std::memory_order_release);  // URD-R2: pairs with URD-A2
  }

  std::uint64_t pending_ns() override {
    if (has_queued_after_park_barrier() || drain_requested.load(std::memory_order_relaxed))
      return 1;
    return in_kernel != 0 ? kParkBoundNs : 0;  // a failed submit is retried after this too
  }

  // Ends a request with ERR on the owner's thread (the poller has stopped and drained its rings):
  // one that never reached the kernel, or whose CQE teardown reaped.
  void end_with_err(const Request& request, std::int32_t result) noexcept {
    Completion completion{request.ctx, request.user_data, request.ticket, PN_ASYNC_STATUS_ERR,
                          result};
    try {
      (void)completion.ctx->deliver(completion);
    } catch (...) {  // a C++ callback threw: the ticket is released; nothing else to do
    }
    count_completed(&completion, 1);
    give_back(request.channel);
  }

  // Teardown, with the poller stopped: requests still queued never reached the kernel and end at
  // once; what the kernel holds is cancelled, and each CQE delivered with ERR. Bounded: after
  // kTeardownLimit the requests the kernel still holds are left to it (their buffers stay the
  // kernel's, their contexts get no completion) and the ring is not unmapped; returns how many.
  std::size_t drain() noexcept {
    closed.store(true, std::memory_order_relaxed);
    Request request;
    while (try_pop(request)) end_with_err(request, -ECANCELED);
    in_kernel = slots.size() - free_slots.size();
    const auto deadline = std::chrono::steady_clock::now() + kTeardownLimit;
    bool cancel_queued = false;
    while (in_kernel != 0) {
      if (!cancel_queued) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        if (sqe == nullptr) {  // a full SQ: hand it to the kernel first
          submit_ready();
          sqe = io_uring_get_sqe(&ring);
        }
        if (sqe != nullptr) {
          io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);  // implies CANCEL_ALL
          io_uring_sqe_set_data64(sqe, kCancelTag);
          cancel_queued = true;
        }
      }
      submit_ready();  // the cancel, and SQEs a failed submit left behind
      reap_at_teardown();
      if (std::chrono::steady_clock::now() >= deadline) return in_kernel;
    }
    return 0;
  }

  // Teardown on a thread the single-issuer ring refuses, with its issuer gone: what is queued
  // ends with ERR; what the kernel holds cannot be cancelled from here and is left to it.
  std::size_t end_queued_leave_the_kernels() noexcept {
    closed.store(true, std::memory_order_relaxed);
    Request request;
    while (try_pop(request)) end_with_err(request, -ECANCELED);
    return slots.size() - free_slots.size();
  }

  void reap_at_teardown() noexcept {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec wait{0, 50'000'000};
    if (io_uring_wait_cqe_timeout(&ring, &cqe, &wait) != 0 || cqe == nullptr) return;
    if (cqe->user_data != kCancelTag) {
      const auto index = static_cast<unsigned>(cqe->user_data);
      end_with_err(slots[index].request, cqe->res);
      release_slot(index);
      --in_kernel;
    }
    io_uring_cqe_seen(&ring, cqe);
  }

  static constexpr std::uint64_t kCancelTag = ~std::uint64_t{0};

  const UringOptions options;
  Poller& poller;
  io_uring ring{};
  CompletionRing* ring_out = nullptr;

  std::atomic<std::uint64_t> submit_errors{0};
  bool single_issuer = false;  // set up with SINGLE_ISSUER | DEFER_TASKRUN
  std::string fallback_reason;
  std::atomic<pid_t> issuer{0};  // the thread that enabled the ring (its first poller)
  bool ring_fd_registered = false;
  bool foreign_poll_reported = false;
  // Teardown from another thread while the poller runs (single issuer): asked and done flags,
  // with what the drain left to the kernel.
  std::atomic<bool> drain_requested{false};
  std::atomic<bool> drain_done{false};
  std::size_t left_in_kernel = 0;
  unsigned failing_submits = 0;      // tests: the next io_uring_submit calls fail with EAGAIN
  bool abandoned_to_kernel = false;  // teardown left requests to the kernel: keep its ring
  std::atomic<std::uint64_t> default_reads{0};  // rotates the default read's offset

  // Poller thread only.
  alignas(internal::kFalseSharingRange) std::vector<Slot> slots;
  std::vector<unsigned> free_slots;
  std::vector<Completion> batch;
  std::vector<unsigned char> read_buffers;
  std::size_t in_kernel = 0;
};

std::string UringDevice::unavailable_reason() {
  io_uring probe{};
  const int error = io_uring_queue_init(2, &probe, 0);
  if (error < 0) return describe_setup_error(-error);
  io_uring_queue_exit(&probe);
  return "";
}

UringDevice::UringDevice(Poller& poller, const UringOptions& options) {
  if (options.entries == 0 || options.entries > kMaxEntries ||
      (options.entries & (options.entries - 1)) != 0) {
    throw std::invalid_argument("UringDevice: entries must be a power of two in [1, 4096]");
  }
  if (options.max_in_flight == 0 || options.max_in_flight > options.entries) {
    throw std::invalid_argument("UringDevice: max_in_flight must be in [1, entries]");
  }
  if (options.default_op == UringDefaultOp::kRead &&
      (options.default_fd < 0 || options.default_read_size == 0 ||
       options.default_read_size > kMaxReadSize)) {
    throw std::invalid_argument(
        "UringDevice: the default read needs default_fd >= 0 and default_read_size in [1, 1 MiB]");
  }
  if (options.single_issuer && options.sqpoll) {
    throw std::invalid_argument("UringDevice: single_issuer and sqpoll exclude each other");
  }
  if (poller.running()) {
    throw std::invalid_argument("UringDevice: the poller must not have started yet");
  }
  impl_ = std::make_unique<Impl>(poller, options);
  impl_->batch.reserve(kBurst);
  impl_->ring_out = &poller.acquire_ring(std::max<std::size_t>(options.max_in_flight, kBurst));
  try {
    poller.add_source(*impl_);
  } catch (...) {
    poller.release_ring(*impl_->ring_out);
    throw;
  }
}

UringDevice::~UringDevice() {
  Impl& impl = *impl_;
  const pid_t issuer = impl.issuer.load(std::memory_order_relaxed);
  // A single-issuer ring accepts io_uring_enter from its issuer only.
  const bool foreign = impl.single_issuer && issuer != 0 && issuer != this_thread_id();
  bool drained = false;
  std::size_t left = 0;
  if (foreign && impl.poller.running()) {
    // The issuer is the running poller's thread: it drains, this thread waits (bounded).
    impl.drain_requested.store(true, std::memory_order_release);  // URD-R1: pairs with URD-A1
    impl.poller.notify();
    const auto deadline = std::chrono::steady_clock::now() + kTeardownLimit * 2;
    // URD-A2: pairs with URD-R2: what the drain wrote (left_in_kernel, the slots) is visible.
    while (!impl.drain_done.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    drained = impl.drain_done.load(std::memory_order_acquire);  // URD-A2 again
    left = impl.left_in_kernel;
  }
  // A running poller would poll this source while it goes away: stop it first (it delivers what
  // its rings hold).
  if (impl.poller.running()) impl.poller.stop();
  (void)impl.poller.remove_source(impl);
  if (!drained) left = foreign ? impl.end_queued_leave_the_kernels() : impl.drain();
  impl_->poller.release_ring(*impl_->ring_out);  // what it still holds is delivered as usual
  if (left != 0) {
    // Never a hang, never freeing what the kernel holds: report, and leave it the ring.
    impl_->abandoned_to_kernel = true;
    std::fprintf(stderr,
                 "pollnotify: UringDevice teardown: the kernel still holds %zu request(s) after "
                 "%lld s; left to it (their buffers stay the kernel's, their contexts get no "
                 "completion)\n",
                 left, static_cast<long long>(kTeardownLimit.count()));
  }
}

std::uint64_t UringDevice::submit_errors() const noexcept {
  return impl_->submit_errors.load(std::memory_order_relaxed);  // relaxed: a statistic
}

void internal::fail_next_uring_submits(UringDevice& device, unsigned count) noexcept {
  device.impl_->failing_submits = count;  // before the poller starts: published by its start
}

SubmitResult UringDevice::submit(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  if (impl_->options.default_op == UringDefaultOp::kNop) return submit_nop(ctx, user_data);
  Request request;
  request.user_data = user_data;
  request.op = Op::kRead;
  request.fd = impl_->options.default_fd;
  request.length = impl_->options.default_read_size;
  if (impl_->options.default_file_size > impl_->options.default_read_size) {
    // Relaxed: a counter that spreads the reads over the file.
    const std::uint64_t n = impl_->default_reads.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t blocks =
        impl_->options.default_file_size / impl_->options.default_read_size;
    request.offset = (n % blocks) * impl_->options.default_read_size;
  }
  return impl_->admit(ctx, request);
}

SubmitResult UringDevice::submit_nop(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  return impl_->emplace(ctx,
                        [user_data](Request& request) noexcept { request.user_data = user_data; });
}

namespace {
// One operation of the submit_* family, written in place into the thread's channel.
SubmitResult submit_op(UringDevice::Impl& impl, WaitCtx& ctx, Op op, int fd, int flags,
                       const void* buffer, unsigned length, std::uint64_t offset,
                       std::uint64_t user_data) noexcept {
  if (buffer == nullptr && length != 0) {
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, impl.failed);
  }
  return impl.emplace(ctx, [&](Request& request) noexcept {
    request.user_data = user_data;
    request.op = op;
    request.fd = fd;
    request.flags = flags;
    request.buffer = const_cast<void*>(buffer);  // the kernel writes it for reads and recvs
    request.length = length;
    request.offset = offset;
  });
}
}  // namespace

SubmitResult UringDevice::submit_read(WaitCtx& ctx, int fd, void* buffer, unsigned length,
                                      std::uint64_t offset, std::uint64_t user_data) noexcept {
  return submit_op(*impl_, ctx, Op::kRead, fd, 0, buffer, length, offset, user_data);
}

SubmitResult UringDevice::submit_write(WaitCtx& ctx, int fd, const void* buffer, unsigned length,
                                       std::uint64_t offset, std::uint64_t user_data) noexcept {
  return submit_op(*impl_, ctx, Op::kWrite, fd, 0, buffer, length, offset, user_data);
}

SubmitResult UringDevice::submit_recv(WaitCtx& ctx, int socket, void* buffer, unsigned length,
                                      int flags, std::uint64_t user_data) noexcept {
  return submit_op(*impl_, ctx, Op::kRecv, socket, flags, buffer, length, 0, user_data);
}

SubmitResult UringDevice::submit_send(WaitCtx& ctx, int socket, const void* buffer, unsigned length,
                                      int flags, std::uint64_t user_data) noexcept {
  return submit_op(*impl_, ctx, Op::kSend, socket, flags, buffer, length, 0, user_data);
}

SubmitResult UringDevice::submit_timeout(WaitCtx& ctx, std::chrono::nanoseconds timeout,
                                         std::uint64_t user_data) noexcept {
  if (timeout.count() < 0 || static_cast<std::uint64_t>(timeout.count()) > kMaxTimeoutNs) {
    return DeviceCounters::refuse(ctx, SubmitResult::kFailed, impl_->failed);
  }
  return submit_op(*impl_, ctx, Op::kTimeout, -1, 0, nullptr, 0,
                   static_cast<std::uint64_t>(timeout.count()), user_data);
}

std::uint64_t UringDevice::capacity() const noexcept { return impl_->options.max_in_flight; }

std::uint64_t UringDevice::in_flight() const noexcept {
  return impl_->SubmissionChannels::in_flight();
}

DeviceStats UringDevice::stats() const noexcept { return impl_->snapshot(); }

std::string_view UringDevice::name() const noexcept {
  return impl_->options.sqpoll ? "uring-sqpoll" : "uring";
}

bool UringDevice::sqpoll() const noexcept { return impl_->options.sqpoll; }

bool UringDevice::single_issuer() const noexcept { return impl_->single_issuer; }

std::string UringDevice::fallback_reason() const { return impl_->fallback_reason; }

}  // namespace pn
