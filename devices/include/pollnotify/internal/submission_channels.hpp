// pollnotify internal: how a driver whose hardware queue has one producer (the poller, or a
// device thread) admits requests from any thread, SPDK's io_channel idea: each submitting thread
// gets its own single-producer channel to the driver on first use, so a submit in the steady
// state is a store into the thread's own slots and a release of its tail, with no locked
// instruction. Capacity is per channel (credits the driver gives back as requests complete);
// the submit-side statistics are single-writer counters of the channel, summed when read.
// Shared by the drivers in devices/ (the simulator, io_uring, cryptodev). Do not include
// directly.
//
// Limits: kMaxChannels channels per device. A thread that exits gives its channel back (what it
// submitted still completes); a later thread reuses it once its requests have completed. Threads
// past the limit (every channel owned or busy) share one multi-producer queue with `capacity`
// credits of its own: accepted as usual, at the cost of read-modify-writes on shared lines.
//
// Parking without a fence on the submit path: the consumer announces it parks, then runs
// park_barrier() (membarrier: every running thread of the process passes a full barrier) before
// it re-checks the channels; a producer publishes its tail, then reads the consumer's flag with
// only a compiler barrier between (internal/asymmetric_barrier.hpp, where membarrier is
// unavailable both use a full fence).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>

#include "pollnotify/internal/asymmetric_barrier.hpp"
#include "pollnotify/internal/cpu.hpp"
#include "pollnotify/internal/device_counters.hpp"
#include "pollnotify/mpsc_queue.hpp"
#include "pollnotify/poller.hpp"

namespace pn::internal {

inline constexpr std::uint32_t kMaxChannels = 64;

// The consumer's half of the asymmetric Dekker handshake (a system call; when parking only).
inline void park_barrier() noexcept { heavy_barrier(); }
// The producer's half: after publishing, before reading the consumer's parked flag.
inline void publish_barrier() noexcept { light_barrier(); }

// Single-writer statistics: a plain load and store, no read-modify-write.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// One thread's channel: its slots, its tail and its counters on the producer's lines, the credits
// the consumer gives back on the consumer's.
struct Channel {
  Channel(std::uint32_t index, std::size_t slot_bytes, std::uint64_t capacity);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  enum : std::uint32_t { kOwned = 1, kOrphaned = 2 };

  // Producer (the owning thread).
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> tail{0};  // next position to fill
  std::uint64_t credit_end = 0;  // positions below this are known free (done as last read + cap)
  std::atomic<std::uint64_t> submitted{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_full{0};
  // Consumer (the driver's polling thread).
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> done{0};  // requests given back
  std::uint64_t head = 0;                                          // next position to take
  std::uint64_t tail_seen = 0;                                     // tail as last acquired
  // Claims and thread exit (under the table's mutex, or the owner's exit).
  alignas(kFalseSharingRange) std::atomic<std::uint32_t> owner{kOwned};

  std::byte* const slots;
  const std::uint32_t index;     // in its table: requests carry it back to give_back
  const std::uint64_t capacity;  // credits
  const std::uint64_t mask;      // slots: capacity rounded up to a power of two
};

// The calling thread's last channel and the table it belongs to: the submit path reads this and
// nothing else of TLS (trivially destructible, initial-exec: no call to reach it).
struct ChannelCache {
  std::uint64_t table_id = 0;
  Channel* channel = nullptr;
};
__attribute__((
    tls_model("initial-exec"))) inline constinit thread_local ChannelCache channel_cache{};

// The channels of one device. Shared (std::shared_ptr) by the device and the threads holding a
// channel, so a thread's exit never touches a freed channel.
class ChannelTable {
 public:
  ChannelTable(std::size_t slot_bytes, std::uint64_t capacity);
  ChannelTable(const ChannelTable&) = delete;
  ChannelTable& operator=(const ChannelTable&) = delete;

  // The calling thread's channel, claimed on first use; nullptr past kMaxChannels.
  Channel* channel_of_this_thread(const std::shared_ptr<ChannelTable>& self) noexcept {
    const ChannelCache& cache = channel_cache;
    if (cache.table_id == id_) return cache.channel;
    return find_or_claim(self);
  }

  // Consumer: the channels claimed so far (each stays valid for the table's life).
  [[nodiscard]] std::uint32_t published() const noexcept {
    return published_.load(std::memory_order_acquire);  // CH-A4: pairs with CH-R4
  }
  [[nodiscard]] Channel& channel(std::uint32_t index) const noexcept { return *channels_[index]; }

  // Consumer, after park_barrier(): does any channel hold a request?
  [[nodiscard]] bool channels_hold_requests() const noexcept;
  // Producer, after publish_barrier(): wakes a consumer parked in wait_for_requests.
  void wake_parked_consumer() noexcept;

  std::atomic<std::uint32_t> consumer_parked{0};  // the consumer parks on it (a device thread)
  const std::uint64_t capacity;
  const std::size_t slot_bytes;

 private:
  Channel* find_or_claim(const std::shared_ptr<ChannelTable>& self) noexcept;
  Channel* claim() noexcept;

  const std::uint64_t id_;
  std::mutex claim_mutex_;
  std::unique_ptr<Channel> channels_[kMaxChannels];
  std::atomic<std::uint32_t> published_{0};
};

// Request: trivially copyable, with members `WaitCtx* ctx`, `RequestTicket ticket` and
// `std::uint32_t channel` (set by admit; the driver passes it to give_back). emplace() leaves to
// the members' default initializers what its fill does not write: give each one.
template <class Request>
requires std::is_trivially_copyable_v<Request>
class SubmissionChannels : public DeviceCounters {
 public:
  // drained_by: the poller to wake after an admission; nullptr for channels drained by a thread
  // of the device's own, which parks with wait_for_requests.
  SubmissionChannels(Poller* drained_by, std::uint64_t capacity_per_channel)
      : table_(std::make_shared<ChannelTable>(sizeof(Request), capacity_per_channel)),
        shared_(capacity_per_channel),
        drained_by_(drained_by) {}

  // What `channel` says of a request that came through the shared queue.
  static constexpr std::uint32_t kSharedQueue = ~std::uint32_t{0};

  // Any thread, never blocks: ERR once closed, EAGAIN when this thread's channel (or the shared
  // queue, past kMaxChannels threads) holds `capacity` requests not yet given back, else armed
  // and queued.
  SubmitResult admit(WaitCtx& ctx, const Request& request) noexcept {
    return emplace(ctx, [&request](Request& slot) noexcept { slot = request; });
  }

  // admit(), with the request written in place by fill(Request&): no copy through the stack
  // (whose narrow stores and wide reloads stall store forwarding).
  template <class Fill>
  SubmitResult emplace(WaitCtx& ctx, Fill&& fill) noexcept {
    if (closed.load(std::memory_order_relaxed)) {
      add(submitted);
      return refuse(ctx, SubmitResult::kFailed, failed);
    }
    Channel* channel = table_->channel_of_this_thread(table_);
    if (channel == nullptr) [[unlikely]]
      return emplace_shared(ctx, fill);
    bump(channel->submitted);
    const std::uint64_t position = channel->tail.load(std::memory_order_relaxed);  // its own
    if (position >= channel->credit_end && !refill_credits(*channel, position)) {
      bump(channel->refused_full);
      ctx.set_status(AsyncStatus::kEagain);
      return SubmitResult::kRetry;
    }
    // Before the request can complete and set its own; unchanged (the usual case), not rewritten.
    ctx.ensure_status(AsyncStatus::kOk);
    // A trivially copyable type: its storage is reused without destruction. Default-initialized
    // (the members' own initializers): value-initialization compiles to `rep stos`, whose
    // start-up costs about as much as the rest of the submit.
    Request* request =
        ::new (channel->slots + (position & channel->mask) * sizeof(Request)) Request;
    fill(*request);
    request->ctx = &ctx;
    request->ticket = ctx.arm();
    request->channel = channel->index;
    bump(channel->accepted);
    // CH-R1: publishes the request to the consumer; pairs with CH-A1.
    channel->tail.store(position + 1, std::memory_order_release);
    wake_consumer();
    return SubmitResult::kAccepted;
  }

  // Consumer: takes the next request of the shared queue or of any channel (round robin); false
  // when all are empty.
  [[nodiscard]] bool try_pop(Request& out) noexcept {
    if (shared_.try_pop(out)) return true;
    const std::uint32_t count = table_->published();
    for (std::uint32_t k = 0; k < count; ++k) {
      if (cursor_ >= count) cursor_ = 0;
      Channel& channel = table_->channel(cursor_);
      if (channel.head != channel.tail_seen ||
          channel.head != (channel.tail_seen = channel.tail.load(
                               std::memory_order_acquire))) {  // CH-A1: pairs with CH-R1
        std::memcpy(&out, channel.slots + (channel.head & channel.mask) * sizeof(Request),
                    sizeof(Request));
        ++channel.head;
        return true;
      }
      ++cursor_;
    }
    return false;
  }

  // Consumer: `request` left the device (completed, or ended at teardown): its credit returns.
  void give_back(std::uint32_t channel_index) noexcept {
    if (channel_index == kSharedQueue) [[unlikely]] {
      shared_in_flight_.fetch_sub(1, std::memory_order_relaxed);  // a count; RQ-R4 publishes
      return;
    }
    Channel& channel = table_->channel(channel_index);
    // CH-R2: the slot was read before; pairs with CH-A2 (the producer may reuse it).
    channel.done.store(channel.done.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Consumer, after announcing a park: runs park_barrier(), then says whether any request is
  // queued (the shared queue's check is seq_cst, pairing with its RQ-R4).
  [[nodiscard]] bool has_queued_after_park_barrier() const noexcept {
    park_barrier();
    return shared_.has_items_seq_cst() || table_->channels_hold_requests();
  }
  // Consumer (a device thread): parks until a request is queued or `timeout` passes. Announce,
  // barrier, re-check, sleep: a producer either sees the flag or is seen here.
  void wait_for_requests(std::chrono::nanoseconds timeout) noexcept {
    table_->consumer_parked.store(1, std::memory_order_relaxed);
    if (!has_queued_after_park_barrier()) {
      (void)mpsc_queue_futex_wait(table_->consumer_parked, timeout);
    }
    table_->consumer_parked.store(0, std::memory_order_relaxed);
  }

  // Any thread: accepted and not yet given back (a snapshot).
  [[nodiscard]] std::uint64_t in_flight() const noexcept {
    std::uint64_t total = shared_in_flight_.load(std::memory_order_relaxed);  // a count
    const std::uint32_t count = table_->published();
    for (std::uint32_t i = 0; i < count; ++i) {
      const Channel& channel = table_->channel(i);
      // Relaxed: statistics; done never passes tail, read second.
      const std::uint64_t tail = channel.tail.load(std::memory_order_relaxed);
      total += tail - std::min(tail, channel.done.load(std::memory_order_relaxed));
    }
    return total;
  }

  // Consumer only (one drainer at a time): completions counted without read-modify-writes.
  void count_completed(const Completion* completions, std::size_t count) noexcept {
    const std::uint64_t errors = errors_in(completions, count);
    bump(completed, count);
    if (errors != 0) bump(completed_err, errors);
  }

  // The table's counters: this object's plus every channel's.
  [[nodiscard]] DeviceStats snapshot() const noexcept {
    DeviceStats stats = DeviceCounters::snapshot(in_flight());
    const std::uint32_t count = table_->published();
    for (std::uint32_t i = 0; i < count; ++i) {
      const Channel& channel = table_->channel(i);
      stats.submitted += channel.submitted.load(std::memory_order_relaxed);
      stats.accepted += channel.accepted.load(std::memory_order_relaxed);
      stats.refused_full += channel.refused_full.load(std::memory_order_relaxed);
    }
    return stats;
  }

  [[nodiscard]] std::uint64_t capacity() const noexcept { return table_->capacity; }

  std::atomic<bool> closed{false};  // teardown: no more admissions (relaxed: a flag)

 private:
  // Past kMaxChannels threads: the shared queue, its credits counted by read-modify-writes.
  template <class Fill>
  SubmitResult emplace_shared(WaitCtx& ctx, Fill& fill) noexcept {
    add(submitted);
    // Relaxed: the count only bounds occupancy; the queue publishes the request (RQ-R4).
    if (shared_in_flight_.fetch_add(1, std::memory_order_relaxed) >= table_->capacity) {
      shared_in_flight_.fetch_sub(1, std::memory_order_relaxed);
      return refuse(ctx, SubmitResult::kRetry, refused_full);
    }
    ctx.ensure_status(AsyncStatus::kOk);
    Request request{};
    fill(request);
    request.ctx = &ctx;
    request.ticket = ctx.arm();
    request.channel = kSharedQueue;
    if (!shared_.try_push(request)) {  // cannot happen: the queue holds `capacity`
      shared_in_flight_.fetch_sub(1, std::memory_order_relaxed);
      ctx.abandon(request.ticket);
      return refuse(ctx, SubmitResult::kRetry, refused_full);
    }
    add(accepted);
    wake_consumer();
    return SubmitResult::kAccepted;
  }

  static bool refill_credits(Channel& channel, std::uint64_t position) noexcept {
    // CH-A2: pairs with CH-R2: the consumer is done with the slots it gave back.
    channel.credit_end = channel.done.load(std::memory_order_acquire) + channel.capacity;
    return position < channel.credit_end;
  }

  void wake_consumer() noexcept {
    publish_barrier();
    if (drained_by_ != nullptr) {
      drained_by_->notify();
    } else if (table_->consumer_parked.load(std::memory_order_relaxed) != 0) {
      table_->wake_parked_consumer();
    }
  }

  std::shared_ptr<ChannelTable> table_;
  MpscQueue<Request> shared_;  // threads past kMaxChannels -> the consumer
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> shared_in_flight_{0};
  Poller* const drained_by_;
  std::uint32_t cursor_ = 0;  // consumer
};

}  // namespace pn::internal
