// The poller's C API: option translation, NULL checks and exception-to-error boundaries.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "pollnotify/internal/last_error.hpp"
#include "pollnotify/internal/poller_options_c.hpp"
#include "pollnotify/internal/sized_struct.hpp"
#include "pollnotify/poller.h"
#include "pollnotify/poller.hpp"

using pn::internal::c_call;
using pn::internal::c_call_pointer;
using pn::internal::fail_static;

// A C poll function as a PollSource; the handle the C API returns.
struct pn_poll_source_st final : pn::PollSource {
  pn_poll_source_st(std::size_t (*poll_fn)(void*), std::uint64_t (*pending_fn)(void*), void* arg)
      : poll_fn_(poll_fn), pending_fn_(pending_fn), arg_(arg) {}
  std::size_t poll() override { return poll_fn_(arg_); }
  std::uint64_t pending_ns() override { return pending_fn_ != nullptr ? pending_fn_(arg_) : 0; }

 private:
  std::size_t (*poll_fn_)(void*);
  std::uint64_t (*pending_fn_)(void*);
  void* arg_;
};

namespace {

pn::Poller* from_c(PN_POLLER* poller) noexcept { return reinterpret_cast<pn::Poller*>(poller); }
const pn::Poller* from_c(const PN_POLLER* poller) noexcept {
  return reinterpret_cast<const pn::Poller*>(poller);
}
PN_POLLER* to_c(pn::Poller* poller) noexcept { return reinterpret_cast<PN_POLLER*>(poller); }
pn::CompletionRing* from_c(PN_RING* ring) noexcept {
  return reinterpret_cast<pn::CompletionRing*>(ring);
}
PN_RING* to_c(pn::CompletionRing* ring) noexcept { return reinterpret_cast<PN_RING*>(ring); }

int null_argument(const char* message) noexcept { return fail_static(-EINVAL, message); }

// The options a caller's struct holds: its struct_size says how many fields it has.
bool read_options(const PN_POLLER_OPTIONS* in, PN_POLLER_OPTIONS& out) noexcept {
  PN_POLLER_OPTIONS_init(&out);
  return pn::internal::read_sized_struct(
      in, out, offsetof(PN_POLLER_OPTIONS, policy) + sizeof out.policy,
      "PN_POLLER_OPTIONS.struct_size is not a size this library knows "
      "(call PN_POLLER_OPTIONS_init first)");
}

bool translate(const PN_POLLER_OPTIONS& in, pn::PollerOptions& out) {
  if (in.policy < PN_POLL_BUSY || in.policy > PN_POLL_EXTERNAL) {
    fail_static(-EINVAL, "PN_POLLER_OPTIONS.policy is not a PN_POLL_* value");
    return false;
  }
  out.policy = static_cast<pn::PollPolicy>(in.policy);
  out.max_burst = in.max_burst;
  out.default_ring_capacity = in.ring_capacity;
  out.spin_polls = in.spin_polls;
  static constexpr auto kMaxNs =
      static_cast<std::uint64_t>(std::chrono::nanoseconds::max().count());
  const auto ns = [](std::uint64_t value) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(value, kMaxNs)));
  };
  out.interval = ns(in.interval_ns);
  out.max_idle_interval = ns(in.max_idle_interval_ns);
  out.idle_backoff_polls = in.idle_backoff_polls;
  out.watchdog = ns(in.watchdog_ns);
  out.cpu = in.cpu;
  out.name = in.name != nullptr ? in.name : "";
  out.max_source_park = ns(in.max_source_park_ns);
  return true;
}

}  // namespace

namespace pn::internal {

int poller_options_from_c(const PN_POLLER_OPTIONS* options, PollerOptions& out) {
  PN_POLLER_OPTIONS given;
  if (!read_options(options, given) || !translate(given, out)) return -EINVAL;
  return 0;
}

}  // namespace pn::internal

extern "C" {

void PN_POLLER_OPTIONS_init(PN_POLLER_OPTIONS* options) {
  if (options == nullptr) return;
  const pn::PollerOptions defaults;
  *options = PN_POLLER_OPTIONS{sizeof(PN_POLLER_OPTIONS),
                               static_cast<int>(defaults.policy),
                               defaults.max_burst,
                               defaults.default_ring_capacity,
                               defaults.spin_polls,
                               static_cast<std::uint64_t>(defaults.interval.count()),
                               static_cast<std::uint64_t>(defaults.max_idle_interval.count()),
                               defaults.idle_backoff_polls,
                               static_cast<std::uint64_t>(defaults.watchdog.count()),
                               defaults.cpu,
                               "pn-poller",
                               static_cast<std::uint64_t>(defaults.max_source_park.count())};
}

PN_POLLER* PN_POLLER_new(const PN_POLLER_OPTIONS* options) {
  return c_call_pointer<PN_POLLER>([&]() -> PN_POLLER* {
    pn::PollerOptions translated;
    if (pn::internal::poller_options_from_c(options, translated) != 0) return nullptr;
    return to_c(new pn::Poller(std::move(translated)));
  });
}

void PN_POLLER_free(PN_POLLER* poller) {
  if (poller == nullptr) return;
  if (from_c(poller)->consuming_on_this_thread()) {
    fail_static(-EBUSY, "PN_POLLER_free called from inside one of the poller's callbacks: refused");
    return;
  }
  const auto added = from_c(poller)->sources();
  const std::vector<pn::PollSource*> sources(added.begin(), added.end());
  delete from_c(poller);
  for (pn::PollSource* source : sources) {  // the handles PN_POLLER_add_source made
    delete dynamic_cast<pn_poll_source_st*>(source);
  }
}

int PN_POLLER_start(PN_POLLER* poller) {
  if (poller == nullptr) return null_argument("PN_POLLER_start: NULL poller");
  if (from_c(poller)->options().policy == pn::PollPolicy::kExternal)
    return fail_static(-EINVAL, "PN_POLLER_start: the external policy runs no thread");
  return c_call([&] {
    if (!from_c(poller)->start()) return fail_static(-EBUSY, "PN_POLLER_start: already running");
    return 0;
  });
}

int PN_POLLER_stop(PN_POLLER* poller) {
  if (poller == nullptr) return null_argument("PN_POLLER_stop: NULL poller");
  return c_call([&] {
    if (!from_c(poller)->stop()) return fail_static(-EBUSY, "PN_POLLER_stop: not running");
    return 0;
  });
}

int PN_POLLER_poll(PN_POLLER* poller, size_t max) {
  if (poller == nullptr) return null_argument("PN_POLLER_poll: NULL poller");
  return c_call([&] {
    const size_t delivered = from_c(poller)->poll_once(std::min<size_t>(max, INT_MAX));
    return static_cast<int>(std::min<size_t>(delivered, INT_MAX));
  });
}

int PN_POLLER_get_stats(const PN_POLLER* poller, PN_POLLER_STATS* stats) {
  if (poller == nullptr || stats == nullptr || stats->struct_size < sizeof(std::size_t) ||
      stats->struct_size > sizeof(PN_POLLER_STATS)) {
    return null_argument("PN_POLLER_get_stats: NULL, or stats->struct_size not set");
  }
  return c_call([&] {
    const pn::PollerStats source = from_c(poller)->stats();
    PN_POLLER_STATS full{};
    full.struct_size = stats->struct_size;
#define PN_POLLER_STATS_COPY(name, description) full.name = source.name;
    PN_POLLER_COUNTERS(PN_POLLER_STATS_COPY)
#undef PN_POLLER_STATS_COPY
    std::memcpy(stats, &full, stats->struct_size);
    return 0;
  });
}

PN_RING* PN_POLLER_acquire_ring(PN_POLLER* poller) {
  if (poller == nullptr) {
    null_argument("PN_POLLER_acquire_ring: NULL poller");
    return nullptr;
  }
  return c_call_pointer<PN_RING>([&] { return to_c(&from_c(poller)->acquire_ring()); });
}

int PN_POLLER_release_ring(PN_POLLER* poller, PN_RING* ring) {
  if (poller == nullptr || ring == nullptr)
    return null_argument("PN_POLLER_release_ring: NULL poller or ring");
  return c_call([&] {
    from_c(poller)->release_ring(*from_c(ring));
    return 0;
  });
}

PN_RING* PN_POLLER_thread_ring(PN_POLLER* poller) {
  if (poller == nullptr) {
    null_argument("PN_POLLER_thread_ring: NULL poller");
    return nullptr;
  }
  return c_call_pointer<PN_RING>([&] { return to_c(&from_c(poller)->thread_ring()); });
}

int PN_RING_push(PN_RING* ring, const PN_COMPLETION* completion) {
  if (ring == nullptr || completion == nullptr)
    return null_argument("PN_RING_push: NULL ring or completion");
  if (!from_c(ring)->try_push(pn::from_c_completion(*completion)))
    return fail_static(-EAGAIN, "PN_RING_push: the ring is full");
  return 0;
}

int PN_RING_push_burst(PN_RING* ring, const PN_COMPLETION* completions, size_t count) {
  if (ring == nullptr || (completions == nullptr && count != 0))
    return null_argument("PN_RING_push_burst: NULL ring, or NULL completions with a count");
  // Converted by copy in chunks (no reading one type as the other); each chunk one publication.
  constexpr size_t kChunk = 32;
  pn::Completion chunk[kChunk];
  const size_t limit = std::min<size_t>(count, INT_MAX);
  size_t pushed = 0;
  while (pushed < limit) {
    const size_t take = std::min(kChunk, limit - pushed);
    for (size_t i = 0; i < take; ++i) chunk[i] = pn::from_c_completion(completions[pushed + i]);
    const size_t accepted = from_c(ring)->try_push_burst({chunk, take});
    pushed += accepted;
    if (accepted < take) break;
  }
  return static_cast<int>(pushed);
}

PN_POLL_SOURCE* PN_POLLER_add_source(PN_POLLER* poller, size_t (*poll)(void* arg),
                                     uint64_t (*pending_ns)(void* arg), void* arg) {
  if (poller == nullptr || poll == nullptr) {
    null_argument("PN_POLLER_add_source: NULL poller or poll function");
    return nullptr;
  }
  return c_call_pointer<PN_POLL_SOURCE>([&] {
    auto source = std::make_unique<pn_poll_source_st>(poll, pending_ns, arg);
    from_c(poller)->add_source(*source);
    return source.release();
  });
}

int PN_POLLER_remove_source(PN_POLLER* poller, PN_POLL_SOURCE* source) {
  if (poller == nullptr || source == nullptr)
    return null_argument("PN_POLLER_remove_source: NULL poller or source");
  return c_call([&] {
    if (!from_c(poller)->remove_source(*source))
      return fail_static(-ENOENT,
                         "PN_POLLER_remove_source: the source was not added to this poller");
    delete source;
    return 0;
  });
}

void PN_POLLER_notify(PN_POLLER* poller) {
  if (poller != nullptr) from_c(poller)->notify();
}

}  // extern "C"
