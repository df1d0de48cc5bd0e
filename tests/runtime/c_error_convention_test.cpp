// The C error convention of <pollnotify/error.h>, held by every C call: each call below gets each
// bad input, and its return value, the recorded code and the recorded message are checked.
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "pollnotify/completion.h"
#include "pollnotify/device.h"
#include "pollnotify/poller.h"
#include "pollnotify/runtime.h"
#include "pollnotify/sim_runtime.h"

namespace {

std::size_t poll_nothing(void*) { return 0; }
int submit_fails(void*, PN_ASYNC_WAIT_CTX*, uint64_t) { return -ENODEV; }
int submit_full(void*, PN_ASYNC_WAIT_CTX*, uint64_t) { return -EAGAIN; }
uint64_t capacity_one(void*) { return 1; }
uint64_t none_in_flight(void*) { return 0; }
int start_fails(void*) { return -ENODEV; }

PN_DEVICE_METHOD device_table(int (*submit)(void*, PN_ASYNC_WAIT_CTX*, uint64_t)) {
  PN_DEVICE_METHOD method{};
  method.struct_size = sizeof method;
  method.submit = submit;
  method.capacity = capacity_one;
  method.in_flight = none_in_flight;
  return method;
}

PN_POLLER* new_poller(int policy, size_t ring_capacity = 0) {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  options.policy = policy;
  if (ring_capacity != 0) options.ring_capacity = ring_capacity;
  return PN_POLLER_new(&options);
}

PN_RUNTIME* new_runtime(int policy) {
  PN_POLLER_OPTIONS options;
  PN_POLLER_OPTIONS_init(&options);
  options.policy = policy;
  return PN_RUNTIME_new(1, &options);
}

// The objects the calls are made on, in every state a call can refuse.
struct World {
  PN_POLLER* external = new_poller(PN_POLL_EXTERNAL, 1);
  PN_POLLER* other = new_poller(PN_POLL_EXTERNAL);
  PN_POLLER* running = new_poller(PN_POLL_ADAPTIVE);
  PN_POLLER* stopped = new_poller(PN_POLL_ADAPTIVE);
  PN_POLLER* full_of_sources = new_poller(PN_POLL_EXTERNAL);
  PN_POLLER* full_of_rings = new_poller(PN_POLL_EXTERNAL);
  PN_RING* ring = nullptr;                                      // on `external`, full
  PN_RING* other_ring = nullptr;                                // on `other`
  PN_RING* released = nullptr;                                  // on `other`, released already
  PN_RUNTIME* runtime = new_runtime(PN_POLL_EXTERNAL);          // no device
  PN_RUNTIME* failing = new_runtime(PN_POLL_EXTERNAL);          // a device that fails requests
  PN_RUNTIME* full = new_runtime(PN_POLL_EXTERNAL);             // a device that is always full
  PN_RUNTIME* started = new_runtime(PN_POLL_ADAPTIVE);          // started, no device
  PN_RUNTIME* not_starting = new_runtime(PN_POLL_EXTERNAL);     // a device that fails to start
  PN_RUNTIME* full_of_devices = new_runtime(PN_POLL_EXTERNAL);  // 64 devices
  PN_ASYNC_WAIT_CTX* ctx = PN_ASYNC_WAIT_CTX_new();
  PN_DEVICE_METHOD fails = device_table(submit_fails);
  PN_DEVICE_METHOD refuses = device_table(submit_full);
  PN_DEVICE_METHOD no_submit = device_table(nullptr);
  PN_DEVICE_METHOD not_started = device_table(submit_full);
  PN_POLL_SOURCE* running_source = nullptr;
  int devices = 0;

  World() {
    ring = PN_POLLER_acquire_ring(external);
    for (;;) {
      const PN_COMPLETION entry{ctx, 0, PN_ASYNC_WAIT_CTX_arm(ctx), PN_ASYNC_STATUS_OK, 0};
      if (PN_RING_push(ring, &entry) != 0) {
        PN_ASYNC_WAIT_CTX_abandon(ctx, entry.ticket);
        break;
      }
    }
    other_ring = PN_POLLER_acquire_ring(other);
    released = PN_POLLER_acquire_ring(other);
    EXPECT_EQ(PN_POLLER_release_ring(other, released), 0);
    while (PN_POLLER_acquire_ring(full_of_rings) != nullptr) {
    }
    running_source = PN_POLLER_add_source(running, poll_nothing, nullptr, nullptr);
    EXPECT_EQ(PN_POLLER_start(running), 0);
    while (PN_POLLER_add_source(full_of_sources, poll_nothing, nullptr, nullptr) != nullptr) {
    }
    EXPECT_EQ(PN_RUNTIME_add_device(failing, &fails, &devices), 0);
    EXPECT_EQ(PN_RUNTIME_add_device(full, &refuses, &devices), 0);
    EXPECT_EQ(PN_RUNTIME_start(started), 0);
    not_started.start = start_fails;
    EXPECT_EQ(PN_RUNTIME_add_device(not_starting, &not_started, &devices), 0);
    while (PN_RUNTIME_add_device(full_of_devices, &refuses, &devices) == 0) {
    }
  }
  ~World() {
    EXPECT_EQ(PN_RUNTIME_stop(started), 0);
    for (PN_RUNTIME* each : {runtime, failing, full, started, not_starting, full_of_devices})
      PN_RUNTIME_free(each);
    for (PN_POLLER* each : {external, other, running, stopped, full_of_sources, full_of_rings})
      PN_POLLER_free(each);
    PN_ASYNC_WAIT_CTX_free(ctx);
  }
};

struct Case {
  const char* call;
  // Calls the function with the bad input; returns its int, or for a pointer or a ticket 0 when
  // NULL/0 came back (and 1 otherwise).
  std::function<int(World&)> invoke;
  int expected;       // the negative errno value the call returns (or records, for a pointer)
  bool returns_code;  // rule 1 (an int) or rule 2 (a pointer or a ticket)
};

int pointer_result(const void* pointer) { return pointer == nullptr ? 0 : 1; }

std::vector<Case> cases() {
  const PN_COMPLETION no_context{nullptr, 0, 1, PN_ASYNC_STATUS_OK, 0};
  return {
      // <pollnotify/completion.h>
      {"PN_ASYNC_WAIT_CTX_arm(NULL)",
       [](World&) { return static_cast<int>(PN_ASYNC_WAIT_CTX_arm(nullptr)); }, -EINVAL, false},
      {"PN_ASYNC_WAIT_CTX_deliver(NULL)", [](World&) { return PN_ASYNC_WAIT_CTX_deliver(nullptr); },
       -EINVAL, true},
      {"PN_ASYNC_WAIT_CTX_deliver(no ctx)",
       [no_context](World&) { return PN_ASYNC_WAIT_CTX_deliver(&no_context); }, -EINVAL, true},
      {"PN_ASYNC_WAIT_CTX_set_completion_callback(NULL)",
       [](World&) { return PN_ASYNC_WAIT_CTX_set_completion_callback(nullptr, nullptr, nullptr); },
       -EINVAL, true},
      // <pollnotify/poller.h>
      {"PN_POLLER_new(struct_size 0)",
       [](World&) {
         PN_POLLER_OPTIONS options;
         PN_POLLER_OPTIONS_init(&options);
         options.struct_size = 0;
         return pointer_result(PN_POLLER_new(&options));
       },
       -EINVAL, false},
      {"PN_POLLER_new(policy 99)", [](World&) { return pointer_result(new_poller(99)); }, -EINVAL,
       false},
      {"PN_POLLER_new(max_burst 0)",
       [](World&) {
         PN_POLLER_OPTIONS options;
         PN_POLLER_OPTIONS_init(&options);
         options.max_burst = 0;
         return pointer_result(PN_POLLER_new(&options));
       },
       -EINVAL, false},
      {"PN_POLLER_start(NULL)", [](World&) { return PN_POLLER_start(nullptr); }, -EINVAL, true},
      {"PN_POLLER_start(external)", [](World& w) { return PN_POLLER_start(w.external); }, -EINVAL,
       true},
      {"PN_POLLER_start(running)", [](World& w) { return PN_POLLER_start(w.running); }, -EBUSY,
       true},
      {"PN_POLLER_stop(NULL)", [](World&) { return PN_POLLER_stop(nullptr); }, -EINVAL, true},
      {"PN_POLLER_stop(stopped)", [](World& w) { return PN_POLLER_stop(w.stopped); }, -EBUSY, true},
      {"PN_POLLER_poll(NULL)", [](World&) { return PN_POLLER_poll(nullptr, 0); }, -EINVAL, true},
      {"PN_POLLER_poll(running)", [](World& w) { return PN_POLLER_poll(w.running, 0); }, -EBUSY,
       true},
      {"PN_POLLER_get_stats(NULL)",
       [](World&) {
         PN_POLLER_STATS stats{};
         stats.struct_size = sizeof stats;
         return PN_POLLER_get_stats(nullptr, &stats);
       },
       -EINVAL, true},
      {"PN_POLLER_get_stats(struct_size 0)",
       [](World& w) {
         PN_POLLER_STATS stats{};
         return PN_POLLER_get_stats(w.external, &stats);
       },
       -EINVAL, true},
      {"PN_POLLER_acquire_ring(NULL)",
       [](World&) { return pointer_result(PN_POLLER_acquire_ring(nullptr)); }, -EINVAL, false},
      {"PN_POLLER_acquire_ring(past 256)",
       [](World& w) { return pointer_result(PN_POLLER_acquire_ring(w.full_of_rings)); }, -ENOSPC,
       false},
      {"PN_POLLER_release_ring(NULL)",
       [](World& w) { return PN_POLLER_release_ring(nullptr, w.ring); }, -EINVAL, true},
      {"PN_POLLER_release_ring(another poller's ring)",
       [](World& w) { return PN_POLLER_release_ring(w.external, w.other_ring); }, -EINVAL, true},
      {"PN_POLLER_release_ring(released)",
       [](World& w) { return PN_POLLER_release_ring(w.other, w.released); }, -EBUSY, true},
      {"PN_POLLER_thread_ring(NULL)",
       [](World&) { return pointer_result(PN_POLLER_thread_ring(nullptr)); }, -EINVAL, false},
      {"PN_RING_push(NULL)", [no_context](World&) { return PN_RING_push(nullptr, &no_context); },
       -EINVAL, true},
      {"PN_RING_push(NULL completion)", [](World& w) { return PN_RING_push(w.ring, nullptr); },
       -EINVAL, true},
      {"PN_RING_push(full)", [no_context](World& w) { return PN_RING_push(w.ring, &no_context); },
       -EAGAIN, true},
      {"PN_RING_push_burst(NULL)",
       [no_context](World&) { return PN_RING_push_burst(nullptr, &no_context, 1); }, -EINVAL, true},
      {"PN_RING_push_burst(NULL completions)",
       [](World& w) { return PN_RING_push_burst(w.ring, nullptr, 1); }, -EINVAL, true},
      {"PN_POLLER_add_source(NULL)",
       [](World&) {
         return pointer_result(PN_POLLER_add_source(nullptr, poll_nothing, nullptr, nullptr));
       },
       -EINVAL, false},
      {"PN_POLLER_add_source(NULL poll)",
       [](World& w) {
         return pointer_result(PN_POLLER_add_source(w.other, nullptr, nullptr, nullptr));
       },
       -EINVAL, false},
      {"PN_POLLER_add_source(running)",
       [](World& w) {
         return pointer_result(PN_POLLER_add_source(w.running, poll_nothing, nullptr, nullptr));
       },
       -EBUSY, false},
      {"PN_POLLER_add_source(past 16)",
       [](World& w) {
         return pointer_result(
             PN_POLLER_add_source(w.full_of_sources, poll_nothing, nullptr, nullptr));
       },
       -ENOSPC, false},
      {"PN_POLLER_remove_source(NULL)",
       [](World& w) { return PN_POLLER_remove_source(nullptr, w.running_source); }, -EINVAL, true},
      {"PN_POLLER_remove_source(running)",
       [](World& w) { return PN_POLLER_remove_source(w.running, w.running_source); }, -EBUSY, true},
      {"PN_POLLER_remove_source(not added)",
       [](World& w) { return PN_POLLER_remove_source(w.other, w.running_source); }, -ENOENT, true},
      // <pollnotify/runtime.h>
      {"PN_RUNTIME_new(0 pollers)",
       [](World&) { return pointer_result(PN_RUNTIME_new(0, nullptr)); }, -EINVAL, false},
      {"PN_RUNTIME_new(257 pollers)",
       [](World&) { return pointer_result(PN_RUNTIME_new(257, nullptr)); }, -EINVAL, false},
      {"PN_RUNTIME_new(policy 99)", [](World&) { return pointer_result(new_runtime(99)); }, -EINVAL,
       false},
      {"PN_RUNTIME_get_poller(NULL)",
       [](World&) { return pointer_result(PN_RUNTIME_get_poller(nullptr, 0)); }, -EINVAL, false},
      {"PN_RUNTIME_get_poller(past the count)",
       [](World& w) { return pointer_result(PN_RUNTIME_get_poller(w.runtime, 1)); }, -EINVAL,
       false},
      {"PN_RUNTIME_add_device(NULL)",
       [](World& w) { return PN_RUNTIME_add_device(nullptr, &w.fails, &w.devices); }, -EINVAL,
       true},
      {"PN_RUNTIME_add_device(NULL table)",
       [](World& w) { return PN_RUNTIME_add_device(w.runtime, nullptr, &w.devices); }, -EINVAL,
       true},
      {"PN_RUNTIME_add_device(no submit)",
       [](World& w) { return PN_RUNTIME_add_device(w.runtime, &w.no_submit, &w.devices); }, -EINVAL,
       true},
      {"PN_RUNTIME_add_device(started)",
       [](World& w) { return PN_RUNTIME_add_device(w.started, &w.fails, &w.devices); }, -EBUSY,
       true},
      {"PN_RUNTIME_add_device(past 64)",
       [](World& w) { return PN_RUNTIME_add_device(w.full_of_devices, &w.fails, &w.devices); },
       -ENOSPC, true},
      {"PN_RUNTIME_start(NULL)", [](World&) { return PN_RUNTIME_start(nullptr); }, -EINVAL, true},
      {"PN_RUNTIME_start(started)", [](World& w) { return PN_RUNTIME_start(w.started); }, -EBUSY,
       true},
      {"PN_RUNTIME_start(a device that fails to start)",
       [](World& w) { return PN_RUNTIME_start(w.not_starting); }, -ENODEV, true},
      {"PN_RUNTIME_stop(NULL)", [](World&) { return PN_RUNTIME_stop(nullptr); }, -EINVAL, true},
      {"PN_RUNTIME_stop(not started)", [](World& w) { return PN_RUNTIME_stop(w.runtime); }, -EBUSY,
       true},
      {"PN_RUNTIME_submit(NULL)", [](World& w) { return PN_RUNTIME_submit(nullptr, w.ctx, 0); },
       -EINVAL, true},
      {"PN_RUNTIME_submit(NULL ctx)",
       [](World& w) { return PN_RUNTIME_submit(w.failing, nullptr, 0); }, -EINVAL, true},
      {"PN_RUNTIME_submit(no device)",
       [](World& w) { return PN_RUNTIME_submit(w.runtime, w.ctx, 0); }, -EINVAL, true},
      {"PN_RUNTIME_submit(device full)",
       [](World& w) { return PN_RUNTIME_submit(w.full, w.ctx, 0); }, -EAGAIN, true},
      {"PN_RUNTIME_submit(device failed)",
       [](World& w) { return PN_RUNTIME_submit(w.failing, w.ctx, 0); }, -EIO, true},
      {"PN_RUNTIME_submit_to(past the count)",
       [](World& w) { return PN_RUNTIME_submit_to(w.failing, 1, w.ctx, 0); }, -EINVAL, true},
      {"PN_RUNTIME_poll(NULL)", [](World&) { return PN_RUNTIME_poll(nullptr, 0); }, -EINVAL, true},
      {"PN_RUNTIME_poll(running)", [](World& w) { return PN_RUNTIME_poll(w.started, 0); }, -EBUSY,
       true},
      // <pollnotify/sim_runtime.h>
      {"PN_SIM_RUNTIME_new(struct_size 0)",
       [](World&) {
         PN_SIM_RUNTIME_OPTIONS options;
         PN_SIM_RUNTIME_OPTIONS_init(&options);
         options.struct_size = 0;
         return pointer_result(PN_SIM_RUNTIME_new(&options));
       },
       -EINVAL, false},
      {"PN_SIM_RUNTIME_new(policy 99)",
       [](World&) {
         PN_SIM_RUNTIME_OPTIONS options;
         PN_SIM_RUNTIME_OPTIONS_init(&options);
         options.policy = 99;
         return pointer_result(PN_SIM_RUNTIME_new(&options));
       },
       -EINVAL, false},
      {"PN_SIM_RUNTIME_new(0 instances)",
       [](World&) {
         PN_SIM_RUNTIME_OPTIONS options;
         PN_SIM_RUNTIME_OPTIONS_init(&options);
         options.instances = 0;
         return pointer_result(PN_SIM_RUNTIME_new(&options));
       },
       -EINVAL, false},
      {"PN_SIM_RUNTIME_new(bad latency)",
       [](World&) {
         PN_SIM_RUNTIME_OPTIONS options;
         PN_SIM_RUNTIME_OPTIONS_init(&options);
         options.latency = "warp-speed";
         return pointer_result(PN_SIM_RUNTIME_new(&options));
       },
       -EINVAL, false},
      {"PN_SIM_RUNTIME_new(0 pollers)",
       [](World&) {
         PN_SIM_RUNTIME_OPTIONS options;
         PN_SIM_RUNTIME_OPTIONS_init(&options);
         options.pollers = 0;
         return pointer_result(PN_SIM_RUNTIME_new(&options));
       },
       -EINVAL, false},
  };
}

TEST(CErrorConvention, EveryCallReturnsAndRecordsItsCode) {
  World world;
  for (const Case& each : cases()) {
    PN_clear_last_error();
    const int returned = each.invoke(world);
    if (each.returns_code) {
      EXPECT_EQ(returned, each.expected) << each.call;
    } else {
      EXPECT_EQ(returned, 0) << each.call << ": NULL or 0 expected";
    }
    EXPECT_EQ(PN_get_last_error_code(), each.expected) << each.call;
    EXPECT_STRNE(PN_get_last_error(), "") << each.call << ": no message recorded";
  }
}

// Rule 3: a success leaves the last failure as it was, and PN_clear_last_error resets it.
TEST(CErrorConvention, ASuccessLeavesTheLastFailureAndClearResetsIt) {
  PN_clear_last_error();
  EXPECT_EQ(PN_get_last_error_code(), 0);
  EXPECT_STREQ(PN_get_last_error(), "");
  EXPECT_EQ(PN_POLLER_start(nullptr), -EINVAL);
  PN_POLLER* poller = new_poller(PN_POLL_EXTERNAL);
  ASSERT_NE(poller, nullptr);
  EXPECT_EQ(PN_POLLER_poll(poller, 0), 0) << "idle, which is no failure";
  EXPECT_EQ(PN_get_last_error_code(), -EINVAL);
  EXPECT_NE(std::string(PN_get_last_error()).find("PN_POLLER_start"), std::string::npos);
  PN_POLLER_free(poller);
  PN_clear_last_error();
  EXPECT_EQ(PN_get_last_error_code(), 0);
  EXPECT_STREQ(PN_get_last_error(), "");
}

// Rule 4: the calls that cannot fail treat NULL as empty and record nothing.
TEST(CErrorConvention, CallsThatCannotFailAcceptNullAndRecordNothing) {
  PN_clear_last_error();
  PN_POLLER_OPTIONS_init(nullptr);
  PN_SIM_RUNTIME_OPTIONS_init(nullptr);
  PN_POLLER_notify(nullptr);
  PN_POLLER_free(nullptr);
  PN_RUNTIME_free(nullptr);
  PN_ASYNC_WAIT_CTX_abandon(nullptr, 1);
  PN_ASYNC_WAIT_CTX_cancel_pending(nullptr);
  EXPECT_EQ(PN_RUNTIME_poller_count(nullptr), 0U);
  EXPECT_EQ(PN_RUNTIME_device_count(nullptr), 0U);
  EXPECT_EQ(PN_RUNTIME_in_flight(nullptr), 0U);
  EXPECT_EQ(PN_get_last_error_code(), 0);
}

}  // namespace
