// pollnotify wait context (C++): OpenSSL 3's ASYNC_WAIT_CTX with atomic notification state.
//
// A wait context carries what a paused job waits for: wait fds (the OpenSSL fd style) and a
// callback + argument pair with a status (the callback style). Beyond OpenSSL it knows its
// in-flight requests, so that a completion arriving after the owner freed or reused the context
// is recognised and dropped instead of touching freed state.
//
// Threads:
//   owner (one thread at a time): create/destroy, the fd functions, mark_resumed, cancel_pending.
//   any thread: set_callback, get_callback, set_status, status.
//   engine (submitting thread): arm.  poller: deliver.
//
// Memory ordering:
//   If thread X calls set_callback(f, a), a thread Y whose get_callback() returns f gets a (never
//   a torn pair) and sees everything X wrote before set_callback.
//   If X calls set_status(s), everything X wrote before is visible to Y after status() returns s.
//   If the engine thread calls arm() and then hands the ticket to a poller (through a ring, which
//   itself publishes), everything written before arm() is visible inside the callback.
//   deliver() makes the status the completion's before invoking the callback (it stores it only if
//   it differs), so the callback (and any thread it wakes through a release/acquire handoff)
//   reads the completion's status.
//
// Request lifetime (the protocol, in order):
//   1. The engine calls arm() for each request it submits; the ticket names the context's
//      current generation.
//   2. The poller calls deliver(ticket, status) exactly once per ticket.
//   3. deliver invokes the callback unless the context was destroyed or cancel_pending() was
//      called after the arm(); then the completion is stale: dropped, reported, never invoked.
//      Generations are 64-bit: a cancelled ticket cannot become live again by wrap-around.
//   4. destroy() waits for a callback running on another thread to return, so that after
//      destroy() no callback of this context runs. It waits for every delivery burst in progress
//      when it is called (a grace period, as in RCU: at most one burst of each poller), so do not
//      call it while holding a lock that any callback may take. Contexts live in type-stable
//      memory: a destroyed context's memory is reused for a new context and never returned to the
//      system, so a completion that arrives after destroy() (even after the reuse) reads a valid
//      generation and is dropped as stale.
//   5. Called from inside a callback (of any context, at any nesting depth: a delivery section),
//      destroy() and cancel_pending() never wait: a callback of this context already running on
//      another thread may still run when they return (its memory stays valid). Waiting there could
//      deadlock: two callbacks destroying each other's contexts, or a callback that polls another
//      poller which delivers to the context being destroyed. Free what such a callback uses from a
//      thread that is not inside a callback.
// Neither arm() nor deliver() makes a read-modify-write: delivering threads announce
// themselves once per burst in a delivery epoch (internal/delivery_epoch.hpp), which destroy()
// and cancel_pending() wait on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pollnotify/async_wait.h"
#include "pollnotify/completion.hpp"
#include "pollnotify/internal/atomic_word_pair.hpp"

namespace pn {

using AsyncFd = PN_ASYNC_FD;
inline constexpr AsyncFd kBadAsyncFd = PN_BAD_ASYNC_FD;
using CallbackFn = PN_ASYNC_callback_fn;
using FdCleanupFn = PN_ASYNC_fd_cleanup_fn;

enum class AsyncStatus : int {
  kUnsupported = PN_ASYNC_STATUS_UNSUPPORTED,  // engine does not use callbacks (default)
  kErr = PN_ASYNC_STATUS_ERR,                  // fatal: clean up the session
  kOk = PN_ASYNC_STATUS_OK,                    // submitted / completed successfully
  kEagain = PN_ASYNC_STATUS_EAGAIN,            // recoverable: resume the job so it retries
};

// What deliver() did with one completion.
enum class Delivery : std::uint8_t {
  kCallback,    // status set and callback invoked once
  kFdSignaled,  // no callback: status set and the notify fd made readable
  kStatusOnly,  // no callback and no notify fd: status set
  kStale,       // context destroyed or request cancelled: nothing touched but the count
};

class WaitCtx;
struct WaitCtxDeleter {
  void operator()(WaitCtx* ctx) const noexcept;
};
using WaitCtxPtr = std::unique_ptr<WaitCtx, WaitCtxDeleter>;

class WaitCtx {
 public:
  struct Callback {
    CallbackFn fn;
    void* arg;
  };

  // From the slab only (type-stable memory: see the protocol above).
  [[nodiscard]] static WaitCtxPtr make();
  // nullptr when out of memory. Release with destroy().
  [[nodiscard]] static WaitCtx* create() noexcept;
  // Owner. Runs the cleanup routine of every live fd entry, makes later completions stale, waits
  // for a callback running on another thread to return (not when called from inside a callback:
  // protocol step 5), returns the memory to the slab for reuse. nullptr is a no-op, and so is a
  // second destroy() of a context not created again since (a double free is refused; a destroy()
  // of a context that create() has handed out again destroys the new owner's: the caller's bug).
  static void destroy(WaitCtx* ctx) noexcept;
  // Any thread: true once destroy() has begun (a callback may stop re-arming).
  [[nodiscard]] bool closed() const noexcept {
    return closed_.load(std::memory_order_acquire);  // WC-X4: pairs with WC-X1
  }

  WaitCtx(const WaitCtx&) = delete;
  WaitCtx& operator=(const WaitCtx&) = delete;
  WaitCtx(WaitCtx&&) = delete;
  WaitCtx& operator=(WaitCtx&&) = delete;

  // --- fd mode: owner thread, OpenSSL semantics (see async_wait.h) ---
  [[nodiscard]] bool set_wait_fd(const void* key, AsyncFd fd, void* custom_data,
                                 FdCleanupFn cleanup);
  [[nodiscard]] bool get_fd(const void* key, AsyncFd* fd, void** custom_data) const noexcept;
  // Live fds newest first into out (nullptr: count only); returns the count.
  std::size_t get_all_fds(AsyncFd* out) const noexcept;
  struct ChangeCounts {
    std::size_t added;
    std::size_t deleted;
  };
  ChangeCounts get_changed_fds(AsyncFd* added, AsyncFd* deleted) const noexcept;
  [[nodiscard]] bool clear_fd(const void* key) noexcept;
  // What a job resume does: reset the change counts, forget entries marked deleted.
  void mark_resumed() noexcept {
    if (fds_changed_) forget_changes();  // inline fast path: every job resume calls this
  }

  // --- callback mode: any thread ---
  void set_callback(CallbackFn fn, void* arg) noexcept {
    callback_.store({reinterpret_cast<std::uintptr_t>(fn), reinterpret_cast<std::uintptr_t>(arg)});
  }
  // The pair set together, or nullopt when no callback is set.
  [[nodiscard]] std::optional<Callback> get_callback() const noexcept {
    const auto words = callback_.load();
    if (words.first == 0) return std::nullopt;
    return Callback{reinterpret_cast<CallbackFn>(words.first),
                    reinterpret_cast<void*>(words.second)};
  }
  // A callback that receives the whole completion (user data, status, the device's result),
  // beside OpenSSL's one-argument callback; it takes precedence when both are set. nullptr clears
  // it. Any thread.
  using CompletionFn = PN_COMPLETION_callback_fn;
  void set_completion_callback(CompletionFn fn, void* arg) noexcept {
    completion_callback_.store(
        {reinterpret_cast<std::uintptr_t>(fn), reinterpret_cast<std::uintptr_t>(arg)});
    // Relaxed: a hint that spares deliver() the pair's read when no completion callback was
    // ever set; the pair's own load orders what it returns.
    completion_callback_set_.store(true, std::memory_order_relaxed);
  }
  // False (status unchanged) for a value outside 0..3.
  [[nodiscard]] bool set_status(int status) noexcept {
    if (!is_status(status)) return false;
    // WC-S1: publishes what the setter wrote before the status; pairs with WC-S2.
    status_.store(status, std::memory_order_release);
    return true;
  }
  void set_status(AsyncStatus status) noexcept {
    status_.store(static_cast<int>(status), std::memory_order_release);  // WC-S1, as above
  }
  [[nodiscard]] int status() const noexcept {
    return status_.load(std::memory_order_acquire);  // WC-S2: pairs with WC-S1
  }
  // Any thread: set_status(status) unless the context already holds it, in which case nothing
  // is stored and nothing published. For a device's per-request status and for deliver(): an
  // unchanged status is never rewritten, so its line stays shared by the threads that read it
  // instead of moving at every request. Use it where a later handoff (the completion ring, the
  // callback's own) publishes the request.
  void ensure_status(AsyncStatus status) noexcept {
    if (status_.load(std::memory_order_relaxed) != static_cast<int>(status)) set_status(status);
  }

  // --- request lifetime: see the protocol in the banner ---
  // Engine, per submitted request. Never fails. Inline: it is on every request's path.
  [[nodiscard]] RequestTicket arm() noexcept {
    // Relaxed: the ring that carries the ticket to the poller publishes everything written
    // before. A load and a store, not a read-modify-write: one thread arms at a time
    // (in_flight()).
    armed_.store(armed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return {generation_.load(std::memory_order_relaxed)};
  }
  // Engine, for a ticket whose request was never submitted after all (the device refused it):
  // uncounts it without delivering anything.
  void abandon(RequestTicket ticket) noexcept;
  // Owner: every completion armed before this call becomes stale. Waits for the deliveries in
  // progress (a grace period, protocol step 4), except from inside a callback (step 5).
  void cancel_pending() noexcept;
  // Poller, exactly once per ticket (completion.ctx must be this context). Sets the status, then
  // invokes the completion callback (with the completion), else the OpenSSL-style callback, else
  // signals the notify fd. A status outside 0..3 is delivered as ERR (the request still ends; the
  // poller does the same and counts it invalid). Exceptions thrown by a C++ callback propagate
  // after the ticket's delivery is counted.
  Delivery deliver(const Completion& completion, int* callback_result = nullptr);
  // Whether `status` is one a completion may carry (PN_ASYNC_STATUS_UNSUPPORTED..EAGAIN).
  [[nodiscard]] static constexpr bool is_status(int status) noexcept {
    return status >= PN_ASYNC_STATUS_UNSUPPORTED && status <= PN_ASYNC_STATUS_EAGAIN;
  }
  // The same, for a caller that holds an internal::DeliverySection (the poller, per drain): no
  // section of its own.
  Delivery deliver_in_section(const Completion& completion, int* callback_result = nullptr);
  // The same for a completion that carries no user data or result.
  Delivery deliver(RequestTicket ticket, AsyncStatus status, int* callback_result = nullptr) {
    return deliver(Completion{this, 0, ticket, static_cast<std::int32_t>(status)}, callback_result);
  }
  // For an owner that waits on a file descriptor: deliver() makes this eventfd readable when no
  // callback is set. kBadAsyncFd turns it off. Any thread. Replacing or turning off an fd while a
  // request is in flight waits for the deliveries in progress (a grace period, as destroy()),
  // so the old fd may be closed once it returns; from inside a callback it does not wait.
  void set_notify_fd(AsyncFd fd) noexcept;
  [[nodiscard]] AsyncFd notify_fd() const noexcept {
    return notify_fd_.load(std::memory_order_relaxed);
  }
  // Requests armed in this context's life and not yet delivered (stale deliveries of this life
  // included). Any thread; a snapshot. The counts are kept without read-modify-writes, so the
  // rule is one thread at a time arms and one thread at a time delivers for this context: a
  // context's completions go through one poller, and pollnotify's devices deliver from their
  // teardown only once that poller has stopped (while it runs, through its ring). Two threads
  // delivering at once may lose counts.
  [[nodiscard]] std::uint32_t in_flight() const noexcept;

  // C handle conversions (the C type is this class under an opaque name).
  [[nodiscard]] PN_ASYNC_WAIT_CTX* c_handle() noexcept {
    return reinterpret_cast<PN_ASYNC_WAIT_CTX*>(this);
  }
  [[nodiscard]] static WaitCtx* from_c(PN_ASYNC_WAIT_CTX* ctx) noexcept {
    return reinterpret_cast<WaitCtx*>(ctx);
  }

 private:
  friend class WaitCtxSlab;
  WaitCtx() = default;
  ~WaitCtx() = default;  // never runs: the slab keeps every context (type-stable memory)
  void forget_changes() noexcept;
  void reset_for_reuse() noexcept;
  void count_delivered() noexcept {
    // WC-D2: a completed delivery; release orders the callback's effects before an in_flight()
    // that reads the new count (WC-D3). A load and a store: one thread delivers at a time.
    delivered_.store(delivered_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  // The ticket alone, not the completion: a completion whose address is taken lives in memory,
  // and the poller's drain keeps its fields in registers.
  Delivery deliver_stale(RequestTicket ticket) noexcept;
  Delivery deliver_without_callback() noexcept;

  struct FdEntry {
    const void* key;
    AsyncFd fd;
    void* custom_data;
    FdCleanupFn cleanup;
    bool added;    // added since the last resume
    bool deleted;  // cleared, reported by get_changed_fds until the next resume
  };

  // Laid out by who writes what, so that a request's hand-offs move no line they need not: the
  // delivery reads the first line (read-mostly: the owner writes it when it changes callbacks or
  // cancels), writes the status line, and never touches the arming line.
  //
  // Read by every delivery; written by the owner (cancel_pending, destroy, set_callback).
  alignas(64) std::atomic<std::uint64_t> generation_{1};  // from 1: no ticket is 0
  std::atomic<std::uint64_t> life_start_{1};              // the generation this life began with
  std::atomic<AsyncFd> notify_fd_{kBadAsyncFd};
  std::atomic<bool> completion_callback_set_{false};
  std::atomic<bool> closed_{false};
  internal::AtomicWordPair callback_;
  internal::AtomicWordPair completion_callback_;
  // Written by the delivery (and by the owner when it reports EAGAIN or ERR itself): what the
  // owner reads after the notification.
  alignas(64) std::atomic<int> status_{PN_ASYNC_STATUS_UNSUPPORTED};
  // Written by every delivery: apart from the status, which the owner reads per request.
  alignas(64) std::atomic<std::uint32_t> delivered_{0};  // in_flight(): by the delivering thread
  // Written by the arming thread, and the owner's fd list.
  alignas(64) std::atomic<std::uint32_t> armed_{0};  // in_flight(): by the arming thread
  std::vector<FdEntry> fds_;  // oldest first; OpenSSL's list order is newest first
  std::size_t num_added_ = 0;
  std::size_t num_deleted_ = 0;
  bool fds_changed_ = false;  // an fd was added or cleared since the last resume
};

inline void WaitCtxDeleter::operator()(WaitCtx* ctx) const noexcept { WaitCtx::destroy(ctx); }

// Inline: the poller's drain calls it once per completion, and this is its whole fast path (a
// generation check, the status, the callback pair, the call).
inline Delivery WaitCtx::deliver_in_section(const Completion& completion, int* callback_result) {
  // EPOCH-S1 (the section's barrier) orders these loads after the announcement.
  if (completion.ticket.generation != generation_.load(std::memory_order_relaxed)) [[unlikely]] {
    return deliver_stale(completion.ticket);
  }
  ensure_status(static_cast<AsyncStatus>(completion.status));
  // Relaxed: a hint (see set_completion_callback).
  const auto with_completion = completion_callback_set_.load(std::memory_order_relaxed)
                                   ? completion_callback_.load()
                                   : internal::AtomicWordPair::Words{0, 0};
  const auto plain = with_completion.first != 0 ? with_completion : callback_.load();
  if (plain.first == 0) [[unlikely]]
    return deliver_without_callback();
  struct Finish {
    WaitCtx* self;
    ~Finish() { self->count_delivered(); }  // also when a C++ callback throws
  } finish{this};
  int result;
  if (with_completion.first != 0) {
    // Field by field rather than std::bit_cast: a whole-object copy reads the completion with
    // wide loads, which stall on the narrower stores that just wrote it.
    const PN_COMPLETION view{c_handle(), completion.user_data, completion.ticket.generation,
                             completion.status, completion.result};
    result = reinterpret_cast<CompletionFn>(with_completion.first)(
        reinterpret_cast<void*>(with_completion.second), &view);
  } else {
    result = reinterpret_cast<CallbackFn>(plain.first)(reinterpret_cast<void*>(plain.second));
  }
  if (callback_result != nullptr) *callback_result = result;
  return Delivery::kCallback;
}

}  // namespace pn
