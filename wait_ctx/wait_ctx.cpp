#include "pollnotify/wait_ctx.hpp"

#include <unistd.h>

#include <new>
#include <thread>

#include "pollnotify/internal/cpu.hpp"

namespace pn {
namespace {

// How many callbacks this thread is inside (nested through poll_once of another poller): from
// inside one, destroy() and cancel_pending() never wait (protocol step 5).
constinit thread_local unsigned tls_callback_depth = 0;

// Spin briefly, then yield: the callback we wait for is small and nonblocking by contract, but
// a preempted poller must not make us burn a core.
void backoff(unsigned& spins) noexcept {
  if (++spins < 64) {
    internal::cpu_relax();
  } else {
    std::this_thread::yield();
  }
}

}  // namespace

WaitCtxPtr WaitCtx::make() {
  WaitCtx* ctx = create();
  if (ctx == nullptr) throw std::bad_alloc();
  return WaitCtxPtr(ctx);
}

WaitCtx* WaitCtx::create() noexcept { return new (std::nothrow) WaitCtx(); }

void WaitCtx::destroy(WaitCtx* ctx) noexcept {
  if (ctx == nullptr) return;
  // WC-X1: closes the context. Same atomic as WC-D1, so a delivery announced after WC-X1 sees
  // kClosed; a delivery announced before it is waited for below (its WC-D2 release pairs with
  // WC-X2). Closing first means no delivery can signal a notify fd that a cleanup routine below
  // closes.
  std::uint64_t state = ctx->state_.fetch_or(kClosed, std::memory_order_acq_rel);
  if (tls_callback_depth == 0) {
    for (unsigned spins = 0; (state & kDeliveringMask) != 0;) {
      backoff(spins);
      state = ctx->state_.load(std::memory_order_acquire);  // WC-X2: pairs with WC-D2
    }
  }
  for (auto it = ctx->fds_.rbegin(); it != ctx->fds_.rend(); ++it) {
    if (!it->deleted && it->cleanup != nullptr) {
      it->cleanup(ctx->c_handle(), it->key, it->fd, it->custom_data);
    }
  }
  ctx->fds_.clear();
  ctx->release_reference();
}

void WaitCtx::release_reference() noexcept {
  // WC-X3: acq_rel so that the last holder's delete is ordered after every other holder's use.
  const std::uint64_t before = state_.fetch_sub(kReferenceOne, std::memory_order_acq_rel);
  if ((before >> 16) == 1) delete this;
}

bool WaitCtx::set_wait_fd(const void* key, AsyncFd fd, void* custom_data, FdCleanupFn cleanup) {
  try {
    fds_.push_back(FdEntry{key, fd, custom_data, cleanup, true, false});
  } catch (const std::bad_alloc&) {
    return false;
  }
  ++num_added_;
  fds_changed_ = true;
  return true;
}

bool WaitCtx::get_fd(const void* key, AsyncFd* fd, void** custom_data) const noexcept {
  for (auto it = fds_.rbegin(); it != fds_.rend(); ++it) {
    if (!it->deleted && it->key == key) {
      *fd = it->fd;
      *custom_data = it->custom_data;
      return true;
    }
  }
  return false;
}

std::size_t WaitCtx::get_all_fds(AsyncFd* out) const noexcept {
  std::size_t count = 0;
  for (auto it = fds_.rbegin(); it != fds_.rend(); ++it) {
    if (it->deleted) continue;
    if (out != nullptr) *out++ = it->fd;
    ++count;
  }
  return count;
}

WaitCtx::ChangeCounts WaitCtx::get_changed_fds(AsyncFd* added, AsyncFd* deleted) const noexcept {
  // Entries both added and deleted since the last resume were removed outright by clear_fd.
  for (auto it = fds_.rbegin(); it != fds_.rend(); ++it) {
    if (it->deleted && !it->added && deleted != nullptr) *deleted++ = it->fd;
    if (it->added && !it->deleted && added != nullptr) *added++ = it->fd;
  }
  return {num_added_, num_deleted_};
}

bool WaitCtx::clear_fd(const void* key) noexcept {
  for (auto it = fds_.rbegin(); it != fds_.rend(); ++it) {
    if (it->deleted || it->key != key) continue;
    fds_changed_ = true;
    if (it->added) {
      fds_.erase(std::next(it).base());
      --num_added_;
    } else {
      it->deleted = true;
      ++num_deleted_;
    }
    return true;
  }
  return false;
}

void WaitCtx::forget_changes() noexcept {
  fds_changed_ = false;
  num_added_ = 0;
  num_deleted_ = 0;
  std::erase_if(fds_, [](const FdEntry& entry) { return entry.deleted; });
  for (FdEntry& entry : fds_) entry.added = false;
}

RequestTicket WaitCtx::arm() noexcept {
  // Relaxed: the reference only keeps the memory alive; the ring that carries the ticket to the
  // poller publishes everything written before.
  state_.fetch_add(kReferenceOne, std::memory_order_relaxed);
  return {generation_.load(std::memory_order_relaxed)};
}

void WaitCtx::abandon(RequestTicket) noexcept { release_reference(); }

void WaitCtx::cancel_pending() noexcept {
  // WC-C1: seq_cst with WC-D1 (Dekker): either the delivery sees the new generation, or we see it
  // announced and wait for it.
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (tls_callback_depth != 0) return;
  for (unsigned spins = 0; (state_.load(std::memory_order_seq_cst) & kDeliveringMask) != 0;) {
    backoff(spins);
  }
}

std::uint32_t WaitCtx::in_flight() const noexcept {
  const std::uint64_t state = state_.load(std::memory_order_relaxed);
  const std::uint64_t references = state >> 16;
  return static_cast<std::uint32_t>((state & kClosed) ? references : references - 1);
}

Delivery WaitCtx::deliver(const Completion& completion, int* callback_result) {
  // WC-D1: announces the delivery before checking closed and generation (pairs with WC-X1 and
  // WC-C1).
  const std::uint64_t before = state_.fetch_add(kDeliveringOne, std::memory_order_seq_cst);
  struct Finish {
    WaitCtx* self;
    ~Finish() {
      // WC-D2: ends the delivery and drops the ticket's reference in one step; release publishes
      // the callback's effects to WC-X2, acquire orders a final delete after every use.
      const std::uint64_t state =
          self->state_.fetch_sub(kDeliveringOne + kReferenceOne, std::memory_order_acq_rel);
      if ((state >> 16) == 1) delete self;
    }
  } finish{this};

  if ((before & kClosed) != 0 ||
      generation_.load(std::memory_order_seq_cst) != completion.ticket.generation) {
    return Delivery::kStale;
  }
  set_status(static_cast<AsyncStatus>(completion.status));
  // Relaxed: a hint (see set_completion_callback).
  const auto with_completion = completion_callback_set_.load(std::memory_order_relaxed)
                                   ? completion_callback_.load()
                                   : internal::AtomicWordPair::Words{0, 0};
  const auto plain = with_completion.first != 0 ? with_completion : callback_.load();
  if (plain.first != 0) {
    struct Depth {
      Depth() noexcept { ++tls_callback_depth; }
      ~Depth() { --tls_callback_depth; }
    } inside_callback;
    const int result =
        with_completion.first != 0
            ? reinterpret_cast<CompletionFn>(with_completion.first)(
                  reinterpret_cast<void*>(with_completion.second), completion.c_view())
            : reinterpret_cast<CallbackFn>(plain.first)(reinterpret_cast<void*>(plain.second));
    if (callback_result != nullptr) *callback_result = result;
    return Delivery::kCallback;
  }
  const AsyncFd fd = notify_fd();
  if (fd != kBadAsyncFd) {
    const std::uint64_t one = 1;
    // An eventfd write fails only when the counter would overflow: it is readable either way.
    [[maybe_unused]] const ssize_t written = ::write(fd, &one, sizeof one);
    return Delivery::kFdSignaled;
  }
  return Delivery::kStatusOnly;
}

}  // namespace pn
