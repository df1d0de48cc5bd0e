#include "pollnotify/wait_ctx.hpp"

#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <new>

#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/delivery_epoch.hpp"
#include "pollnotify/internal/wait_ctx_slab.hpp"

namespace pn {

// Type-stable storage for contexts: constructed once, reused, never destroyed or returned to the
// system, so a late completion always reads a live WaitCtx's generation. create() and destroy()
// are the owner's, off the request path: a mutex serialises them.
class WaitCtxSlab {
 public:
  static WaitCtxSlab& instance() {
    static auto* slab = new WaitCtxSlab;  // never destroyed: contexts may outlive static teardown
    return *slab;
  }

  WaitCtx* take() noexcept {
    std::unique_lock lock(mutex_);
    if (free_.empty() && !deferred_.empty()) reclaim_deferred(lock);
    if (free_.empty() && !grow()) return nullptr;
    WaitCtx* ctx = free_.back();
    free_.pop_back();
    return ctx;
  }

  // A context whose destroy() has waited for every delivery that could still act on it (or
  // found none in flight): reusable at once.
  void give_back(WaitCtx* ctx) noexcept {
    std::unique_lock lock(mutex_);
    try {
      free_.push_back(ctx);
    } catch (...) {  // no memory to list it: the context stays unused, which is safe
    }
  }
  // A context destroyed from inside a callback while deliveries may still act on it: reusable
  // once every section open at internal::retire_deliveries() (`epoch`) has closed.
  void defer(WaitCtx* ctx, std::uint64_t epoch) noexcept {
    std::unique_lock lock(mutex_);
    try {
      deferred_.push_back({ctx, epoch});
    } catch (...) {  // as above
    }
  }

  [[nodiscard]] internal::WaitCtxSlabCounts counts() {
    std::lock_guard lock(mutex_);
    return {constructed_, free_.size(), deferred_.size()};
  }

 private:
  static constexpr std::size_t kPerChunk = 64;
  struct Deferred {
    WaitCtx* ctx;
    std::uint64_t epoch;
  };

  // Moves the deferred contexts whose grace period has passed to the free list, without waiting
  // (so also from inside a callback, where a steady destroy-and-create cycle then reuses what
  // earlier sections destroyed instead of growing). Outside a callback, when none has passed, it
  // waits for them, off the mutex: a callback's destroy() takes it.
  void reclaim_deferred(std::unique_lock<std::mutex>& lock) noexcept {
    const auto moved = [&] {
      // One decision per context: the ones that passed move, the rest stay deferred.
      const auto waiting = std::stable_partition(
          deferred_.begin(), deferred_.end(),
          [](const Deferred& d) { return !internal::deliveries_passed(d.epoch); });
      try {
        for (auto it = waiting; it != deferred_.end(); ++it) free_.push_back(it->ctx);
      } catch (...) {  // no memory to list them: they stay unused, which is safe
      }
      deferred_.erase(waiting, deferred_.end());
    };
    moved();
    if (!free_.empty() || internal::DeliverySection::inside()) return;
    lock.unlock();
    internal::synchronize_deliveries();
    lock.lock();
    moved();
  }

  bool grow() noexcept {
    try {
      free_.reserve(free_.size() + kPerChunk);
      auto* chunk = static_cast<WaitCtx*>(::operator new (
          kPerChunk * sizeof(WaitCtx), std::align_val_t{alignof(WaitCtx)}, std::nothrow));
      if (chunk == nullptr) return false;
      for (std::size_t i = kPerChunk; i > 0; --i) free_.push_back(new (chunk + i - 1) WaitCtx());
      constructed_ += kPerChunk;
      return true;
    } catch (...) {
      return false;
    }
  }

  std::mutex mutex_;
  std::vector<WaitCtx*> free_;
  std::vector<Deferred> deferred_;
  std::size_t constructed_ = 0;
};

internal::WaitCtxSlabCounts internal::wait_ctx_slab_counts() {
  return WaitCtxSlab::instance().counts();
}

WaitCtxPtr WaitCtx::make() {
  WaitCtx* ctx = create();
  if (ctx == nullptr) throw std::bad_alloc();
  return WaitCtxPtr(ctx);
}

WaitCtx* WaitCtx::create() noexcept {
  WaitCtx* ctx = WaitCtxSlab::instance().take();
  if (ctx != nullptr) ctx->reset_for_reuse();
  return ctx;
}

void WaitCtx::reset_for_reuse() noexcept {
  callback_.store({0, 0});
  completion_callback_.store({0, 0});
  completion_callback_set_.store(false, std::memory_order_relaxed);
  status_.store(PN_ASYNC_STATUS_UNSUPPORTED, std::memory_order_relaxed);
  notify_fd_.store(kBadAsyncFd, std::memory_order_relaxed);
  armed_.store(0, std::memory_order_relaxed);
  delivered_.store(0, std::memory_order_relaxed);
  // WC-X5: the context is live again; pairs with WC-X4 (closed() after the owner publishes it).
  closed_.store(false, std::memory_order_release);
}

void WaitCtx::destroy(WaitCtx* ctx) noexcept {
  if (ctx == nullptr) return;
  // WC-X1: closes the context (closed() turns true); pairs with WC-X4. An exchange: a context
  // already closed is on the slab's free list, and a second destroy() would list it twice (two
  // later create() calls would share it): refused, nothing done.
  if (ctx->closed_.exchange(true, std::memory_order_acq_rel)) return;
  // Every ticket of this life is stale from here; a delivery that checks after this store sees
  // it (synchronize_deliveries orders it before reading the sections), one that checked before
  // is inside a section that the wait below outlasts. life_start_ moves too, so stale
  // deliveries of this life no longer count toward the next life's in_flight().
  const std::uint64_t next = ctx->generation_.load(std::memory_order_relaxed) + 1;
  ctx->generation_.store(next, std::memory_order_relaxed);
  ctx->life_start_.store(next, std::memory_order_relaxed);
  // Nothing in flight in this life (in_flight() acquires every finished delivery's count, WC-D3):
  // no delivery can act on this context any more, so it waits for nobody's callbacks. A
  // delivery of a live ticket counts itself only when it has finished with the context.
  const bool idle = ctx->in_flight() == 0;
  const bool may_wait = !idle && !internal::DeliverySection::inside();
  if (may_wait) internal::synchronize_deliveries();
  // Waited, idle, or inside a callback (where protocol step 5 applies): no delivery can signal a
  // notify fd that a cleanup routine below closes, except one already running on another thread.
  for (auto it = ctx->fds_.rbegin(); it != ctx->fds_.rend(); ++it) {
    if (!it->deleted && it->cleanup != nullptr) {
      it->cleanup(ctx->c_handle(), it->key, it->fd, it->custom_data);
    }
  }
  ctx->fds_.clear();
  ctx->fds_.shrink_to_fit();
  ctx->num_added_ = ctx->num_deleted_ = 0;
  ctx->fds_changed_ = false;
  if (idle || may_wait) {
    WaitCtxSlab::instance().give_back(ctx);
  } else {
    WaitCtxSlab::instance().defer(ctx, internal::retire_deliveries());
  }
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

void WaitCtx::abandon(RequestTicket) noexcept {
  armed_.store(armed_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void WaitCtx::cancel_pending() noexcept {
  // WC-C1: tickets armed before this are stale; synchronize_deliveries orders the store before
  // its reading of the delivery sections (EPOCH-S2), so a delivery either sees the new
  // generation or is waited for.
  generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // Nothing in flight: no delivery acts on this context, so nobody's callbacks are waited for.
  if (in_flight() != 0 && !internal::DeliverySection::inside()) internal::synchronize_deliveries();
}

void WaitCtx::set_notify_fd(AsyncFd fd) noexcept {
  const AsyncFd previous = notify_fd_.load(std::memory_order_relaxed);
  // Relaxed: synchronize_deliveries orders the store before reading the sections (EPOCH-S2), so
  // a delivery either loads the new fd or is waited for.
  notify_fd_.store(fd, std::memory_order_relaxed);
  if (previous != kBadAsyncFd && previous != fd && in_flight() != 0 &&
      !internal::DeliverySection::inside()) {
    internal::synchronize_deliveries();
  }
}

std::uint32_t WaitCtx::in_flight() const noexcept {
  // WC-D3: pairs with WC-D2.
  const std::uint32_t delivered = delivered_.load(std::memory_order_acquire);
  return armed_.load(std::memory_order_relaxed) - delivered;
}

Delivery WaitCtx::deliver(const Completion& completion, int* callback_result) {
  // The poller opens one section per drain; a lone delivery opens its own.
  const internal::DeliverySection section;
  if (!is_status(completion.status)) [[unlikely]] {
    Completion as_err = completion;  // the request must still end: as ERR, as the poller does
    as_err.status = PN_ASYNC_STATUS_ERR;
    return deliver_in_section(as_err, callback_result);
  }
  return deliver_in_section(completion, callback_result);
}

Delivery WaitCtx::deliver_stale(RequestTicket ticket) noexcept {
  // One of this life (cancelled) still ends a request this life armed.
  if (ticket.generation >= life_start_.load(std::memory_order_relaxed)) {
    count_delivered();
  }
  return Delivery::kStale;
}

Delivery WaitCtx::deliver_without_callback() noexcept {
  const AsyncFd fd = notify_fd();
  Delivery delivery = Delivery::kStatusOnly;
  if (fd != kBadAsyncFd) {
    const std::uint64_t one = 1;
    // An eventfd write fails only when the counter would overflow: it is readable either way.
    [[maybe_unused]] const ssize_t written = ::write(fd, &one, sizeof one);
    delivery = Delivery::kFdSignaled;
  }
  count_delivered();  // after the signal, as after a callback
  return delivery;
}

}  // namespace pn
