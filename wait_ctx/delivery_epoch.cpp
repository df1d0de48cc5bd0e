#include "pollnotify/internal/delivery_epoch.hpp"

#include <mutex>
#include <thread>

#include "pollnotify/internal/cpu.hpp"

namespace pn::internal {
namespace {

// One per thread that ever delivered; recycled when the thread exits (never freed: a waiter may
// be reading it).
struct alignas(kFalseSharingRange) Record {
  std::atomic<std::uint64_t> entered{0};  // the epoch seen on entry; 0 outside a section
  std::atomic<bool> taken{false};
  Record* next = nullptr;  // the registry's list, written before publication (EPOCH-R2)
};

std::atomic<std::uint64_t> global_epoch{1};
std::atomic<Record*> registry{nullptr};

Record* claim_record() {
  // EPOCH-A2: pairs with EPOCH-R2: a listed record is fully built.
  for (Record* r = registry.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    bool free = false;
    // Relaxed suffices on success: the record's own fields are atomics the new owner writes.
    if (r->taken.compare_exchange_strong(free, true, std::memory_order_relaxed)) return r;
  }
  auto* fresh = new Record;  // never deleted: synchronize may read it at any time
  fresh->taken.store(true, std::memory_order_relaxed);
  fresh->next = registry.load(std::memory_order_relaxed);
  // EPOCH-R2: publishes the new record with its next pointer; pairs with EPOCH-A2/EPOCH-A3.
  while (!registry.compare_exchange_weak(fresh->next, fresh, std::memory_order_release,
                                         std::memory_order_relaxed)) {
  }
  return fresh;
}

struct ThreadRecord {
  Record* record = nullptr;
  unsigned depth = 0;
  ~ThreadRecord() {
    if (record == nullptr) return;
    record->taken.store(false, std::memory_order_relaxed);  // recycled for a later thread
    // A delivery from a later thread-exit handler of this thread claims a record of its own
    // (kept for good) instead of sharing this one with its next owner.
    record = nullptr;
  }
};

thread_local ThreadRecord tls_record;

}  // namespace

DeliverySection::DeliverySection() noexcept {
  ThreadRecord& self = tls_record;
  if (self.depth++ != 0) return;
  if (self.record == nullptr) [[unlikely]] {
    try {
      self.record = claim_record();
    } catch (...) {  // out of memory for a 64-byte record: nothing sane left to do
      std::terminate();
    }
  }
#if defined(__SANITIZE_THREAD__)
  // TSan does not model fences: the same ordering as one seq_cst read-modify-write.
  self.record->entered.exchange(global_epoch.load(std::memory_order_relaxed),
                                std::memory_order_seq_cst);
#else
  // EPOCH-S1: publishes the entry before the section's generation checks; a seq_cst fence
  // pairs with the one in synchronize_deliveries (Dekker). Relaxed loads and stores otherwise:
  // no read-modify-write on the delivery path.
  self.record->entered.store(global_epoch.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

DeliverySection::~DeliverySection() {
  ThreadRecord& self = tls_record;
  if (--self.depth != 0) return;
  // EPOCH-R1: ends the section; release publishes everything the callbacks did to the waiter's
  // EPOCH-A1.
  self.record->entered.store(0, std::memory_order_release);
}

bool DeliverySection::inside() noexcept { return tls_record.depth != 0; }

void synchronize_deliveries() noexcept {
  // EPOCH-S2: orders the caller's stores (the new generation) before reading the records; pairs
  // with EPOCH-S1. The advance itself is seq_cst too (and all TSan models).
#if !defined(__SANITIZE_THREAD__)
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  const std::uint64_t epoch = global_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
  // EPOCH-A3: pairs with EPOCH-R2 (a listed record is built).
  for (Record* r = registry.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    for (unsigned spins = 0;; ++spins) {
      // EPOCH-A1: pairs with EPOCH-R1: what a finished section did happens before our return.
      const std::uint64_t entered = r->entered.load(std::memory_order_acquire);
      if (entered == 0 || entered >= epoch) break;
      if (spins < 64) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
}

}  // namespace pn::internal
