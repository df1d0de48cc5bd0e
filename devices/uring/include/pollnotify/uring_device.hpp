// pollnotify's io_uring device: real kernel operations (NOP, read and write at an offset,
// recv/send, a timeout) submitted for a wait context and completed by a poller that reaps the
// io_uring completion queue itself: no eventfd and no system call on the completion path.
//
// How it runs:
//   submit_*(ctx, ...)   any thread, never blocks. Checks the thread's credits, arms the context
//                        and queues the request in the thread's own submission channel (taken
//                        on its first submit, given back at its exit; 64 at once, further
//                        threads share a queue): a store and a release, no locked
//                        instruction. The io_uring submission queue has one producer, the
//                        poller, so submitting threads never touch it.
//   poll (poller)        moves queued requests into SQEs and submits them (one io_uring_enter
//                        per burst; none with SQPOLL, whose kernel thread reads the SQ), then
//                        reaps up to a burst of CQEs without a system call and pushes one
//                        completion each into the poller's ring: status OK with
//                        Completion::result = the CQE's res (bytes, or 0), or ERR with
//                        result = -errno. A timeout that expires completes OK (res -ETIME).
//   teardown             the destructor stops the bound poller if it still runs, ends requests
//                        still queued (they never reached the kernel) with ERR, cancels what
//                        the kernel holds, waits for every CQE and delivers each with ERR; a
//                        context destroyed meanwhile drops its completion (stale, as the
//                        lifetime protocol says). Bounded: a request the kernel has not given
//                        back 10 s after the cancel is left to it (its buffer stays the
//                        kernel's for the life of the process, its context gets no completion,
//                        a line on stderr says how many); a full SQ, SQPOLL and failed
//                        io_uring_submit calls are handled.
// Buffers given to read/write/recv/send belong to the kernel until the completion is delivered
// (or the device is destroyed), even if the context is destroyed first: io_uring's own rule.
//
// Unavailable io_uring (kernel.io_uring_disabled, seccomp, an old kernel): the constructor throws
// std::system_error whose message says so; UringDevice::unavailable_reason() tells beforehand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pollnotify/device.hpp"
#include "pollnotify/poller.hpp"

namespace pn {

class UringDevice;
namespace internal {
// Tests: the next `count` io_uring_submit calls of `device` fail with EAGAIN, as a kernel that
// cannot take the SQEs now does. Before the poller starts.
void fail_next_uring_submits(UringDevice& device, unsigned count) noexcept;
}  // namespace internal

// What the generic Device::submit(ctx, user_data) does on this device.
enum class UringDefaultOp : std::uint8_t {
  kNop,   // IORING_OP_NOP
  kRead,  // read default_read_size bytes of default_fd at a rotating offset into a device buffer
};

struct UringOptions {
  unsigned entries = 256;  // SQ entries (the CQ has twice as many); a power of two, 1..4096
  // Per submitting thread: its requests accepted and not yet completed into a ring, 1..entries
  // (past it EAGAIN). The kernel holds at most this many at once; the rest wait in channels.
  unsigned max_in_flight = 256;
  bool sqpoll = false;            // a kernel thread polls the SQ: no system call to submit
  unsigned sqpoll_idle_ms = 100;  // SQPOLL thread sleeps after this long without work
  int sqpoll_cpu = -1;            // pin the SQPOLL thread (-1: anywhere)
  // IORING_SETUP_SINGLE_ISSUER + DEFER_TASKRUN, and the ring fd registered: the kernel takes no
  // multi-submitter lock and posts completions when the poller asks (no interrupting task work).
  // The first thread that polls the device becomes the ring's only issuer and must be the only
  // one to poll it (a poller with its own thread, or one thread calling poll_once). Teardown on
  // another thread goes through the poller while it runs; a poll from another thread ends what
  // it finds with ERR (-EEXIST). Not with sqpoll. Where the kernel refuses the flags (before
  // 6.1) the device falls back to a plain ring: single_issuer() says which, fallback_reason() why.
  bool single_issuer = false;
  UringDefaultOp default_op = UringDefaultOp::kNop;
  int default_fd = -1;                // kRead: an open file descriptor (the device does not own it)
  unsigned default_read_size = 4096;  // kRead: bytes per read, 1..1 MiB
  std::uint64_t default_file_size = 0;  // kRead: offsets wrap at this size (0: always offset 0)
};

class UringDevice final : public Device {
 public:
  // Registers a poll source with `poller`, which must not have started yet and must outlive the
  // device. Throws std::invalid_argument for bad options, std::system_error when io_uring cannot
  // be set up (the message names the cause).
  UringDevice(Poller& poller, const UringOptions& options);
  ~UringDevice() override;
  UringDevice(const UringDevice&) = delete;
  UringDevice& operator=(const UringDevice&) = delete;

  // Why io_uring cannot be used in this process, or "" when it can (a probe ring is set up and
  // torn down).
  [[nodiscard]] static std::string unavailable_reason();

  // The default operation (UringOptions::default_op).
  SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data) noexcept override;
  SubmitResult submit_nop(WaitCtx& ctx, std::uint64_t user_data) noexcept;
  SubmitResult submit_read(WaitCtx& ctx, int fd, void* buffer, unsigned length,
                           std::uint64_t offset, std::uint64_t user_data) noexcept;
  SubmitResult submit_write(WaitCtx& ctx, int fd, const void* buffer, unsigned length,
                            std::uint64_t offset, std::uint64_t user_data) noexcept;
  SubmitResult submit_recv(WaitCtx& ctx, int socket, void* buffer, unsigned length, int flags,
                           std::uint64_t user_data) noexcept;
  SubmitResult submit_send(WaitCtx& ctx, int socket, const void* buffer, unsigned length, int flags,
                           std::uint64_t user_data) noexcept;
  // Completes after `timeout` (status OK, result 0); at most 1 hour.
  SubmitResult submit_timeout(WaitCtx& ctx, std::chrono::nanoseconds timeout,
                              std::uint64_t user_data) noexcept;

  [[nodiscard]] std::uint64_t capacity() const noexcept override;
  [[nodiscard]] std::uint64_t in_flight() const noexcept override;
  [[nodiscard]] DeviceStats stats() const noexcept override;
  [[nodiscard]] std::string_view name() const noexcept override;
  [[nodiscard]] bool sqpoll() const noexcept;
  // Whether the ring runs single-issuer (UringOptions::single_issuer, kernel permitting).
  [[nodiscard]] bool single_issuer() const noexcept;
  // Why single_issuer was asked for and not granted; "" otherwise.
  [[nodiscard]] std::string fallback_reason() const;
  // io_uring_submit calls that failed; their SQEs stay queued and are submitted at a later poll.
  [[nodiscard]] std::uint64_t submit_errors() const noexcept;

  struct Impl;

 private:
  friend void internal::fail_next_uring_submits(UringDevice& device, unsigned count) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pn
