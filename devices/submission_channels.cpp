#include "pollnotify/internal/submission_channels.hpp"

#include <new>
#include <vector>

#include "pollnotify/internal/ring_room.hpp"
#include "pollnotify/mpsc_queue.hpp"  // its futex wake

namespace pn::internal {
namespace {

// The channels this thread holds, given back when it exits.
struct Lease {
  std::shared_ptr<ChannelTable> table;  // keeps the channel's memory past its device
  Channel* channel;
  std::uint64_t table_id;
};

// Set while the thread's leases are destroyed: later submits from this thread go through the
// shared queue.
__attribute__((tls_model("initial-exec"))) constinit thread_local bool leases_gone = false;

struct ThreadLeases {
  std::vector<Lease> leases;
  ~ThreadLeases() {
    leases_gone = true;
    channel_cache = ChannelCache{};
    for (const Lease& lease : leases) {
      // CH-R3: what this thread wrote to the channel (its tail, credit_end) is visible to the
      // thread that claims it next; pairs with CH-A3.
      lease.channel->owner.store(Channel::kOrphaned, std::memory_order_release);
    }
  }
};
thread_local ThreadLeases thread_leases;

std::atomic<std::uint64_t> next_table_id{1};  // relaxed: only uniqueness matters

}  // namespace

Channel::Channel(std::uint32_t channel_index, std::size_t slot_bytes, std::uint64_t credits)
    : slots(static_cast<std::byte*>(::operator new (
          slot_bytes* ring_capacity(credits, "SubmissionChannels"), std::align_val_t{kCacheLine}))),
      index(channel_index),
      capacity(credits),
      mask(ring_capacity(credits, "SubmissionChannels") - 1) {}

Channel::~Channel() { ::operator delete (slots, std::align_val_t{kCacheLine}); }

ChannelTable::ChannelTable(std::size_t bytes_per_slot, std::uint64_t credits)
    : capacity(credits),
      slot_bytes(bytes_per_slot),
      id_(next_table_id.fetch_add(1, std::memory_order_relaxed)) {
  (void)ring_capacity(credits, "SubmissionChannels");  // throws for 0 or above 2^32
}

Channel* ChannelTable::find_or_claim(const std::shared_ptr<ChannelTable>& self) noexcept {
  if (leases_gone) return nullptr;
  std::vector<Lease>& leases = thread_leases.leases;
  for (const Lease& lease : leases) {
    if (lease.table_id == id_) {
      channel_cache = ChannelCache{id_, lease.channel};
      return lease.channel;
    }
  }
  // Leases on tables whose device is gone (only leases hold them) are dropped here.
  std::erase_if(leases, [](const Lease& lease) { return lease.table.use_count() == 1; });
  Channel* channel = claim();
  if (channel == nullptr) return nullptr;
  try {
    leases.push_back(Lease{self, channel, id_});
  } catch (...) {
    channel->owner.store(Channel::kOrphaned, std::memory_order_release);  // CH-R3, as at exit
    return nullptr;
  }
  channel_cache = ChannelCache{id_, channel};
  return channel;
}

Channel* ChannelTable::claim() noexcept {
  const std::lock_guard lock(claim_mutex_);
  const std::uint32_t count = published_.load(std::memory_order_relaxed);  // written under lock
  for (std::uint32_t i = 0; i < count; ++i) {
    Channel& channel = *channels_[i];
    // CH-A3: pairs with CH-R3: the last owner's writes are visible before this thread takes over.
    if (channel.owner.load(std::memory_order_acquire) != Channel::kOrphaned) continue;
    // CH-A2 as in admit: every request the last owner queued has been given back.
    if (channel.done.load(std::memory_order_acquire) !=
        channel.tail.load(std::memory_order_relaxed)) {
      continue;
    }
    channel.owner.store(Channel::kOwned, std::memory_order_relaxed);  // under the lock
    return &channel;
  }
  if (count == kMaxChannels) return nullptr;
  try {
    channels_[count] = std::make_unique<Channel>(count, slot_bytes, capacity);
  } catch (...) {
    return nullptr;
  }
  // CH-R4: the channel is constructed before the consumer sees it; pairs with CH-A4.
  published_.store(count + 1, std::memory_order_release);
  return channels_[count].get();
}

bool ChannelTable::channels_hold_requests() const noexcept {
  const std::uint32_t count = published();
  for (std::uint32_t i = 0; i < count; ++i) {
    const Channel& channel = *channels_[i];
    // Relaxed: only whether something is there; try_pop acquires the request itself.
    if (channel.tail.load(std::memory_order_relaxed) != channel.head) return true;
  }
  return false;
}

void ChannelTable::wake_parked_consumer() noexcept {
  // Relaxed: the flag only decides who wakes; the channels carry the requests.
  if (consumer_parked.exchange(0, std::memory_order_relaxed) != 0) {
    mpsc_queue_futex_wake(consumer_parked);
  }
}

}  // namespace pn::internal
