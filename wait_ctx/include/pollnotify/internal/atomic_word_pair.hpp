// pollnotify internal: two words written together and read together, never torn.
// Do not include directly; pn::WaitCtx uses it for its callback + argument pair.
#pragma once

#include <atomic>
#include <cstdint>

#include "pollnotify/internal/cpu.hpp"

namespace pn::internal {

// Two slots and a version. A write fills the slot readers are not using and then bumps the
// version, so a reader never waits for a writer: it retries only if two writes completed while it
// read (some writer made progress, so readers are lock-free). Writers are serialized by claiming an
// odd version; they are the owner's rare set_callback calls.
//
// Version v: v >> 1 writes have completed; v odd means write number (v >> 1) + 1 is in progress.
// The slot readers use is (v >> 1) & 1. Write k + 1 (claims 2k + 1) fills slot (k + 1) & 1, so
// slot k & 1 is next rewritten by the write that claims 2k + 3.
class AtomicWordPair {
 public:
  struct Words {
    std::uintptr_t first;
    std::uintptr_t second;
  };

  // Any thread. Blocks only while another writer is between its claim and its publish.
  void store(Words words) noexcept {
    std::uint64_t version = version_.load(std::memory_order_relaxed);
    for (;;) {
      if (version & 1U) {
        cpu_relax();
        version = version_.load(std::memory_order_relaxed);
        continue;
      }
      // PAIR-W0: claims the writer role; acquire pairs with the previous writer's PAIR-W1 so this
      // write lands after it.
      if (version_.compare_exchange_weak(version, version + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
        break;
      }
    }
    Slot& slot = slots_[((version >> 1) + 1) & 1U];
    // PAIR-W2: release orders the claim (PAIR-W0) before each word, so a reader whose PAIR-R2 sees
    // one of these words also sees the version moved at PAIR-R3.
    slot.first.store(words.first, std::memory_order_release);
    slot.second.store(words.second, std::memory_order_release);
    // PAIR-W1: publishes the filled slot (and everything the writer wrote before) to
    // PAIR-R1/PAIR-R4.
    version_.store(version + 2, std::memory_order_release);
  }

  // Any thread; never waits for a writer.
  [[nodiscard]] Words load() const noexcept {
    // PAIR-R1: pairs with PAIR-W1: the slot it names is complete.
    std::uint64_t version = version_.load(std::memory_order_acquire);
    for (;;) {
      const Slot& slot = slots_[(version >> 1) & 1U];
      // PAIR-R2: acquire keeps these loads before the re-check PAIR-R3; pairs with PAIR-W2.
      const Words words{slot.first.load(std::memory_order_acquire),
                        slot.second.load(std::memory_order_acquire)};
      // PAIR-R3: the slot was not being rewritten while we read it.
      const std::uint64_t recheck = version_.load(std::memory_order_relaxed);
      if (recheck < (version | 1U) + 2) return words;
      // PAIR-R4: pairs with PAIR-W1, as PAIR-R1.
      version = version_.load(std::memory_order_acquire);
    }
  }

 private:
  struct Slot {
    std::atomic<std::uintptr_t> first{0};
    std::atomic<std::uintptr_t> second{0};
  };
  std::atomic<std::uint64_t> version_{0};
  Slot slots_[2];
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uintptr_t>::is_always_lock_free);

}  // namespace pn::internal
