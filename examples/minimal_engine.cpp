// A minimal engine that offloads to the simulated device and notifies by callback, written the
// way an OpenSSL engine is: the engine code runs inside the application's job, takes the job's
// wait context, submits, pauses; the poller fires the callback the application set.
#include <cstdio>

#include "pollnotify/openssl_names.h"
#include "pollnotify/sim_runtime.h"

static PN_RUNTIME* device;
static int resumed_by_callback;

/* The engine: offload one "operation" and wait for the hardware. */
static int engine_digest(void* args) {
  (void)args;
  ASYNC_WAIT_CTX* ctx = ASYNC_get_wait_ctx(ASYNC_get_current_job());
  for (;;) {
    const int result = PN_RUNTIME_submit(device, ctx, 42);  // 0, -EAGAIN, or another failure
    if (result < 0 && result != -EAGAIN) return 0;
    ASYNC_pause_job();  // accepted: wait for the callback; -EAGAIN: the application resumes us
    if (result == 0) break;
  }
  return ASYNC_WAIT_CTX_get_status(ctx) == ASYNC_STATUS_OK ? 1 : 0;
}

/* The application's callback: small and nonblocking, it runs on the poller thread. */
static int on_ready(void* arg) {
  __atomic_store_n(static_cast<int*>(arg), 1, __ATOMIC_RELEASE);  // pairs with the acquire below
  return 1;
}

int main() {
  PN_SIM_RUNTIME_OPTIONS options;
  PN_SIM_RUNTIME_OPTIONS_init(&options);
  options.latency = "exp:5000";  // hardware taking 5 us on average
  device = PN_SIM_RUNTIME_new(&options);
  if (device == nullptr || PN_RUNTIME_start(device) < 0) {
    std::fprintf(stderr, "runtime: %s\n", PN_get_last_error());
    return 1;
  }
  ASYNC_WAIT_CTX* ctx = ASYNC_WAIT_CTX_new();
  int ready = 0;
  ASYNC_WAIT_CTX_set_callback(ctx, on_ready, &ready);

  int finished = 0;
  for (int operation = 0; operation < 1000; ++operation) {
    ASYNC_JOB* job = nullptr;
    int ret = 0;
    ready = 0;
    int state = ASYNC_start_job(&job, ctx, &ret, engine_digest, nullptr, 0);
    while (state == ASYNC_PAUSE) {
      if (ASYNC_WAIT_CTX_get_status(ctx) != ASYNC_STATUS_EAGAIN) {
        while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        }  // a real application does other work here
        ready = 0;
        ++resumed_by_callback;
      }
      state = ASYNC_start_job(&job, ctx, &ret, engine_digest, nullptr, 0);
    }
    finished += state == ASYNC_FINISH && ret == 1;
  }
  PN_RUNTIME_stop(device);
  std::printf("minimal engine: %d operations finished, %d resumed by callback\n", finished,
              resumed_by_callback);
  ASYNC_WAIT_CTX_free(ctx);
  PN_RUNTIME_free(device);
  ASYNC_cleanup_thread();
  return finished == 1000 ? 0 : 1;
}
