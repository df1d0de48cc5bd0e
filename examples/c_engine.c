/*
 * A small engine driver written only against pollnotify's C headers: its own "accelerator"
 * (a request queue the driver's poll function drains, answering input * 2) registered as a
 * device with a runtime whose poller thread runs that poll function, pushes the completions into
 * a ring and fires each wait context's completion callback. The application runs jobs with
 * OpenSSL's job API; each job submits, pauses, and reads the device's result from the
 * completion it was resumed for. Exit status 0 when every result is right.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "pollnotify/async_job.h"
#include "pollnotify/completion.h"
#include "pollnotify/device.h"
#include "pollnotify/poller.h"
#include "pollnotify/runtime.h"

enum { kQueueSize = 64, kJobs = 8, kRequestsPerJob = 10 };

/* --- the driver ------------------------------------------------------------------------- */

typedef struct {
  PN_ASYNC_WAIT_CTX* ctx;
  uint64_t ticket;
  uint64_t user_data;
} toy_request;

/* One submitting thread (the application's), one consumer (the poller): a single-producer
 * queue. tail is written by submit and read by poll; head the other way round. */
typedef struct {
  toy_request slots[kQueueSize];
  _Atomic size_t head;
  _Atomic size_t tail;
  _Atomic uint64_t in_flight;
  PN_POLLER* poller;
  PN_RING* ring; /* taken on the poller at set-up: the poll function is its only producer */
} toy_device;

static int toy_submit(void* raw, PN_ASYNC_WAIT_CTX* ctx, uint64_t user_data) {
  toy_device* device = raw;
  const size_t tail = atomic_load_explicit(&device->tail, memory_order_relaxed);
  /* TOY-A1: pairs with TOY-R1: the poller is done with the slot we are about to reuse. */
  if (tail - atomic_load_explicit(&device->head, memory_order_acquire) == kQueueSize) {
    return -EAGAIN; /* full: the runtime sets the status to EAGAIN */
  }
  toy_request* request = &device->slots[tail % kQueueSize];
  request->ctx = ctx;
  request->ticket = PN_ASYNC_WAIT_CTX_arm(ctx); /* a completion after a free is recognised */
  request->user_data = user_data;
  atomic_fetch_add_explicit(&device->in_flight, 1, memory_order_relaxed); /* a gauge */
  /* TOY-R2 (seq_cst): publishes the request to TOY-A2, and orders it before the poller's parked
   * check in PN_POLLER_notify (the producer half of its parking handshake). */
  atomic_store_explicit(&device->tail, tail + 1, memory_order_seq_cst);
  PN_POLLER_notify(device->poller);
  return 0;
}

/* The "hardware" answers at once: user_data's low 32 bits are the input, the result is twice. */
static size_t toy_poll(void* raw, size_t poller_index) {
  toy_device* device = raw;
  (void)poller_index;
  const size_t head = atomic_load_explicit(&device->head, memory_order_relaxed);
  /* TOY-A2: pairs with TOY-R2: the requests up to tail are filled in. */
  const size_t tail = atomic_load_explicit(&device->tail, memory_order_acquire);
  PN_COMPLETION done[32];
  size_t count = 0;
  for (size_t position = head; position != tail && count < 32; ++position, ++count) {
    const toy_request* request = &device->slots[position % kQueueSize];
    done[count] = (PN_COMPLETION){request->ctx, request->user_data, request->ticket,
                                  PN_ASYNC_STATUS_OK, (int32_t)(2 * (uint32_t)request->user_data)};
  }
  const int result = PN_RING_push_burst(device->ring, done, count); /* the rest: next poll */
  const size_t pushed = result > 0 ? (size_t)result : 0;
  /* TOY-R1: frees the drained slots for the submitter; pairs with TOY-A1. */
  atomic_store_explicit(&device->head, head + pushed, memory_order_release);
  atomic_fetch_sub_explicit(&device->in_flight, pushed, memory_order_relaxed);
  return pushed;
}

/* Asked while the poller parks: anything queued keeps it awake. */
static uint64_t toy_pending_ns(void* raw, size_t poller_index) {
  toy_device* device = raw;
  (void)poller_index;
  return atomic_load_explicit(&device->tail, memory_order_seq_cst) !=
                 atomic_load_explicit(&device->head, memory_order_relaxed)
             ? 1
             : 0;
}

static uint64_t toy_capacity(void* raw) {
  (void)raw;
  return kQueueSize;
}

static uint64_t toy_in_flight(void* raw) {
  toy_device* device = raw;
  return atomic_load_explicit(&device->in_flight, memory_order_relaxed);
}

static const PN_DEVICE_METHOD toy_method = {
    .struct_size = sizeof(PN_DEVICE_METHOD),
    .name = "toy",
    .submit = toy_submit,
    .poll = toy_poll,
    .pending_ns = toy_pending_ns,
    .capacity = toy_capacity,
    .in_flight = toy_in_flight,
};

/* --- the application ------------------------------------------------------------------- */

typedef struct {
  PN_RUNTIME* runtime;
  PN_ASYNC_WAIT_CTX* ctx;
  PN_ASYNC_JOB* job;
  int id;
  _Atomic int ready;  /* set by the completion callback, cleared by the resumer */
  uint64_t user_data; /* of the last completion */
  int32_t result;
  int right; /* results that were right */
  int finished;
} job_slot;

/* Runs on the poller thread: small and nonblocking. */
static int on_completion(void* arg, const PN_COMPLETION* completion) {
  job_slot* slot = arg;
  slot->user_data = completion->user_data;
  slot->result = completion->result;
  atomic_store_explicit(&slot->ready, 1, memory_order_release); /* APP-R1: pairs with APP-A1 */
  return 1;
}

static int job_body(void* args) {
  job_slot* slot = *(job_slot**)args;
  for (uint32_t i = 0; i < kRequestsPerJob; ++i) {
    const uint64_t user_data = ((uint64_t)slot->id << 32) | (slot->id * 100 + i);
    int result;
    while ((result = PN_RUNTIME_submit(slot->runtime, slot->ctx, user_data)) == -EAGAIN) {
      PN_ASYNC_pause_job(); /* full: the application resumes us to retry */
    }
    if (result != 0) return 0;
    PN_ASYNC_pause_job(); /* until the completion callback marks us ready */
    slot->right +=
        slot->user_data == user_data && slot->result == (int32_t)(2 * (uint32_t)user_data);
  }
  return 1;
}

int main(void) {
  PN_POLLER_OPTIONS poller_options;
  PN_POLLER_OPTIONS_init(&poller_options);
  poller_options.policy = PN_POLL_ADAPTIVE;
  PN_RUNTIME* runtime = PN_RUNTIME_new(1, &poller_options);
  if (runtime == NULL) {
    fprintf(stderr, "c_engine: %s\n", PN_get_last_error());
    return 1;
  }
  static toy_device device;
  device.poller = PN_RUNTIME_get_poller(runtime, 0);
  device.ring = PN_POLLER_acquire_ring(device.poller);
  if (device.ring == NULL || PN_RUNTIME_add_device(runtime, &toy_method, &device) < 0 ||
      PN_RUNTIME_start(runtime) < 0) {
    fprintf(stderr, "c_engine: %s\n", PN_get_last_error());
    return 1;
  }

  job_slot slots[kJobs];
  memset(slots, 0, sizeof slots);
  int running = 0;
  for (int j = 0; j < kJobs; ++j) {
    job_slot* slot = &slots[j];
    slot->runtime = runtime;
    slot->id = j;
    slot->ctx = PN_ASYNC_WAIT_CTX_new();
    PN_ASYNC_WAIT_CTX_set_completion_callback(slot->ctx, on_completion, slot);
    int ret = 0;
    if (PN_ASYNC_start_job(&slot->job, slot->ctx, &ret, job_body, &slot, sizeof slot) ==
        PN_ASYNC_PAUSE) {
      ++running;
    } else {
      slot->finished = 1;
    }
  }
  /* Resume each job once its completion arrived, or at once after an EAGAIN. */
  while (running > 0) {
    int resumed = 0;
    for (int j = 0; j < kJobs; ++j) {
      job_slot* slot = &slots[j];
      if (slot->finished) continue;
      /* APP-A1: pairs with APP-R1: the completion's fields are visible. */
      const int ready = atomic_exchange_explicit(&slot->ready, 0, memory_order_acquire);
      if (!ready && PN_ASYNC_WAIT_CTX_get_status(slot->ctx) != PN_ASYNC_STATUS_EAGAIN) continue;
      int ret = 0;
      if (PN_ASYNC_start_job(&slot->job, slot->ctx, &ret, NULL, NULL, 0) != PN_ASYNC_PAUSE) {
        slot->finished = 1;
        --running;
      }
      ++resumed;
    }
    if (!resumed) sched_yield();
  }
  PN_RUNTIME_stop(runtime);
  int right = 0;
  for (int j = 0; j < kJobs; ++j) {
    right += slots[j].right;
    PN_ASYNC_WAIT_CTX_free(slots[j].ctx);
  }
  PN_POLLER_STATS stats = {.struct_size = sizeof stats};
  PN_POLLER_get_stats(PN_RUNTIME_get_poller(runtime, 0), &stats);
  printf("c_engine: %d of %d results right, %llu callbacks on the poller thread\n", right,
         kJobs * kRequestsPerJob, (unsigned long long)stats.callbacks);
  PN_RUNTIME_free(runtime);
  return right == kJobs * kRequestsPerJob ? 0 : 1;
}
