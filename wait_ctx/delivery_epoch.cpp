#include "pollnotify/internal/delivery_epoch.hpp"

#include <mutex>
#include <thread>

#include "pollnotify/internal/asymmetric_barrier.hpp"
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
std::atomic<std::size_t> record_count{0};

Record* claim_record() {
  // EPOCH-A2: pairs with EPOCH-R2: a listed record is fully built.
  for (Record* r = registry.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    bool free = false;
    // EPOCH-A4: pairs with EPOCH-R4: the previous owner's last store (entered = 0) happens
    // before this owner's first, so a waiter never reads the old owner's value after the new
    // owner's entry (on weakly ordered CPUs a relaxed hand-over would allow it, and a grace
    // period could end while the new owner's callback runs).
    if (r->taken.compare_exchange_strong(free, true, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      return r;
    }
  }
  auto* fresh = new Record;  // never deleted: synchronize may read it at any time
  record_count.fetch_add(1, std::memory_order_relaxed);  // relaxed: a statistic for tests
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
    // EPOCH-R4: gives the record back after this thread's last section ended; pairs with
    // EPOCH-A4.
    record->taken.store(false, std::memory_order_release);
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
  // TSan does not model standalone fences. This variant is the shipped one's equivalent for
  // what TSan checks: an exchange is a full barrier on x86-64 and AArch64 as the store + fence
  // is, and the plain memory callbacks touch is ordered by EPOCH-R1/EPOCH-A1 and EPOCH-R4/A4,
  // which both variants share. The two differ only in the Dekker half (this entry against the
  // waiter's generation store, EPOCH-S1/S2), which involves atomics only and is checked in the
  // shipped variant by DeliveryEpoch.AWaiterNeverEndsWhileASectionThatSawTheOldValueRuns in the
  // release build.
  self.record->entered.exchange(global_epoch.load(std::memory_order_relaxed),
                                std::memory_order_seq_cst);
#else
  // EPOCH-S1: publishes the entry before the section's generation checks; the light barrier
  // pairs with the heavy one in retire_deliveries (an asymmetric Dekker handshake: a compiler
  // barrier here where membarrier is registered, else a seq_cst fence on both sides). Relaxed
  // loads and stores otherwise: no read-modify-write and no fence on the delivery path.
  self.record->entered.store(global_epoch.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
  light_barrier();
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

std::uint64_t retire_deliveries() noexcept {
  // EPOCH-S2: orders the caller's stores (the new generation) before reading the records, and
  // every section's entry before its checks; pairs with EPOCH-S1. The advance itself is seq_cst
  // too (and all TSan models).
#if !defined(__SANITIZE_THREAD__)
  heavy_barrier();
#endif
  return global_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
}

namespace {

// Whether the record's section (if any) began at `epoch` or later.
bool record_passed(const Record& r, std::uint64_t epoch) noexcept {
  // EPOCH-A1: pairs with EPOCH-R1: what a finished section did happens before our return.
  const std::uint64_t entered = r.entered.load(std::memory_order_acquire);
  return entered == 0 || entered >= epoch;
}

}  // namespace

bool deliveries_passed(std::uint64_t epoch) noexcept {
  // EPOCH-A3: pairs with EPOCH-R2 (a listed record is built).
  for (Record* r = registry.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    if (!record_passed(*r, epoch)) return false;
  }
  return true;
}

void synchronize_deliveries() noexcept {
  const std::uint64_t epoch = retire_deliveries();
  // EPOCH-A3, as above.
  for (Record* r = registry.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    for (unsigned spins = 0; !record_passed(*r, epoch); ++spins) {
      if (spins < 64) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
}

std::size_t delivery_record_count() noexcept {
  return record_count.load(std::memory_order_relaxed);  // relaxed: a statistic
}

}  // namespace pn::internal
