// pollnotify device interface: what any polling completion source implements (a simulated
// device, an io_uring ring, a DPDK cryptodev queue pair, a QAT instance), so that the runtime,
// the job driver, offload_in_job and coroutines work with any of them. A C driver implements the
// same contract with a table of functions (<pollnotify/device.h>).
//
// The contract, per request:
//   submit(ctx, user_data)   any thread, never blocks. Accepted: the device arms ctx (one ticket,
//                            WaitCtx::arm), sets status OK and later delivers exactly one
//                            completion {ctx, user_data, ticket, status, result} into a poller's
//                            completion ring. Refused: status EAGAIN (full: retry later) or ERR
//                            (failed), the ticket abandoned or never taken, nothing delivered.
//   completion               a polled device registers a PollSource with each poller it
//                            completes into (Poller::add_source, before the poller starts); the
//                            source's poll() runs on the poller thread, reaps what the hardware
//                            finished and pushes completions into a ring it owns on that poller.
//                            A device that completes on the submitter's thread pushes into
//                            Poller::thread_ring() instead; one with its own threads into rings
//                            those threads own.
//   teardown                 the destructor completes every request still in flight with ERR
//                            (or drops it, counted as stale, if the context was destroyed), so
//                            nothing accepted is left undelivered; the pollers outlive the device.
//
// Threads: submit, capacity, in_flight, stats and name from any thread; start/stop from the owner.
//
// Memory ordering: everything the submitter wrote before submit() is visible to the callback of
// that request's completion (the device's queue, then the ring, publish it).
#pragma once

#include <cstdint>
#include <string_view>

#include "pollnotify/device.h"
#include "pollnotify/wait_ctx.hpp"

namespace pn {

// What a submission did; the context's status says the same (OK, EAGAIN, ERR).
enum class SubmitResult : std::uint8_t {
  kAccepted,  // status OK; exactly one completion will be delivered
  kRetry,     // status EAGAIN; nothing will be delivered: retry later
  kFailed,    // status ERR; nothing will be delivered
};

[[nodiscard]] const char* to_string(SubmitResult result) noexcept;

// Counters every device keeps (a snapshot; each read is relaxed). The list is one table,
// PN_DEVICE_COUNTERS in <pollnotify/device.h>, shared with C.
struct DeviceStats {
#define PN_DEVICE_STATS_MEMBER(name, description) std::uint64_t name = 0;
  PN_DEVICE_COUNTERS(PN_DEVICE_STATS_MEMBER)
#undef PN_DEVICE_STATS_MEMBER

  DeviceStats& operator+=(const DeviceStats& other) noexcept;
};

// Calls visit(name, description, value) for each counter in the table's order.
template <class Visit>
void for_each_counter(const DeviceStats& stats, Visit&& visit) {
#define PN_DEVICE_STATS_VISIT(name, description) visit(#name, description, stats.name);
  PN_DEVICE_COUNTERS(PN_DEVICE_STATS_VISIT)
#undef PN_DEVICE_STATS_VISIT
}

class Device {
 public:
  virtual ~Device() = default;

  // Any thread; never blocks. See the contract in the banner.
  virtual SubmitResult submit(WaitCtx& ctx, std::uint64_t user_data) noexcept = 0;
  // Requests the device holds at most, and now (accepted, not yet completed into a ring).
  [[nodiscard]] virtual std::uint64_t capacity() const noexcept = 0;
  [[nodiscard]] virtual std::uint64_t in_flight() const noexcept = 0;
  [[nodiscard]] virtual DeviceStats stats() const noexcept = 0;
  // A short name for reports ("sim", "uring", "cryptodev:crypto_aesni_mb", ...).
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  // Owner: starts / stops threads the device runs itself (a polled device has none). Stopping
  // leaves accepted requests in flight; the destructor completes them.
  virtual void start() {}
  virtual void stop() {}

 protected:
  Device() = default;
  Device(const Device&) = default;
  Device& operator=(const Device&) = default;
};

}  // namespace pn
